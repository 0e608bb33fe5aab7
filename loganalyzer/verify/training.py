"""One training run of a verification: a (variant, seed) job, and the record it leaves.

A :class:`Job` says everything a run needs besides the spec: which fixes are applied
(the loop's fixes so far, then the one being tried), the seed, the share of the
training set and the epoch budget before the fixes. :func:`train` runs it in the
current process and writes ``training.csv`` (``keras.callbacks.CSVLogger``) and
``history.json`` into the job's folder. Backends (:mod:`loganalyzer.verify.backends`)
decide *where* :func:`train` runs; every backend returns the same
:class:`RunRecord` for the same job.

Training is deterministic per seed: ``keras.utils.set_random_seed(seed)`` and, on the
TensorFlow backend, ``tf.config.experimental.enable_op_determinism()``, so a run on
a Ray worker gives the same numbers as the same run in this process.

Example:
    >>> job = Job("baseline", (), seed=1, epochs=20, folder="round1/baseline/seed1")
    >>> job.tried is None
    True
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from loganalyzer.verify.fixes import FixRequest, apply_chain, fit_after, model_fixes

#: History key of the regularization penalty at the end of each epoch (regularize only).
PENALTY = "regularization_penalty"

#: The metrics compared, in table order: name -> what it means.
METRICS = {
    "best_val_loss": "best validation loss",
    "kept_val_loss": "validation loss of the weights kept",
    "final_gap": "generalization gap (val - train) of the weights kept",
    "best_epoch": "epoch of the best validation loss",
}

#: Files a run leaves in its folder (what a remote backend sends back).
LOG_FILES = ("training.csv", "history.json")


@dataclass
class Job:
    """One (variant, seed) training.

    Attributes:
        label: The variant as shown (``"baseline"``, ``"dropout(rate=0.3)"``,
            ``"add-data@50%"``).
        chain: Every fix applied, in order: the loop's fixes so far, then the one tried.
        seed: The seed.
        epochs: The epoch budget before the chain's fixes (``train-longer`` adds to it).
        folder: The run's log folder, relative to the output directory.
        fraction: Share of the training set used (add-data), else 1.0.
        tried: The fix this variant tries (``None`` for the baseline).
    """

    label: str
    chain: tuple[FixRequest, ...]
    seed: int
    epochs: int
    folder: str
    fraction: float = 1.0
    tried: FixRequest | None = None

    def budget(self, fit: dict[str, Any]) -> int:
        """Epochs this run will train at most (after ``train-longer``)."""
        return int(fit_after(self.model_chain, {**fit, "epochs": self.epochs})["epochs"])

    @property
    def model_chain(self) -> tuple[FixRequest, ...]:
        """The fixes that change the model or its training (add-data changes the data)."""
        return model_fixes(self.chain)


@dataclass
class RunRecord:
    """One finished training run.

    Attributes:
        label: The variant (``"baseline"``, ``"dropout(rate=0.3)"``, ``"add-data@50%"``).
        action: The fix action, or ``None`` for the baseline.
        seed: The seed.
        fraction: Fraction of the training set used (add-data), else 1.0.
        history: ``history.history`` (float lists).
        epochs_budget: Epochs asked for.
        kept_epoch: Epoch whose weights the run ends with (the best epoch when
            EarlyStopping restored it, else the last).
        log_dir: Where its logs were written.
        findings: ``[{rule, kind, severity, message}]`` from analysing its log again.
        advice: ``[{action, rank, rules, params, summary}]`` from the same analysis.
        analysis_error: Why the re-analysis failed, if it did.
        seconds: Wall time of the training.
    """

    label: str
    action: str | None
    seed: int
    fraction: float
    history: dict[str, list[float]]
    epochs_budget: int
    kept_epoch: int
    log_dir: str
    findings: list[dict[str, Any]] = field(default_factory=list)
    advice: list[dict[str, Any]] = field(default_factory=list)
    analysis_error: str | None = None
    seconds: float = 0.0

    @property
    def val(self) -> np.ndarray:
        return np.asarray(self.history.get("val_loss", []), dtype=float)

    @property
    def train(self) -> np.ndarray:
        return np.asarray(self.history.get("loss", []), dtype=float)

    @property
    def val_data(self) -> np.ndarray:
        """Validation loss without regularization penalties (Keras adds them to
        ``val_loss``; a regularized model must not be judged on its own penalty)."""
        return self.val - self._penalty(len(self.val))

    @property
    def train_data(self) -> np.ndarray:
        """Training loss without the end-of-epoch regularization penalty."""
        return self.train - self._penalty(len(self.train))

    def _penalty(self, n: int) -> np.ndarray | float:
        penalty = self.history.get(PENALTY)
        if penalty is None or len(penalty) != n:
            return 0.0
        return np.asarray(penalty, dtype=float)

    @property
    def diverged(self) -> bool:
        """A NaN or infinite training or validation loss anywhere in the run."""
        return bool((~np.isfinite(self.train)).any() or (~np.isfinite(self.val)).any())

    @property
    def epochs_run(self) -> int:
        return len(self.train)

    def metrics(self) -> dict[str, float]:
        """The compared numbers of this run (NaN when the run has no finite val loss)."""
        val, train = self.val_data, self.train_data
        finite = np.isfinite(val)
        if not finite.any():
            return dict.fromkeys(METRICS, math.nan)
        best = int(np.nanargmin(np.where(finite, val, np.nan)))
        k = min(self.kept_epoch, len(val) - 1)
        gap = float(val[k] - train[k]) if k < len(train) else math.nan
        return {
            "best_val_loss": float(val[best]),
            "kept_val_loss": float(val[k]),
            "final_gap": gap,
            "best_epoch": float(best),
        }

    def warnings(self) -> list[dict[str, Any]]:
        """The re-analysis findings at warning or error severity."""
        return [f for f in self.findings if f["severity"] != "info"]


def train(
    spec: Any, job: Job, out_dir: str | Path, tick: Callable[[], None] | None = None
) -> RunRecord:
    """Train one job in this process, write its logs, and return its record.

    Args:
        spec: The :class:`~loganalyzer.verify.spec.Spec`.
        job: What to train.
        out_dir: The output directory; logs go to ``out_dir / job.folder``.
        tick: Called after every epoch (progress bars).

    Raises:
        KeyboardInterrupt: passes through (the caller keeps what finished).
    """
    import time

    from loganalyzer.verify.keras_env import deterministic, require_keras

    keras = require_keras()
    deterministic()
    started = time.perf_counter()
    keras.utils.clear_session()
    keras.utils.set_random_seed(job.seed)
    model = spec.new_model()
    data = spec.data.subset(job.fraction) if job.fraction < 1.0 else spec.data
    base_fit = {k: v for k, v in spec.fit.items() if k not in ("callbacks", "verbose")}
    base_fit["epochs"] = job.epochs
    prepared = apply_chain(job.model_chain, model, spec.data, base_fit)
    model, fit = prepared.model, dict(prepared.fit)
    budget = int(fit.pop("epochs"))
    log_dir = Path(out_dir) / job.folder
    log_dir.mkdir(parents=True, exist_ok=True)
    first = []
    if model.losses:  # regularizers: log the penalty so it can be taken out of the losses

        def log_penalty(epoch, logs):
            logs[PENALTY] = float(sum(float(v) for v in model.losses))

        first.append(keras.callbacks.LambdaCallback(on_epoch_end=log_penalty))
    last = [keras.callbacks.CSVLogger(str(log_dir / "training.csv"))]
    if tick is not None:
        last.append(keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: tick()))
    user_callbacks = list(spec.fit.get("callbacks", []) or [])
    callbacks = first + user_callbacks + list(prepared.callbacks) + last
    fit.update(data.fit_kwargs())
    history = model.fit(**fit, epochs=budget, callbacks=callbacks, verbose=0)
    hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    with open(log_dir / "history.json", "w") as f:
        json.dump(hist, f)
    kept = len(hist.get("loss", [])) - 1
    for cb in prepared.callbacks:
        if isinstance(cb, keras.callbacks.EarlyStopping) and cb.restore_best_weights:
            if cb.best_weights is not None:
                kept = int(cb.best_epoch)
    return RunRecord(
        label=job.label,
        action=None if job.tried is None else job.tried.action,
        seed=job.seed,
        fraction=job.fraction,
        history=hist,
        epochs_budget=budget,
        kept_epoch=kept,
        log_dir=str(log_dir),
        seconds=time.perf_counter() - started,
    )


def reanalyse(record: RunRecord) -> None:
    """Diagnose the run's own log again (findings and advice); an error in the analysis
    never loses the run."""
    try:
        from loganalyzer.analysis import analyze

        result = analyze(str(Path(record.log_dir) / "history.json"))
        if result.errors:
            record.analysis_error = result.errors[0].line()
        record.findings = [
            {"rule": f.rule, "kind": f.kind, "severity": f.severity, "message": f.message}
            for f in result.findings
        ]
        record.advice = [
            {
                "action": a.action,
                "rank": a.rank,
                "rules": list(a.rules),
                "params": dict(a.params),
                "summary": a.summary,
            }
            for a in result.advice
        ]
    except Exception as exc:  # the analysis is another helper's code; report, go on
        record.analysis_error = f"{type(exc).__name__}: {exc}"


def slug(label: str) -> str:
    """A folder name for a variant label (``dropout(rate=0.3)`` -> ``dropout_rate_0.3``)."""
    label = label.replace("%", "pct")
    return re.sub(r"[^A-Za-z0-9_.@-]+", "_", label).strip("_") or "variant"

"""Run the baseline and each fix over the same seeds, write their logs, and compare.

For every seed ``s`` (in order), the baseline and then each fix are trained after
``keras.utils.set_random_seed(s)``, so a fix and the baseline see the same data order
and the same randomness wherever the model allows it. Running seed by seed means an
interrupted verification (Ctrl-C) still holds complete pairs for the seeds it finished.

Every run writes ``DIR/<variant>/seed<s>/training.csv`` (``keras.callbacks.CSVLogger``)
and ``history.json`` (``json.dump(history.history)``) and is analysed again with
:func:`loganalyzer.analyze`, so the report can say whether the finding that motivated a
fix is gone.

Example:
    >>> from loganalyzer.verify.demo import demo_spec
    >>> from loganalyzer.verify.fixes import parse_fix
    >>> result = verify(demo_spec(), [parse_fix("dropout")], seeds=2, epochs=5,
    ...                 out_dir="out")  # doctest: +SKIP
    >>> result.variants[0].verdict  # doctest: +SKIP
    'helped'
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from loganalyzer.verify.fixes import FixRequest, apply_fix
from loganalyzer.verify.stats import (
    NO_CHANGE,
    Comparison,
    PowerLaw,
    SignTest,
    diminishing,
    fit_power_law,
    paired,
    sign_test,
)

#: Finding kinds each fix is meant to remove (used when no advice names the rules).
TARGETS: dict[str, tuple[str, ...]] = {
    "regularize": ("overfitting",),
    "dropout": ("overfitting",),
    "shrink": ("overfitting",),
    "grow": ("underfitting",),
    "augment": ("overfitting",),
    "add-data": ("overfitting",),
    "early-stopping": ("overfitting",),
    "batch-norm": ("plateau", "underfitting"),
    "lower-lr": ("divergence", "loss-spike", "noisy"),
    "clip-gradients": ("divergence", "loss-spike"),
    "lr-schedule": ("plateau", "noisy"),
}

#: History key of the regularization penalty at the end of each epoch (regularize only).
PENALTY = "regularization_penalty"

#: The metrics compared, in table order: name -> what it means.
METRICS = {
    "best_val_loss": "best validation loss",
    "kept_val_loss": "validation loss of the weights kept",
    "final_gap": "generalization gap (val - train) of the weights kept",
    "best_epoch": "epoch of the best validation loss",
}


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
        analysis_error: Why the re-analysis failed, if it did.
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
    analysis_error: str | None = None

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


@dataclass
class DataCurve:
    """add-data: best validation loss against training-set size, and the power law."""

    fractions: list[float]
    sizes: list[float]
    per_seed: dict[float, list[float]]
    mean: list[float]
    fit: PowerLaw | None
    fit_error: str | None
    diminishing: bool | None
    unit: str = "samples"


@dataclass
class FindingStatus:
    """Whether a motivating finding is still there after the fix."""

    kind: str
    baseline_runs: int
    fixed_runs: int
    n: int
    checkable: bool = True
    reason: str = "no detector for it is available"

    @property
    def status(self) -> str:
        if not self.checkable:
            return f"cannot be checked ({self.reason})"
        if self.baseline_runs == 0:
            return "not found in the baseline runs"
        if self.fixed_runs == 0:
            return "gone"
        if self.fixed_runs < self.baseline_runs:
            return "reduced"
        return "still there"

    def text(self) -> str:
        if not self.checkable:
            return f"{self.kind}: {self.status}"
        return (
            f"{self.kind}: {self.status} (baseline {self.baseline_runs}/{self.n} runs, "
            f"fixed {self.fixed_runs}/{self.n})"
        )


@dataclass
class VariantResult:
    """The verdict for one fix."""

    request: FixRequest
    primary: str
    comparisons: dict[str, Comparison]
    epochs_saved: float | None = None
    findings: list[FindingStatus] = field(default_factory=list)
    curve: DataCurve | None = None
    notes: list[str] = field(default_factory=list)
    diverged: tuple[int, int, int] = (0, 0, 0)  # baseline runs, fixed runs, pairs
    divergence_test: SignTest | None = None

    @property
    def label(self) -> str:
        return self.request.label

    @property
    def verdict(self) -> str:
        if self.curve is not None:
            return "see data curve"
        c = self.comparisons.get(self.primary)
        if c is not None and c.n == 0 and self.divergence_test is not None:
            # No pair has finite numbers to compare: the evidence is which side diverged.
            return self.divergence_test.verdict
        return c.verdict if c is not None else NO_CHANGE


@dataclass
class Verification:
    """Everything a verification produced (what the table and the report show)."""

    source: str
    seeds: list[int]
    epochs: int
    requests: list[FixRequest]
    runs: list[RunRecord]
    variants: list[VariantResult]
    out_dir: str
    elapsed: float
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)

    def runs_of(self, label: str, fraction: float = 1.0) -> list[RunRecord]:
        return [r for r in self.runs if r.label == label and r.fraction == fraction]

    @property
    def helped(self) -> list[VariantResult]:
        return [v for v in self.variants if v.verdict == "helped"]


class Progress:
    """What the experiment reports while it runs (the CLI draws a rich bar from it)."""

    def start(self, total_epochs: int) -> None: ...
    def run_started(self, label: str, seed: int) -> None: ...
    def epoch_done(self) -> None: ...
    def run_done(self, skipped_epochs: int) -> None: ...


def verify(
    spec: Any,
    requests: list[FixRequest],
    *,
    seeds: int = 3,
    epochs: int | None = None,
    out_dir: str | Path = "loganalyzer-verify",
    progress: Progress | None = None,
    motivating: dict[str, list[str]] | None = None,
    first_seed: int = 1,
) -> Verification:
    """Train the baseline and each fix over ``seeds`` seeds and compare them.

    Args:
        spec: A :class:`~loganalyzer.verify.spec.Spec`.
        requests: The fixes to verify.
        seeds: Number of seeds (``first_seed``, ``first_seed + 1``, ...).
        epochs: Epoch budget; defaults to ``spec.fit["epochs"]`` or 20.
        out_dir: Where run logs go (``<variant>/seed<s>/``).
        progress: Receives progress events (see :class:`Progress`).
        motivating: fix label -> finding kinds it should remove (from advice); defaults
            to :data:`TARGETS`.
        first_seed: The first seed.

    Returns:
        A :class:`Verification`. Ctrl-C during training discards the run in progress
        and returns what finished, with ``interrupted=True``.

    Raises:
        FixError: a fix does not apply to this model (checked before any training).
        SpecError: the spec's model or data are unusable.
    """
    from loganalyzer.verify.keras_env import require_keras

    keras = require_keras()
    progress = progress or Progress()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fit = dict(spec.fit)
    budget = int(epochs if epochs is not None else fit.get("epochs", 20))
    if budget < 1:
        raise ValueError("epochs must be at least 1")
    seed_list = list(range(first_seed, first_seed + seeds))

    # The jobs of one seed: baseline first, then each fix (add-data: each smaller fraction).
    jobs: list[tuple[str, FixRequest | None, float]] = [("baseline", None, 1.0)]
    for req in requests:
        if req.action == "add-data":
            for frac in sorted(float(f) for f in req.resolved()["fractions"]):
                if frac < 1.0:
                    jobs.append((f"{req.label}@{frac:.0%}", req, frac))
        else:
            jobs.append((req.label, req, 1.0))
    # Apply every fix once before training anything: a fix that does not fit the model
    # (lr-schedule on a schedule optimizer, dropout without hidden layers) fails now,
    # not after minutes of baseline training.
    for req in requests:
        if req.action != "add-data":
            apply_fix(req, spec.new_model(), spec.data)
    keras.utils.clear_session()
    progress.start(len(jobs) * len(seed_list) * budget)

    runs: list[RunRecord] = []
    interrupted = False
    started = time.perf_counter()
    try:
        for seed in seed_list:
            for label, req, frac in jobs:
                progress.run_started(label, seed)
                record = _train(keras, spec, label, req, frac, seed, budget, fit, out, progress)
                runs.append(record)
                progress.run_done(budget - record.epochs_run)
    except KeyboardInterrupt:
        interrupted = True
    elapsed = time.perf_counter() - started

    # Only seeds where every job finished are compared (complete pairs).
    done = [s for s in seed_list if sum(r.seed == s for r in runs) == len(jobs)]
    runs_done = [r for r in runs if r.seed in done]
    for r in runs_done:
        _reanalyse(r)
    result = Verification(
        source=spec.source,
        seeds=done,
        epochs=budget,
        requests=list(requests),
        runs=runs_done,
        variants=[],
        out_dir=str(out),
        elapsed=elapsed,
        interrupted=interrupted,
    )
    if len(done) < 2:
        result.notes.append(
            f"{len(done)} complete seed(s): no confidence interval or test is possible; "
            "use --seeds 3 or more"
        )
    if interrupted:
        result.notes.append(
            f"interrupted: compared the {len(done)} seed(s) that finished for every variant"
        )
    for req in requests:
        kinds = (motivating or {}).get(req.label) or list(TARGETS.get(req.action, ()))
        result.variants.append(_summarise(result, req, kinds, spec))
    return result


# ---------------------------------------------------------------------------- one run
def _train(keras, spec, label, req, frac, seed, budget, fit, out, progress) -> RunRecord:
    keras.utils.clear_session()
    keras.utils.set_random_seed(seed)
    model = spec.new_model()
    data = spec.data.subset(frac) if frac < 1.0 else spec.data
    callbacks: list[Any] = []
    if req is not None and req.action != "add-data":
        prepared = apply_fix(req, model, spec.data)
        model, callbacks = prepared.model, list(prepared.callbacks)
    log_dir = out / _slug(label) / f"seed{seed}"
    log_dir.mkdir(parents=True, exist_ok=True)
    csv_path = log_dir / "training.csv"
    user_callbacks = list(fit.get("callbacks", []) or [])
    tick = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: progress.epoch_done())
    first = []
    if model.losses:  # regularizers: log the penalty so it can be taken out of the losses

        def log_penalty(epoch, logs):
            logs[PENALTY] = float(sum(float(v) for v in model.losses))

        first.append(keras.callbacks.LambdaCallback(on_epoch_end=log_penalty))
    csv_logger = keras.callbacks.CSVLogger(str(csv_path))
    all_callbacks = first + user_callbacks + callbacks + [csv_logger, tick]
    kwargs = {k: v for k, v in fit.items() if k not in ("epochs", "callbacks", "verbose")}
    kwargs.update(data.fit_kwargs())
    history = model.fit(**kwargs, epochs=budget, callbacks=all_callbacks, verbose=0)
    hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    with open(log_dir / "history.json", "w") as f:
        json.dump(hist, f)
    kept = len(hist.get("loss", [])) - 1
    for cb in callbacks:
        if isinstance(cb, keras.callbacks.EarlyStopping) and cb.restore_best_weights:
            if cb.best_weights is not None:
                kept = int(cb.best_epoch)
    return RunRecord(
        label=label,
        action=None if req is None else req.action,
        seed=seed,
        fraction=frac,
        history=hist,
        epochs_budget=budget,
        kept_epoch=kept,
        log_dir=str(log_dir),
    )


def _reanalyse(record: RunRecord) -> None:
    """Diagnose the run's own log again; errors in the analysis never lose the run."""
    try:
        from loganalyzer.analysis import analyze

        result = analyze(str(Path(record.log_dir) / "history.json"))
        if result.errors:
            record.analysis_error = result.errors[0].line()
        record.findings = [
            {"rule": f.rule, "kind": f.kind, "severity": f.severity, "message": f.message}
            for f in result.findings
        ]
    except Exception as exc:  # the analysis is another helper's code; report, go on
        record.analysis_error = f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------------------- summaries
def _summarise(result: Verification, req: FixRequest, kinds: list[str], spec) -> VariantResult:
    base = {r.seed: r for r in result.runs_of("baseline")}
    if req.action == "add-data":
        curve = _data_curve(result, req, spec)
        return VariantResult(req, "best_val_loss", {}, curve=curve)
    fixed = {r.seed: r for r in result.runs_of(req.label)}
    seeds = [s for s in result.seeds if s in base and s in fixed]
    comparisons = {}
    for metric in METRICS:
        b = [base[s].metrics()[metric] for s in seeds]
        f = [fixed[s].metrics()[metric] for s in seeds]
        comparisons[metric] = paired(b, f)
    # EarlyStopping cannot lower the best loss (same seed, same path until it stops); what
    # it changes is which weights you keep, so it is judged on those.
    primary = "kept_val_loss" if req.action == "early-stopping" else "best_val_loss"
    saved = None
    if req.action == "early-stopping" and seeds:
        saved = float(np.mean([fixed[s].epochs_budget - fixed[s].epochs_run for s in seeds]))
    statuses = []
    for kind in kinds:
        nb = sum(_has(base[s], kind) for s in seeds)
        nf = sum(_has(fixed[s], kind) for s in seeds)
        status = FindingStatus(kind, nb, nf, len(seeds), _detectable(kind))
        failed = [base[s] for s in seeds if base[s].analysis_error] + [
            fixed[s] for s in seeds if fixed[s].analysis_error
        ]
        if failed:
            status.checkable = False
            status.reason = f"the run logs could not be analysed: {failed[0].analysis_error}"
        statuses.append(status)
    notes = []
    if seeds and req.action != "early-stopping":
        last = result.epochs - 1
        late = [s for s in seeds if fixed[s].metrics()["best_epoch"] >= 0.8 * last]
        if len(late) == len(seeds) and last >= 4:
            notes.append(
                f"the fixed runs were still improving near the end of the {result.epochs}-epoch "
                "budget (best epoch "
                + ", ".join(str(int(fixed[s].metrics()["best_epoch"])) for s in seeds)
                + "); this fix may need more epochs to show its effect (try --epochs "
                f"{2 * result.epochs})"
            )
    diverged = (
        sum(base[s].diverged for s in seeds),
        sum(fixed[s].diverged for s in seeds),
        len(seeds),
    )
    test = None
    if diverged[0] or diverged[1]:
        test = sign_test(
            sum(base[s].diverged and not fixed[s].diverged for s in seeds),
            sum(fixed[s].diverged and not base[s].diverged for s in seeds),
        )
        notes.append(
            f"runs with a NaN/inf loss: baseline {diverged[0]}/{len(seeds)}, "
            f"fixed {diverged[1]}/{len(seeds)} (exact sign test on the pairs where only one "
            f"side diverged: p = {test.p:.3g}); a pair whose metric is not finite is left "
            "out of the other statistics"
        )
    return VariantResult(
        req, primary, comparisons, saved, statuses, notes=notes, diverged=diverged,
        divergence_test=test,
    )  # fmt: skip


def _detectable(kind: str) -> bool:
    """Whether a detector for ``kind`` (or rule code ``LAxxx``) exists in this install."""
    if kind.startswith("LA"):
        return True
    try:
        from loganalyzer.detectors import detector_for

        return detector_for(kind) is not None
    except Exception:  # the detector registry is not importable: cannot tell
        return True


def _has(record: RunRecord, kind: str) -> bool:
    """A warning or error of this kind (or rule code) in the run's re-analysis."""
    return any(
        (f["kind"] == kind or f["rule"] == kind) and f["severity"] != "info"
        for f in record.findings
    )


def _data_curve(result: Verification, req: FixRequest, spec) -> DataCurve:
    fractions = sorted({float(f) for f in req.resolved()["fractions"]} | {1.0})
    n_full = spec.data.n_train() or 1
    per_seed: dict[float, list[float]] = {}
    for frac in fractions:
        label = "baseline" if frac >= 1.0 else f"{req.label}@{frac:.0%}"
        runs = {r.seed: r for r in result.runs if r.label == label}
        per_seed[frac] = [runs[s].metrics()["best_val_loss"] for s in result.seeds if s in runs]
    sizes = [max(1, int(round(n_full * f))) for f in fractions]
    mean = [float(np.nanmean(per_seed[f])) if per_seed[f] else math.nan for f in fractions]
    fit, err, dim = None, None, None
    try:
        fit = fit_power_law(sizes, mean)
        last_half = None
        if 0.5 in per_seed and per_seed[0.5]:
            last_half = mean[fractions.index(0.5)] - mean[-1]
        dim = diminishing(fit, last_half)
    except (ValueError, RuntimeError) as exc:
        err = str(exc)
    unit = "batches" if spec.data.is_dataset else "samples"
    return DataCurve(fractions, [float(s) for s in sizes], per_seed, mean, fit, err, dim, unit)


def _slug(label: str) -> str:
    label = label.replace("%", "pct")
    return re.sub(r"[^A-Za-z0-9_.@-]+", "_", label).strip("_") or "variant"

"""The pipeline: inputs -> runs -> findings -> advice, as one result object.

``loganalyzer.analyze`` is the Python API; the command line is a thin layer on it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from loganalyzer.errors import ReadError, debugging, exit_code_of
from loganalyzer.findings import Advice, Finding, as_index, jsonable, severity_rank
from loganalyzer.run import Run

SCHEMA = "loganalyzer/1"


@dataclass
class RunResult:
    """One analysed run: the run, the monitored metric and its best point, findings, advice."""

    run: Run
    findings: list[Finding] = field(default_factory=list)
    advice: list[Advice] = field(default_factory=list)
    #: The framework the advice's snippets speak (see :mod:`loganalyzer.framework`).
    framework: str = "keras"
    #: Parts of the analysis that met a bug on this run (one rule, or the advice), as
    #: the one-line errors the caller reports beside the results (exit 70).
    failures: list[ReadError] = field(default_factory=list)

    @property
    def monitor(self) -> str | None:
        """The metric to monitor: the validation loss if logged, else the training loss."""
        return self.run.val_loss or self.run.train_loss

    @property
    def best(self) -> dict[str, Any] | None:
        """``{"index", "value"}`` of the lowest finite value of :attr:`monitor`."""
        return self.best_of(self.monitor)

    def best_of(self, name: str | None) -> dict[str, Any] | None:
        """``{"index", "value"}`` of the lowest finite value of the series ``name``."""
        s = self.run.points(name)
        if s is None:
            return None
        finite = np.isfinite(s.y)
        if not finite.any():
            return None
        x, y = s.x[finite], s.y[finite]
        best = int(np.argmin(y))
        return {"index": as_index(x[best]), "value": float(y[best])}

    @property
    def worst_severity(self) -> str | None:
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=severity_rank)

    def to_dict(self) -> dict[str, Any]:
        run = self.run
        out = jsonable(
            {
                "run": run.name,
                "source": run.sources[0] if len(run.sources) == 1 else run.sources,
                "format": run.format,
                "framework": self.framework,
                "index": run.index,
                "length": run.length,
                "series": run.counts(),
                "train_loss": run.train_loss,
                "val_loss": run.val_loss,
                "learning_rate": run.learning_rate,
                "warnings": list(run.warnings),
                "monitor": self.monitor,
                "best": self.best,
            }
        )
        # already JSON-safe (jsonable of its own output is the same): not walked again
        out["findings"] = [f.to_dict() for f in self.findings]
        out["advice"] = [a.to_dict() for a in self.advice]
        return out


@dataclass
class Analysis:
    """Everything one call analysed: per-run results, unreadable inputs, skipped files."""

    runs: list[RunResult] = field(default_factory=list)
    errors: list[ReadError] = field(default_factory=list)
    skipped: list[ReadError] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        """All findings of all runs (for one run: that run's findings)."""
        return [f for r in self.runs for f in r.findings]

    @property
    def advice(self) -> list[Advice]:
        """All advice of all runs, in rank order per run."""
        return [a for r in self.runs for a in r.advice]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "runs": [r.to_dict() for r in self.runs],
            "errors": [e.to_dict() for e in self.errors],
            "skipped": [e.to_dict() for e in self.skipped],
        }

    def to_json(self, indent: int | None = 2) -> str:
        if indent is None:
            return json.dumps(self.to_dict(), allow_nan=False)
        from loganalyzer.renderers.json_text import dumps

        return dumps(self.to_dict(), indent)

    def exit_code(self, fail_on: str = "error") -> int:
        """0: clean; 1: a finding at or above ``fail_on``; 2: an input could not be read;
        70: a bug met while analysing a run (the rest was still analysed)."""
        code = exit_code_of(self.errors)
        if code is not None:
            return code
        if fail_on != "never":
            threshold = severity_rank(fail_on)
            if any(severity_rank(f.severity) >= threshold for f in self.findings):
                return 1
        return 0

    def _repr_html_(self) -> str:  # Jupyter
        from loganalyzer.renderers import html

        return html.render_fragment(self)


def to_run(obj: Any, name: str | None = None) -> Run:
    """Turn an in-memory object into a Run: a Keras ``History``, a dict of lists, a DataFrame."""
    import pandas as pd

    if isinstance(obj, Run):
        return obj
    hist = getattr(obj, "history", None)
    if isinstance(hist, dict):  # keras.callbacks.History, without importing keras
        epochs = getattr(obj, "epoch", None)
        frame = pd.DataFrame({k: pd.Series(v, dtype=float) for k, v in hist.items()})
        if epochs is not None and len(epochs) == len(frame):
            frame.index = list(epochs)
        return Run.from_frame(name or "history", frame, format="python", index="epoch")
    if isinstance(obj, dict):
        frame = pd.DataFrame({k: pd.Series(list(v), dtype=float) for k, v in obj.items()})
        return Run.from_frame(name or "run", frame, format="python", index="epoch")
    if isinstance(obj, pd.DataFrame):
        frame = obj
        index = (
            "step" if str(frame.index.name or "").lower() in ("step", "global_step") else "epoch"
        )
        for col in ("epoch", "step"):
            if col in frame.columns and frame.index.name is None:
                frame = frame.set_index(col)
                index = col
                break
        return Run.from_frame(name or "run", frame, format="python", index=index)
    raise TypeError(
        f"cannot analyse a {type(obj).__name__}: pass a path, a Keras History, a dict of lists "
        "or a pandas DataFrame"
    )


def analyze(
    obj: Any,
    *,
    config: Any = None,
    train_loss: str | None = None,
    val_loss: str | None = None,
    framework: str | None = None,
) -> Analysis:
    """Analyse a path (file or directory), a list of paths, a Keras ``History``,
    a dict of lists or a DataFrame.

    Args:
        obj: What to analyse.
        config: A :class:`loganalyzer.config.Config` (rule selection and parameters);
            ``None`` loads ``[tool.loganalyzer]`` from the nearest ``pyproject.toml``.
        train_loss: Override the automatic choice of training-loss series.
        val_loss: Override the automatic choice of validation-loss series.
        framework: ``"keras"``, ``"hf"``, ``"lightning"`` or ``"pytorch"``: the API the
            advice's snippets use (default: guessed per run from the log).

    Returns:
        An :class:`Analysis` with ``.runs``, ``.findings``, ``.advice``, ``.to_json()``.

    Example:
        >>> from loganalyzer import analyze
        >>> result = analyze({"loss": [1.0, 0.5, 0.3], "val_loss": [1.0, 0.6, 0.5]})
        >>> result.runs[0].best
        {'index': 2, 'value': 0.5}
    """
    from loganalyzer.readers import read_paths

    if config is None:
        from loganalyzer.config import load_config

        config = load_config()
    if isinstance(obj, (str, os.PathLike)) or (
        isinstance(obj, (list, tuple))
        and obj
        and all(isinstance(p, (str, os.PathLike)) for p in obj)
    ):
        paths = [obj] if isinstance(obj, (str, os.PathLike)) else list(obj)
        read = read_paths(paths)
        runs, errors, skipped = read.runs, read.errors, read.skipped
    else:
        runs, errors, skipped = [to_run(obj)], [], []
    result = Analysis(errors=list(errors), skipped=list(skipped))
    for run in runs:
        try:
            run.override_losses(train_loss, val_loss)
        except KeyError as exc:
            result.errors.append(ReadError(", ".join(run.sources) or run.name, str(exc.args[0])))
            continue
        result.runs.append(analyze_run(run, config, framework))
        result.errors.extend(result.runs[-1].failures)
    return compare_siblings(result, config)


def analyze_run(run: Run, config: Any = None, framework: str | None = None) -> RunResult:
    """Diagnose one run and advise on it (in ``framework``'s API, or the guessed one)."""
    from loganalyzer.diagnose import diagnose
    from loganalyzer.framework import guess

    # A log's extreme values (1e308) overflow intermediate differences to inf, which
    # the methods handle; numpy's warnings about it would only be noise on stderr.
    failed: list = []
    with np.errstate(all="ignore"):
        findings = diagnose(run, config, failed)
        name = framework or guess(run).name
        from loganalyzer.advice import advise

        try:
            advice = advise(run, findings, framework=name)
        except Exception as exc:  # noqa: BLE001 - a bug in the advice costs the advice only
            if debugging():
                raise
            advice, failed = [], failed + [(None, exc)]
    source = ", ".join(run.sources) or run.name
    failures = [
        ReadError.internal_failure(
            source, f"rule {rule.code} ({rule.kind})" if rule else "the advice", exc
        )
        for rule, exc in failed
    ]
    return RunResult(run=run, findings=findings, advice=advice, framework=name, failures=failures)


def compare_siblings(result: Analysis, config: Any = None) -> Analysis:
    """Runs analysed together are compared with their siblings in the same sweep
    (``sweep-outlier``, :mod:`loganalyzer.detectors.sweep_outlier`); a run that gets a
    finding is advised again with it."""
    found = sweep_findings([r.run for r in result.runs], config, result.errors)
    for i, findings in found.items():
        add_sibling_findings(result.runs[i], findings)
    return result


def sweep_findings(
    runs: list, config: Any = None, errors: list | None = None
) -> dict[int, list[Finding]]:
    """``sweep-outlier`` findings of runs analysed together (the runs, or their
    :class:`~loganalyzer.detectors.sweep_outlier.Sibling` summaries), by position.

    A bug in the comparison costs the comparison: it is added to ``errors`` as one
    internal error and no run gets a sweep finding (without ``errors``, or under
    ``--debug``, the exception goes through)."""
    from loganalyzer.detectors.sweep_outlier import KIND, detect_sweep
    from loganalyzer.rulepack import load_rules

    rule = next((r for r in load_rules() if r.kind == KIND), None)
    if rule is None or len(runs) < 2:
        return {}
    if config is not None and not config.is_selected(rule.code):
        return {}
    params = dict(rule.params)
    if config is not None:
        params.update(config.params_for(rule.code))
    try:
        return detect_sweep(runs, rule, params)
    except Exception as exc:  # noqa: BLE001 - contained to the comparison, said as an error
        if errors is None or debugging():
            raise
        where = f"the sweep of {len(runs)} runs"
        errors.append(ReadError.internal_failure(where, f"rule {rule.code} ({KIND})", exc))
        return {}


def add_sibling_findings(rr: RunResult, findings: list[Finding]) -> None:
    """Give a run its ``sweep-outlier`` findings, and advise it again with them."""
    from loganalyzer.advice import advise
    from loganalyzer.findings import lead_rank

    if any(f.severity == "error" for f in rr.findings):
        for f in findings:  # the run's own error already explains it
            f.severity = "info"
    rr.findings = sorted(
        rr.findings + findings,
        key=lambda f: (-severity_rank(f.severity), lead_rank(f.kind), f.rule),
    )
    rr.advice = advise(rr.run, rr.findings, framework=rr.framework)

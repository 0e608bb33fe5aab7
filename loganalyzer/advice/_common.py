"""What every advice builder shares: the context it reads and small number helpers.

A builder never re-detects anything: it reads the findings that call for its action
(their evidence) and, where a number must come from the curve itself (EarlyStopping's
patience, a learning rate), the :class:`~loganalyzer.run.Run`.

Example:
    >>> nice(0.012345), nice(3.0e-4), literal(1e-05), literal(0.5)
    (0.012, 0.0003, '1e-05', '0.5')
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from loganalyzer.advice.context import RunContext
from loganalyzer.findings import Finding, as_index, severity_rank  # noqa: F401
from loganalyzer.framework import LABELS
from loganalyzer.naming import direction
from loganalyzer.run import Run
from loganalyzer.stats import median


@dataclass
class AdviceContext:
    """What one action's builder gets.

    Args:
        run: The run being advised on.
        action: The action to build (``"early-stopping"``, ...).
        findings: The warning/error findings whose rules trigger this action, most
            severe first.
        all_findings: Every finding of the run (any severity), for cross-references
            such as the monitor a ``metric-disagreement`` finding suggests.
        priority: The best (lowest) priority the rule pack gives this action. A
            builder may lower it when the run's context makes the action the first
            thing to do (``check-data`` for a loss stuck at chance level).
        context: What the engine read about the whole run (schedule, gradient norms,
            optimizer, chance level, framework); built from the run when not given.
    """

    run: Run
    action: str
    findings: list[Finding]
    all_findings: list[Finding] = field(default_factory=list)
    priority: int = 5
    context: RunContext | None = None

    def __post_init__(self) -> None:
        if self.context is None:
            self.context = RunContext.of(self.run, self.all_findings or self.findings)

    @property
    def framework(self) -> str:
        """``"keras"``, ``"hf"``, ``"lightning"`` or ``"pytorch"``: the snippets' API."""
        return self.context.framework

    @property
    def label(self) -> str:
        """The framework's name in prose (``"Hugging Face Trainer"``)."""
        return LABELS[self.framework]

    def has(self, kind: str, min_severity: str = "warning") -> bool:
        """Does the run have a finding of ``kind`` at ``min_severity`` or worse?"""
        rank = severity_rank(min_severity)
        return any(f.kind == kind and severity_rank(f.severity) >= rank for f in self.all_findings)

    def log_name(self, metric: str | None) -> str | None:
        """``metric`` as the user's code names it: the log's own name (``eval_loss`` for
        the Trainer, ``val/loss`` for a Lightning ``self.log("val/loss")``), or the Keras
        key for Keras (a Keras TensorBoard tag ``validation/epoch_loss`` is ``val_loss``)."""
        if metric is None:
            return None
        orig = self.run.original_names.get(metric, metric)
        fw = self.framework
        if fw == "keras":
            return metric if self.run.format == "tensorboard" else orig
        if fw == "hf":
            if self.run.format == "tensorboard":
                return orig.replace("eval/", "eval_").replace("train/", "")
            return orig
        return orig

    def first(self, kind: str) -> Finding | None:
        """The first finding of ``kind`` among *all* findings (warning/error first)."""
        ranked = sorted(self.all_findings, key=lambda f: -severity_rank(f.severity))
        return next((f for f in ranked if f.kind == kind), None)

    @property
    def rules(self) -> list[str]:
        return sorted({f.rule for f in self.findings})

    @property
    def index(self) -> str:
        return self.run.index


def nice(x: float, digits: int = 2) -> float:
    """``x`` rounded to ``digits`` significant digits (0 stays 0)."""
    if x == 0 or not math.isfinite(x):
        return float(x)
    return float(f"{x:.{digits}g}")


def literal(x: Any) -> str:
    """A number as a Python literal for a snippet (``1e-05``, ``0.5``, ``3``)."""
    if isinstance(x, bool):
        return "True" if x else "False"
    if isinstance(x, int):
        return str(x)
    return repr(float(x))


def fmt(x: Any) -> str:
    """A number for prose: 4 significant digits, ints as ints."""
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        if x.is_integer() and abs(x) < 1e15:
            return str(int(x))
        return f"{x:.4g}"
    return str(x)


@functools.lru_cache(maxsize=256)  # a sweep's runs share a few names; asked per action
def mode_for(metric: str) -> str:
    """``"max"`` for accuracy-like metrics, ``"min"`` for losses and errors.

    Example:
        >>> mode_for("val_accuracy"), mode_for("val_loss"), mode_for("val_mae")
        ('max', 'min', 'min')
    """
    return direction(metric) or "min"


def finite_series(run: Run, metric: str | None) -> tuple[np.ndarray, np.ndarray]:
    """``(index, values)`` of the finite logged points of ``metric`` (empty if absent)."""
    s = run.points(metric)
    if s is None:
        return np.array([]), np.array([])
    ok = np.isfinite(s.y)
    return s.x[ok], s.y[ok]


def last_finite(run: Run, metric: str | None) -> float | None:
    _, y = finite_series(run, metric)
    return float(y[-1]) if len(y) else None


def gap_severity(ctx: AdviceContext) -> float:
    """How far training and validation have drifted apart, from 0 (none) to 1 (large).

    With an ``overfitting`` warning or error this is Prechelt's generalization loss GL
    (the % the validation loss ended above its best) divided by 100, so a validation
    loss that doubled from its best scores 1. Without one it is the relative gap
    ``(val - train) / |val|`` at the end of the run: a *mild* (info) overfitting, GL
    2-5 %, is no rise to size a remedy on, and a run that memorises its training set
    (a generalization gap, validation flat) is measured by how far apart the curves
    ended. Clipped to [0, 1].

    Example:
        >>> from loganalyzer.analysis import to_run
        >>> run = to_run({"loss": [1.0, 0.5, 0.2], "val_loss": [1.0, 0.7, 0.6]})
        >>> round(gap_severity(AdviceContext(run, "dropout", [])), 3)
        0.667
    """
    f = ctx.first("overfitting")
    if f is not None and severity_rank(f.severity) >= severity_rank("warning"):
        gl = f.evidence.get("gl")
        if isinstance(gl, (int, float)) and math.isfinite(gl):
            return _unit(gl / 100.0)
        return 0.6 if f.evidence.get("grade") == "clear" else 0.2
    val = last_finite(ctx.run, ctx.run.val_loss)
    train = last_finite(ctx.run, ctx.run.train_loss)
    if val is None or train is None or val == 0:
        return 0.0
    return _unit((val - train) / abs(val))


def _unit(x: float) -> float:
    """``x`` clipped to [0, 1] (``numpy.clip``'s value; on one number it costs ten
    times as much)."""
    return float(min(max(x, 0.0), 1.0))


def learning_rate_at(run: Run, at: Any = None) -> float | None:
    """The logged learning rate at index ``at`` (the last value at or before it), or the
    largest logged rate when ``at`` is ``None``; ``None`` when no rate is logged."""
    idx, lr = finite_series(run, run.learning_rate)
    if not len(lr):
        return None
    if at is None or not isinstance(at, (int, float)) or isinstance(at, bool):
        return float(lr.max())
    before = np.nonzero(idx.astype(float) <= float(at))[0]
    return float(lr[before[-1]] if len(before) else lr[0])


def because(ctx: AdviceContext) -> str:
    """``"Why: LA101 overfitting at epoch 4; LA105 noisy at epoch 0–30."``

    Most of a run's actions are called for by the same findings (an over-fitting run's
    six remedies by its one ``overfitting`` finding), so the line is kept in the run's
    context per what it reads: the unit and each finding's rule, kind and span."""
    key = (ctx.index, *[(f.rule, f.kind, f.start, f.end) for f in ctx.findings])
    said = ctx.context.said
    text = said.get(key)
    if text is None:
        text = said[key] = _because(ctx.findings, ctx.index)
    return text


def _because(findings: list[Finding], index: str) -> str:
    parts = []
    for f in findings:
        where = ""
        if f.start is not None:
            where = f" at {index} {fmt(f.start)}"
            if f.end is not None and f.end != f.start:
                where += f"–{fmt(f.end)}"
        parts.append(f"{f.rule} {f.kind}{where}")
    return "Why: " + "; ".join(parts) + "." if parts else ""


def fit_epochs_text(run: Run) -> str:
    """``epochs=N`` for a ``model.fit`` call in a snippet (the log's own length)."""
    return f"epochs={run.length}" if run.index == "epoch" else "epochs=EPOCHS"


def eval_spacing(run: Run, metric: str | None) -> int | None:
    """How many index units (steps) lie between two logged points of ``metric``: the
    log's evaluation interval (median spacing), or ``None`` with fewer than 2 points."""
    idx, _ = finite_series(run, metric)
    if len(idx) < 2:
        return None
    idx = idx.astype(float)
    steps = idx[1:] - idx[:-1]
    low = float(steps.min())
    if low == float(steps.max()) and abs(low) < 1e300:
        step = low  # evenly spaced (the usual log): the median of equal steps is the step
    else:
        step = float(median(steps))
    return max(1, int(round(step)))


def nice_up(x: float, digits: int = 2) -> float:
    """``x`` rounded *up* to ``digits`` significant digits (a ceiling that never cuts
    the value it was computed from).

    Example:
        >>> nice_up(2.3412), nice_up(0.0123), nice_up(1.0)
        (2.4, 0.013, 1.0)
    """
    if x <= 0 or not math.isfinite(x):
        return float(x)
    e = math.floor(math.log10(abs(x))) - digits + 1
    return float(f"{math.ceil(round(x / 10**e, 9)) * 10**e:.{digits}g}")


def pick(ctx: AdviceContext, templates: dict, params: dict) -> str:
    """The snippet for the run's framework: ``templates[framework](ctx, params)``, falling
    back to the Keras template for a framework without one."""
    make = templates.get(ctx.framework) or templates["keras"]
    return make(ctx, params)

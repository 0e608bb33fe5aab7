"""What the advice engine reads about a run before it advises: the whole run, once.

A finding says what went wrong at one place; the right fix depends on the rest of the
run. :class:`RunContext` gathers it once per run, and every action's builder reads it:

- the **learning-rate schedule** (:func:`schedule`): none logged, zero, constant,
  warm-up (to a peak, then flat or decaying), rising to the end, decaying, or steps.
  A warm-up's *peak* is the rate the user configured; lowering "the rate at the step
  where the detector tripped" would give a different answer for every seed;
- the **gradient norms** when logged (:func:`loganalyzer.detectors.gradient_norm.grad_norms`);
- the **optimizer** when the log names it (:func:`loganalyzer.framework.optimizer`);
- the **chance level**: a classification loss stuck at ln(k) with accuracy near 1/k
  learned nothing from its inputs; more epochs or a smaller rate will not change that;
- a **collapse** (:func:`collapse`): the training loss blew up at its start (the first
  epoch's mean 10x the level it then sat at) and never really learned after: a
  learning rate so high it wrecked the model (dead ReLUs, saturated units), which reads
  as a flat, "under-fitting" loss (or a validation loss drifting on a broken model)
  but calls for a smaller rate, not a bigger model or early stopping;
- **suspect columns**: loss columns that behave like scores (``column-mismatch``);
- the **framework** that wrote the log, for the snippets.

Example:
    >>> import numpy as np
    >>> warm = np.r_[np.linspace(0.004, 0.02, 5), np.linspace(0.02, 0.0, 55)]
    >>> s = schedule(np.arange(60) * 5 + 5, warm)
    >>> s.kind, s.peak, s.peak_at, s.describe("step")
    ('warmup', 0.02, 25, 'a warm-up to a peak of 0.02 at step 25, then a decay to 0')
    >>> schedule(np.arange(10), np.zeros(10)).kind
    'zero'
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from loganalyzer.detectors.column_mismatch import KIND as MISMATCH
from loganalyzer.detectors.gradient_norm import GradNorms, grad_norms
from loganalyzer.findings import Finding, as_index
from loganalyzer.framework import guess, optimizer
from loganalyzer.run import Run
from loganalyzer.stats import mann_kendall, median


def _num(x: float) -> str:
    return f"{x:.3g}"


@dataclass(frozen=True)
class Schedule:
    """The logged learning-rate schedule.

    Attributes:
        kind: ``"none"`` (not logged), ``"zero"`` (0 at every point), ``"constant"``,
            ``"warmup"`` (rises to a peak before the last fifth, then flat or decaying),
            ``"rising"`` (still rising at the end: a warm-up without a ceiling),
            ``"decay"`` (falls smoothly from the start), ``"steps"`` (piecewise constant
            with drops, e.g. ReduceLROnPlateau).
        peak: The largest logged rate (the configured rate for warm-up schedules).
        peak_at: Where it is first reached.
        start, end: The first and last logged rates.
        drops: ``(index, old, new)`` for every drop by at least half (``"steps"``).
    """

    kind: str
    peak: float | None = None
    peak_at: float | int | None = None
    start: float | None = None
    end: float | None = None
    drops: tuple = ()

    def describe(self, unit: str = "epoch") -> str:
        """The schedule in words (``"a constant rate of 0.001"``)."""
        if self.kind == "none":
            return "no logged learning rate"
        if self.kind == "zero":
            return "a learning rate of 0 at every logged point"
        if self.kind == "constant":
            return f"a constant rate of {_num(self.peak)}"
        if self.kind == "warmup":
            after = (
                f", then a decay to {_num(self.end)}"
                if self.end is not None and self.end < 0.9 * self.peak
                else ""
            )
            return f"a warm-up to a peak of {_num(self.peak)} at {unit} {self.peak_at}{after}"
        if self.kind == "rising":
            return f"a rate rising from {_num(self.start)} to {_num(self.end)} with no ceiling"
        if self.kind == "decay":
            return f"a decay from {_num(self.start)} to {_num(self.end)}"
        steps = ", ".join(f"{_num(o)} -> {_num(n)} at {unit} {i}" for i, o, n in self.drops[:3])
        return f"step drops ({steps})"


def schedule(index, lr) -> Schedule:
    """Classify a learning-rate series (see :class:`Schedule`)."""
    x = np.asarray(index)
    y = np.asarray(lr, dtype=float)
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    if not len(y):
        return Schedule("none")
    peak = float(y.max())
    start, end = float(y[0]), float(y[-1])
    if peak <= 0:
        return Schedule("zero", 0.0, as_index(x[0]), start, end)
    p = int(np.argmax(y >= peak * (1 - 1e-9)))
    peak_at = as_index(x[p])
    base = dict(peak=peak, peak_at=peak_at, start=start, end=end)
    if float(y.min()) >= 0.95 * peak:
        return Schedule("constant", **base)
    n = len(y)
    if p > 0 and start < 0.9 * peak:
        if p >= n - max(1, n // 5):
            return Schedule("rising", **base)
        return Schedule("warmup", **base)
    ratios = y[1:] / np.where(y[:-1] > 0, y[:-1], np.nan)
    drops = [
        (as_index(x[i + 1]), float(y[i]), float(y[i + 1])) for i in np.nonzero(ratios <= 0.5)[0]
    ]
    distinct = len(np.unique(np.round(y / peak, 6)))
    if drops and distinct <= max(2, len(drops) + 2):
        return Schedule("steps", drops=tuple(drops), **base)
    return Schedule("decay", **base)


@dataclass(frozen=True)
class Chance:
    """A loss stuck at the chance level ``ln(k)`` of ``k`` classes."""

    classes: int
    level: float
    loss: float


def chance(run: Run, findings: list[Finding]) -> Chance | None:
    """The chance level the training loss is stuck at, from an ``underfitting`` finding's
    evidence or, failing that, from the loss and an accuracy column: the final loss
    within 5 % of ``ln(k)`` with ``k = round(1 / accuracy)`` classes."""
    for f in findings:
        level = f.evidence.get("chance_level") if f.kind == "underfitting" else None
        if isinstance(level, (int, float)) and level > 0:
            loss = f.evidence.get("final_train_loss")
            loss = float(loss) if isinstance(loss, (int, float)) else level
            return Chance(max(2, round(math.exp(level))), float(level), loss)
    s = run.points(run.train_loss)
    acc = next((c for c in ("accuracy", "acc") if c in run.data), None)
    if s is None or acc is None:
        return None
    y = s.y
    a = run.points(acc).y
    y, a = y[np.isfinite(y)], a[np.isfinite(a)]
    if len(y) < 5 or len(a) < 5:
        return None
    loss = float(median(y[-max(3, len(y) // 10) :]))
    accuracy = float(median(a[-max(3, len(a) // 10) :]))
    if not 0.001 < accuracy < 0.6:
        return None
    k = round(1 / accuracy)
    if k >= 2 and abs(loss - math.log(k)) <= 0.05 * math.log(k):
        return Chance(k, math.log(k), loss)
    return None


@dataclass(frozen=True)
class Collapse:
    """A training loss that blew up at its start and was stuck after it.

    Attributes:
        at: Where the blow-up peaked (the log's own index).
        peak: The loss there.
        level: The median loss after it, where the loss stayed.
    """

    at: float | int
    peak: float
    level: float

    @property
    def ratio(self) -> float:
        return self.peak / self.level


def collapse(run: Run, ratio: float = 10.0, max_learned: float = 0.5) -> Collapse | None:
    """Did the training loss blow up in its first points and never really learn after?

    The method, as an engineer reads such a log: the highest training loss lies in the
    first tenth of the log (at most its second point) and is at least ``ratio`` times
    the median of everything after it (a mean over an epoch that high means the
    weights were thrown far off during it); after it the loss removed less than
    ``max_learned`` of the level it landed at (the medians of its first and last three
    points) and its second half no longer falls (no significant Mann-Kendall trend
    down): the model is stuck where the blow-up left it. A huge first epoch that the
    loss keeps falling from (the mean over an epoch of an unnormalised regression) is
    not one.

    Example:
        >>> from loganalyzer.analysis import to_run
        >>> c = collapse(to_run({"loss": [23.8, 2.21, 2.32, 2.21, 2.21, 2.11, 2.17, 2.16]}))
        >>> c.at, round(c.ratio, 1)
        (0, 10.8)
        >>> collapse(to_run({"loss": [90.0, 5.0, 2.0, 1.2, 0.8, 0.6, 0.5, 0.45]})) is None
        True
    """
    s = run.points(run.train_loss)
    if s is None:
        return None
    ok = np.isfinite(s.y)
    x, y = s.x[ok], s.y[ok]
    n = len(y)
    if n < 6:
        return None
    p = int(np.argmax(y))
    after = y[p + 1 :]
    if p > max(1, n // 10) or len(after) < 5:
        return None
    level = float(median(after))
    if level <= 0 or y[p] < ratio * level:
        return None
    landed = float(median(after[:3]))
    if landed - float(median(after[-3:])) >= max_learned * landed:
        return None
    trend = mann_kendall(after[len(after) // 2 :])
    if trend.z < 0 and trend.p / 2 < 0.05:
        return None
    return Collapse(as_index(x[p]), float(y[p]), level)


class _once:
    """``functools.cached_property`` without its lock (Python 3.11 takes one on every
    first read, a third of the cost of reading a part of a run's context): the value
    goes into the instance's ``__dict__``, which later reads find first."""

    def __init__(self, read):
        self.read = read
        self.name = read.__name__
        self.__doc__ = read.__doc__

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.read(obj)
        return value


class RunContext:
    """Everything about a run that advice reads besides the findings that call for it.

    Build it with :meth:`of`; ``framework`` is the guess unless given. Each part is
    read off the run the first time an action asks for it, then kept: most runs'
    advice reads a few of them (a run with no learning-rate column and no gradient
    norms never needs its schedule classified or its norms gathered).

    Attributes:
        framework, framework_why: The snippets' API and why it was picked.
        schedule: The learning-rate :class:`Schedule` (``"none"`` when not logged).
        grads: The gradient norms when logged.
        optimizer: The optimizer the log names, if any.
        chance: The chance level the loss is stuck at, if it is (:func:`chance`).
        suspect: Loss columns that behave like scores (``column-mismatch``).
        collapse: A blow-up at the start the loss never recovered from (:func:`collapse`).
    """

    def __init__(self, run: Run, findings: list[Finding], framework: str | None = None):
        self.run = run
        self.findings = findings
        self._given = framework
        #: Text the builders share, kept per what it is made of (see ``_common.because``).
        self.said: dict = {}

    @classmethod
    def of(cls, run: Run, findings: list[Finding], framework: str | None = None) -> RunContext:
        return cls(run, findings, framework)

    @_once
    def framework(self) -> str:
        return self._given if self._given is not None else guess(self.run).name

    @_once
    def framework_why(self) -> str:
        g = guess(self.run)
        return "--framework" if self._given not in (None, g.name) else g.why

    @_once
    def schedule(self) -> Schedule:
        lr = self.run.points(self.run.learning_rate)
        return schedule(lr.x, lr.y) if lr is not None else Schedule("none")

    @_once
    def grads(self) -> GradNorms | None:
        return grad_norms(self.run)

    @_once
    def optimizer(self) -> str | None:
        return optimizer(self.run)

    @_once
    def chance(self) -> Chance | None:
        return chance(self.run, self.findings)

    @_once
    def suspect(self) -> set[str]:
        return {f.metric for f in self.findings if f.kind == MISMATCH}

    @_once
    def collapse(self) -> Collapse | None:
        return collapse(self.run)

    @property
    def lr_zero(self) -> bool:
        return self.schedule.kind == "zero"

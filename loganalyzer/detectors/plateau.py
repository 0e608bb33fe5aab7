"""``plateau``: a stretch where a loss curve makes no significant progress.

A stretch is flat when its smoothed level neither improves nor rises by more than a
tolerance, the largest of: ``tol_sigma`` noise units; ``rel_tol`` of the curve's whole
range; and ``level_tol`` of the loss itself (a 0.05 % change of a 0.69 loss is not
progress, however smooth the curve). Stretches shorter than ``min_fraction`` of the
log (and than the minimum number of points) are not plateaus. Each plateau is
classified:

- **no learning** (warning): the curve starts on the plateau and never leaves it, or
  it ends at a chance level (a loss of ``ln k`` with accuracy near ``1/k``);
- **ended by a learning-rate drop** (info, ``lr_drop_index`` in the evidence);
- **a stall that ended** on its own (info): training was stuck, then learned;
- **a converged tail** (info): the curve learned and then settled;
- **flat above an earlier best** (info): the curve got worse first (overfitting or
  divergence report that) and then stopped moving.

Example:
    >>> from loganalyzer.analysis import to_run
    >>> from loganalyzer.rulepack import rule_by_code
    >>> run = to_run({"loss": [1.5, 1.52, 1.49, 1.51, 1.5, 1.48, 1.5, 1.51, 1.49, 1.5]})
    >>> [(f.severity, f.start, f.end) for f in detect(run, rule_by_code("LA104"), {})]
    [('warning', 0, 9)]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loganalyzer.detectors import _curves as C
from loganalyzer.findings import Finding
from loganalyzer.rulepack import Rule
from loganalyzer.run import Run
from loganalyzer.stats import mann_kendall, theil_sen

KIND = "plateau"

DEFAULTS = {
    "min_fraction": 0.2,
    "tol_sigma": 3.0,
    "rel_tol": 0.05,
    "level_tol": 0.01,
    "lr_drop_factor": 0.5,
    "max_improvement": 0.1,
    "alpha": 0.05,
}


@dataclass
class Stretch:
    """A flat stretch of the judged curve, positions ``[i, j]`` inclusive."""

    i: int
    j: int
    level: float
    improvement: float  # level at i minus the lowest smoothed level inside


class Plateaus:
    """Finds maximal flat stretches of a curve (greedy, earliest start first).

    Args:
        tol_sigma, rel_tol, level_tol: The three tolerances (see module docs).
        min_len: Shortest plateau in points.

    Example:
        >>> y = np.r_[np.linspace(2, 1, 10), np.full(20, 1.0), np.linspace(1, 0.5, 10)]
        >>> [(s.i, s.j) for s in Plateaus(min_len=8).fit(y).predict()]
        [(9, 31)]
    """

    def __init__(self, tol_sigma=3.0, rel_tol=0.05, level_tol=0.01, min_len=5):
        self.tol_sigma = tol_sigma
        self.rel_tol = rel_tol
        self.level_tol = level_tol
        self.min_len = int(min_len)

    def fit(self, y: np.ndarray) -> Plateaus:
        y = np.asarray(y, dtype=float)
        self.y = y
        self.smooth = C.running_median(y, C.smooth_window(len(y), 0.08, 3, 21))
        self.sigma = C.sigma(y)
        rng = float(np.max(self.smooth) - np.min(self.smooth))
        self.tol = max(self.tol_sigma * self.sigma, self.rel_tol * rng)
        return self

    def _tol_at(self, level: float) -> float:
        return max(self.tol, self.level_tol * abs(level))

    def predict(self) -> list[Stretch]:
        s = self.smooth
        n = len(s)
        out = []
        i = 0
        while i <= n - self.min_len:
            tol = self._tol_at(s[i])
            seg = s[i:]
            down = s[i] - np.minimum.accumulate(seg)
            up = np.maximum.accumulate(seg) - s[i]
            broken = np.nonzero((down > tol) | (up > tol))[0]
            length = int(broken[0]) if len(broken) else len(seg)
            if length >= self.min_len:
                j = i + length - 1
                inside = s[i : j + 1]
                out.append(Stretch(i, j, float(np.median(inside)), float(s[i] - inside.min())))
                i = j + 1
            else:
                i += 1
        return out


def _lr_drop(run: Run, start: float, end: float, after: float, factor: float) -> float | None:
    """Index where the learning rate fell below ``factor`` of its value at ``start``,
    between ``start`` and ``after`` (a little past the plateau's end)."""
    lr = C.learning_rate(run)
    if lr is None or lr.n < 2:
        return None
    at_start = C.lr_at(run, start)
    if not at_start or at_start <= 0:
        return None
    mask = (lr.x > start) & (lr.x <= after) & (lr.y <= factor * at_start)
    if not mask.any():
        return None
    return float(lr.x[np.argmax(mask)])


def _falls(y: np.ndarray, alpha: float) -> bool:
    """Does ``y`` fall significantly (Mann-Kendall, one-sided at ``alpha``)?"""
    trend = mann_kendall(y)
    if not trend.falling:
        return False
    if trend.p < alpha:
        return True
    # On a few noisy points the test is weak: a Theil-Sen fall of a sixth of the level
    # over the stretch, in the same direction at a looser level, is still learning.
    slope = theil_sen(np.arange(len(y)), y)
    drop = -slope.slope * (len(y) - 1)
    return bool(trend.p < 4 * alpha and drop > abs(float(np.median(y))) / 6)


def _at_chance(run: Run, c: C.Curve, level: float, start: float, end: float) -> bool:
    """Is a stall at ``level`` the model still guessing (loss ln k, accuracy ~1/k over
    the stall)? That is a slow start, which the source projects call normal."""
    if not np.isfinite(level) or not 0.5 < level < 2.5:
        return False
    k = int(round(np.exp(level)))
    if k < 2 or abs(level - np.log(k)) > 0.03 * np.log(k):
        return False
    split = "train" if c.name == run.train_loss else "val"
    for name in C.accuracy_columns(run, split):
        acc = C.curve(run, name)
        if acc is None:
            continue
        inside = acc.y[(acc.x >= start) & (acc.x <= end)]
        if len(inside) and 0.7 / k <= float(np.median(inside)) <= 1.3 / k:
            return True
    return False


def _noisy(y: np.ndarray) -> bool:
    """Would ``noisy`` flag this curve (its rule's default thresholds)?"""
    from loganalyzer.detectors.noisy import turns_and_ratio

    return turns_and_ratio(y)[2]


def _joined(stretches: list[Stretch], model: Plateaus) -> list[Stretch]:
    """Back-to-back stretches as one when both creep down (each lost over half its
    tolerance inside): a curve that falls by a tolerance every few dozen epochs is
    one slow stretch, not a stall that "improved again" and at once stalled anew.
    A flat stretch keeps its own finding."""

    def creeps(s: Stretch) -> bool:
        return s.improvement > 0.5 * model._tol_at(s.level)

    smooth = model.smooth
    out: list[Stretch] = []
    for s in stretches:
        prev = out[-1] if out else None
        if prev and s.i == prev.j + 1 and creeps(prev) and creeps(s):
            inside = smooth[prev.i : s.j + 1]
            level, fall = float(np.median(inside)), float(smooth[prev.i] - inside.min())
            out[-1] = Stretch(prev.i, s.j, level, fall)
        else:
            out.append(s)
    return out


def _judge(run: Run, c: C.Curve, rule: Rule, p: dict) -> list[Finding]:
    b = C.binned(c)
    n = b.n
    min_len = max(C.min_points(p), int(np.ceil(p["min_fraction"] * n)))
    model = Plateaus(p["tol_sigma"], p["rel_tol"], p["level_tol"], min_len).fit(b.y)
    stretches = model.predict()
    if not stretches:
        return []
    stretches = _joined(stretches, model)
    # The longest plateaus first; at most two per curve.
    stretches = sorted(stretches, key=lambda s: s.j - s.i, reverse=True)[:2]
    findings = []
    raw_start = float(np.median(b.y[: min(3, n)]))
    size = max(float(np.max(b.y) - np.min(b.y)), 1e-12)
    for s in sorted(stretches, key=lambda s: s.i):
        if (
            s.improvement > p["max_improvement"] * max(abs(s.level), 0.1 * size)
            and s.improvement > p["tol_sigma"] * model.sigma
        ):
            # Within the range-based tolerance of a steep curve (5484 -> 67) a stretch
            # can still fall by 90 %, far beyond its noise: that is progress.
            continue
        start, end = float(b.first[s.i]), float(b.last[s.j])
        tol = model._tol_at(model.smooth[s.i])
        to_end = s.j >= n - 1 - max(1, int(0.02 * n))
        learned_before = raw_start - s.level > tol
        after = model.smooth[s.j + 1 :]
        ended = (not to_end) and len(after) > 0 and bool(np.min(after) < s.level - tol)
        span_after = float(b.last[min(n - 1, s.j + max(2, int(0.1 * n)))])
        lr_drop = _lr_drop(run, start, end, span_after, p["lr_drop_factor"]) if ended else None
        chance = None
        if to_end and c.name == run.train_loss:
            chance = C.chance_level(run, s.level)
        points = int(np.sum(b.size[s.i : s.j + 1]))
        frac = (s.j - s.i + 1) / n
        span = f"from {C.where(run, start)} to {C.where(run, end)}"
        improvement = s.improvement / abs(s.level) if s.level else 0.0
        earlier = model.smooth[: s.i]
        worse = len(earlier) > 0 and bool(np.min(earlier) < s.level - tol)
        if worse:
            # Flat *above* an earlier best: the curve got worse first (overfitting,
            # divergence); those findings say what happened, this is context.
            severity = "info"
            what = f"settled above its earlier best of {C.fmt(float(np.min(earlier)))}"
        elif to_end and not learned_before and s.i > C.edge_count(n):
            # Flat from mid-run to the end without an earlier stretch counted as
            # learning: what came before was not flat, so this is the settled tail.
            severity = "info"
            what = "settled: no significant improvement until the end (converged)"
        elif to_end and not learned_before and _noisy(b.y) and not C.lr_is_zero(run):
            # Swings as large as the whole trend: whether it learns cannot be told from
            # this curve; ``noisy`` reports it (a stuck run at chance level still is).
            severity = "info"
            what = "moves less than its own noise (see the noisy finding)"
        elif to_end and not learned_before and _falls(b.y[s.i : s.j + 1], p["alpha"]):
            # Within the tolerance yet falling significantly (Mann-Kendall): a noisy
            # curve that still improves, which ``noisy`` reports; it is learning.
            severity = "info"
            what = "falls slowly within its noise (a significant downward trend)"
        elif to_end and not learned_before:
            severity, what = "warning", "never improved: the model is not learning"
            if C.lr_is_zero(run):
                what += " (the learning rate is 0)"
        elif chance is not None:
            severity = "warning"
            what = (
                f"is stuck at the chance level ln({chance['k']}) = {chance['chance_level']:.4g} "
                f"(accuracy {chance['accuracy']:.3g} ~ 1/{chance['k']})"
            )
        elif lr_drop is not None:
            severity = "info"
            what = f"stalled until the learning rate was lowered at {C.where(run, lr_drop)}"
        elif ended:
            # A stall *after* real learning (a quarter of the whole fall done before it)
            # that a large fall ended, without a learning-rate drop, lost the run this
            # stretch: a warning. A slow start, or a small later gain, is context.
            drop = s.level - float(np.min(after))
            before = max(raw_start, float(b.y[0])) - s.level
            total = raw_start - float(np.min(model.smooth))
            stall = before > 0.25 * total and drop > 0.25 * abs(s.level) and drop > 2 * tol
            stall = stall and not _at_chance(run, c, s.level, start, end)
            severity = "warning" if stall else "info"
            what = "stalled, then improved again on its own"
        else:
            severity = "info"
            what = "settled: no significant improvement until the end (converged)"
        if abs(s.level) < 0.1 * size:
            # Near zero a percentage of the level says nothing (0.014 -> 0.009 is "56 %"
            # of a loss that fell from 0.6): the gain is put against the run's range.
            gain = f"it gained {C.fmt(s.improvement)} more, {100 * s.improvement / size:.2g}% of the run's range"
        else:
            gain = f"improvement {100 * improvement:.2g}%"
        message = (
            f"{c.name} {what}; flat at {C.fmt(s.level)} {span} "
            f"({100 * frac:.0f}% of the log, {gain})."
        )
        findings.append(
            Finding(
                rule=rule.code,
                kind=KIND,
                severity=severity,
                metric=c.name,
                start=C.num(start),
                end=C.num(end),
                message=message,
                evidence={
                    "metric": c.name,
                    "start": C.num(start),
                    "end": C.num(end),
                    "length": points,
                    "improvement": round(improvement, 6),
                    "lr_drop_index": C.num(lr_drop),
                },
            )
        )
    return findings


def detect(run: Run, rule: Rule, params: dict) -> list[Finding]:
    """``plateau`` findings on the training and validation loss curves."""
    p = {**DEFAULTS, **params}
    findings = []
    for c in C.loss_curves(run):
        if c.n < max(C.min_points(params), 6):
            continue
        findings.extend(_judge(run, c, rule, p))
    return findings

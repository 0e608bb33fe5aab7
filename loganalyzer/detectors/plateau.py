"""``plateau``: a stretch where the monitored loss stops improving.

The monitored loss is the validation loss when it is logged, else the training loss
(a training loss that flattens under a validation loss is a gap, which
``generalization-gap`` reads). A stretch is a plateau when it covers at least
``min_fraction`` of the log (and ``min_points``) and the loss improves on its best so
far by more than ``level_tol`` (1 %) of its level anywhere inside it (or by
``noise_tol`` times the curve's wiggle, up to ``max_noise_tol`` of the level, when
the curve is that noisy: a new low inside the noise is luck, not progress). A stretch that
*rises* instead (a Kendall tau of at least ``max_rise_tau`` and a smoothed end at
least ``max_rise`` above the best) is part of an overfit or a divergence, and a
stretch whose smoothed level climbs more than ``max_excursion`` above the best is a
hump (a spike or an instability that came back): neither is flat. Each curve is cut
into such stretches once, and every plateau is classified:

- **no learning** (warning): the curve starts on the plateau and never leaves it, or
  it ends at a chance level (a loss of ``ln k`` with accuracy near ``1/k``);
- **ended by a learning-rate drop** (info, ``lr_drop_index`` in the evidence);
- **a stall that ended** on its own (warning after real learning, else info);
- **a converged tail** (info): the curve learned and then settled;
- **stalled since its best** (info): the curve ends above the best it reached
  before the stretch (``overfitting`` says whether that is a rise).

Example:
    >>> from loganalyzer.analysis import to_run
    >>> from loganalyzer.rulepack import rule_by_code
    >>> run = to_run({"loss": [1.5, 1.52, 1.49, 1.51, 1.5, 1.48, 1.5, 1.51, 1.49, 1.5]})
    >>> [(f.severity, f.start, f.end) for f in detect(run, rule_by_code("LA104"), {})]
    [('warning', 0, 9)]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from loganalyzer.detectors import _curves as C
from loganalyzer.findings import Finding
from loganalyzer.rulepack import Rule
from loganalyzer.run import Run
from loganalyzer.stats import later_mask, mann_kendall, median, suffix_taus, theil_sen

KIND = "plateau"

DEFAULTS = {
    "min_fraction": 0.2,
    "min_points": 5,
    "level_tol": 0.01,
    "noise_tol": 2.0,
    "max_noise_tol": 0.03,
    "max_rise_tau": 0.5,
    "max_rise": 0.05,
    "max_excursion": 0.5,
    "lr_drop_factor": 0.5,
    "alpha": 0.05,
}


@dataclass
class Stretch:
    """A stretch of the judged curve without improvement, positions ``[i, j]`` inclusive."""

    i: int
    j: int
    best: float  # the best so far when the stretch starts
    level: float  # median of the stretch
    improvement: float  # how much the stretch beat ``best`` (below level_tol of it)


class Plateaus:
    """Cuts a curve into maximal stretches that do not improve on the best so far.

    A stretch starts at a point and runs while no later point beats the best value
    seen up to its start by ``level_tol`` of that value's size (of the curve's scale
    for a loss at or below zero). Greedy, earliest start first; stretches shorter than
    ``min_len`` are dropped, as are rising stretches and humps (see the module docs).

    Args:
        level_tol: Improvement that ends a stretch, as a fraction of the level.
        min_len: Shortest plateau in points.
        max_rise_tau, max_rise, max_excursion: What makes a stretch a rise or a hump.

    Example:
        >>> y = np.r_[np.linspace(2, 1, 10), np.full(20, 1.0), np.linspace(1, 0.5, 10)]
        >>> [(s.i, s.j) for s in Plateaus(min_len=8).fit(y).predict()]
        [(9, 30)]
    """

    def __init__(
        self,
        level_tol=0.01,
        min_len=5,
        max_rise_tau=0.5,
        max_rise=0.05,
        max_excursion=0.5,
        noise_tol=2.0,
        max_noise_tol=0.03,
    ):
        self.level_tol = level_tol
        self.noise_tol = noise_tol
        self.max_noise_tol = max_noise_tol
        self.min_len = int(min_len)
        self.max_rise_tau = max_rise_tau
        self.max_rise = max_rise
        self.max_excursion = max_excursion

    def fit(self, y: np.ndarray) -> Plateaus:
        """Measure, for every point a stretch could start at, the best so far, the
        improvement that would end the stretch (:meth:`_tol`) and where that first
        happens; :meth:`predict` then only walks these arrays."""
        y = np.asarray(y, dtype=float)
        n = len(y)
        self.y = y
        self.best = np.minimum.accumulate(y)
        self.smooth = C.running_median(y, 3)
        self.scale = C.scale(y)
        size = np.where(self.best > 0, np.abs(self.best), self.scale)
        # the noise where a stretch starts: the wiggle of the points around its start
        wiggle = C.window_wiggles(y, 2, self.min_len + 2, count=n - self.min_len + 1)
        noise = np.minimum(self.noise_tol * wiggle, self.max_noise_tol * size)
        self.tol = np.maximum(self.level_tol * size, noise)
        # where the tolerance, and level_tol alone, is first beaten after each point
        limits = np.stack([self.best - self.tol, self.best - self.level_tol * size])
        if self.level_tol >= 0 and np.isfinite(y).all():
            # Both limits are then at most the best so far at their start i (tol >= 0),
            # so no point up to i is below them, and the first later point below one is
            # where the best so far first drops below it: a search in the (sorted)
            # negated best so far, not a comparison with every later point. A NaN
            # limit (no wiggle measured there) sorts last: never beaten, as before.
            k = np.searchsorted(-self.best, -limits, side="right")
            self.better, self.gain = np.where(k < n, k, -1)
        else:
            self.better, self.gain = _first(later_mask(n) & (y < limits[:, :, None]))
        self._flat_to: dict[int, tuple[int, list[bool]]] = {}
        return self

    def _tol(self, ref: float, i: int | None = None) -> float:
        """Improvement that ends a stretch starting at ``i``: ``level_tol`` of the
        level, or ``noise_tol`` wiggles of the curve where the stretch starts when it
        is noisier than that (a new low inside the noise is luck, not progress)."""
        size = abs(ref) if ref > 0 else self.scale
        if i is None:
            return self.level_tol * size
        if ref == self.best[i] and i <= len(self.y) - self.min_len:
            return float(self.tol[i])
        local = self.y[max(0, i - 2) : i + self.min_len + 2]
        noise = min(self.noise_tol * C.wiggle(local), self.max_noise_tol * size)
        return max(self.level_tol * size, noise)

    def _flat(self, i: int, j: int) -> bool:
        """Is the stretch ``[i, j]`` flat: not a rise and not a hump (see the module
        docs)? Answered at once for every start from ``i`` of stretches ending at ``j``
        (:meth:`predict` asks of a given end with ever later starts)."""
        known = self._flat_to.get(j)
        if known is None or i < known[0]:
            known = self._flat_to[j] = (i, self._flat_starts(i, j).tolist())
        return known[1][i - known[0]]

    def _flat_starts(self, lo: int, j: int) -> np.ndarray:
        """:meth:`_flat` of the stretches ``[i, j]``, for every start ``i`` in ``[lo, j]``."""
        y = self.y
        ref = self.best[lo : j + 1]
        size = np.where(ref > 0, np.abs(ref), self.scale)
        # the end level: the median of the stretch's last (up to) three points
        end = np.full(j + 1 - lo, median(y[max(0, j - 2) : j + 1]))
        late = max(lo, j - 1)
        end[late - lo :] = [median(y[i : j + 1]) for i in range(late, j + 1)]
        starts = np.arange(lo, j + 1)
        rise = (j - starts >= 3) & (end - ref > self.max_rise * size)
        highest = np.maximum.accumulate(self.smooth[lo : j + 1][::-1])[::-1]
        low = highest - ref <= self.max_excursion * size  # else a hump: not flat
        asked = rise & low  # where the rise's tau decides
        if asked.any():
            # a rise: Kendall's tau of y[i + 1 : j + 1], for every start i from the first
            # that ends up below a hump at once (the suffixes of y[first + 1 : j + 1]);
            # the taus cost more than the rest, and the starts before it need none (a
            # hump is not flat whatever its tau)
            first = int(np.argmax(asked))
            tau = np.full(j + 1 - lo, np.nan)
            tau[first : j - lo] = suffix_taus(y[lo + first + 1 : j + 1])
            rise &= np.isfinite(tau) & (tau >= self.max_rise_tau)
        return ~rise & low

    def predict(self) -> list[Stretch]:
        y, n, min_len = self.y, len(self.y), self.min_len
        starts = max(0, n - min_len + 1)  # a stretch of min_len points starts before this
        tail = n - max(1, math.ceil(0.1 * n))  # where undertrained's last tenth starts
        # Where the stretch from each start ends: the point before the first one that
        # beats the best by the tolerance, all starts at once.
        better, gain = self.better[:starts], self.gain[:starts]
        ends = np.where(better >= 0, better - 1, n - 1)
        # The noise tolerance may carry a stretch to the end past a new low that beats
        # the best by level_tol: from there the curve improved (what ``undertrained``
        # reports), so the stretch ends before it.
        ends = np.where((ends == n - 1) & (gain >= 0) & (gain >= tail), gain - 1, ends)
        # Greedy, earliest start first: a start whose stretch is too short, or not flat,
        # is passed over; a stretch found skips the starts inside it. Only the starts of
        # long enough stretches are walked (plain Python: few of them).
        long = np.flatnonzero(ends - np.arange(starts) + 1 >= min_len).tolist()
        ends = ends.tolist()
        out: list[Stretch] = []
        after = 0  # the first start not inside a stretch found
        for i in long:
            j = ends[i]
            if i >= after and self._flat(i, j):
                ref = float(self.best[i])
                inside = y[i : j + 1]
                out.append(Stretch(i, j, ref, float(median(inside)), ref - float(inside.min())))
                after = j + 1
        return self._joined(out)

    def _joined(self, stretches: list[Stretch]) -> list[Stretch]:
        """Back-to-back stretches as one when together they still improve by less than
        ``max_noise_tol`` of the level: a loss creeping down 1 % every 25 epochs is one
        slow stretch, not a stall that "improved again" and at once stalled anew."""
        out: list[Stretch] = []
        for st in stretches:
            prev = out[-1] if out else None
            if prev and st.i == prev.j + 1:
                inside = self.y[prev.i : st.j + 1]
                gain = prev.best - float(inside.min())
                size = abs(prev.best) if prev.best > 0 else self.scale
                if gain < self.max_noise_tol * size:
                    out[-1] = Stretch(prev.i, st.j, prev.best, float(median(inside)), gain)
                    continue
            out.append(st)
        return out


def _first(mask: np.ndarray) -> np.ndarray:
    """Per row, the column of the first True (-1 when none)."""
    found = mask.any(axis=-1)
    return np.where(found, mask.argmax(axis=-1), -1)


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
    return bool(trend.p < 4 * alpha and drop > abs(float(median(y))) / 6)


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
        if len(inside) and 0.7 / k <= float(median(inside)) <= 1.3 / k:
            return True
    return False


def _noisy(c: C.Curve) -> bool:
    """Would ``noisy`` flag this curve (its rule's default thresholds)?"""
    from loganalyzer.detectors.noisy import profile

    return profile(c)[2]


def _judge(run: Run, c: C.Curve, rule: Rule, p: dict) -> list[Finding]:
    b = C.binned(c)
    n = b.n
    min_len = max(int(p["min_points"]), int(np.ceil(p["min_fraction"] * n)))
    model = Plateaus(
        p["level_tol"],
        min_len,
        p["max_rise_tau"],
        p["max_rise"],
        p["max_excursion"],
        p["noise_tol"],
        p["max_noise_tol"],
    ).fit(b.y)
    stretches = model.predict()
    if not stretches:
        return []
    # The longest plateaus first; at most two per curve.
    stretches = sorted(stretches, key=lambda s: s.j - s.i, reverse=True)[:2]
    findings = []
    y = b.y
    raw_start = float(median(y[: min(3, n)]))
    total = raw_start - float(np.min(model.smooth))
    for s in sorted(stretches, key=lambda s: s.i):
        start, end = float(b.first[s.i]), float(b.last[s.j])
        tol = model._tol(s.best, s.i)
        to_end = s.j >= n - 1 - max(1, int(0.02 * n)) and not np.any(
            y[s.j + 1 :] < s.best - p["level_tol"] * abs(s.best)
        )
        learned_before = raw_start - s.best > tol
        after = y[s.j + 1 :]
        ended = (not to_end) and len(after) > 0 and bool(np.min(after) < s.best - tol)
        span_after = float(b.last[min(n - 1, s.j + max(2, int(0.1 * n)))])
        lr_drop = _lr_drop(run, start, end, span_after, p["lr_drop_factor"]) if ended else None
        chance = C.chance_level(run, s.level, "train" if c.name == run.train_loss else "val")
        points = int(np.sum(b.size[s.i : s.j + 1]))
        frac = (s.j - s.i + 1) / n
        span = f"from {C.where(run, start)} to {C.where(run, end)}"
        above = to_end and C.robust_end(y, 3) > s.best + tol and learned_before
        k = max(3, n // 10)
        moved = C.robust_start(y, k) - C.robust_end(y, k) > max(tol, p["level_tol"] * abs(s.best))
        if to_end and not moved and not _falls(y, p["alpha"]):
            learned_before = False  # the whole curve never got anywhere: no learning
        if to_end and C.lr_is_zero(run):
            severity = "warning"
            what = "never improved: the model is not learning (the learning rate is 0)"
        elif to_end and not learned_before and (s.i <= C.edge_count(n) or not moved):
            if _noisy(b) and not C.lr_is_zero(run) and chance is None:
                severity = "info"
                what = "moves less than its own noise (see the noisy finding)"
            elif _falls(y[s.i : s.j + 1], p["alpha"]) and chance is None:
                severity = "info"
                what = "falls slowly within its noise (a significant downward trend)"
            else:
                severity, what = "warning", "never improved: the model is not learning"
                if C.lr_is_zero(run):
                    what += " (the learning rate is 0)"
        elif to_end and chance is not None:
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
            drop = s.best - float(np.min(after))
            before = max(raw_start, float(y[0])) - s.best
            stall = before > 0.25 * total and drop > 0.25 * abs(s.level) and drop > 2 * tol
            stall = stall and not _at_chance(run, c, s.level, start, end) and not _noisy(b)
            severity = "warning" if stall else "info"
            what = "stalled, then improved again on its own"
        elif above:
            severity = "info"
            what = f"has not improved on its best {C.fmt(s.best)} since {C.where(run, start)}"
        else:
            severity = "info"
            what = "settled: no improvement of 1% until the end (converged)"
        message = (
            f"{c.name} {what}; {span} ({100 * frac:.0f}% of the log) it stayed within "
            f"{100 * p['level_tol']:.0f}% of its best so far {C.fmt(s.best)} "
            f"(median {C.fmt(s.level)})."
        )
        improvement = s.improvement / abs(s.best) if s.best else 0.0
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
                    "best_so_far": s.best,
                    "level": s.level,
                    "improvement": round(improvement, 6),
                    "lr_drop_index": C.num(lr_drop),
                },
            )
        )
    return findings


def detect(run: Run, rule: Rule, params: dict) -> list[Finding]:
    """``plateau`` findings on the monitored loss (validation if logged, else training)."""
    p = {**DEFAULTS, **params}
    for name in (run.val_loss, run.train_loss):
        c = C.curve(run, name)
        if c is not None and c.n >= int(p["min_points"]):
            return _judge(run, c, rule, p)
        if c is not None and c.n:
            return []  # a validation loss too short to judge: not the training loss instead
    return []

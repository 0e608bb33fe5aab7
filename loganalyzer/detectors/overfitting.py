"""``overfitting``: validation loss ends clearly above its best while training goes on.

The method reads the validation curve as a careful engineer does, by level shifts
rather than single points, and degrades gracefully on short, noisy real logs:

1. the onset ``b`` is the index of the lowest validation loss (what
   ``EarlyStopping(restore_best_weights=True)`` would restore); it must not lie in
   the last 10 % of the log (a curve still reaching new lows is not overfitting);
2. Prechelt's generalization loss ``GL = 100 * (E_end / E_best - 1)``, with
   ``E_end`` the mean of the last max(2, 10 %) points, is the effect size: at least
   ``min_gl`` (5 %) for a warning; between ``mild_gl`` and ``min_gl`` the rise is
   reported as *mild* (info);
3. the rise ``E_end - E_best`` must exceed the curve's own wiggle (the typical
   distance of a point from its 5-point running median), and at least
   ``min_shift_share`` of it must show against the best's neighbourhood (the median
   of two points on each side): a noisy curve whose last points sit where the
   neighbours of a lucky best already were has no level shift, only a dip;
4. the training loss over ``[b, end]`` must fall or stay flat (within
   ``max_train_rise``): when it climbs too, the run is unstable, which
   ``divergence``, ``loss-spike`` and ``noisy`` report;
5. the grade: *clear* (an error) when GL reaches ``clear_gl``, the rise is at
   least ``clear_rise_wiggles`` wiggles, and the end window is significantly above
   the window right after the best (a one-sided Mann-Whitney U test at ``alpha``;
   with under 4 points in a window, every step after the best must go up);
   *likely* (a warning) otherwise. On a curve that ``noisy`` flags, that shift must
   be significant for any finding (when the windows are long enough to test): a
   lucky best on a flat, noisy curve makes a large GL out of nothing. With only 3-5 validation points the rise must be
   monotone after the best while training falls.

A rise under ``caught_rise_pct`` over at most ``caught_max_points`` points at the
very end is what ``EarlyStopping(patience=...)`` leaves behind: info, caught as it
began. For a loss at or below zero (SI-SNR, log-likelihoods) GL means nothing; there
the rise is judged in noise units with a Mann-Kendall trend test
(:class:`RiseAfterBest`).

Example:
    >>> from loganalyzer.analysis import to_run
    >>> from loganalyzer.rulepack import rule_by_code
    >>> val = [1.0, 0.8, 0.65, 0.6, 0.58, 0.6, 0.64, 0.7, 0.75, 0.8, 0.86, 0.9]
    >>> run = to_run({"loss": [1.0 - 0.07 * i for i in range(12)], "val_loss": val})
    >>> [(f.kind, f.start, f.evidence["grade"]) for f in detect(run, rule_by_code("LA101"), {})]
    [('overfitting', 4, 'clear')]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from loganalyzer.detectors import _curves as C
from loganalyzer.findings import Finding
from loganalyzer.rulepack import Rule
from loganalyzer.run import Run
from loganalyzer.stats import mann_kendall, mann_whitney_greater, median

KIND = "overfitting"

DEFAULTS = {
    "min_gl": 5.0,
    "mild_gl": 2.0,
    "min_rise_wiggles": 1.0,
    "min_shift_share": 0.2,
    "max_train_rise": 0.1,
    "clear_gl": 10.0,
    "clear_rise_wiggles": 3.0,
    "alpha": 0.05,
    "caught_rise_pct": 5.0,
    "caught_max_points": 10,
    # for losses at or below zero
    "min_rise_sigma": 3.0,
    "min_rise_pct": 1.0,
    "min_points_after": 2,
    "clear_rise_sigma": 10.0,
}


@dataclass
class Shift:
    """What :meth:`LevelShift.fit` measured on a validation curve."""

    best: int  # position of the lowest point
    best_value: float
    end_mean: float  # mean of the last tail_size points
    tail: int  # how many points that mean is over
    gl: float | None  # Prechelt's GL in percent (None for a loss <= 0)
    wiggle: float  # the curve's typical distance from its running median
    rise_wiggles: float  # (end_mean - best_value) / wiggle
    monotone: bool  # every step after the best goes up
    shift_share: float  # share of the rise that the best's neighbourhood also shows
    windows: tuple | None = field(default=None, repr=False)  # (end window, window after b)

    @cached_property
    def shift_p(self) -> float | None:
        """One-sided Mann-Whitney p that the end window sits above the window right
        after the best (``None`` with fewer than 4 points in each). Computed when first
        asked: most curves are dismissed on their GL before, and the test costs more."""
        return None if self.windows is None else mann_whitney_greater(*self.windows)


class LevelShift:
    """Measures how far a curve ends above its minimum, as a level shift.

    Example:
        >>> s = LevelShift().fit(np.array([3.0, 2.0, 1.5, 1.4, 1.5, 1.7, 2.0, 2.2]))
        >>> s.best, round(s.gl, 1), s.monotone
        (3, 50.0, True)
    """

    def fit(self, y: np.ndarray) -> Shift:
        y = np.asarray(y, dtype=float)
        n = len(y)
        b = int(np.argmin(y))
        k = C.tail_size(n)
        end_mean = float(np.mean(y[-k:]))
        wiggle = C.wiggle(y)
        rise = end_mean - float(y[b])
        floor = 1e-9 * max(abs(float(y[b])), 1e-12)
        rise_w = rise / max(wiggle, floor)
        after = y[b + 1 :]
        monotone = len(after) >= 1 and bool(np.all(np.diff(y[b:]) > 0))
        m = min(k, len(after) // 2)
        windows = (after[-m:], after[:m]) if m >= 4 else None
        # The best's neighbourhood (two points on each side): when it already sits
        # where the curve ends, the "rise" is the best point's own dip, not a shift.
        near = np.concatenate((y[max(0, b - 2) : b], y[b + 1 : b + 3]))
        share = (end_mean - float(median(near))) / rise if rise > 0 and len(near) else 1.0
        return Shift(
            b,
            float(y[b]),
            end_mean,
            k,
            C.generalization_loss(y, b),
            wiggle,
            rise_w,
            monotone,
            float(share),
            windows,
        )


@dataclass
class Rise:
    """What :meth:`RiseAfterBest.fit` measured (for losses at or below zero)."""

    best_pos: int
    best_level: float
    end_level: float
    sigma: float
    rise_sigma: float
    trend_p: float
    rising: bool


class RiseAfterBest:
    """How far a curve ends above its minimum in units of its noise, with a
    Mann-Kendall test on the points after it (used where GL means nothing).

    Example:
        >>> r = RiseAfterBest().fit(np.array([3.0, 2.0, 1.5, 1.4, 1.5, 1.7, 2.0, 2.2]))
        >>> r.best_pos, r.rising
        (3, True)
    """

    def __init__(self, min_points_after: int = 2):
        self.min_points_after = min_points_after

    def fit(self, y: np.ndarray) -> Rise | None:
        n = len(y)
        b = int(np.argmin(y))
        if n - 1 - b < self.min_points_after:
            return None
        sigma = C.sigma(y)
        if n - 1 - b >= 5:
            sigma = max(C.sigma(y[b:]), 0.5 * sigma)
        smooth = C.running_median(y, C.smooth_window(n, 0.06, 3, 9))
        lo, hi = max(0, b - 2), min(n, b + 3)
        best_level = min(float(np.min(smooth[lo:hi])), float(median(y[lo:hi])))
        best_level = min(best_level, float(np.min(smooth)))
        tail = y[b + 1 :]
        k = max(1, min(C.edge_count(n), len(tail) // 2 or 1))
        end_level = float(median(tail[-k:]))
        trend = mann_kendall(tail) if len(tail) >= 3 else mann_kendall(y[b:])
        rise_sigma = (end_level - best_level) / sigma
        return Rise(b, best_level, end_level, sigma, rise_sigma, trend.p, trend.rising)


def train_change(run: Run, since: float) -> tuple[float | None, float | None, float | None]:
    """The training loss from ``since`` to the end: (level at the start, level at the
    end, relative change). Levels are medians of a few points (a twentieth of the
    stretch, at least 3): the start level from the points up to ``since``, the end
    level from the last points, so one noisy minibatch does not decide."""
    train = C.curve(run, run.train_loss)
    if train is None or train.n == 0:
        return None, None, None
    seg = train.y[train.x >= since]
    before = train.y[train.x <= since]
    if len(before) > 1:
        before = before[1:]  # a huge first point (3.7e6, then 133) is not the level
    if len(seg) < 2 and not len(before):
        return None, None, None
    k = max(3, len(seg) // 20)
    start = C.robust_end(before, k) if len(before) else C.robust_start(seg, k)
    end = C.robust_end(seg, k) if len(seg) >= 2 else float(train.y[-1])
    rel = (end - start) / abs(start) if start else None
    return start, end, rel


def detect(run: Run, rule: Rule, params: dict) -> list[Finding]:
    """An ``overfitting`` finding on ``run.val_loss`` when it ends clearly above its best."""
    p = {**DEFAULTS, **params}
    val = C.curve(run, run.val_loss)
    if val is None or val.n < 3:
        return []
    y = val.y
    n = val.n
    b = int(np.argmin(y))
    if b >= n - max(1, int(np.ceil(0.1 * n))) or n - 1 - b < 2:
        return []  # still reaching new lows at the end: not overfitting
    if n < C.min_points(params) and not (n >= 3 and b <= n - 3):
        return []
    best_index = float(val.x[b])
    if train_has_nonfinite(run, best_index):
        return []
    t_start, t_end, t_rel = train_change(run, best_index)
    if t_rel is not None and t_rel > p["max_train_rise"]:
        return []  # training got worse too: instability, not overfitting
    best_value = float(y[b])
    if best_value <= 0:
        return _non_positive(run, rule, p, val, (t_start, t_end, t_rel))
    s = LevelShift().fit(y)
    gl = float(s.gl)
    short = n <= 5
    if short:
        # 3-5 points: no noise estimate means anything; an engineer asks for a
        # monotone rise after the best while training falls strongly.
        if not (s.monotone and t_rel is not None and t_rel <= -0.2 and gl >= p["min_gl"]):
            return []
    elif (
        gl < p["mild_gl"]
        or s.rise_wiggles <= p["min_rise_wiggles"]
        or s.shift_share < p["min_shift_share"]
    ):
        return []
    elif s.shift_p is not None and s.shift_p >= p["alpha"] and _noisy(val):
        # On a noisy curve long enough for the test, the end must sit significantly
        # above the stretch right after the best: a lucky best on a flat, noisy curve
        # makes a GL of 20-60 % out of nothing.
        return []
    after_best = n - 1 - b
    caught = gl < p["caught_rise_pct"] and after_best <= p["caught_max_points"]
    significant = (s.shift_p is not None and s.shift_p < p["alpha"]) or (
        s.shift_p is None and s.monotone
    )
    if gl < p["min_gl"]:
        grade, severity = "mild", "info"
    elif gl >= p["clear_gl"] and s.rise_wiggles >= p["clear_rise_wiggles"] and significant:
        grade, severity = "clear", "error"
    else:
        grade, severity = "likely", rule.severity
    last_index, last_value = float(val.x[-1]), float(y[-1])
    where_best = C.where(run, best_index)
    tail_txt = (
        f"its last {s.tail} points average {C.fmt(s.end_mean)}"
        if s.tail > 1
        else f"it ends at {C.fmt(s.end_mean)}"
    )
    if t_start is None:
        train_txt = "(no training loss logged)"
    elif t_rel is None:
        train_txt = f"while {run.train_loss} went from {C.fmt(t_start)} to {C.fmt(t_end)}"
    else:
        train_txt = (
            f"while {run.train_loss} went from {C.fmt(t_start)} to {C.fmt(t_end)} "
            f"({100 * t_rel:+.0f}%)"
        )
    sure = {"clear": "clear", "likely": "likely", "mild": "mild"}[grade]
    if short:
        sure = f"likely (only {n} points)" if grade != "mild" else "mild"
    message = (
        f"{run.val_loss} was best at {C.fmt(best_value)} ({where_best}) and ends at "
        f"{C.fmt(last_value)} ({C.where(run, last_index)}); {tail_txt}, "
        f"GL {gl:.0f}% above the best"
    )
    if not short:
        if s.rise_wiggles >= 1000:
            message += ", far above the curve's wiggle (a smooth curve)"
        else:
            message += f", {s.rise_wiggles:.1f}x the curve's wiggle"
    message += f", {train_txt}: {sure} overfitting from {where_best}."
    if caught:
        message += (
            f" The log ends {after_best} points after the best, as EarlyStopping("
            f"patience={after_best}) would end it: caught as it began."
        )
    evidence = {
        "best_index": C.num(best_index),
        "best_value": best_value,
        "last_index": C.num(last_index),
        "last_value": last_value,
        "end_mean": s.end_mean,
        "end_points": s.tail,
        "gl": round(gl, 3),
        "rise_pct": round(gl, 3),
        "wiggle": s.wiggle,
        "rise_wiggles": round(s.rise_wiggles, 3),
        "shift_share": round(s.shift_share, 3),
        "shift_p": s.shift_p,
        "train_start": t_start,
        "train_end": t_end,
        "train_change_pct": None if t_rel is None else round(100 * t_rel, 3),
        "grade": grade,
        "caught": caught,
    }
    return [_finding(run, rule, severity, best_index, last_index, message, evidence)]


def _noisy(c: C.Curve) -> bool:
    from loganalyzer.detectors.noisy import profile

    return profile(c)[2]


def train_has_nonfinite(run: Run, since: float) -> bool:
    """Did the training loss turn NaN/inf after ``since`` (divergence, not overfitting)?"""
    raw = run.points(run.train_loss)
    if raw is None:
        return False
    after = raw.y[raw.x.astype(float) >= since]
    return bool(len(after)) and not bool(np.all(np.isfinite(after)))


def _non_positive(run: Run, rule: Rule, p: dict, val: C.Curve, train: tuple) -> list[Finding]:
    """A loss at or below zero: the rise in noise units with a trend test."""
    if val.n < C.min_points(p):
        return []
    v = C.binned(val)
    rise = RiseAfterBest(int(p["min_points_after"])).fit(v.y)
    if rise is None:
        return []
    raw_best = int(np.argmin(val.y))
    best_index, best_value = float(val.x[raw_best]), float(val.y[raw_best])
    rise_pct = C.pct(rise.end_level - best_value, C.scale(val.y))
    strong = rise.rise_sigma >= 2 * p["min_rise_sigma"]
    trending = rise.rising and rise.trend_p < p["alpha"]
    if not (
        rise.rise_sigma >= p["min_rise_sigma"]
        and rise_pct >= p["min_rise_pct"]
        and (trending or strong)
    ):
        return []
    clear = rise.rise_sigma >= p["clear_rise_sigma"]
    grade, severity = ("clear", "error") if clear else ("likely", rule.severity)
    last_index, last_value = float(val.x[-1]), float(val.y[-1])
    t_start, t_end, t_rel = train
    message = (
        f"{run.val_loss} was best at {C.fmt(best_value)} ({C.where(run, best_index)}) and "
        f"ends at {C.fmt(last_value)} ({C.where(run, last_index)}): up {rise_pct:.0f}% of "
        f"the curve's range, {rise.rise_sigma:.1f}x its noise (Mann-Kendall "
        f"{C.fmt_p(rise.trend_p)}): {grade} overfitting from {C.where(run, best_index)}."
    )
    evidence = {
        "best_index": C.num(best_index),
        "best_value": best_value,
        "last_index": C.num(last_index),
        "last_value": last_value,
        "gl": None,
        "rise_pct": round(rise_pct, 3),
        "rise_sigma": round(rise.rise_sigma, 3),
        "trend_p": rise.trend_p,
        "train_start": t_start,
        "train_end": t_end,
        "train_change_pct": None if t_rel is None else round(100 * t_rel, 3),
        "grade": grade,
        "caught": False,
    }
    return [_finding(run, rule, severity, best_index, last_index, message, evidence)]


def _finding(run, rule, severity, start, end, message, evidence) -> Finding:
    return Finding(
        rule=rule.code,
        kind=KIND,
        severity=severity,
        metric=run.val_loss,
        start=C.num(start),
        end=C.num(end),
        message=message,
        evidence=evidence,
    )

"""``overfitting``: validation loss turns up after its best point while training goes on.

The method, in the spirit of a change-point model with ``fit``/``predict``:

1. the onset is the index of the lowest validation loss (what
   ``EarlyStopping(restore_best_weights=True)`` would restore);
2. the rise after it is measured from the smoothed level at the best point to the
   robust level at the end of the log, in units of the curve's own noise
   (:func:`loganalyzer.stats.noise_sigma`), so a 2 % rise on a smooth curve counts
   and the same rise inside noise does not;
3. a Mann–Kendall test on the points after the best says whether the rise is a
   trend; a short tail may instead rise by twice the noise threshold;
4. the training loss over the same stretch must fall or stay (when it rises too, the
   run is unstable, which ``divergence`` and ``noisy`` report);
5. Prechelt's generalization loss ``GL = 100 * (E_end / E_best - 1)`` grades it:
   *clear* (an error) when both the rise in noise units and GL are large, else *mild*.
   A mild rise of a positive loss under ``caught_rise_pct`` over the last
   ``caught_max_points`` points is the tail ``EarlyStopping(patience=...)`` leaves
   behind: it is reported as info, the overfit was caught as it began.

A rise that later recovers below the earlier best is not overfitting: the onset is the
global best, so such a curve ends at or below it.

Example:
    >>> from loganalyzer.analysis import to_run
    >>> from loganalyzer.rulepack import rule_by_code
    >>> val = [1.0, 0.8, 0.65, 0.6, 0.58, 0.6, 0.64, 0.7, 0.75, 0.8, 0.86, 0.9]
    >>> run = to_run({"loss": [1.0 - 0.07 * i for i in range(12)], "val_loss": val})
    >>> [(f.kind, f.start, f.evidence["grade"]) for f in detect(run, rule_by_code("LA101"), {})]
    [('overfitting', 4, 'clear')]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loganalyzer.detectors import _curves as C
from loganalyzer.findings import Finding
from loganalyzer.rulepack import Rule
from loganalyzer.run import Run
from loganalyzer.stats import mann_kendall

KIND = "overfitting"

DEFAULTS = {
    "min_rise_sigma": 3.0,
    "min_rise_pct": 1.0,
    "alpha": 0.05,
    "min_points_after": 2,
    "clear_rise_sigma": 10.0,
    "clear_gl": 10.0,
    "caught_rise_pct": 5.0,
    "caught_max_points": 10,
}


@dataclass
class Rise:
    """What :meth:`RiseAfterBest.fit` measured on a curve (all on the judged points)."""

    best_pos: int  # position of the best point in the judged (binned) curve
    best_level: float  # smoothed level at the best
    end_level: float  # robust level at the end
    sigma: float
    rise_sigma: float
    trend_p: float
    rising: bool


class RiseAfterBest:
    """Measures how far a curve ends above its minimum, in units of its noise.

    Args:
        min_points_after: Points needed after the best to judge anything.

    Example:
        >>> y = np.array([3.0, 2.0, 1.5, 1.4, 1.5, 1.7, 2.0, 2.2])
        >>> r = RiseAfterBest().fit(y)
        >>> r.best_pos, r.rising
        (3, True)
    """

    def __init__(self, min_points_after: int = 2):
        self.min_points_after = min_points_after

    def fit(self, y: np.ndarray) -> Rise | None:
        n = len(y)
        b = int(np.argmin(y))
        after = n - 1 - b
        if after < self.min_points_after:
            return None
        sigma = C.sigma(y)
        if after >= 5:
            # On a short log the steep first epochs read as noise; the stretch after
            # the best has its own (smaller) noise. Never below half the whole curve's.
            sigma = max(C.sigma(y[b:]), 0.5 * sigma)
        smooth = C.running_median(y, C.smooth_window(n, 0.06, 3, 9))
        # The level at the best: the smoothed minimum near it (a single lucky epoch
        # would otherwise make any later point look like a rise).
        lo, hi = max(0, b - 2), min(n, b + 3)
        best_level = float(min(np.min(smooth[lo:hi]), np.median(y[lo:hi])))
        best_level = min(best_level, float(np.min(smooth)))
        tail = y[b + 1 :]
        k = max(1, min(C.edge_count(n), len(tail) // 2 or 1))
        end_level = float(np.median(tail[-k:]))
        trend = mann_kendall(tail) if len(tail) >= 3 else mann_kendall(y[b:])
        rise_sigma = (end_level - best_level) / sigma
        return Rise(b, best_level, end_level, sigma, rise_sigma, trend.p, trend.rising)


def _train_rises(train: C.Curve | None, since: float, alpha: float) -> tuple[bool, float | None]:
    """Does the training loss rise significantly after ``since``? Also its trend p."""
    if train is None or train.n == 0:
        return False, None
    t = C.binned(train)
    mask = t.last >= since
    seg = t.y[mask]
    if len(seg) < 3:
        return False, None
    trend = mann_kendall(seg)
    sig = C.sigma(t.y)
    rise = C.end_level(seg) - float(np.min(C.running_median(seg, 3)))
    rel = rise / C.scale(t.y)
    trending = trend.rising and trend.p < alpha and rise > 3 * sig and rel > 0.05
    # A jump that stays up (a run collapsing to chance level) is too short a stretch
    # for a trend test to be significant, yet training plainly got worse.
    # Judged against the stretch itself: a huge first epoch must not hide the jump.
    jumped = rise > 5 * sig and rise > 0.3 * C.scale(seg)
    return bool(trending or jumped), trend.p


def detect(run: Run, rule: Rule, params: dict) -> list[Finding]:
    """An ``overfitting`` finding on ``run.val_loss`` when it rises after its best."""
    p = {**DEFAULTS, **params}
    val = C.curve(run, run.val_loss)
    if val is None or val.n < C.min_points(params):
        return []
    train = C.curve(run, run.train_loss)
    v = C.binned(val)
    rise = RiseAfterBest(int(p["min_points_after"])).fit(v.y)
    if rise is None:
        return []
    raw_best = int(np.argmin(val.y))
    best_index = float(val.first[raw_best])
    best_value = float(val.y[raw_best])
    last_index, last_value = float(val.last[-1]), float(val.y[-1])
    rise_pct = C.pct(rise.end_level - best_value, best_value)
    if best_value == 0:
        rise_pct = C.pct(rise.end_level - best_value, C.scale(val.y))
    strong = rise.rise_sigma >= 2 * p["min_rise_sigma"]
    trending = rise.rising and rise.trend_p < p["alpha"]
    if not (
        rise.rise_sigma >= p["min_rise_sigma"]
        and rise_pct >= p["min_rise_pct"]
        and (trending or strong)
    ):
        return []
    # Training must not be blowing up over the same stretch (that is instability).
    train_up, train_p = _train_rises(train, best_index, p["alpha"])
    if train_up:
        return []
    if train is not None:
        raw = run.series(run.train_loss)
        after = raw[raw.index.to_numpy(dtype=float) >= best_index].to_numpy(dtype=float)
        if len(after) and not np.all(np.isfinite(after)):
            return []
    gl = 100.0 * (last_value / best_value - 1.0) if best_value > 0 else None
    gap_best = gap_end = None
    if train is not None and train.n:
        gap_best = best_value - C.value_at(train, best_index)
        gap_end = last_value - C.value_at(train, last_index)
    clear = rise.rise_sigma >= p["clear_rise_sigma"] and (gl is None or gl >= p["clear_gl"])
    grade = "clear" if clear else "mild"
    severity = "error" if clear else rule.severity
    after_best = int(np.sum(val.x > best_index))
    caught = (
        not clear
        and best_value > 0
        and rise_pct < p["caught_rise_pct"]
        and after_best <= p["caught_max_points"]
    )
    if caught:
        severity = "info"
    trend_txt = C.fmt_p(rise.trend_p)
    if train is None:
        train_txt = "(no training loss logged)"
    elif train_p is None:
        train_txt = f"while {run.train_loss} did not rise"
    else:
        train_txt = f"while {run.train_loss} kept falling or stayed (trend {C.fmt_p(train_p)})"
    message = (
        f"{run.val_loss} rose {rise_pct:.0f}% from its best {C.fmt(best_value)} at "
        f"{C.where(run, best_index)} to {C.fmt(rise.end_level)} by {C.where(run, last_index)} "
        f"({rise.rise_sigma:.1f}x its noise, Mann-Kendall {trend_txt}) {train_txt}: "
        f"{grade} overfitting from {C.where(run, best_index)}."
    )
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
        "rise_pct": round(rise_pct, 3),
        "rise_sigma": round(rise.rise_sigma, 3),
        "noise_sigma": rise.sigma,
        "trend_p": rise.trend_p,
        "train_trend_p": train_p,
        "gap_at_best": gap_best,
        "gap_at_end": gap_end,
        "gl": None if gl is None else round(gl, 3),
        "grade": grade,
        "caught": caught,
    }
    return [
        Finding(
            rule=rule.code,
            kind=KIND,
            severity=severity,
            metric=run.val_loss,
            start=C.num(best_index),
            end=C.num(last_index),
            message=message,
            evidence=evidence,
        )
    ]

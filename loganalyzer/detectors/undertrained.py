"""``undertrained``: the monitored loss is still improving significantly when the log ends.

The monitored curve is the validation loss when it is logged (what more epochs are
meant to improve), else the training loss. On its last window (``window_fraction`` of
the judged points, at least ``min_window`` points; long logs are binned first):

1. a Mann–Kendall test must find a falling trend with ``p < alpha``;
2. the Theil–Sen slope's confidence interval (``1 - alpha``) must lie below zero;
3. the fitted improvement over the window must be at least ``min_improvement_pct`` of
   the loss level and at least ``min_improvement_sigma`` noise units: a converged
   curve that still creeps down by 0.1 % is not worth more epochs;
4. the curve must not be levelling off: when the slope of the window's second half is
   smaller than that of its first, an exponential approach to a floor is assumed and
   the improvement still to come (``s2 * tau``) must be at least
   ``min_remaining_pct`` percent of the level and ``min_remaining_share`` of the
   improvement the whole run made (a loss that fell 100-fold to a tiny floor is done
   even if its last epochs still halve the distance to it); a second half that does
   not improve at all ends the matter;
5. the curve must end at its best (the smoothed minimum lies in the last third of the
   window): a validation loss that turned up is ``overfitting``, not a run stopped
   too soon.

Example:
    >>> import math
    >>> from loganalyzer.analysis import to_run
    >>> from loganalyzer.rulepack import rule_by_code
    >>> val = [0.5 + math.exp(-i / 30) for i in range(20)]
    >>> run = to_run({"loss": [v - 0.05 for v in val], "val_loss": val})
    >>> [(f.kind, f.metric, f.start) for f in detect(run, rule_by_code("LA107"), {})]
    [('undertrained', 'val_loss', 13)]
"""

from __future__ import annotations

import numpy as np

from loganalyzer.detectors import _curves as C
from loganalyzer.findings import Finding
from loganalyzer.rulepack import Rule
from loganalyzer.run import Run
from loganalyzer.stats import mann_kendall, theil_sen

KIND = "undertrained"

DEFAULTS = {
    "window_fraction": 0.34,
    "min_window": 5,
    "alpha": 0.05,
    "min_improvement_pct": 1.0,
    "min_improvement_sigma": 3.0,
    "min_remaining_pct": 1.0,
    "min_remaining_share": 0.02,
}


def _monitored(run: Run, need: int) -> C.Curve | None:
    for name in (run.val_loss, run.train_loss):
        c = C.curve(run, name)
        if c is not None and c.n >= need:
            return c if _ends_finite(run, name) else None
    return None


def _remaining(x: np.ndarray, y: np.ndarray) -> float | None:
    """Improvement still to come (in loss units) if the decay is exponential, ``inf``
    when it is not slowing down, ``None`` when the window is too short."""
    half = (len(y) + 1) // 2  # the halves share the middle point when the window is odd
    if half < 3:
        return None
    s1 = -theil_sen(x[:half], y[:half]).slope
    s2 = -theil_sen(x[-half:], y[-half:]).slope
    if s2 <= 0:
        return 0.0
    if s1 <= s2:
        return float("inf")
    dt = float(np.mean(x[-half:]) - np.mean(x[:half]))
    tau = dt / np.log(s1 / s2)
    return float(s2 * tau)


def _ends_finite(run: Run, name: str | None) -> bool:
    """False when the logged series ends non-finite (a diverged run is not undertrained)."""
    s = run.series(name)
    return s is not None and len(s) > 0 and bool(np.isfinite(s.iloc[-1]))


def detect(run: Run, rule: Rule, params: dict) -> list[Finding]:
    """An ``undertrained`` finding when the monitored loss still falls at the end."""
    p = {**DEFAULTS, **rule.params, **params}
    need = max(C.min_points(p), int(p["min_window"]))
    raw = _monitored(run, need)
    if raw is None:
        return []
    c = C.binned(raw)
    n = c.n
    w = min(n, max(int(p["min_window"]), int(round(p["window_fraction"] * n))))
    y, x = c.y[-w:], c.x[-w:]
    trend = mann_kendall(y)
    if not (trend.falling and trend.p < p["alpha"]):
        return []
    fit = theil_sen(x, y, alpha=1.0 - p["alpha"])
    if not (fit.slope < 0 and fit.high < 0):
        return []
    span = float(x[-1] - x[0])
    gain = -fit.slope * span
    level = abs(float(np.median(y)))
    if level == 0:
        level = C.scale(c.y)
    improvement_pct = 100.0 * gain / level
    sig = C.sigma(c.y)
    if improvement_pct < p["min_improvement_pct"] or gain < p["min_improvement_sigma"] * sig:
        return []
    smooth = C.running_median(c.y, C.smooth_window(n, 0.06, 3, 9))
    # Converged curves decelerate: with the slopes of the window's two halves, an
    # exponential approach a + b * exp(-t / tau) has tau = dt / ln(s1 / s2) and about
    # s2 * tau of improvement left. A last half that no longer improves is done.
    remaining = _remaining(x, y)
    if remaining is not None:
        total = float(np.max(smooth) - np.min(smooth))
        if (
            100.0 * remaining < p["min_remaining_pct"] * level
            or remaining < p["min_remaining_share"] * total
        ):
            return []
    # Still at its best when the log ends (not a curve that turned up): the smoothed
    # minimum lies in the last third of the window.
    if int(np.argmin(smooth)) < n - max(2, int(np.ceil(w / 3))):
        return []
    start, end = float(c.first[-w]), float(c.last[-1])
    message = (
        f"{c.name} was still falling when the log ended: {improvement_pct:.1f}% better over "
        f"the last {w} points ({C.where(run, start)} to {C.where(run, end)}), Theil-Sen slope "
        f"{C.fmt(fit.slope)} per {run.index} ({100 * (1 - p['alpha']):.0f}% CI {C.fmt(fit.low)} "
        f"to {C.fmt(fit.high)}), "
        f"Mann-Kendall {C.fmt_p(trend.p)}: the run stopped before converging; train longer."
    )
    evidence = {
        "metric": c.name,
        "slope": fit.slope,
        "slope_low": fit.low,
        "slope_high": fit.high,
        "trend_p": trend.p,
        "recent_improvement_pct": round(improvement_pct, 3),
    }
    return [
        Finding(
            rule=rule.code,
            kind=KIND,
            severity=rule.severity,
            metric=c.name,
            start=C.num(start),
            end=C.num(end),
            message=message,
            evidence=evidence,
        )
    ]

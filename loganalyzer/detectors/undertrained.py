"""``undertrained``: the monitored loss is still improving clearly when the log ends.

The monitored curve is the validation loss when it is logged (what more epochs are
meant to improve), else the training loss. A careful engineer asks two plain
questions of it, both about practical, not merely statistical, significance:

1. is the curve at its best at the very end? Its lowest point lies in the last
   ``best_fraction`` (10 %) of the log;
2. is the recent gain worth more epochs? The best value is at least
   ``min_drop_pct`` (2 %) below the value at the start of the last
   ``window_fraction`` (20 %) of the log (for a loss at or below zero: 2 % of the
   curve's range).

A curve that creeps down by 0.1 % is converged, not stopped early, however
significant its trend. The Theil-Sen slope of the last window is reported as
evidence (and sizes the train-longer advice).

Example:
    >>> import math
    >>> from loganalyzer.analysis import to_run
    >>> from loganalyzer.rulepack import rule_by_code
    >>> val = [0.5 + math.exp(-i / 30) for i in range(20)]
    >>> run = to_run({"loss": [v - 0.05 for v in val], "val_loss": val})
    >>> [(f.kind, f.metric, f.start) for f in detect(run, rule_by_code("LA107"), {})]
    [('undertrained', 'val_loss', 15)]
"""

from __future__ import annotations

import numpy as np

from loganalyzer.detectors import _curves as C
from loganalyzer.findings import Finding
from loganalyzer.rulepack import Rule
from loganalyzer.run import Run
from loganalyzer.stats import theil_sen

KIND = "undertrained"

DEFAULTS = {
    "best_fraction": 0.1,
    "window_fraction": 0.2,
    "min_drop_pct": 2.0,
    "min_points": 5,
}


def _monitored(run: Run, need: int) -> C.Curve | None:
    for name in (run.val_loss, run.train_loss):
        c = C.curve(run, name)
        if c is not None and c.n >= need:
            return c if _ends_finite(run, name) else None
    return None


def _ends_finite(run: Run, name: str | None) -> bool:
    """False when the logged series ends non-finite (a diverged run is not undertrained)."""
    s = run.series(name)
    return s is not None and len(s) > 0 and bool(np.isfinite(s.iloc[-1]))


def detect(run: Run, rule: Rule, params: dict) -> list[Finding]:
    """An ``undertrained`` finding when the monitored loss is at its best at the end and
    still fell clearly over the last part of the log."""
    p = {**DEFAULTS, **params}
    c = _monitored(run, C.min_points(p))
    if c is None:
        return []
    y, x = c.y, c.x
    n = c.n
    b = int(np.argmin(y))
    if b < n - max(1, int(np.ceil(p["best_fraction"] * n))):
        return []
    w = max(1, int(round(p["window_fraction"] * (n - 1))))
    s = n - 1 - w
    before = float(y[s])
    best = float(y[b])
    base = before if before > 0 and best > 0 else C.scale(y)
    drop_pct = 100.0 * (before - best) / base
    if drop_pct < p["min_drop_pct"]:
        return []
    fit = theil_sen(x[s:], y[s:]) if n - s >= 2 else None
    slope = fit.slope if fit is not None else None
    start, end = float(x[s]), float(x[-1])
    unit = "%" if base == before else "% of its range"
    message = (
        f"{c.name} was still improving when the log ended: best {C.fmt(best)} at "
        f"{C.where(run, float(x[b]))}, {drop_pct:.1f}{unit} below its value at "
        f"{C.where(run, start)} ({C.fmt(before)}), the start of the last {w} of its {n} points"
    )
    if slope is not None:
        message += f" (Theil-Sen slope {C.fmt(slope)} per {run.index})"
    message += ": the run stopped before converging; train longer."
    evidence = {
        "metric": c.name,
        "best_index": C.num(float(x[b])),
        "best_value": best,
        "window_start": C.num(start),
        "window_start_value": before,
        "recent_improvement_pct": round(drop_pct, 3),
        "slope": slope,
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

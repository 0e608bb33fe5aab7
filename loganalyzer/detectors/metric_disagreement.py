"""``metric-disagreement``: validation accuracy keeps improving while validation loss rises.

The classic sign of over-confidence: the model gets more examples right while the
ones it gets wrong are predicted ever more confidently, so the cross-entropy grows. An
early stop on ``val_loss`` then stops too soon for what users care about. The method
(long logs are binned first):

1. the validation loss rises significantly after its best: the end level is at least
   ``min_rise_sigma`` noise units and ``min_rise_pct`` percent above the (smoothed)
   best, with a rising Mann–Kendall trend after the best (``p < alpha``);
2. a higher-is-better validation metric (``val_accuracy`` first, then others such as
   ``val_auc`` or ``val_f1``; error metrics such as ``val_mae`` are skipped) reaches
   its best clearly after the loss's best (at least ``min_lag_fraction`` of the run and
   two points later) and trends upward after the loss's best (Mann–Kendall
   ``p < alpha``), its Theil–Sen gain over that stretch being at least
   ``min_gain_sigma`` of its own noise units and
   ``min_gain_pct`` percent of its value at the loss's best, and at least
   ``min_gain_share`` of its whole improvement over the run comes after that point
   (the slow tail of a metric that saturated with the loss is agreement).

The finding names the metric to monitor instead (``mode="max"``).

Example:
    >>> from loganalyzer.analysis import to_run
    >>> from loganalyzer.rulepack import rule_by_code
    >>> val = [1.0, 0.8, 0.7, 0.65, 0.66, 0.7, 0.74, 0.79, 0.83, 0.88, 0.92, 0.97]
    >>> acc = [0.5, 0.6, 0.66, 0.7, 0.72, 0.74, 0.75, 0.76, 0.77, 0.78, 0.79, 0.8]
    >>> run = to_run({"loss": [1 - 0.08 * i for i in range(12)], "val_loss": val,
    ...               "val_accuracy": acc})
    >>> [(f.kind, f.evidence["loss_best_index"], f.evidence["suggested_monitor"])
    ...  for f in detect(run, rule_by_code("LA109"), {})]
    [('metric-disagreement', 3, 'val_accuracy')]
"""

from __future__ import annotations

import numpy as np

from loganalyzer.detectors import _curves as C
from loganalyzer.findings import Finding
from loganalyzer.rulepack import Rule
from loganalyzer.run import Run
from loganalyzer.stats import mann_kendall, median, theil_sen

KIND = "metric-disagreement"

DEFAULTS = {
    "min_rise_sigma": 3.0,
    "min_rise_pct": 1.0,
    "alpha": 0.05,
    "min_lag_fraction": 0.1,
    "min_gain_sigma": 3.0,
    "min_gain_pct": 1.0,
    "min_gain_share": 0.05,
}


def candidate_metrics(run: Run) -> list[str]:
    """Higher-is-better validation metrics, accuracy first."""
    names = [
        name
        for name in run.data
        if name.startswith("val_") and name != run.val_loss and C.direction(name) == "max"
    ]
    return sorted(names, key=lambda n: (n != "val_accuracy", "acc" not in n, n))


def _loss_rise(v: C.Curve, p: dict) -> tuple[int, float] | None:
    """Position of the best validation loss and the trend p after it, if it rises."""
    n = v.n
    b = int(np.argmin(v.y))
    tail = v.y[b:]
    if len(tail) < 4:
        return None
    # Noise from the stretch after the best when it is long enough: the steep early
    # descent inflates second differences on short logs.
    sig = min(C.sigma(v.y), C.sigma(tail)) if len(tail) >= 5 else C.sigma(v.y)
    smooth = C.running_median(v.y, C.smooth_window(n, 0.06, 3, 9))
    lo, hi = max(0, b - 2), min(n, b + 3)
    best_level = min(float(np.min(smooth[lo:hi])), float(median(v.y[lo:hi])))
    k = max(1, min(C.edge_count(n), (len(tail) - 1) // 2 or 1))
    end = float(median(tail[-k:]))
    rise = end - best_level
    rise_pct = C.pct(rise, best_level) if best_level != 0 else C.pct(rise, C.scale(v.y))
    trend = mann_kendall(tail)
    if (
        rise >= p["min_rise_sigma"] * sig
        and rise_pct >= p["min_rise_pct"]
        and trend.rising
        and trend.p < p["alpha"]
    ):
        return b, trend.p
    return None


def _judge_metric(run: Run, name: str, since: float, p: dict) -> dict | None:
    raw = C.curve(run, name)
    if raw is None or raw.n < C.min_points(p):
        return None
    m = C.binned(raw)
    after = m.x >= since
    seg = m.y[after]
    if len(seg) < 4:
        return None
    best_pos = int(np.argmax(m.y))
    lag_needed = max(2, int(np.ceil(p["min_lag_fraction"] * m.n)))
    first_after = int(np.argmax(after))
    if best_pos - first_after < lag_needed:
        return None
    trend = mann_kendall(seg)
    if not (trend.rising and trend.p < p["alpha"]):
        return None
    # The gain over the stretch, from a Theil-Sen line (robust, uses every point), in
    # the noise of that stretch when it is long enough (the steep early rise inflates
    # second differences on short logs).
    xs = m.x[after]
    fit = theil_sen(xs, seg)
    gain = fit.slope * float(xs[-1] - xs[0])
    start = fit.intercept + fit.slope * float(xs[0])
    sig = min(C.sigma(m.y), C.sigma(seg)) if len(seg) >= 5 else C.sigma(m.y)
    if gain < p["min_gain_sigma"] * sig:
        return None
    if gain < p["min_gain_pct"] / 100.0 * max(abs(start), 1e-12):
        return None
    smooth = C.running_median(m.y, C.smooth_window(m.n, 0.06, 3, 9))
    if gain < p["min_gain_share"] * float(np.max(smooth) - np.min(smooth)):
        return None
    raw_best = int(np.argmax(raw.y))
    return {
        "metric": name,
        "best_index": float(raw.first[raw_best]),
        "best_value": float(raw.y[raw_best]),
        "at_loss_best": float(seg[0]),
        "trend_p": trend.p,
    }


def detect(run: Run, rule: Rule, params: dict) -> list[Finding]:
    """A ``metric-disagreement`` finding when a validation metric improves as the loss rises."""
    p = {**DEFAULTS, **rule.params, **params}
    val = C.curve(run, run.val_loss)
    if val is None or val.n < C.min_points(p):
        return []
    names = candidate_metrics(run)
    if not names:
        return []
    v = C.binned(val)
    rise = _loss_rise(v, p)
    if rise is None:
        return []
    b, loss_p = rise
    raw_best = int(np.argmin(val.y))
    loss_best_index = float(val.first[raw_best])
    for name in names:
        got = _judge_metric(run, name, float(v.first[b]), p)
        if got is None:
            continue
        last_index = float(val.last[-1])
        message = (
            f"{name} kept improving ({C.fmt(got['at_loss_best'])} at the {run.val_loss} best, "
            f"{C.where(run, loss_best_index)}, to {C.fmt(got['best_value'])} at "
            f"{C.where(run, got['best_index'])}, Mann-Kendall {C.fmt_p(got['trend_p'])}) while "
            f"{run.val_loss} rose from {C.fmt(float(val.y[raw_best]))} to "
            f"{C.fmt(float(val.y[-1]))} (trend {C.fmt_p(loss_p)}): the model grows "
            f'over-confident on the examples it gets wrong; monitor {name} (mode "max") '
            f"rather than {run.val_loss} to keep the best model."
        )
        evidence = {
            "metric": name,
            "loss_best_index": C.num(loss_best_index),
            "metric_best_index": C.num(got["best_index"]),
            "metric_trend_p": got["trend_p"],
            "suggested_monitor": name,
        }
        return [
            Finding(
                rule=rule.code,
                kind=KIND,
                severity=rule.severity,
                metric=name,
                start=C.num(loss_best_index),
                end=C.num(last_index),
                message=message,
                evidence=evidence,
            )
        ]
    return []

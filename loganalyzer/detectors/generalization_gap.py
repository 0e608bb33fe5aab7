"""``generalization-gap``: validation stalls while training keeps falling far below it.

The train/validation discrepancy a careful engineer reads from the two curves
together, even when the validation loss never turns up (that is ``overfitting``):
over the last third of the log,

1. the validation loss *stalls*: its best value in the stretch improves on the best
   before it by less than ``max_val_improvement`` (2 %);
2. the training loss still *falls*: its level at the end of the stretch is at least
   ``min_train_fall`` (30 %) below its level at the start (levels are medians of a
   few points, so one noisy minibatch does not decide);
3. the gap is wide: the training loss ends at most ``max_end_ratio`` (2/3) of the
   validation loss.

Every extra epoch then fits the training set further without generalising any
better. Both losses must be positive (a ratio of SI-SNR values means nothing). It can
come with ``overfitting`` (validation rising after its best): the two describe the
same stretch from the two curves.

Example:
    >>> from loganalyzer.analysis import to_run
    >>> from loganalyzer.rulepack import rule_by_code
    >>> train = [1.0 * 0.8 ** i for i in range(15)]
    >>> val = [1.0, 0.8, 0.7, 0.62, 0.58, 0.56, 0.55, 0.55, 0.552, 0.55, 0.551, 0.55, 0.553, 0.55, 0.551]
    >>> [(f.kind, f.start) for f in detect(to_run({"loss": train, "val_loss": val}), rule_by_code("LA110"), {})]
    [('generalization-gap', 10)]
"""

from __future__ import annotations

import numpy as np

from loganalyzer.detectors import _curves as C
from loganalyzer.findings import Finding
from loganalyzer.rulepack import Rule
from loganalyzer.run import Run

KIND = "generalization-gap"

DEFAULTS = {
    "window_fraction": 1 / 3,
    "max_val_improvement": 0.02,
    "min_train_fall": 0.30,
    "max_end_ratio": 2 / 3,
    "min_points": 5,
}


def detect(run: Run, rule: Rule, params: dict) -> list[Finding]:
    """A ``generalization-gap`` finding when validation stalls far above a falling training loss."""
    p = {**DEFAULTS, **params}
    val = C.curve(run, run.val_loss)
    train = C.curve(run, run.train_loss)
    if val is None or train is None or val.n < int(p["min_points"]) or train.n < 2:
        return []
    if np.any(val.y <= 0) or np.any(train.y <= 0):
        return []
    n = val.n
    s = n - max(2, int(round(p["window_fraction"] * n)))
    start = float(val.x[s])
    best_before = float(np.min(val.y[: s + 1]))
    best_in = float(np.min(val.y[s:]))
    improvement = (best_before - best_in) / best_before
    if improvement >= p["max_val_improvement"]:
        return []
    seg = train.y[train.x >= start]
    if len(seg) < 2:
        return []
    k = max(3, len(seg) // 20)
    t0, t1 = C.robust_start(seg, k), C.robust_end(seg, k)
    fall = (t0 - t1) / t0
    v_end = C.robust_end(val.y, 3)
    ratio = t1 / v_end
    if fall < p["min_train_fall"] or ratio > p["max_end_ratio"]:
        return []
    best_pos = int(np.argmin(val.y))
    best_index, best_value = float(val.x[best_pos]), float(val.y[best_pos])
    end = float(val.x[-1])
    stall = (
        f"no better than its best {C.fmt(best_value)} ({C.where(run, best_index)})"
        if improvement <= 0
        else f"improved only {100 * improvement:.1f}% on its earlier best"
    )
    message = (
        f"From {C.where(run, start)} to {C.where(run, end)} {run.val_loss} stalled "
        f"({stall}) while {run.train_loss} fell {100 * fall:.0f}% "
        f"(median of {k} points: {C.fmt(t0)} -> {C.fmt(t1)}) and ends at "
        f"{100 * ratio:.0f}% of {run.val_loss} ({C.fmt(t1)} vs {C.fmt(v_end)}): the model keeps "
        "fitting the training set without generalising better."
    )
    evidence = {
        "window_start": C.num(start),
        "val_best_index": C.num(best_index),
        "val_best": best_value,
        "val_improvement_pct": round(100 * improvement, 3),
        "train_start": t0,
        "train_end": t1,
        "train_fall_pct": round(100 * fall, 3),
        "val_end": v_end,
        "end_ratio": round(ratio, 4),
    }
    return [
        Finding(
            rule=rule.code,
            kind=KIND,
            severity=rule.severity,
            metric=run.val_loss,
            start=C.num(start),
            end=C.num(end),
            message=message,
            evidence=evidence,
        )
    ]

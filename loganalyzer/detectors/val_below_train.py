"""``val-below-train``: the validation loss is below the training loss for most of the run.

Usually benign, sometimes a data bug. The method:

1. the training loss is read at the validation loss's indices (linear interpolation
   within the training curve's range, so step logs where evaluation and training are
   logged at different steps still pair up; long logs are binned first);
2. ``fraction_below`` is the share of those common points where validation is strictly
   below training (ties, such as two zero losses, do not count); the rule speaks when it is at least ``min_fraction``;
3. ``median_ratio`` is the median of ``val / train`` (only when both are positive;
   otherwise ``null``); the curves are *near-identical* when the median relative
   difference ``|val - train|`` is below ``identical_tol`` of the training loss (of the
   curve's scale when losses are zero or negative) *and* the training loss learned
   something (fell by at least ``min_learning`` of its scale and is not at a chance
   level: a model guessing the class prior has the same loss on both sets).

Benign causes: dropout and other regularisation are active while the training loss is
measured and off for validation; the training loss is averaged over an epoch during
which the model improves, while validation is measured at the end; augmentation makes
training examples harder. Those leave a visible gap: an *info* note. Near-identical
curves are suspicious: validation examples that are also in the training set (leakage)
or a validation set that is the training set; that is a *warning*.

Example:
    >>> from loganalyzer.analysis import to_run
    >>> from loganalyzer.rulepack import rule_by_code
    >>> loss = [1.0 - 0.05 * i for i in range(12)]
    >>> run = to_run({"loss": loss, "val_loss": [v * 0.8 for v in loss]})
    >>> [(f.severity, f.evidence["fraction_below"]) for f in detect(run, rule_by_code("LA108"), {})]
    [('info', 1.0)]
"""

from __future__ import annotations

import numpy as np

from loganalyzer.detectors import _curves as C
from loganalyzer.findings import Finding
from loganalyzer.rulepack import Rule
from loganalyzer.run import Run

KIND = "val-below-train"

DEFAULTS = {
    "min_fraction": 0.7,
    "identical_tol": 0.01,
    "min_learning": 0.1,
}


def detect(run: Run, rule: Rule, params: dict) -> list[Finding]:
    """A ``val-below-train`` finding when ``run.val_loss`` stays under ``run.train_loss``."""
    p = {**DEFAULTS, **rule.params, **params}
    train = C.curve(run, run.train_loss)
    val = C.curve(run, run.val_loss)
    need = C.min_points(p)
    if train is None or val is None or train.n < need or val.n < need:
        return []
    t, v = C.binned(train), C.binned(val)
    inside = (v.x >= t.x[0]) & (v.x <= t.x[-1])
    if inside.sum() < need:
        return []
    vy, vx = v.y[inside], v.x[inside]
    ty = np.interp(vx, t.x, t.y)
    below = vy < ty
    fraction = float(np.mean(below))
    if fraction < p["min_fraction"]:
        return []
    positive = bool(np.all(ty > 0) and np.all(vy > 0))
    median_ratio = float(np.median(vy / ty)) if positive else None
    if positive:
        rel = np.abs(vy - ty) / ty
    else:
        rel = np.abs(vy - ty) / C.scale(t.y)
    median_rel = float(np.median(rel))
    # Two curves that sit together on a loss that never moved (a model at chance
    # predicts the class prior on both sets) are no sign of leakage.
    moved = C.start_level(t.y) - C.end_level(t.y) >= p["min_learning"] * C.scale(t.y)
    learned = moved and C.chance_level(run, C.end_level(t.y)) is None
    near = median_rel < p["identical_tol"] and learned
    start, end = float(v.first[inside][0]), float(v.last[inside][-1])
    ratio_txt = (
        f"median val/train ratio {median_ratio:.3g}"
        if median_ratio is not None
        else f"median difference {100 * median_rel:.2g}% of the loss scale"
    )
    head = (
        f"{run.val_loss} is below {run.train_loss} at {100 * fraction:.0f}% of "
        f"{len(vy)} common points ({C.where(run, start)} to {C.where(run, end)}; {ratio_txt})"
    )
    if near:
        severity = "warning" if rule.severity == "info" else rule.severity
        message = (
            f"{head}, and the two curves are near-identical (median gap "
            f"{100 * median_rel:.2g}%): possible leakage, validation examples that are also "
            "in the training set or a validation set that is the training set; check the split."
        )
    else:
        severity = rule.severity
        message = (
            f"{head}. Usually benign: dropout or other regularisation active in training "
            "only, a training loss averaged over each epoch while the model improves, or "
            "augmentation making training examples harder; near-identical curves would "
            "instead suggest leakage."
        )
    evidence = {
        "fraction_below": round(fraction, 4),
        "median_ratio": None if median_ratio is None else round(median_ratio, 6),
        "near_identical": bool(near),
    }
    return [
        Finding(
            rule=rule.code,
            kind=KIND,
            severity=severity,
            metric=run.val_loss,
            start=C.num(start),
            end=C.num(end),
            message=message,
            evidence=evidence,
        )
    ]

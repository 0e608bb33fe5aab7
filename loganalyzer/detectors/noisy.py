"""``noisy``: a loss curve whose swings hide its trend.

A careful engineer calls a curve noisy when it keeps changing direction by visible
amounts, or when its typical swing is a large part of the whole range it covers.
Measured on each loss curve at the resolution it was logged:

- ``direction_changes``: the share of interior points where the curve turns with a
  step of at least ``min_swing`` (5 %) of its local level (its 5-point running
  median); about 2/3 for white noise well above that size, 0 for a smooth curve;
- ``swing_to_range``: the median absolute step against the curve's range.

A curve is noisy when ``direction_changes`` reaches ``min_direction_changes`` (0.45:
about half its points; white noise turns at 2/3),
or when ``swing_to_range`` reaches ``min_swing_to_range`` (0.25) and it turns at
``min_turns_with_large_swing`` of its points (a short monotone curve has a large
step-to-range ratio and no noise at all). It needs ``min_points`` points. A
training loss logged per minibatch (at least twice as many training points as
validation points, or a step log without validation) always jitters: its noise must also reach
``minibatch_relative_noise`` of its level (robust spread of the residuals around a
running-median trend) before it is flagged. A run whose learning rate is logged as
zero is not flagged: its wandering is sampling noise, not instability.

Example:
    >>> import numpy as np
    >>> from loganalyzer.analysis import to_run
    >>> from loganalyzer.rulepack import rule_by_code
    >>> rng = np.random.default_rng(1)
    >>> loss = (1.0 + 0.15 * rng.standard_normal(40)).tolist()
    >>> [f.metric for f in detect(to_run({"loss": loss}), rule_by_code("LA105"), {})]
    ['loss']
"""

from __future__ import annotations

import numpy as np

from loganalyzer.detectors import _curves as C
from loganalyzer.findings import Finding
from loganalyzer.rulepack import Rule
from loganalyzer.run import Run
from loganalyzer.stats import median

KIND = "noisy"

# Noise is judged at the resolution the user logged it: block means of m points
# divide white noise by sqrt(m), so a 1000-step log binned to 400 points looked
# 1.6x calmer than it is. Only logs longer than this are binned (for speed).
MAX_POINTS = 5000

DEFAULTS = {
    "min_points": 8,
    "min_swing": 0.05,
    "min_direction_changes": 0.45,
    "min_swing_to_range": 0.25,
    "min_turns_with_large_swing": 0.3,
    "minibatch_relative_noise": 0.2,
}


_PARAMS = tuple(sorted(DEFAULTS))  # the key of a profile: every parameter, in one order


def minibatch(run: Run, c: C.Curve) -> bool:
    """Is ``c`` a training loss logged per minibatch: at least twice as many points as
    the validation loss (several per evaluation), or, with no validation, a step log?"""
    if c.name != run.train_loss:
        return False
    val = C.curve(run, run.val_loss)
    if val is None or val.n == 0:
        return run.index == "step"
    return c.n >= 2 * val.n


def measure(y: np.ndarray) -> dict:
    """Noise, trend amplitude, their ratio and the sign-change rate of ``y``.

    The first tenth of the curve (at most 10 points) is left out: the fast initial
    descent is trend, not noise. The noise is the robust spread (1.4826 MAD) of the
    residuals around a running median over a fifth of the rest (at most 51 points,
    so that it follows the trend's bends); the trend amplitude is the range of a
    running median over a full fifth.

    Example:
        >>> m = measure(np.linspace(1, 0, 50))
        >>> round(m["noise_to_trend"], 3), m["sign_change_rate"]
        (0.0, 0.0)
    """
    y = np.asarray(y, dtype=float)
    tail = y[C.edge_count(len(y)) :] if len(y) >= 10 else y
    trend = C.running_median(tail, C.smooth_window(len(tail), 0.2, 5, 51))
    resid = tail - trend
    sigma = 1.4826 * float(median(np.abs(resid - median(resid))))
    sigma = max(sigma, 1e-6 * float(np.max(np.abs(tail))) if len(tail) else 0.0, 1e-12)
    # The range of a running median also holds the median's own noise: over a
    # 51-point window that added a third to the range of a 1000-step curve and hid
    # its noise. The range is taken over a window of a full fifth of the curve.
    wide = C.running_median(tail, C.smooth_window(len(tail), 0.2, 5, len(tail)))
    amplitude = float(np.max(wide) - np.min(wide))
    d = np.diff(tail)
    d = d[d != 0]
    flips = float(np.mean(np.sign(d[1:]) != np.sign(d[:-1]))) if len(d) > 2 else 0.0
    return {
        "noise_sigma": sigma,
        "trend_amplitude": amplitude,
        "noise_to_trend": sigma / amplitude if amplitude > 0 else float("inf"),
        "sign_change_rate": flips,
        "relative_noise": sigma / max(float(median(np.abs(tail))), 1e-12),
    }


def turns_and_ratio(y: np.ndarray, p: dict | None = None) -> tuple[float, float, bool]:
    """(direction changes, swing-to-range ratio, noisy?) of ``y`` under ``p`` (the
    rule's defaults when ``None``)."""
    p = {**DEFAULTS, **(p or {})}
    turns = C.direction_changes(y, p["min_swing"])
    rng = float(np.max(y) - np.min(y)) if len(y) else 0.0
    ratio = C.swing(y) / rng if rng > 0 else 0.0
    noisy = len(y) >= int(p["min_points"]) and (
        turns >= p["min_direction_changes"]
        or (ratio >= p["min_swing_to_range"] and turns >= p["min_turns_with_large_swing"])
    )
    return turns, ratio, noisy


def profile(c: C.Curve, p: dict | None = None) -> tuple[float, float, bool]:
    """:func:`turns_and_ratio` of the curve ``c``: computed once per curve (and
    parameters) and shared by the detectors that ask whether a curve is noisy."""
    q = {**DEFAULTS, **(p or {})}
    key = ("noisy", *(q[k] for k in _PARAMS))
    return C.remember(c, key, lambda: turns_and_ratio(c.y, q))


def detect(run: Run, rule: Rule, params: dict) -> list[Finding]:
    """One ``noisy`` finding per loss curve whose swings hide its trend."""
    p = {**DEFAULTS, **params}
    if C.lr_is_zero(run):
        return []
    findings = []
    for c in C.loss_curves(run):
        if c.n < int(p["min_points"]):
            continue
        judged = C.binned(c, MAX_POINTS)
        y = judged.y
        turns, ratio, noisy = profile(judged, p)
        if not noisy:
            continue
        rng = float(np.max(y) - np.min(y))
        m = measure(y)
        if minibatch(run, c) and m["relative_noise"] < p["minibatch_relative_noise"]:
            continue  # ordinary minibatch jitter
        lr = C.learning_rate(run)
        lr_value = float(median(lr.y)) if lr is not None and lr.n else None
        lr_txt = f" under a learning rate of {C.fmt(lr_value)}" if lr_value is not None else ""
        message = (
            f"{c.name} changes direction at {100 * turns:.0f}% of its {c.n} points with steps "
            f"of at least {100 * p['min_swing']:.0f}% of its level{lr_txt}; its typical step "
            f"({C.fmt(C.swing(y))}) is {100 * ratio:.0f}% of its range ({C.fmt(rng)}), and "
            f"its noise around the trend is {100 * m['relative_noise']:.0f}% of its level."
        )
        findings.append(
            Finding(
                rule=rule.code,
                kind=KIND,
                severity=rule.severity,
                metric=c.name,
                start=C.num(c.first[0]),
                end=C.num(c.last[-1]),
                message=message,
                evidence={
                    "metric": c.name,
                    "direction_changes": round(turns, 3),
                    "swing": C.swing(y),
                    "swing_to_range": round(ratio, 4),
                    "noise_sigma": m["noise_sigma"],
                    "relative_noise": round(m["relative_noise"], 4),
                    "minibatch": minibatch(run, c),
                    "learning_rate": lr_value,
                },
            )
        )
    return findings

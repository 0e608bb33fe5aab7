"""``noisy``: epoch-to-epoch swings comparable to the curve's whole trend.

Three numbers, all reported as evidence:

- ``noise_sigma``: the robust spread of the residuals around a running-median trend
  (after the initial descent);
- ``trend_amplitude``: the range of that trend;
- ``sign_change_rate``: how often consecutive differences change sign (about 2/3 for
  white noise, near 0 for a smooth curve).

A curve is noisy when ``noise_sigma / trend_amplitude`` reaches ``max_noise_to_trend``,
its differences flip sign often (``min_sign_change_rate``), and the noise is not
negligible against the loss itself (``min_relative_noise``). A training loss logged
per step averages only a few batches, so its minibatch noise is expected: it has to
be ``step_factor`` times noisier before it is flagged. A run whose learning rate is
logged as zero is not flagged: its wandering is sampling noise, not instability
(``plateau`` and ``underfitting`` report that run).

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

KIND = "noisy"

# Noise is judged at the resolution the user logged it: block means of m points
# divide white noise by sqrt(m), so a 1000-step log binned to 400 points looked
# 1.6x calmer than it is. Only logs longer than this are binned (for speed).
MAX_POINTS = 5000

DEFAULTS = {
    "min_points": 10,
    "max_noise_to_trend": 0.2,
    "min_sign_change_rate": 0.4,
    "min_relative_noise": 0.03,
    "step_factor": 4.0,
}


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
    sigma = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
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
        "relative_noise": sigma / max(float(np.median(np.abs(tail))), 1e-12),
    }


def detect(run: Run, rule: Rule, params: dict) -> list[Finding]:
    """One ``noisy`` finding per loss curve whose swings rival its trend."""
    p = {**DEFAULTS, **params}
    if C.lr_is_zero(run):
        return []
    findings = []
    for c in C.loss_curves(run):
        if c.n < int(p["min_points"]):
            continue
        y = C.binned(c, MAX_POINTS).y
        m = measure(y)
        limit = p["max_noise_to_trend"]
        per_step = run.index == "step" and c.name == run.train_loss
        if per_step:
            limit *= p["step_factor"]
        if not (
            m["noise_to_trend"] >= limit
            and m["sign_change_rate"] >= p["min_sign_change_rate"]
            and m["relative_noise"] >= p["min_relative_noise"]
        ):
            continue
        lr = C.learning_rate(run)
        lr_value = float(np.median(lr.y)) if lr is not None and lr.n else None
        lr_txt = f" under a learning rate of {C.fmt(lr_value)}" if lr_value is not None else ""
        ratio = m["noise_to_trend"]
        ratio_txt = "no trend at all" if not np.isfinite(ratio) else f"{ratio:.2f}x its trend"
        message = (
            f"{c.name} swings by {C.fmt(m['noise_sigma'])} ({100 * m['relative_noise']:.0f}% "
            f"of its level) from point to point{lr_txt}: noise {ratio_txt} "
            f"(range {C.fmt(m['trend_amplitude'])}), with {100 * m['sign_change_rate']:.0f}% "
            "of steps changing direction."
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
                    "noise_sigma": m["noise_sigma"],
                    "trend_amplitude": m["trend_amplitude"],
                    "noise_to_trend": ratio if np.isfinite(ratio) else None,
                    "sign_change_rate": round(m["sign_change_rate"], 3),
                    "learning_rate": lr_value,
                },
            )
        )
    return findings

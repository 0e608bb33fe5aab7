"""``loss-spike``: an isolated jump far above the local level that recovers.

The local level is a running median (robust to the spike itself); a point is a spike
candidate when it stands ``min_height_sigma`` noise units *and* ``min_rel_height`` of
the curve's size above that level. Neighbouring candidates form one spike, which must
be narrow (at most ``max_width`` points) and must come back down to within half its
height soon after (``recovery`` points, scaled with the length). The first point is
never a spike (a huge first-epoch loss is where training starts), and a jump at the
very end cannot be judged yet. A jump that never recovers is a ``divergence``.

Long step logs are max-pooled to a few thousand points first, so a one-step spike in
100 000 steps stays visible while batch-to-batch wiggles do not multiply.

Example:
    >>> from loganalyzer.analysis import to_run
    >>> from loganalyzer.rulepack import rule_by_code
    >>> loss = [1.0, 0.9, 0.82, 0.76, 0.71, 3.5, 0.66, 0.63, 0.61, 0.6, 0.59, 0.58]
    >>> f = detect(to_run({"loss": loss}), rule_by_code("LA103"), {})[0]
    >>> [s["index"] for s in f.evidence["spikes"]]
    [5]
"""

from __future__ import annotations

import numpy as np

from loganalyzer.detectors import _curves as C
from loganalyzer.findings import Finding
from loganalyzer.rulepack import Rule
from loganalyzer.run import Run

KIND = "loss-spike"

DEFAULTS = {
    "min_height_sigma": 6.0,
    "min_rel_height": 0.1,
    "max_width": 3,
    "warn_rel_height": 0.5,
    "warn_count": 3,
    "warn_height_sigma": 20.0,
}

#: Spikes are looked for on at most this many (max-pooled) points.
MAX_SPIKE_POINTS = 4000


class Spikes:
    """Finds narrow upward excursions that recover.

    Args:
        min_height_sigma: Height above the local level in noise units.
        min_rel_height: Height as a fraction of the curve's size
            (``max(|local level|, 1 % of the range)``): a loss memorised down to a
            few thousandths that jumps 4x is a spike, however small against the
            run's first epochs.
        max_width: Widest spike in points.

    Example:
        >>> y = np.array([1.0, 0.9, 0.8, 0.75, 4.0, 0.7, 0.68, 0.66, 0.65])
        >>> [s.peak for s in Spikes().fit(y).predict()]
        [4]
    """

    def __init__(self, min_height_sigma: float = 6.0, min_rel_height: float = 0.1, max_width=3):
        self.min_height_sigma = min_height_sigma
        self.min_rel_height = min_rel_height
        self.max_width = int(max_width)

    def fit(self, y: np.ndarray) -> Spikes:
        y = np.asarray(y, dtype=float)
        n = len(y)
        self.y = y
        self.level = C.running_median(y, C.smooth_window(n, 0.08, 2 * self.max_width + 1, 15))
        # The noise is measured after the initial descent: there the running median
        # lags the steep fall, which on a 12-epoch log would read as large noise
        # (a curve of under 11 points keeps all its points: too few to drop any).
        k = min(max(C.edge_count(n), 3), n // 3)
        resid = (y - self.level)[k:]
        mad = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
        if n >= 20:
            self.sigma = max(C.sigma(y[k:] if n - k >= 8 else y), mad)
        else:
            # Under 20 points the second differences of a loss halving every epoch
            # are curvature, not noise (a 5x jump read as 3 "noise units"); a
            # centred running median follows such a fall exactly, so the spread of
            # the residuals around it is the noise (x1.25: the median of a few
            # points partly follows the noise too).
            self.sigma = max(1.25 * mad, 1e-3 * C.sigma(y), 1e-12)
        rng = float(np.max(self.level) - np.min(self.level))
        self.size = np.maximum(np.abs(self.level), 0.01 * rng)
        self.size = np.maximum(self.size, 1e-12)
        return self

    def predict(self) -> list[_Spike]:
        y, level, sigma = self.y, self.level, self.sigma
        n = len(y)
        height = y - level
        cand = (height > self.min_height_sigma * sigma) & (height > self.min_rel_height * self.size)
        cand[0] = False
        spikes = []
        recovery = max(2, int(np.ceil(0.05 * n)))
        i = 1
        while i < n:
            if not cand[i]:
                i += 1
                continue
            j = i
            while j + 1 < n and cand[j + 1]:
                j += 1
            width = j - i + 1
            peak = i + int(np.argmax(y[i : j + 1]))
            h = float(height[peak])
            after = y[j + 1 : j + 1 + recovery]
            back = level[peak] + 0.5 * h
            # A spike jumps up from the point before it: on a steep early descent the
            # running median lags behind, which is no spike at all.
            jump = float(y[peak] - y[i - 1])
            rose = jump > self.min_height_sigma * sigma and jump > self.min_rel_height * float(
                self.size[peak]
            )
            if width <= self.max_width and rose and len(after) and np.any(after <= back):
                spikes.append(_Spike(peak, float(y[peak]), float(level[peak]), h / sigma))
            i = j + 1
        return spikes


class _Spike:
    __slots__ = ("peak", "value", "level", "height_sigma")

    def __init__(self, peak: int, value: float, level: float, height_sigma: float):
        self.peak, self.value, self.level, self.height_sigma = peak, value, level, height_sigma


def _spikes_on(c: C.Curve, p: dict) -> list[dict]:
    pooled = C.binned(c, MAX_SPIKE_POINTS, how="max")
    found = Spikes(p["min_height_sigma"], p["min_rel_height"], p["max_width"]).fit(pooled.y)
    out = []
    for s in found.predict():
        if pooled.binned:  # the raw point that made the block's maximum
            lo = int(np.searchsorted(c.x, pooled.first[s.peak]))
            hi = int(np.searchsorted(c.x, pooled.last[s.peak], side="right"))
            index = float(c.x[lo + int(np.argmax(c.y[lo:hi]))])
        else:
            index = float(c.x[s.peak])
        out.append(
            {
                "index": C.num(index),
                "value": s.value,
                "local_level": s.level,
                "height_sigma": round(s.height_sigma, 2),
            }
        )
    return out


def detect(run: Run, rule: Rule, params: dict) -> list[Finding]:
    """One ``loss-spike`` finding per loss curve that has spikes."""
    p = {**DEFAULTS, **params}
    findings = []
    for c in C.loss_curves(run):
        if c.n < C.min_points(params):
            continue
        spikes = _spikes_on(c, p)
        if not spikes:
            continue
        top = max(spikes, key=lambda s: s["value"] - s["local_level"])
        count = f"{len(spikes)} time{'s' if len(spikes) > 1 else ''}"
        message = (
            f"{c.name} spiked {count} and recovered; the largest at "
            f"{C.where(run, top['index'])}: {C.fmt(top['value'])} against a local level of "
            f"{C.fmt(top['local_level'])} ({top['height_sigma']:.0f}x its noise)."
        )
        # One small spike on a curve that keeps improving is worth knowing, not a
        # problem: a warning needs a jump of at least half the local level, or a habit.
        rel = (top["value"] - top["local_level"]) / max(abs(top["local_level"]), 1e-12)
        if top["local_level"] <= 0:
            # A loss at or below zero (SI-SNR) has no meaningful relative height:
            # there the jump counts in noise units alone.
            rel = top["height_sigma"] / p["warn_height_sigma"] * p["warn_rel_height"]
        habit = max(p["warn_count"], 0.02 * c.n)  # a long run may wobble now and then
        big = rel >= p["warn_rel_height"] or len(spikes) >= habit
        if c.name != run.train_loss:
            # A validation jump the training loss does not share is evaluation noise (a
            # small validation set, batch-norm statistics), not an unstable optimiser.
            big = False
        findings.append(
            Finding(
                rule=rule.code,
                kind=KIND,
                severity=rule.severity if big else "info",
                metric=c.name,
                start=spikes[0]["index"],
                end=spikes[-1]["index"],
                message=message,
                evidence={"spikes": spikes},
            )
        )
    return findings

"""``loss-spike``: an isolated jump far above the local level that comes back.

Read as an engineer reads a plot: a point jumps up from the level just before it (the
median of the previous ``lookback`` points, or the previous point when those fall steadily, so a
steady descent over those points is its own level), by at least ``min_rel_height`` (25 %) of that level
and ``min_height_noise`` times the curve's typical point-to-point swing (without the
jump itself on a short curve), and within ``max_width`` points the curve comes
back to within a third of the jump. Three more rules keep it to what matters:

- the warm-up has its own level: never a spike at the first two points, and in the
  rest of the first ``warmup_fraction`` of the log only a jump to at least
  1 + ``early_rel_height`` times the level (3x) counts;
- *isolated* means rare: a curve with more than max(``max_count``, ``max_rate`` x its
  points) jumps is noisy (``noisy`` reports it), not hit by a few bad updates;
- a sparse validation curve (evaluated every few hundred steps) may jump within its
  own swing: the jump still counts when the training loss jumps at the same moment
  and both come back (see :func:`_joint`);
- a training loss logged per minibatch jumps by a third now and then: there a spike
  must at least double the loss; on a curve that ``noisy`` flags, a spike must stand
  ``noisy_factor`` times further out of its swing.

A jump that never comes back is a ``divergence``. For a loss at or below zero
(SI-SNR) a relative height means nothing: the jump must reach a tenth of the curve's
range and is graded in noise units (``warn_height_sigma``). Long step logs are
max-pooled to a few thousand points first, so a one-step spike in 100 000 steps stays
visible while batch-to-batch wiggles do not multiply.

Example:
    >>> from loganalyzer.analysis import to_run
    >>> from loganalyzer.rulepack import rule_by_code
    >>> loss = [1.0, 0.9, 0.82, 0.76, 0.71, 3.5, 0.66, 0.63, 0.61, 0.6, 0.59, 0.58]
    >>> f = detect(to_run({"loss": loss}), rule_by_code("LA103"), {})[0]
    >>> [s["index"] for s in f.evidence["spikes"]]
    [5]
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from loganalyzer.detectors import _curves as C
from loganalyzer.findings import Finding
from loganalyzer.rulepack import Rule
from loganalyzer.run import Run
from loganalyzer.stats import median, windows

KIND = "loss-spike"

DEFAULTS = {
    "min_height_noise": 3.0,
    "min_rel_height": 0.25,
    "max_width": 3,
    "lookback": 3,
    "warn_height_sigma": 20.0,
    "min_points": 5,
    "warmup_fraction": 0.1,
    "early_rel_height": 2.0,
    "max_count": 4,
    "max_rate": 0.02,
    "minibatch_rel_height": 1.0,
    "noisy_factor": 2.0,
}

#: Spikes are looked for on at most this many (max-pooled) points.
MAX_SPIKE_POINTS = 4000


@dataclass
class Spike:
    """One spike: its peak position, value, the level it jumped from, height in noise units."""

    peak: int
    value: float
    level: float
    height_noise: float


class Spikes:
    """Finds narrow upward jumps that come back.

    Args:
        min_height_noise: Height above the level before the jump, in wiggles.
        min_rel_height: Height as a fraction of that level (of the curve's scale
            for a loss at or below zero, where 0.1 is used).
        max_width: The curve must come back within this many points.
        lookback: Points before the jump whose median is its level.

    Example:
        >>> y = np.array([1.0, 0.9, 0.8, 0.75, 4.0, 0.7, 0.68, 0.66, 0.65])
        >>> [s.peak for s in Spikes().fit(y).predict()]
        [4]
    """

    def __init__(self, min_height_noise=3.0, min_rel_height=0.25, max_width=3, lookback=3):
        self.min_height_noise = min_height_noise
        self.min_rel_height = min_rel_height
        self.max_width = int(max_width)
        self.lookback = int(lookback)

    def fit(self, y: np.ndarray) -> Spikes:
        y = np.asarray(y, dtype=float)
        self.y = y
        self.floor = max(1e-6 * float(np.max(np.abs(y))) if len(y) else 0.0, 1e-12)
        self.noise = max(C.swing(y), self.floor)
        self.scale = C.scale(y)
        self.level = jump_levels(y, self.lookback)
        return self

    def _noise(self, i: int) -> float:
        """The typical point-to-point swing, without point ``i`` on a short curve (where
        the jump itself would be a good part of the median)."""
        if len(self.y) >= 20:
            return self.noise
        return max(C.swing(np.delete(self.y, i)), self.floor)

    def predict(self, start: int = 1) -> list[Spike]:
        y, n = self.y, len(self.y)
        level = self.level
        h = y - level
        # min_rel_height of the level, or a tenth of the curve's scale for a level <= 0
        need = np.where(level > 0, self.min_rel_height * level, 0.1 * self.scale)
        noise = self.noise if n >= 20 else np.array([self._noise(i) for i in range(n)])
        jumps = (h >= need) & (h >= self.min_height_noise * noise)
        out: list[Spike] = []
        i = max(1, start)
        for k in np.flatnonzero(jumps).tolist():  # the jumps, in order
            if k < i:
                continue  # inside the spike just found
            if k >= n - 1:
                break
            lv, hk = float(level[k]), float(h[k])
            back = np.nonzero(y[k + 1 : k + 1 + self.max_width] <= lv + hk / 3)[0]
            if len(back):
                m = k + 1 + int(back[0])
                peak = k + int(np.argmax(y[k:m]))
                h_noise = (y[peak] - lv) / self._noise(k)
                out.append(Spike(peak, float(y[peak]), lv, h_noise))
                i = m
        return out


def jump_levels(y: np.ndarray, lookback: int) -> np.ndarray:
    """The level each point would jump from: the median of the ``lookback`` points
    before it, or the previous point when those fall steadily (a steady descent is its
    own level); NaN for the first point. For an odd ``lookback`` on finite values the
    medians are the curve's centred running median (kept per curve: plateau and
    divergence ask for it too), else one sort of all the windows at once.

    Example:
        >>> jump_levels(np.array([1.0, 0.9, 0.8, 0.75, 4.0, 0.7]), 3).tolist()
        [nan, 1.0, 0.9, 0.8, 0.75, 0.8]
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    out = np.full(n, np.nan)
    full = lookback >= 1 and n > lookback
    if full:
        k = lookback // 2
        if lookback % 2 and np.isfinite(y).all():
            # the lookback points before i are the window centred on i - 1 - k
            level = C.running_median(y, lookback)[k : n - 1 - k]
        else:
            s = np.sort(y[windows(n, lookback)[: n - lookback]], axis=1)
            level = s[:, k] if lookback % 2 else (s[:, k - 1] + s[:, k]) / 2
        if lookback >= 2:  # every step down in the window: the previous point instead
            down = y[1:] < y[:-1]
            falling = down[windows(n - 1, lookback - 1)[: n - lookback]].all(axis=1)
            level = np.where(falling, y[lookback - 1 : n - 1], level)
        out[lookback:] = level
    for i in range(1, min(lookback, n) if full else n):  # windows cut by the start
        before = y[max(0, i - lookback) : i]
        level_i = float(median(before))
        if len(before) >= 2 and (before[1:] < before[:-1]).all():
            level_i = float(y[i - 1])
        out[i] = level_i
    return out


def may_jump(y: np.ndarray, min_rel_height: float, lookback: int, min_height: float = 0.0) -> bool:
    """Can :meth:`Spikes.predict` (``start=2``) find any jump on ``y``? ``False`` only
    when it provably cannot, whatever its height in noise units: a cheap screen that
    spares most curves the measures a jump needs.

    Why it is necessary: a jump at ``k`` (2 <= k <= n - 2) needs ``h >= need``, where
    ``h = y[k] - level`` and ``level`` is the median of (or the last of) the up to
    ``lookback`` points before ``k``, so ``level >= lo``, their minimum. With
    ``min_rel_height`` (``r``) >= 0, ``need`` is ``r * level`` (level > 0) or a tenth of
    the curve's scale (> 0): never below 0, so a jump needs ``y[k] >= level >= lo``.
    Where ``lo`` is a normal positive double (>= 1e-290: nothing underflows), the level
    is positive and, with ``u = 2**-53``, ``fl(y[k] - level) >= fl(r * level)`` gives
    ``y[k] >= level * (1 + r * (1 - 2u)) >= lo * (1 + r * (1 - 2u))``; the bar
    ``fl(lo * fl(1 + fl(0.9 * r)))`` is at most ``lo * (1 + 0.9 * r + 4u)``, below that
    for any ``r >= 1e-9``. For a smaller ``r``, a ``lookback`` below 1 or a curve with a
    non-finite point the screen answers "maybe" and the detector runs in full.
    ``min_height`` is a bar at or below the jump's height in noise units times the
    noise (a jump needs ``fl(y[k] - level) >= min_height``, and ``y[k] - lo`` rounds to
    at least that): the caller's ``min_height_noise`` times the curve's swing, which
    the noise never falls below on a curve of 20 points or more.

    Example:
        >>> may_jump(np.array([1.0, 0.9, 0.8, 0.75, 0.7, 0.68]), 0.25, 3)
        False
        >>> may_jump(np.array([1.0, 0.9, 0.8, 0.75, 4.0, 0.7, 0.68]), 0.25, 3)
        True
    """
    n = len(y)
    lookback = int(lookback)
    if not (min_rel_height >= 1e-9 and lookback >= 1) or not np.isfinite(y).all():
        return True
    if n < 4:
        return False  # no k in [2, n - 2]
    # lo[k - 2] = min(y[max(0, k - lookback) : k]) for k = 2 .. n - 2 (a window cut by
    # the start holds y[0], already met at a smaller shift)
    lo = y[1 : n - 2].copy()
    for j in range(2, min(lookback, n - 2) + 1):
        np.minimum(lo[j - 2 :], y[: n - 1 - j], out=lo[j - 2 :])
    at = y[2 : n - 1]
    bar = np.where(lo >= 1e-290, lo * (1.0 + 0.9 * min_rel_height), lo)
    if min_height > 0:
        return bool(((at >= bar) & (at - lo >= min_height)).any())
    return bool((at >= bar).any())


def _joint(run: Run, c: C.Curve, p: dict) -> list[Spike]:
    """Jumps of a sparse validation curve that the training loss makes too.

    A validation loss evaluated every few hundred steps has few points; one jump of
    it can be within that curve's swing (inflated by its first evaluations) and still
    be plain when the training loss jumps at the same moment and both come back: an
    update that threw the model off and recovered. Both must rise by
    ``min_rel_height`` of their level and come back within ``max_width`` points.
    """
    train = C.curve(run, run.train_loss)
    if c.name != run.val_loss or train is None or train.n < 2 * c.n or c.n < 4:
        return []
    y, x = c.y, c.x
    out = []
    for i in range(max(2, int(np.ceil(p["warmup_fraction"] * c.n))), c.n - 1):
        level = float(median(y[max(0, i - int(p["lookback"])) : i]))
        h = float(y[i] - level)
        if level <= 0 or h < p["min_rel_height"] * level:
            continue
        back = np.nonzero(y[i + 1 : i + 1 + int(p["max_width"])] <= level + h / 3)[0]
        if not len(back):
            continue
        end = x[i + 1 + int(back[0])]
        before = train.y[(train.x > x[i - 1] - (x[i] - x[i - 1])) & (train.x <= x[i - 1])]
        during = train.y[(train.x > x[i - 1]) & (train.x <= x[i])]
        after = train.y[(train.x > x[i]) & (train.x <= end)]
        if not len(before) or not len(during) or not len(after):
            continue
        t_level = float(median(before))
        t_h = float(np.max(during)) - t_level
        if t_level > 0 and t_h >= p["min_rel_height"] * t_level and after[-1] <= t_level + t_h / 3:
            out.append(Spike(i, float(y[i]), level, h / max(C.swing(y), 1e-12)))
    return out


def _spikes_on(c: C.Curve, p: dict, run: Run | None = None) -> tuple[list[dict], int]:
    """The spikes of ``c`` and how many jumps it makes at the base height (the count
    that says whether they are rare enough to be isolated)."""
    from loganalyzer.detectors.noisy import profile

    pooled = C.binned(c, MAX_SPIKE_POINTS, how="max")
    warm = max(2, int(np.ceil(p["warmup_fraction"] * pooled.n)))
    args = (p["min_rel_height"], p["max_width"], p["lookback"])

    def settled(found: list[Spike]) -> list[Spike]:
        # In the warm-up only a jump of early_rel_height (3x the level) is a spike:
        # the curve has no settled level yet, but a validation loss 10x at epoch 2
        # that comes back is still a bad update.
        big = p["early_rel_height"]
        return [
            s
            for s in found
            if s.peak >= warm or (s.level > 0 and s.value - s.level >= big * s.level)
        ]

    # Most curves never rise a quarter above the points before them: then no predict()
    # can find a jump (at any height in noise units), and the curve is not measured.
    # On 20 points or more the noise is at least the swing: with a bar of at least 0
    # in noise units (and the noisy curve's bar above it), a jump is at least that high.
    high = 0.0
    if pooled.n >= 20 and p["min_height_noise"] >= 0 and p["noisy_factor"] >= 1:
        high = p["min_height_noise"] * C.swing(pooled.y)
    screened = not may_jump(pooled.y, p["min_rel_height"], p["lookback"], high)
    if screened:
        base = []
    else:
        model = Spikes(p["min_height_noise"], *args).fit(pooled.y)
        base = settled(model.predict(start=2))
    if run is not None and not pooled.binned:
        seen = {b.peak for b in base}
        base = sorted(
            base + [j for j in _joint(run, c, p) if j.peak not in seen], key=lambda s: s.peak
        )
    found = base
    if screened:
        # the strict bar of a noisy curve finds no jump either (see may_jump)
        if base and profile(pooled)[2]:
            found = []
    elif profile(pooled)[2]:
        # on a noisy curve a spike must stand further out of the noise
        strict = copy.copy(model)  # the same curve measured, a higher bar
        strict.min_height_noise = p["min_height_noise"] * p["noisy_factor"]
        found = settled(strict.predict(start=2))
    out = []
    for s in found:
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
                "height_noise": round(s.height_noise, 2),
            }
        )
    return out, len(base)


def detect(run: Run, rule: Rule, params: dict) -> list[Finding]:
    """One ``loss-spike`` finding per loss curve that has isolated spikes."""
    p = {**DEFAULTS, **params}
    findings = []
    for c in C.loss_curves(run):
        if c.n < int(p["min_points"]):
            continue
        spikes, jumps = _spikes_on(c, p, run)
        # Isolated means rare: a curve that jumps at every few points is noisy
        # (``noisy`` reports it), not a run hit by a few bad updates.
        if not spikes or jumps > max(p["max_count"], p["max_rate"] * c.n):
            continue
        minibatch = _minibatch(run, c)
        for s in spikes:
            level = s["local_level"]
            s["rel_height"] = round((s["value"] - level) / abs(level), 3) if level > 0 else None
        if minibatch:
            # One minibatch's loss jumps by a third now and then; a spike of a loss
            # logged per step has to at least double it.
            need = p["minibatch_rel_height"]
            spikes = [s for s in spikes if s["rel_height"] is None or s["rel_height"] >= need]
            if not spikes:
                continue
        top = max(spikes, key=lambda s: s["value"] - s["local_level"])
        count = f"{len(spikes)} time{'s' if len(spikes) > 1 else ''}"
        rel = top["rel_height"]
        if rel is None:
            # A loss at or below zero (SI-SNR) has no meaningful relative height:
            # there the jump counts in noise units alone.
            big = top["height_noise"] >= p["warn_height_sigma"]
            size = f"{top['height_noise']:.0f}x its typical step"
        else:
            big = True
            size = f"+{100 * rel:.0f}%, {top['height_noise']:.0f}x its typical step"
        message = (
            f"{c.name} spiked {count} and recovered; the largest at "
            f"{C.where(run, top['index'])}: {C.fmt(top['value'])} against a local level of "
            f"{C.fmt(top['local_level'])} just before it ({size})."
        )
        findings.append(
            Finding(
                rule=rule.code,
                kind=KIND,
                severity=rule.severity if big else "info",
                metric=c.name,
                start=spikes[0]["index"],
                end=spikes[-1]["index"],
                message=message,
                evidence={"spikes": spikes, "minibatch": minibatch},
            )
        )
    return findings


def _minibatch(run: Run, c: C.Curve) -> bool:
    from loganalyzer.detectors.noisy import minibatch

    return minibatch(run, c)

"""``divergence``: a non-finite loss, or a training loss that blows up and stays up.

Two kinds of evidence:

- the first index where the training (or else the validation) loss is NaN or
  infinite: a fact, reported at any length;
- an explosion of the training loss: the first point that loses at least
  ``min_lost_fraction`` of the progress made so far *and* rises at least
  ``min_rise_sigma`` noise units and ``min_rel_rise`` of its size above the best so
  far, after which the loss never
  comes back down to within half of that rise. A jump that recovers is a
  ``loss-spike``, not a divergence;
- a drift: through noise too large for a clean jump, the training loss trends up
  over the run (one-sided Mann-Kendall p < ``drift_alpha``) and ends at least
  ``drift_factor`` times its best (a positive loss) (SGD with too high a rate on
  small batches);
- a climb that stays: after its best level (3-point running median) the loss ends at
  ``drift_factor`` times it and most later points stay above 1.5 times it, however
  erratic (a broken run that jumped from 133 to 187-2732 and ended at 957).

Example:
    >>> from loganalyzer.analysis import to_run
    >>> from loganalyzer.rulepack import rule_by_code
    >>> run = to_run({"loss": [2.0, 1.5, 1.2, 1.0, 0.9, 8.0, 30.0, float("nan")]})
    >>> f = detect(run, rule_by_code("LA102"), {})[0]
    >>> f.evidence["first_nonfinite_index"], f.evidence["explosion_index"]
    (7, 5)
"""

from __future__ import annotations

import numpy as np

from loganalyzer.detectors import _curves as C
from loganalyzer.findings import Finding
from loganalyzer.rulepack import Rule
from loganalyzer.run import Run
from loganalyzer.stats import mann_kendall, median

KIND = "divergence"

DEFAULTS = {
    "min_rise_sigma": 10.0,
    "min_lost_fraction": 0.5,
    "min_rel_rise": 0.25,
    "drift_factor": 2.0,
    "drift_alpha": 0.05,
}


def first_nonfinite(run: Run, name: str | None) -> tuple[float | None, float | None, bool]:
    """(index of the first non-finite value, last finite value before it, recovered?)."""
    s = run.points(name)
    if s is None or not len(s.y):
        return None, None, False
    y = s.y
    bad = ~np.isfinite(y)
    if not bad.any():
        return None, None, False
    i = int(np.argmax(bad))
    before = y[:i][np.isfinite(y[:i])]
    recovered = bool(np.isfinite(y[i:]).any()) and bool(np.isfinite(y[-1]))
    return float(s.x[i]), (float(before[-1]) if len(before) else None), recovered


class Explosion:
    """Finds where a loss blows up and stays up.

    Args:
        min_rise_sigma: Rise above the best so far, in noise units.
        min_lost_fraction: Fraction of the progress made so far that must be lost
            (the improvement from the start level to the best so far).
        min_rel_rise: Rise as a fraction of the best level's size (``|best|``).

    Example:
        >>> y = np.array([1.0, 0.8, 0.7, 0.65, 0.6, 0.58, 0.56, 0.55, 5.0, 6.0, 5.5, 5.8])
        >>> Explosion().fit(y).predict()
        8
    """

    def __init__(
        self, min_rise_sigma: float = 10.0, min_lost_fraction: float = 0.5, min_rel_rise=0.25
    ):
        self.min_rise_sigma = min_rise_sigma
        self.min_lost_fraction = min_lost_fraction
        self.min_rel_rise = min_rel_rise
        self.y: np.ndarray | None = None

    def fit(self, y: np.ndarray) -> Explosion:
        self.y = np.asarray(y, dtype=float)
        return self

    def predict(self) -> int | None:
        """Position of the explosion, or ``None``."""
        y = self.y
        n = len(y)
        if n < 4:
            return None
        # Every point t = 1 .. n-2 at once: b is the best before it, start the median
        # of the first (up to 3) points, need the rise it must show above b.
        b = np.minimum.accumulate(y)[: n - 2]
        # A cheap screen first (most losses never jump a quarter above their best):
        # need is a maximum with floor = min_rel_rise * |b| among its terms, so
        # need >= floor exactly and b + need >= b + floor after rounding too; a point
        # that does not rise above b + floor, and then b + floor / 2, is no jump.
        floor = self.min_rel_rise * np.abs(b)
        if not ((y[1 : n - 1] > b + floor) & (y[2:] > b + 0.5 * floor)).any():
            return None
        sigma = C.sigma(y)
        start = np.full(n - 2, median(y[:3]))
        start[:2] = y[0], median(y[:2])
        lost = start - b
        gained = np.where(lost > 0.0, lost, 0.0)
        need = np.maximum(
            np.maximum(self.min_lost_fraction * gained, self.min_rise_sigma * sigma),
            self.min_rel_rise * np.abs(b),
        )
        # Staying up: the running minimum of what follows (robust to one low point).
        smooth_after = C.running_median(y, 3)
        future_min = np.minimum.accumulate(smooth_after[::-1])[::-1]
        jumps = y[1 : n - 1] > b + need
        jumps &= y[2:] > b + 0.5 * need  # else a one-point jump: a spike, not a blow-up
        jumps &= future_min[1 : n - 1] > b + 0.5 * need
        hit = np.flatnonzero(jumps)
        return int(hit[0]) + 1 if len(hit) else None


def drift(y: np.ndarray, factor: float = 2.0, alpha: float = 0.05) -> int | None:
    """Position of the best point when ``y`` trends up over the run (one-sided
    Mann-Kendall p < ``alpha``) and ends ``factor`` x its best.

    Example:
        >>> y = [0.33, 0.42, 0.42, 0.39, 0.27, 0.38, 0.53, 0.55, 0.67, 0.99, 0.37, 0.46]
        >>> drift(np.array(y + [0.96, 0.53, 0.82]))
        4
    """
    y = np.asarray(y, dtype=float)
    if len(y) < 6:
        return None
    best = int(np.argmin(y))
    after = y[best:]
    if len(after) < 5 or y[best] <= 0:
        return None
    if not C.end_level(after) >= factor * y[best]:
        return None  # asked first: most losses end near their best, and the test costs more
    # The trend is tested over the whole run: after a noisy best only a few points
    # remain, and a loss that ends above where it began has gone the wrong way.
    trend = mann_kendall(y)
    if trend.z > 0 and trend.p / 2 < alpha:
        return best
    return None


def stays_up(y: np.ndarray, factor: float = 2.0, share: float = 0.8) -> int | None:
    """Position of the best level when a positive loss climbs back to ``factor`` x it
    and stays there: the median of the last points is at least ``factor`` x the best
    (3-point running median, so one lucky batch is not the best) and ``share`` of the
    points after it stay above 1.5 x, giving back at least a quarter of the progress
    made. A loss that settles at 7x its best after an erratic blow-up has diverged
    however noisy it is.

    Example:
        >>> y = [3.7e6, 133.4, 2005, 187.2, 2732, 646.7, 1574, 963.8, 601.7, 2422, 659.4, 1360, 1040]
        >>> stays_up(np.array(y))
        2
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    if n < 5 or np.any(y <= 0):
        return None
    end = C.robust_end(y, 3)
    # The best level is a median of (or between) points, so at least the lowest point:
    # a loss that does not end at factor x its lowest point ends below factor x the best
    # level too (factor >= 0; rounding is monotone), whatever its running median.
    lowest = float(y.min())
    if factor >= 0 and lowest == lowest and not end >= factor * lowest:
        return None
    smooth = C.running_median(y, 3)
    best = int(np.argmin(smooth))
    after = y[best + 1 :]
    if len(after) < 3:
        return None
    level = float(smooth[best])
    # ... and it gives back a quarter of the progress made (from the median of the first
    # points): a loss memorised down to its last logged digit (0.0001 -> 0.0002) is not
    # "2x its best" in any sense that matters.
    if not end >= factor * level:
        return None
    lost = (end - level) >= 0.25 * (C.robust_start(y, 3) - level)
    if lost and float(np.mean(after > 1.5 * level)) >= share:
        return best
    return None


def _times(value: float, best: float) -> str:
    """``"3.1x, "``; nothing when the best raw point is exactly 0 (a block mean above it)."""
    return f"{value / best:.1f}x, " if best > 0 else ""


def detect(run: Run, rule: Rule, params: dict) -> list[Finding]:
    """A ``divergence`` finding for a non-finite, exploding or drifting loss."""
    p = {**DEFAULTS, **params}
    metric = run.train_loss
    nf_index, nf_before, recovered = first_nonfinite(run, run.train_loss)
    if nf_index is None:
        v_index, v_before, v_rec = first_nonfinite(run, run.val_loss)
        if v_index is not None:
            metric, nf_index, nf_before, recovered = run.val_loss, v_index, v_before, v_rec
    explosion_index = value_before = value_at = drift_index = None
    train = C.curve(run, run.train_loss)
    t = C.binned(train) if train is not None and train.n >= C.min_points(params) else None
    if t is not None:
        explosion = Explosion(p["min_rise_sigma"], p["min_lost_fraction"], p["min_rel_rise"])
        pos = explosion.fit(t.y).predict()
        if pos is not None:
            # Map back to the raw point where the blow-up starts inside the block.
            lo = int(np.searchsorted(train.x, t.first[pos]))
            best_prev = float(np.min(t.y[:pos]))
            hi = int(np.searchsorted(train.x, t.last[pos], side="right"))
            raw = train.y[lo:hi]
            jump = lo + int(np.argmax(raw > best_prev + 0.5 * (t.y[pos] - best_prev)))
            explosion_index = float(train.x[jump])
            value_before = float(train.y[jump - 1]) if jump > 0 else None
            value_at = float(train.y[jump])
            metric = run.train_loss
        elif nf_index is None:
            pos = drift(t.y, p["drift_factor"], p["drift_alpha"])
            if pos is None:
                pos = stays_up(t.y, p["drift_factor"])
            if pos is not None:
                drift_index = float(t.first[pos])
    if nf_index is None and explosion_index is None and drift_index is None:
        return []
    at = next(i for i in (explosion_index, nf_index, drift_index) if i is not None)
    lr = C.lr_at(run, at)
    lr_txt = f" (learning rate {C.fmt(lr)})" if lr is not None else ""
    severity = rule.severity
    if drift_index is not None:
        after = train.y[train.x >= drift_index]
        value_before, value_at = float(np.min(after)), C.end_level(after)
        trend = mann_kendall(t.y)
        how = [_times(value_at, value_before).rstrip(", ")]
        if trend.z > 0 and trend.p / 2 < p["drift_alpha"]:
            how.append(f"Mann-Kendall {C.fmt_p(trend.p / 2)} one-sided")
        how_txt = ", ".join(h for h in how if h)
        message = (
            f"{run.train_loss} climbed back up from its best {C.fmt(value_before)} at "
            f"{C.where(run, drift_index)}{lr_txt} to {C.fmt(value_at)} at the end"
            + (f" ({how_txt})" if how_txt else "")
            + " and stayed there: training is diverging."
        )
    else:
        parts = []
        if explosion_index is not None:
            after = train.y[train.x >= explosion_index]
            parts.append(
                f"{run.train_loss} blew up at {C.where(run, explosion_index)}{lr_txt} from "
                f"{C.fmt(value_before)} to {C.fmt(value_at)} and stayed up "
                f"(median {C.fmt(float(median(after)))} afterwards, best before "
                f"{C.fmt(float(np.min(train.y[train.x < explosion_index])))})"
            )
            lr_txt = ""
        if nf_index is not None:
            tail = "and recovered afterwards" if recovered else "and stayed non-finite"
            broken = nf_before is None and not recovered and metric == run.val_loss
            if broken:
                n_val = len(run.points(metric).y)
                parts.append(
                    f"{metric} is NaN or infinite at all {n_val} of its logged points while "
                    f"{run.train_loss or 'the training loss'} is finite: the validation "
                    "pipeline is broken (an empty validation set, a NaN or infinite value in "
                    "the validation data, or a loss computed on zero samples)"
                )
            elif nf_before is None:  # NaN from the very first point
                parts.append(f"{metric} was non-finite from the first logged point{lr_txt} {tail}")
            else:
                parts.append(
                    f"{metric} became non-finite at {C.where(run, nf_index)}{lr_txt} "
                    f"(last finite value {C.fmt(nf_before)}) {tail}"
                )
        message = "; ".join(parts) + ": training diverged."
        if parts and "validation pipeline is broken" in parts[-1] and explosion_index is None:
            message = parts[-1] + "."
        if explosion_index is None and recovered:
            message = parts[0] + ": a numerical failure the run survived."
            severity = "warning"
        if explosion_index is None:
            value_before, value_at = nf_before, None
    evidence = {
        "broken_validation": bool(
            nf_index is not None and nf_before is None and metric == run.val_loss
        ),
        "first_nonfinite_index": C.num(nf_index),
        "explosion_index": C.num(explosion_index),
        "drift_index": C.num(drift_index),
        "value_before": value_before,
        "value_at": value_at,
        "learning_rate": lr,
    }
    logged = run.points(metric)
    end = C.num(logged.x[-1]) if logged is not None else None
    return [
        Finding(
            rule=rule.code,
            kind=KIND,
            severity=severity,
            metric=metric,
            start=C.num(at),
            end=end,
            message=message,
            evidence=evidence,
        )
    ]

"""Curve helpers shared by the detectors: extraction, binning, smoothing, levels.

Every detector judges a curve in units of its own noise. This module turns a column
of a :class:`~loganalyzer.run.Run` into a :class:`Curve` (finite points only, with
their indices in the log's own numbering), bins long step logs down to a few hundred
points so that a 100 000-step log is judged on its shape and not on every batch
wiggle, and offers the robust levels and smoothers the detectors share.

Example:
    >>> import numpy as np, pandas as pd
    >>> from loganalyzer.run import Run
    >>> df = pd.DataFrame({"loss": np.linspace(2, 1, 1000)}, index=np.arange(1000) * 10)
    >>> run = Run.from_frame("r", df, format="python", index="step")
    >>> c = binned(curve(run, "loss"), max_points=100)
    >>> c.n, float(c.first[0]), float(c.last[-1])
    (100, 0.0, 9990.0)
"""

from __future__ import annotations

import functools
import math
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from loganalyzer.naming import direction  # noqa: F401  (detectors call C.direction)
from loganalyzer.run import Run
from loganalyzer.stats import kept, mann_kendall, median, noise_sigma, theil_sen
from loganalyzer.stats import running_median as _running_median

#: Fewer finite points than this on a curve and detectors stay silent on it
#: (the ``too-short`` rule, LA100, says so instead). Rules may ask for more.
MIN_POINTS = 5

#: Long logs are binned (block means) down to at most this many points.
MAX_POINTS = 400


@dataclass(frozen=True)
class Curve:
    """The finite points of one metric, possibly binned.

    A curve is read once per run and shared by every detector (:func:`curve`); what
    several of them measure on it (its binned form, its noise, its running medians) is
    computed once too and kept in :attr:`memo` (:func:`remember`).

    Attributes:
        name: Canonical metric name (``"val_loss"``).
        y: Values (finite only; block means when binned).
        first: Log index of the first raw point in each point's block.
        last: Log index of the last raw point in each point's block.
        size: Number of raw points in each block (1 when not binned).
        memo: Measures computed on this curve, by key.
    """

    name: str
    y: np.ndarray
    first: np.ndarray
    last: np.ndarray
    size: np.ndarray
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def n(self) -> int:
        return len(self.y)

    @property
    def x(self) -> np.ndarray:
        """A representative log index per point (block centre); computed once (the
        detectors ask for it about ten times per curve), read-only like ``y``."""
        x = self.memo.get("x")
        if x is None:
            x = self.memo["x"] = (self.first + self.last) / 2.0
            x.flags.writeable = False
        return x

    @property
    def binned(self) -> bool:
        binned = self.memo.get("binned")
        if binned is None:
            binned = self.memo["binned"] = bool(np.any(self.size > 1))
        return binned


def remember(c: Curve, key: Any, compute) -> Any:
    """``compute()`` the first time ``key`` is asked of ``c``; the same value after."""
    memo = c.memo
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def curve(run: Run, name: str | None) -> Curve | None:
    """The finite points of ``name`` in ``run`` (``None`` when it is not logged); read
    once per run, the same object for every detector."""
    if name is None or name not in run.data:
        return None
    key = ("curve", name, name in run.unlogged_tail)
    c = run._memo.get(key)
    if c is None:
        s = run.points(name)
        y = s.y
        x = np.asarray(s.x, dtype=float)
        ok = np.isfinite(y) & np.isfinite(x)
        y, x = y[ok], x[ok]
        c = _frozen(Curve(name, y, x, x, np.ones(len(y), dtype=int)))
        run._memo[key] = c
    return c


def _frozen(c: Curve) -> Curve:
    for arr in (c.y, c.first, c.last, c.size):
        arr.flags.writeable = False  # shared by every detector: nobody may change them
    return c


def binned(c: Curve, max_points: int = MAX_POINTS, how: str = "mean") -> Curve:
    """Block means (or maxima, ``how="max"``) of ``c`` when it has more than
    ``max_points`` points.

    Blocks are contiguous and of near-equal size; each keeps the log indices of its
    first and last raw point, so a finding on the binned curve maps back to the log.
    Averaging ``m`` points divides white noise by ``sqrt(m)``: judgements made on the
    binned curve are in units of the binned noise, consistently. Maxima keep a
    one-step spike visible (for the spike detector).
    """
    if c.n <= max_points:
        return c
    return remember(c, ("binned", max_points, how), lambda: _binned(c, max_points, how))


def _binned(c: Curve, max_points: int, how: str) -> Curve:
    edges = np.linspace(0, c.n, max_points + 1).round().astype(int)
    starts, ends = edges[:-1], edges[1:]
    size = ends - starts
    if how == "max":
        values = np.maximum.reduceat(c.y, starts)
    else:
        values = np.add.reduceat(c.y, starts) / size
    return _frozen(Curve(c.name, values, c.first[starts], c.last[ends - 1], size))


def measure(fn):
    """Remember ``fn(y, *args)`` for each frozen curve array (by identity): a curve's
    arrays are shared by every detector and cannot change (:func:`curve`), and several
    detectors ask for the same measure of the same curve (its noise, its scale, its
    running median). Other arrays are measured every time."""
    name = fn.__name__

    @functools.wraps(fn)
    def remembered(y, *args):
        hit = _MEASURED.get((name, id(y), args))  # asked ~30 times per run: cheap tests first
        if hit is not None and hit[0]() is y:
            return hit[1]
        if not isinstance(y, np.ndarray) or y.flags.writeable:
            return fn(y, *args)
        key = (name, id(y), args)
        value = fn(y, *args)
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
        if len(_MEASURED) > 4096:
            _MEASURED.clear()
        _MEASURED[key] = (weakref.ref(y), value)
        return value

    return remembered


_MEASURED: dict[tuple, tuple] = {}


@measure
def running_median(y: np.ndarray, window: int) -> np.ndarray:
    """Centred running median whose window shrinks at the ends (no edge padding bias);
    see :func:`loganalyzer.stats.running_median`.

    Example:
        >>> running_median(np.array([5.0, 1, 1, 1, 9, 1, 1]), 3).tolist()
        [3.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """
    return _running_median(y, window)


def smooth_window(n: int, fraction: float = 0.1, lo: int = 3, hi: int = 31) -> int:
    """An odd smoothing window of about ``fraction`` of the length, clipped."""
    return min(max(round(n * fraction), lo), hi) | 1


def edge_count(n: int, fraction: float = 0.1, hi: int = 10) -> int:
    """How many points to take for a robust start or end level."""
    return min(max(round(n * fraction), 1), hi)


@measure
def start_level(y: np.ndarray) -> float:
    """Median of the first few points (robust to one bad first epoch)."""
    return float(median(y[: max(edge_count(len(y)), min(3, len(y)))]))


@measure
def end_level(y: np.ndarray) -> float:
    """Median of the last few points."""
    k = max(edge_count(len(y)), min(3, len(y)))
    return float(median(y[-k:]))


@measure
def sigma(y: np.ndarray) -> float:
    """Robust noise of ``y`` with a floor, so that a perfectly smooth curve does not
    make every difference 'infinitely significant'.

    The floor is a millionth of the curve's scale plus a tiny absolute term.
    """
    s = noise_sigma(y)
    scale = float(np.max(np.abs(y))) if len(y) else 0.0
    return max(s, 1e-6 * scale, 1e-12)


@measure
def scale(y: np.ndarray) -> float:
    """A positive size of the curve for relative statements: the larger of its
    typical magnitude and its range (works for negative and near-zero losses)."""
    if not len(y):
        return 1.0
    mag = float(median(np.abs(y)))
    rng = float(y.max() - y.min())
    return max(mag, rng, 1e-12)


def pct(delta: float, base: float) -> float:
    """``delta`` as a percentage of ``|base|`` (``inf`` when base is zero)."""
    if base == 0:
        return float("inf") if delta else 0.0
    return 100.0 * delta / abs(base)


def value_at(c: Curve, index: float) -> float | None:
    """The curve's value at log index ``index`` (linear interpolation, clamped)."""
    if c is None or c.n == 0:
        return None
    return float(np.interp(index, c.x, c.y))


def num(x: float | int | None) -> int | float | None:
    """A log index as a plain int when it is integral (for JSON and messages)."""
    if x is None:
        return None
    f = float(x)
    if not np.isfinite(f):
        return None
    return int(f) if f.is_integer() else f


def fmt(v: float | None) -> str:
    """A value for a message: 4 significant digits."""
    if v is None:
        return "n/a"
    if not np.isfinite(v):
        return str(v)
    return f"{v:.4g}"


def fmt_p(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def where(run: Run, index: float | int | None) -> str:
    """``"epoch 12"`` / ``"step 3000"`` in the log's own numbering."""
    return f"{run.index} {num(index)}"


def learning_rate(run: Run) -> Curve | None:
    """The learning-rate curve, if logged."""
    return curve(run, run.learning_rate)


def lr_at(run: Run, index: float | None) -> float | None:
    """The learning rate in effect at ``index`` (last logged value at or before it)."""
    lr = learning_rate(run)
    if lr is None or lr.n == 0 or index is None:
        return None
    pos = int(np.searchsorted(lr.x, index, side="right")) - 1
    return float(lr.y[max(pos, 0)])


def lr_is_zero(run: Run) -> bool:
    """True when a learning rate is logged and is zero throughout."""
    lr = learning_rate(run)
    return lr is not None and lr.n > 0 and bool(np.all(lr.y == 0))


def loss_curves(run: Run) -> list[Curve]:
    """The training and validation loss curves that are logged (train first)."""
    out = []
    for name in (run.train_loss, run.val_loss):
        c = curve(run, name)
        if c is not None and c.n:
            out.append(c)
    return out


def min_points(params: dict) -> int:
    """The rule's minimum number of points (its own ``min_points`` or the pack's)."""
    return int(params.get("min_points", MIN_POINTS))


def accuracy_columns(run: Run, split: str = "train") -> list[str]:
    """Accuracy-like columns of one split (``top_k`` accuracies excluded)."""
    out = []
    for name in run.data:
        is_val = name.startswith("val_")
        if (split == "val") != is_val:
            continue
        base = name[4:] if is_val else name
        if "acc" in base and "top" not in base:
            out.append(name)
    return out


def chance_level(run: Run, loss: float, split: str = "train", tol: float = 0.05) -> dict | None:
    """Is ``loss`` the loss of a model guessing among ``k`` classes?

    ``k`` is read from the loss itself (``round(exp(loss))``) and confirmed by the
    accuracy logged for the same split: a model at chance has ``accuracy`` near ``1/k``
    (up to the share of the largest class). Without an accuracy column no chance
    level is claimed: a loss of 0.69 is not evidence on its own.

    Returns:
        ``{"k", "chance_level", "accuracy"}`` or ``None``.

    Example:
        >>> from loganalyzer.analysis import to_run
        >>> run = to_run({"loss": [2.31, 2.302, 2.302], "accuracy": [0.1, 0.11, 0.11]})
        >>> chance_level(run, 2.302)["k"]
        10
    """
    if not np.isfinite(loss) or loss <= 0:
        return None
    if loss > 12.0:  # more than ~160 000 classes: not a chance level worth naming
        return None
    k = int(round(math.exp(loss)))
    if k < 2:
        return None
    level = math.log(k)
    if abs(loss - level) > tol * level:
        return None
    for name in accuracy_columns(run, split):
        acc = curve(run, name)
        if acc is None or acc.n < 2:
            continue
        a = end_level(acc.y)
        if 0.7 / k <= a <= 1.3 / k:
            return {"k": k, "chance_level": level, "accuracy": a}
    return None


# ------------------------------------------------------------------ how an engineer reads a curve
# The measures below are the ones a careful engineer applies to a real learning curve
# (and the ones the labelling rubric of the real-log corpus names): the typical
# point-to-point swing, how often the curve changes direction with a visible swing,
# robust end levels, Prechelt's generalization loss. They are plain and short-log
# friendly: with 5-10 points no test has power, but these still mean something.


@measure
def swing(y: np.ndarray) -> float:
    """The typical point-to-point swing: the median absolute first difference.

    Example:
        >>> swing(np.array([1.0, 1.2, 1.0, 1.3, 1.0]))
        0.25
    """
    y = np.asarray(y, dtype=float)
    return float(median(np.abs(y[1:] - y[:-1]))) if len(y) > 1 else 0.0  # np.diff, less overhead


@measure
def wiggle(y: np.ndarray) -> float:
    """The typical distance of a point from the curve's 5-point running median: the
    noise left once the local trend is removed (a steep, smooth descent has none).

    Example:
        >>> wiggle(np.linspace(2.0, 1.0, 20))
        0.0
    """
    y = np.asarray(y, dtype=float)
    if len(y) < 3:
        return 0.0
    return float(median(np.abs(y - running_median(y, 5))))


def window_wiggles(y: np.ndarray, before: int, after: int, count: int | None = None) -> np.ndarray:
    """:func:`wiggle` of the window ``y[max(0, i - before) : i + after]`` for every ``i``
    (the first ``count`` of them; NaN after), the same values in a few array
    operations on one matrix of all the windows.

    Written this way for speed (plateau asks it of every curve, and a sweep has
    thousands): inside a window of at least 4 points, a point's 5-point running median
    is the whole curve's (computed once per curve and shared with :func:`wiggle`),
    except at the window's two first and two last points, where it shrinks to the
    median of 3 or 4 points (the curve's 3-point running median; the middle two of 4
    points are the larger pair minimum and the smaller pair maximum). Windows shorter
    than the longest are padded with ``inf``, which sorts after every deviation, so
    each row's median is taken among its own points. Every median picks the same
    doubles as :func:`wiggle`'s (up to the sign of a zero, which the absolute
    deviation drops): the same values.

    Example:
        >>> y = np.array([1.0, 1.2, 0.9, 1.1, 0.8, 1.3, 1.0, 0.7, 1.2, 1.0])
        >>> bool(np.all(window_wiggles(y, 2, 5) == [wiggle(y[max(0, i - 2) : i + 5])
        ...                                         for i in range(len(y))]))
        True
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    count = n if count is None else max(0, min(n, count))
    out = np.full(n, np.nan)
    if not count:
        return out
    # where every window lies depends on the sizes only: kept per sizes (curves come
    # in few lengths), so a curve pays for the operations on its values alone
    lay = kept(_LAYOUTS, (n, before, after, count), lambda: _layout(n, before, after, count), 64)
    short, rows, a, a1, k, idx, pad, s2, s1, b4, b2, h, odd = lay
    if not np.isfinite(y).all():
        short, rows = np.arange(count), rows[:0]  # every window on its own
    if len(short):
        starts = np.maximum(0, short - before)
        size = np.minimum(n, short + after) - starts
        for i, s0, m in zip(short.tolist(), starts.tolist(), size.tolist(), strict=True):
            out[i] = wiggle(y[s0 : s0 + m])  # short windows, curves with NaN or inf
    if not len(rows):
        return out
    r3 = running_median(y, 3)
    rm = running_median(y, 5)[idx]
    # the median of y[s : s + 4] for every s, from the slices (no sort)
    v0, v1, v2, v3 = y[: n - 3], y[1 : n - 2], y[2 : n - 1], y[3:]
    low = np.maximum(np.minimum(v0, v1), np.minimum(v2, v3))
    m4 = (low + np.minimum(np.maximum(v0, v1), np.maximum(v2, v3))) / 2
    rm[:, 0], rm[:, 1] = r3[a1], m4[a]
    rm[k, s2], rm[k, s1] = m4[b4], r3[b2]
    dev = np.abs(y[idx] - rm)
    dev[pad] = np.inf
    dev.sort(axis=1)
    out[rows] = np.where(odd, dev[k, h], (dev[k, h - 1] + dev[k, h]) / 2)
    return out


_LAYOUTS: dict[tuple, tuple] = {}


def _layout(n: int, before: int, after: int, count: int) -> tuple:
    """The windows of :func:`window_wiggles` for a curve of ``n`` points: the rows
    whose window is too short for the matrix (under 4 points), and for the others
    their start ``a`` and ``a + 1``, row numbers, the points' indices (padded with
    the last point), the padding mask, the last two columns, ``b - 4`` and ``b - 2``
    for the window's end ``b`` (where its edge medians are read), the median's middle
    position and whether the size is odd."""
    rows = np.arange(count)
    starts = np.maximum(0, rows - before)
    size = np.minimum(n, rows + after) - starts
    whole = size >= 4
    short = rows[~whole]
    rows, a, size = rows[whole], starts[whole], size[whole]
    b = a + size
    cols = np.arange(int(size.max()) if len(size) else 0)
    idx = np.minimum(a[:, None] + cols, n - 1)
    k = np.arange(len(a))
    pad = cols >= size[:, None]
    h = size // 2
    return short, rows, a, a + 1, k, idx, pad, size - 2, size - 1, b - 4, b - 2, h, size % 2 == 1


@measure
def direction_changes(y: np.ndarray, min_swing: float = 0.05) -> float:
    """Share of the interior points where the curve turns (the sign of the step
    changes) with a visible swing: the new step is at least ``min_swing`` of the
    curve's local level (its 5-point running median). About 2/3 for white noise far
    above that size, 0 for a smooth curve.

    Example:
        >>> direction_changes(np.array([1.0, 1.3, 1.0, 1.3, 1.0, 1.3]))
        1.0
        >>> direction_changes(np.array([1.0, 1.01, 1.0, 1.01, 1.0, 1.01]))
        0.0
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    if n < 3:
        return 0.0
    d = y[1:] - y[:-1]  # np.diff's values without its overhead (asked of every curve)
    level = np.abs(running_median(y, 5))
    sign, moved = np.sign(d), d != 0
    turns = (sign[1:] != sign[:-1]) & moved[1:] & moved[:-1]
    visible = np.abs(d[1:]) >= min_swing * level[1:-1]
    return float(np.count_nonzero(turns & visible)) / (n - 2)


@measure
def robust_start(y: np.ndarray, k: int = 3) -> float:
    """Median of the first ``k`` points."""
    return float(median(y[: max(1, min(k, len(y)))]))


@measure
def robust_end(y: np.ndarray, k: int = 3) -> float:
    """Median of the last ``k`` points."""
    return float(median(y[-max(1, min(k, len(y))) :]))


def tail_size(n: int) -> int:
    """Points in "the end of the log": the last max(2, 10 %) points (Prechelt)."""
    return int(min(n, max(2, round(0.1 * n))))


def generalization_loss(y: np.ndarray, best: int) -> float | None:
    """Prechelt's GL in percent: the mean of the last :func:`tail_size` points against
    the value at ``best`` (``None`` for a loss at or below zero).

    Example:
        >>> round(generalization_loss(np.array([1.0, 0.5, 0.6, 0.7, 0.8]), 1), 1)
        50.0
    """
    b = float(y[best])
    if b <= 0:
        return None
    return 100.0 * (float(np.mean(y[-tail_size(len(y)) :])) / b - 1.0)


def steady_but_slow(y, max_gain: float = 0.2, alpha: float = 0.01) -> bool:
    """Does the curve crawl: a significant fall (one-sided Mann-Kendall p < ``alpha``)
    that is not slowing down (the second half falls at least half as fast as the first,
    Theil-Sen slopes) and still removed less than ``max_gain`` of the loss (medians of
    the first and last tenth)? A healthy learning curve decelerates; a straight, shallow
    descent is a model at the very start of its curve: a learning rate far too low.

    Example:
        >>> steady_but_slow(np.linspace(1.0, 0.9, 30)), steady_but_slow(np.exp(-np.arange(30)))
        (True, False)
    """
    y = np.asarray(y, dtype=float)
    y = y[np.isfinite(y)]
    if len(y) < 8 or y[0] <= 0:
        return False
    k = max(2, len(y) // 10)
    head, tail = median(y[:k]), median(y[-k:])
    # The gain first: most curves fail it, at a tenth of the trend's cost. A loss whose
    # first tenth sits at 0 (a positive start, then zeros, then below: a likelihood that
    # goes negative) has no relative gain, so it is no crawl.
    if head <= 0 or not 0 < (head - tail) / head < max_gain:
        return False
    trend = mann_kendall(y)
    if not (trend.z < 0 and trend.p / 2 < alpha):
        return False
    x = np.arange(len(y), dtype=float)
    h = len(y) // 2
    s1, s2 = theil_sen(x[:h], y[:h]).slope, theil_sen(x[h:], y[h:]).slope
    return bool(s1 < 0 and s2 <= 0.5 * s1)

"""Small robust statistics shared by detectors and the advice engine, in numpy alone.

Curves are judged in units of their own noise: :func:`noise_sigma` estimates the
point-to-point noise robustly (a spike or a steady trend barely moves it), and
:func:`mann_kendall` / :func:`theil_sen` say whether a trend is real;
:func:`mann_whitney_greater` compares two windows of a curve, :func:`kendall_tau` says
how monotone a stretch is and :func:`running_median` smooths it.

Why not scipy and pandas: reading and judging a log of 100 points must not pay
0.6 s for ``import scipy.stats`` or 0.26 s for ``import pandas`` (a linter is run on
every commit, and a sweep analyses thousands of such logs), and on 100-1000 points these
methods are a few numpy operations. They give *the same bits* as the scipy and pandas
functions they replace (``scipy.stats.norm.sf``, ``mannwhitneyu``, ``kendalltau``,
``theilslopes``; ``pandas.Series.rolling(...).median()``): the same operations in the
same order, and the normal tail is cephes' ``ndtr``, which scipy uses, ported line by
line (``tests/test_stats_exact.py`` checks every function against the original on
random and tied inputs).

Example:
    >>> import numpy as np
    >>> y = np.linspace(1.0, 0.5, 40) + np.random.default_rng(0).normal(0, 0.01, 40)
    >>> round(noise_sigma(y), 3) < 0.02
    True
    >>> mann_kendall(y).p < 0.001
    True
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

# ------------------------------------------------------------------ the normal tail
# Cephes' ndtr/erf/erfc (as in scipy.special), coefficient for coefficient.
_P = (
    2.46196981473530512524e-10,
    5.64189564831068821977e-1,
    7.46321056442269912687e0,
    4.86371970985681366614e1,
    1.96520832956077098242e2,
    5.26445194995477358631e2,
    9.34528527171957607540e2,
    1.02755188689515710272e3,
    5.57535335369399327526e2,
)
_Q = (
    1.32281951154744992508e1,
    8.67072140885989742329e1,
    3.54937778887819891062e2,
    9.75708501743205489753e2,
    1.82390916687909736289e3,
    2.24633760818710981792e3,
    1.65666309194161350182e3,
    5.57535340817727675546e2,
)
_R = (
    5.64189583547755073984e-1,
    1.27536670759978104416e0,
    5.01905042251180477414e0,
    6.16021097993053585195e0,
    7.40974269950448939160e0,
    2.97886665372100240670e0,
)
_S = (
    2.26052863220117276590e0,
    9.39603524938001434673e0,
    1.20489539808096656605e1,
    1.70814450747565897222e1,
    9.60896809063285878198e0,
    3.36907645100081516050e0,
)
_T = (
    9.60497373987051638749e0,
    9.00260197203842689217e1,
    2.23200534594684319226e3,
    7.00332514112805075473e3,
    5.55923013010394962768e4,
)
_U = (
    3.35617141647503099647e1,
    5.21357949780152679795e2,
    4.59432382970980127987e3,
    2.26290000613890934246e4,
    4.92673942608635921086e4,
)
_MAXLOG = 7.09782712893383996843e2
_SQRT1_2 = 0.70710678118654752440


def _polevl(x: float, coef: tuple) -> float:
    acc = coef[0]
    for c in coef[1:]:
        acc = acc * x + c
    return acc


def _p1evl(x: float, coef: tuple) -> float:
    acc = x + coef[0]
    for c in coef[1:]:
        acc = acc * x + c
    return acc


def _erf(x: float) -> float:
    if abs(x) > 1.0:
        return 1.0 - _erfc(x)
    z = x * x
    return x * _polevl(z, _T) / _p1evl(z, _U)


def _erfc(a: float) -> float:
    x = -a if a < 0 else a
    if x < 1.0:
        return 1.0 - _erf(a)
    z = -a * a
    if z < -_MAXLOG:
        return 2.0 if a < 0 else 0.0
    z = math.exp(z)
    if x < 8.0:
        p, q = _polevl(x, _P), _p1evl(x, _Q)
    else:
        p, q = _polevl(x, _R), _p1evl(x, _S)
    y = (z * p) / q
    if a < 0:
        y = 2.0 - y
    if y != 0.0:
        return y
    return 2.0 if a < 0 else 0.0


def normal_cdf(a: float) -> float:
    """The standard normal CDF (``scipy.special.ndtr``, bit for bit).

    Example:
        >>> normal_cdf(0.0), round(normal_cdf(1.959963984540054), 6)
        (0.5, 0.975)
    """
    a = float(a)
    if a != a:
        return a
    x = a * _SQRT1_2
    z = abs(x)
    if z < _SQRT1_2:
        return 0.5 + 0.5 * _erf(x)
    y = 0.5 * _erfc(z)
    return 1.0 - y if x > 0 else y


def normal_sf(z: float) -> float:
    """The standard normal upper tail ``P(Z > z)`` (``scipy.stats.norm.sf``)."""
    return normal_cdf(-float(z))


# ------------------------------------------------------------------ noise
def median(a) -> float:
    """The median of the values in ``a`` (``numpy.median``'s value, NaN when one is
    NaN or there are none), without numpy.median's overhead: it is called hundreds of
    times per run on short curves, and its NaN check imports ``numpy.ma`` (12 ms).

    Example:
        >>> median(np.array([3.0, 1.0, 2.0, 10.0])), median([1, 5, 2])
        (2.5, 2.0)
    """
    s = np.array(a, dtype=float).ravel()  # a copy, sorted in place: np.sort(a, axis=None)
    s.sort()  # without its wrapper's flatten (the same sort of the same values)
    n = s.size
    if not n or s[-1] != s[-1]:  # NaN sorts last
        return math.nan
    k = n // 2
    return float(s[k]) if n % 2 else float((s[k - 1] + s[k]) / 2)


def noise_sigma(y: np.ndarray) -> float:
    """Robust standard deviation of the noise around a smooth curve.

    Uses the second differences (which cancel a locally linear trend) and their
    median absolute deviation: for white noise of std ``s``, the second difference
    has std ``s * sqrt(6)``. Falls back to first differences for 3 points.
    Returns 0.0 for fewer than 3 finite points.
    """
    y = np.asarray(y, dtype=float)
    y = y[np.isfinite(y)]
    if len(y) < 3:
        return 0.0
    d = y[1:] - y[:-1]  # np.diff's values without its overhead (asked of every curve)
    if len(y) >= 4:
        d = d[1:] - d[:-1]
        scale = np.sqrt(6.0)
    else:
        scale = np.sqrt(2.0)
    mad = median(np.abs(d - median(d)))
    return float(1.4826 * mad / scale)


# ------------------------------------------------------------------ trends
@dataclass(frozen=True)
class TrendTest:
    """Result of a Mann–Kendall trend test.

    Attributes:
        s: The Mann–Kendall S statistic (positive: rising).
        z: Its normal approximation (tie-corrected variance).
        p: Two-sided p-value.
        tau: Kendall's tau between index and value.
    """

    s: float
    z: float
    p: float
    tau: float

    @property
    def rising(self) -> bool:
        return self.s > 0

    @property
    def falling(self) -> bool:
        return self.s < 0


def kept(store: dict, key: Any, make: Callable[[], Any], limit: int) -> Any:
    """``make()``, worked out once per ``key`` and kept in ``store``: index arrays and
    masks that depend on a curve's length only (curves come in few lengths). What is
    kept is read-only, and ``store`` is emptied once it holds ``limit`` entries, so its
    memory stays bounded."""
    value = store.get(key)
    if value is None:
        value = make()
        for array in value if isinstance(value, tuple) else (value,):
            array.flags.writeable = False
        if len(store) >= limit:
            store.clear()
        store[key] = value
    return value


_UPPER: dict[int, tuple[np.ndarray, np.ndarray]] = {}

#: Curves up to this long use :func:`_upper`'s kept index pairs (at most 0.5 MB each).
_PAIRS_KEPT = 256


def _upper(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``i < j`` of ``n`` points (kept per size)."""
    return kept(_UPPER, n, lambda: np.triu_indices(n, 1), 64)


_LATER: dict[int, np.ndarray] = {}


def later_mask(n: int) -> np.ndarray:
    """``[i, k]`` is True where ``k`` comes after ``i`` (read-only; kept per size)."""
    return kept(_LATER, n, lambda: np.triu(np.ones((n, n), dtype=bool), 1), 64)


def s_statistic(y: np.ndarray) -> int:
    """Mann–Kendall's S: over all pairs ``i < j``, +1 where ``y[j] > y[i]``, -1 where
    it is lower (concordant minus discordant pairs against the position)."""
    n = len(y)
    if n <= _PAIRS_KEPT:
        i, j = _upper(n)
        d = y[j] - y[i]
        return int(np.count_nonzero(d > 0)) - int(np.count_nonzero(d < 0))
    # A long curve, a block of rows at a time: its index pairs took 200 MB at 5,000
    # points and were kept per length (a sweep of long runs of many lengths ran out of
    # memory); the blocks are also 2.5-4x faster there. The same differences, so the
    # same S.
    s = 0
    rows = max(1, (1 << 20) // n)
    for a in range(0, n - 1, rows):
        b = min(n - 1, a + rows)
        d = y[None, a + 1 :] - y[a:b, None]  # [r, c]: y[a + 1 + c] - y[a + r]
        later = np.arange(d.shape[1])[None, :] >= np.arange(b - a)[:, None]
        s += int(np.count_nonzero((d > 0) & later)) - int(np.count_nonzero((d < 0) & later))
    return s


def tie_counts(y: np.ndarray) -> np.ndarray:
    """Sizes of the groups of equal values (only groups of two or more)."""
    s = np.sort(y)
    same = s[1:] == s[:-1]
    if not same.any():
        return np.zeros(0, dtype=np.int64)
    edges = np.flatnonzero(np.concatenate(([True], ~same, [True])))
    counts = np.diff(edges)
    return counts[counts > 1]


def mann_kendall(y: np.ndarray) -> TrendTest:
    """Mann–Kendall test for a monotonic trend (non-finite points ignored).

    For fewer than 3 points the result is ``p = 1``.
    """
    y = np.asarray(y, dtype=float)
    y = y[np.isfinite(y)]
    n = len(y)
    if n < 3:
        return TrendTest(0.0, 0.0, 1.0, 0.0)
    if n > 5000:  # O(n^2) pairs: thin long step logs evenly, keeping the ends
        idx = np.unique(np.linspace(0, n - 1, 5000).round().astype(int))
        y = y[idx]
        n = len(y)
    s = float(s_statistic(y))
    c = tie_counts(y)
    ties = int(np.sum(c * (c - 1) * (2 * c + 5))) if len(c) else 0
    var = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    if var <= 0:
        return TrendTest(s, 0.0, 1.0, 0.0)
    z = (s - (1.0 if s > 0 else -1.0 if s < 0 else 0.0)) / math.sqrt(var)
    p = float(2 * normal_sf(abs(z)))
    tau = s / (0.5 * n * (n - 1))
    return TrendTest(s, float(z), p, float(tau))


def kendall_tau(y: np.ndarray) -> float:
    """Kendall's tau-b between the position and ``y`` (``scipy.stats.kendalltau``'s
    statistic); NaN when every value is the same or there are fewer than 2.

    Example:
        >>> kendall_tau(np.array([1.0, 2.0, 3.0])), round(kendall_tau(np.array([3.0, 1.0, 2.0])), 4)
        (1.0, -0.3333)
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    tot = n * (n - 1) // 2
    c = tie_counts(y)
    ytie = int((c * (c - 1) // 2).sum()) if len(c) else 0
    if n < 2 or ytie == tot or np.isnan(y).any():
        return float("nan")
    tau = s_statistic(y) / math.sqrt(tot) / math.sqrt(tot - ytie)
    return float(min(1.0, max(-1.0, tau)))


def suffix_taus(y: np.ndarray) -> np.ndarray:
    """:func:`kendall_tau` of every suffix ``y[a:]`` at once (one pass over the pairs,
    then running sums from the end): entry ``a`` is ``kendall_tau(y[a:])``.

    Example:
        >>> y = np.array([3.0, 1.0, 2.0, 2.0, 5.0])
        >>> bool(np.array_equal(suffix_taus(y), [kendall_tau(y[a:]) for a in range(5)],
        ...                     equal_nan=True))
        True
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    out = np.full(n, np.nan)
    if n < 2 or np.isnan(y).any():
        return out
    # Every pair (i, k > i) as one n x n comparison, not a gather of the pairs (five
    # times faster on a curve's hundred points); a pair that is neither above nor
    # below is a tie.
    later = later_mask(n)
    up = ((y[None, :] > y[:, None]) & later).sum(axis=1)
    down = ((y[None, :] < y[:, None]) & later).sum(axis=1)
    m = n - np.arange(n)
    s = np.cumsum((up - down)[::-1])[::-1]
    ties = np.cumsum((m - 1 - up - down)[::-1])[::-1]
    tot = m * (m - 1) // 2
    ok = ties < tot  # else every pair is tied (or there is one point): no tau
    tau = s[ok] / np.sqrt(tot[ok]) / np.sqrt(tot[ok] - ties[ok])
    out[ok] = np.minimum(1.0, np.maximum(-1.0, tau))
    return out


@dataclass(frozen=True)
class Slope:
    """Theil–Sen slope per index unit with a confidence interval."""

    slope: float
    low: float
    high: float
    intercept: float


#: ``scipy.stats.norm.ppf((1 - 0.95) / 2)``, the quantile of the default interval (as
#: scipy computes it: ``1 - 0.95`` is 0.050000000000000044).
_Z_95 = -1.959963984540054


def theil_sen(x: np.ndarray, y: np.ndarray, alpha: float | None = 0.95) -> Slope:
    """Theil–Sen slope of ``y`` on ``x`` (non-finite pairs dropped); the median of the
    pairwise slopes, its intercept and Sen's confidence interval, as
    ``scipy.stats.theilslopes`` gives them. ``alpha=None``: the slope and intercept
    alone (the interval NaN), for a caller that reads no interval (it costs twice the
    slope on a short curve)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 2:
        return Slope(0.0, 0.0, 0.0, float(y[0]) if len(y) else 0.0)
    if len(x) > 3000:
        idx = np.unique(np.linspace(0, len(x) - 1, 3000).round().astype(int))
        x, y = x[idx], y[idx]
    dx = x[:, np.newaxis] - x
    dy = y[:, np.newaxis] - y
    up = dx > 0
    slopes = dy[up] / dx[up]
    slopes.sort()
    slope = median(slopes)
    intercept = median(y) - slope * median(x)
    if alpha is None:
        return Slope(float(slope), math.nan, math.nan, float(intercept))
    if alpha == 0.95:
        z = _Z_95
    else:  # another level: the quantile from scipy, imported only then
        from scipy.stats import norm

        z = float(norm.ppf((1.0 - alpha if alpha > 0.5 else alpha) / 2.0))
    n, nt = len(y), len(slopes)
    xt, yt = tie_counts(x), tie_counts(y)
    sigsq = (
        1
        / 18.0
        * (
            n * (n - 1) * (2 * n + 5)
            - sum(k * (k - 1) * (2 * k + 5) for k in xt)
            - sum(k * (k - 1) * (2 * k + 5) for k in yt)
        )
    )
    try:
        sigma = np.sqrt(sigsq)
        hi = min(int(np.round((nt - z * sigma) / 2.0)), nt - 1)
        lo = max(int(np.round((nt + z * sigma) / 2.0)) - 1, 0)
        low, high = float(slopes[lo]), float(slopes[hi])
    except (ValueError, IndexError):
        low = high = float("nan")
    return Slope(float(slope), low, high, float(intercept))


# ------------------------------------------------------------------ two windows
def _average_ranks(v: np.ndarray) -> np.ndarray:
    order = np.argsort(v, kind="stable")
    s = v[order]
    first = np.concatenate(([True], s[1:] != s[:-1]))
    starts = np.flatnonzero(first)
    counts = np.diff(np.concatenate((starts, [len(v)])))
    mid = starts + 1 + (counts - 1) / 2.0
    ranks = np.empty(len(v))
    ranks[order] = np.repeat(mid, counts)
    return ranks


_MWU_FREQ: dict[tuple[int, int], list[int]] = {}


def _mwu_frequencies(n1: int, n2: int, maxu: int) -> list[int]:
    """How many arrangements of ``n1`` and ``n2`` points give U = 0..maxu (Löffler's
    recursion, as scipy's exact Mann–Whitney distribution computes it)."""
    n1, n2 = min(n1, n2), max(n1, n2)
    known = _MWU_FREQ.get((n1, n2))
    if known is not None and len(known) > maxu:
        return known
    sigma = [0] * (maxu + 1)
    for d in range(1, n1 + 1):
        for k in range(d, maxu + 1, d):
            sigma[k] += d
    for d in range(n2 + 1, n2 + n1 + 1):
        for k in range(d, maxu + 1, d):
            sigma[k] -= d
    freq = [1] + [0] * maxu
    for u in range(1, maxu + 1):
        freq[u] = sum(freq[i] * sigma[u - i] for i in range(u)) // u
    _MWU_FREQ[(n1, n2)] = freq
    return freq


def mann_whitney_greater(x: np.ndarray, y: np.ndarray) -> float:
    """One-sided Mann–Whitney U p-value that ``x`` lies above ``y``
    (``scipy.stats.mannwhitneyu(x, y, alternative="greater").pvalue``: exact when a
    sample has at most 8 points and there are no ties, else the normal approximation
    with tie and continuity corrections).

    Example:
        >>> mann_whitney_greater(np.array([5.0, 6, 7, 8]), np.array([1.0, 2, 3, 4]))
        0.014285714285714285
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n1, n2 = len(x), len(y)
    xy = np.concatenate((x, y))
    ranks = _average_ranks(xy)
    u1 = float(np.sum(ranks[:n1])) - n1 * (n1 + 1) / 2
    ties = tie_counts(xy)
    if (n1 > 8 and n2 > 8) or len(ties):
        n = n1 + n2
        tie_term = float(np.sum(ties.astype(float) ** 3 - ties)) if len(ties) else 0.0
        s = np.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
        numerator = u1 - n1 * n2 / 2
        numerator -= 0.5
        with np.errstate(divide="ignore", invalid="ignore"):
            z = float(np.float64(numerator) / s)
        p = normal_cdf(-z)
    else:
        k = int(u1)
        kc = n1 * n2 - k
        low = min(k, kc)
        total = float(math.comb(n1 + n2, min(n1, n2)))
        pmfs = np.asarray(_mwu_frequencies(n1, n2, low)[: low + 1], dtype=float) / total
        cdf = float(np.cumsum(pmfs)[low])
        p = 1.0 - cdf + float(pmfs[low]) if k < kc else cdf
    return float(min(max(p, 0.0), 1.0))


# ------------------------------------------------------------------ smoothing
def running_median(y: np.ndarray, window: int) -> np.ndarray:
    """Centred running median whose window shrinks at the ends (no edge padding bias);
    NaN points are left out of their windows (for a window over 1). The values of
    ``pandas.Series(y).rolling(window, center=True, min_periods=1).median()``, which
    leaves out infinite points too.

    Example:
        >>> running_median(np.array([5.0, 1, 1, 1, 9, 1, 1]), 3).tolist()
        [3.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    window = max(1, int(window) | 1)
    if n < 3 or window == 1:
        return y.copy()
    h = window // 2
    if not np.isfinite(y).all():
        return _running_median_sorted(y, h, skip_nonfinite=True)
    if window > n or n * window > 200_000:  # wide: a sorted window moving along
        return _running_median_sorted(y, h)
    out = np.empty(n)
    if window <= 5 and y.all():
        # 3 and 5 points (the detectors' windows, asked of every curve): the middle
        # value by minima and maxima of shifted slices, 3x faster than sorting every
        # window. Both pick the same order statistic; without zeros (y.all()), equal
        # finite values have equal bits, so it is the same double (with a 0.0 and a
        # -0.0 in one window the sort and the minima may pick different zeros).
        out[h : n - h] = _middle(*(y[i : n - 2 * h + i] for i in range(window)))
    else:
        out[h : n - h] = np.sort(y[windows(n, window)], axis=1)[:, h]
    # the windows cut by an end, as lists: y[: i + h + 1] at the start, y[i - h :] at the end
    head, tail = y[: 2 * h].tolist(), y[n - 2 * h :].tolist()
    out[:h] = [_median_of(sorted(head[: i + h + 1])) for i in range(h)]
    out[n - h :] = [_median_of(sorted(tail[i:])) for i in range(h)]
    return out


def _middle(*v: np.ndarray) -> np.ndarray:
    """The median of 3 or 5 arrays, element by element, by minima and maxima: of 3,
    the larger of min(a, b) and min(max(a, b), c); of 5, the median of 3 of ``e``, the
    larger of the pairs' minima and the smaller of their maxima (the two values each
    ruled out as the median, below and above, are dropped)."""
    mn, mx = np.minimum, np.maximum
    if len(v) == 5:
        a, b, c, d, e = v
        v = (e, mx(mn(a, b), mn(c, d)), mn(mx(a, b), mx(c, d)))
    a, b, c = v
    return mx(mn(a, b), mn(mx(a, b), c))


_WINDOWS: dict[tuple[int, int], np.ndarray] = {}


def windows(n: int, width: int) -> np.ndarray:
    """Indices of every window of ``width`` consecutive points of ``n``: row ``i`` is
    ``i, i + 1, ..., i + width - 1`` (``y[windows(len(y), w)]`` is the sliding window
    view, without its cost on short curves). Kept per size: curves come in few."""
    return kept(
        _WINDOWS,
        (n, width),
        lambda: np.arange(n - width + 1)[:, None] + np.arange(width)[None, :],
        512,
    )


def _median_of(s: list) -> float:
    m = len(s)
    if not m:
        return float("nan")
    return s[m // 2] if m % 2 else (s[m // 2 - 1] + s[m // 2]) / 2


def _running_median_sorted(y: np.ndarray, h: int, skip_nonfinite: bool = False) -> np.ndarray:
    """The running median by a sorted window that moves one point at a time (wide
    windows, and curves with NaN or inf)."""
    values = y.tolist()
    n = len(values)
    keep = [not skip_nonfinite or math.isfinite(v) for v in values]
    window: list[float] = []
    out = np.empty(n)
    lo = hi = 0  # window [lo, hi)
    for i in range(n):
        while hi < min(n, i + h + 1):
            if keep[hi]:
                insort(window, values[hi])
            hi += 1
        while lo < i - h:
            if keep[lo]:
                del window[bisect_left(window, values[lo])]
            lo += 1
        out[i] = _median_of(window)
    return out


def smooth(y: np.ndarray, window: int | None = None) -> np.ndarray:
    """Centered running median (robust to spikes), window odd and scaled to length.

    Default window: about 5 % of the length, at least 3, at most 51.
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    if n < 3:
        return y.copy()
    if window is None:
        window = min(max(round(n * 0.05), 3), 51)
    window = max(1, window | 1)
    half = window // 2
    padded = np.concatenate((y[:1].repeat(half), y, y[-1:].repeat(half)))  # "edge" pad
    if len(padded) * window <= 200_000:  # short: the kept window indices, no view's overhead
        view = padded[windows(len(padded), window)]
    else:
        view = np.lib.stride_tricks.sliding_window_view(padded, window)
    if not np.isnan(y).any():
        return np.sort(view, axis=1)[:, half]  # the middle of an odd window
    # NaN points left out of their windows (numpy.nanmedian's values)
    return np.array([median(row[~np.isnan(row)]) for row in view])

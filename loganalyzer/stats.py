"""Small robust statistics shared by detectors and the advice engine.

Curves are judged in units of their own noise: :func:`noise_sigma` estimates the
point-to-point noise robustly (a spike or a steady trend barely moves it), and
:func:`mann_kendall` / :func:`theil_sen` say whether a trend is real.

Example:
    >>> import numpy as np
    >>> y = np.linspace(1.0, 0.5, 40) + np.random.default_rng(0).normal(0, 0.01, 40)
    >>> round(noise_sigma(y), 3) < 0.02
    True
    >>> mann_kendall(y).p < 0.001
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as _st


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
    if len(y) >= 4:
        d = np.diff(y, n=2)
        scale = np.sqrt(6.0)
    else:
        d = np.diff(y)
        scale = np.sqrt(2.0)
    mad = np.median(np.abs(d - np.median(d)))
    return float(1.4826 * mad / scale)


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
    diff = np.sign(y[None, :] - y[:, None])
    s = float(np.triu(diff, 1).sum())
    _, counts = np.unique(y, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - np.sum(counts * (counts - 1) * (2 * counts + 5))) / 18.0
    if var <= 0:
        return TrendTest(s, 0.0, 1.0, 0.0)
    z = (s - np.sign(s)) / np.sqrt(var)
    p = float(2 * _st.norm.sf(abs(z)))
    tau = s / (0.5 * n * (n - 1))
    return TrendTest(s, float(z), p, float(tau))


@dataclass(frozen=True)
class Slope:
    """Theil–Sen slope per index unit with a confidence interval."""

    slope: float
    low: float
    high: float
    intercept: float


def theil_sen(x: np.ndarray, y: np.ndarray, alpha: float = 0.95) -> Slope:
    """Theil–Sen slope of ``y`` on ``x`` (non-finite pairs dropped)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 2:
        return Slope(0.0, 0.0, 0.0, float(y[0]) if len(y) else 0.0)
    if len(x) > 3000:
        idx = np.unique(np.linspace(0, len(x) - 1, 3000).round().astype(int))
        x, y = x[idx], y[idx]
    res = _st.theilslopes(y, x, alpha=alpha)
    return Slope(float(res[0]), float(res[2]), float(res[3]), float(res[1]))


def smooth(y: np.ndarray, window: int | None = None) -> np.ndarray:
    """Centered running median (robust to spikes), window odd and scaled to length.

    Default window: about 5 % of the length, at least 3, at most 51.
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    if n < 3:
        return y.copy()
    if window is None:
        window = int(np.clip(round(n * 0.05), 3, 51))
    window = max(1, window | 1)
    half = window // 2
    padded = np.pad(y, half, mode="edge")
    view = np.lib.stride_tricks.sliding_window_view(padded, window)
    return np.nanmedian(view, axis=1)

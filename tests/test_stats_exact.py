"""The numpy statistics give the same bits as the scipy and pandas functions they replace.

``loganalyzer.stats`` re-implements the normal tail, Mann-Whitney U, Kendall's tau,
Theil-Sen and the running median so that judging a log imports neither scipy nor
pandas. A p-value printed in ``--format json`` must not change in its last digit, so
every function is compared with ``==`` (not a tolerance) against the original, on
random curves, on curves with ties (a loss logged with 2 decimals), on smooth curves
and on the edge sizes.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import special
from scipy import stats as st

from loganalyzer import stats as S


def curves(seed: int, count: int = 60):
    """Learning-curve-like arrays of 3..120 points: noisy, rounded (ties), constant."""
    rng = np.random.default_rng(seed)
    for k in range(count):
        n = int(rng.integers(3, 121))
        t = np.arange(n)
        y = 2.0 * np.exp(-t / rng.uniform(5, 40)) + 0.1 + rng.normal(0, rng.uniform(0, 0.2), n)
        if k % 3 == 1:
            y = np.round(y, 1)  # many ties
        if k % 11 == 5:
            y = np.full(n, 0.5)  # every value tied
        yield y


def test_normal_tail_is_scipys_ndtr_bit_for_bit():
    rng = np.random.default_rng(0)
    z = np.r_[rng.normal(0, 3, 20000), rng.uniform(-40, 40, 20000), [0.0, -0.0, 1.0, -1.0]]
    z = np.r_[z, [0.7071067811865476, 1.4142135623730951, 38.5, -38.5, np.inf, -np.inf]]
    ours = np.array([S.normal_cdf(v) for v in z])
    assert np.array_equal(ours, special.ndtr(z))
    assert all(S.normal_sf(v) == st.norm.sf(v) for v in z[:2000])


def _scipy_mann_kendall(y):
    """The implementation this project used before (scipy's normal tail)."""
    n = len(y)
    diff = np.sign(y[None, :] - y[:, None])
    s = float(np.triu(diff, 1).sum())
    _, counts = np.unique(y, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - np.sum(counts * (counts - 1) * (2 * counts + 5))) / 18.0
    if var <= 0:
        return s, 0.0, 1.0, 0.0
    z = (s - np.sign(s)) / np.sqrt(var)
    return s, float(z), float(2 * st.norm.sf(abs(z))), float(s / (0.5 * n * (n - 1)))


def test_mann_kendall_and_kendall_tau():
    for y in curves(1):
        t = S.mann_kendall(y)
        assert (t.s, t.z, t.p, t.tau) == _scipy_mann_kendall(y)
        tau = S.kendall_tau(y)
        want = st.kendalltau(np.arange(len(y)), y).statistic
        assert (tau == want) or (np.isnan(tau) and np.isnan(want))


def test_theil_sen_is_theilslopes():
    for y in curves(2):
        x = np.arange(len(y)) * 10.0 + 5
        got = S.theil_sen(x, y)
        res = st.theilslopes(y, x, alpha=0.95)
        assert (got.slope, got.intercept, got.low, got.high) == (
            float(res[0]),
            float(res[1]),
            float(res[2]),
            float(res[3]),
        )


@pytest.mark.parametrize("m", [2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 40])
def test_mann_whitney_exact_and_asymptotic(m):
    rng = np.random.default_rng(m)
    for k in range(25):
        a = rng.normal(0.1 * (k % 5), 1, m)
        b = rng.normal(0, 1, m + (k % 3))
        if k % 4 == 1:
            a, b = np.round(a, 1), np.round(b, 1)  # ties: the normal approximation
        want = st.mannwhitneyu(a, b, alternative="greater").pvalue
        assert S.mann_whitney_greater(a, b) == want


@pytest.mark.parametrize("window", [1, 3, 5, 7, 9, 15, 17, 31, 51])
def test_running_median_is_pandas_rolling_median(window):
    for y in curves(window, 25):
        want = pd.Series(y).rolling(window | 1, center=True, min_periods=1).median()
        assert np.array_equal(S.running_median(y, window), want.to_numpy())
    y = np.array([1.0, np.nan, 3.0, np.inf, 2.0, np.nan, np.nan, np.nan, 0.5, 4.0])
    want = pd.Series(y).rolling(window | 1, center=True, min_periods=1).median().to_numpy()
    if window == 1:
        want = y  # no smoothing at all (pandas would also drop the inf)
    assert np.array_equal(S.running_median(y, window), want, equal_nan=True)


@pytest.mark.parametrize("window", [3, 5])
def test_running_median_of_3_and_5_picks_the_sorted_windows_middle_bits(window):
    # 3 and 5 points take the middle value by minima and maxima, not a sort: the same
    # double on every tie pattern of 4 values, and on curves with a 0.0 and a -0.0
    def sorted_middle(y):
        h = window // 2
        rows = [np.sort(y[max(0, i - h) : i + h + 1]) for i in range(len(y))]
        return np.array(
            [
                r[len(r) // 2] if len(r) % 2 else (r[len(r) // 2 - 1] + r[len(r) // 2]) / 2
                for r in rows
            ]
        )

    rng = np.random.default_rng(window)
    tied = [np.array(v, dtype=float) + 1 for v in np.ndindex(*(4,) * window)]
    zeros = [rng.choice([0.0, -0.0, 1.0, -1.0, 0.5], size=30) for _ in range(300)]
    for y in tied + zeros + [rng.normal(size=100) for _ in range(50)]:
        got, want = S.running_median(y, window), sorted_middle(y)
        assert np.array_equal(got.view(np.int64), want.view(np.int64)), y


def test_median_and_smooth_are_numpys():
    for y in curves(7):
        for part in (y, y[:1], y[:2], y[:-1], np.r_[y, np.nan]):
            want = np.median(part)
            got = S.median(part)
            assert got == want or (np.isnan(got) and np.isnan(want))
        for window in (None, 3, 5):
            half = (window or int(np.clip(round(len(y) * 0.05), 3, 51))) | 1
            view = np.lib.stride_tricks.sliding_window_view(np.pad(y, half // 2, "edge"), half)
            assert np.array_equal(S.smooth(y, window), np.nanmedian(view, axis=1))
    assert np.isnan(S.median(np.array([])))


def test_suffix_taus_are_each_suffixs_kendalltau():
    for y in curves(8, 20):
        taus = S.suffix_taus(y)
        for a in range(0, len(y) - 1, 7):
            want = st.kendalltau(np.arange(len(y) - a), y[a:]).statistic
            assert taus[a] == want or (np.isnan(taus[a]) and np.isnan(want))


def test_theil_sen_needs_no_scipy_at_the_default_level():
    code = (
        "import sys, numpy as np; from loganalyzer.stats import theil_sen; "
        "theil_sen(np.arange(9.0), np.arange(9.0) ** 0.5); print('scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.stdout.strip() == "False", out.stderr


def test_window_wiggles_are_each_windows_wiggle_bit_for_bit():
    # plateau's per-start noise: the windows that fit whole go through a median-of-5
    # network, the ones cut by an end through plain Python; both must give wiggle()'s
    # value of that window, ties, signed zeros and huge values included
    from loganalyzer.detectors._curves import wiggle, window_wiggles

    rng = np.random.default_rng(7)
    extra = [
        rng.choice([0.0, -0.0, 1.0], 40),
        np.exp(rng.normal(0, 50, 40)) * rng.choice([-1, 1], 40),
        np.cumsum(rng.normal(size=40)) * 1e300,
    ]
    for k, y in enumerate([*curves(5, 40), *extra]):
        before, after = k % 4, 1 + k % 17
        count = len(y) - k % 9
        got = window_wiggles(y, before, after, count=count)
        want = [wiggle(y[max(0, i - before) : i + after].copy()) for i in range(max(0, count))]
        assert got[: len(want)].tolist() == want
        assert np.isnan(got[len(want) :]).all()


@pytest.mark.parametrize("n", [5, 256, 257, 1200, 3001])
def test_mann_kendall_s_on_short_and_long_curves(n):
    # Long curves are counted a block of rows at a time, short ones over kept index
    # pairs: both must be S, here counted pair by pair with ties and infinities.
    rng = np.random.default_rng(n)
    y = np.round(rng.normal(size=n), 1)  # many ties
    y[rng.integers(0, n, 3)] = np.inf
    signs = np.sign(np.subtract.outer(y, y).T)  # [i, j]: sign(y[j] - y[i])
    expected = int(np.nansum(np.triu(np.nan_to_num(signs, nan=0.0), 1)))
    assert S.s_statistic(y) == expected


def test_a_long_curve_keeps_no_pairs_in_memory():
    # 4,000 points' index pairs were 128 MB, kept for every length seen
    S.mann_kendall(np.random.default_rng(0).normal(size=4000))
    assert 4000 not in S._UPPER

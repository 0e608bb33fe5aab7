"""Statistics of ``loganalyzer verify`` on known numbers, checked against scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from loganalyzer.verify.stats import (
    HELPED,
    HURT,
    NO_CHANGE,
    diminishing,
    fit_power_law,
    paired,
    sign_test,
)


def test_paired_matches_scipy_t_interval_and_p_value():
    base = np.array([1.20, 1.31, 1.18, 1.25, 1.40])
    fixed = np.array([1.10, 1.22, 1.15, 1.12, 1.30])
    c = paired(base, fixed)
    ref = st.ttest_rel(fixed, base)
    ci = ref.confidence_interval(0.95)
    assert c.n == 5
    assert c.mean_diff == pytest.approx(float(np.mean(fixed - base)))
    assert c.ci_low == pytest.approx(ci.low)
    assert c.ci_high == pytest.approx(ci.high)
    assert c.p_t == pytest.approx(ref.pvalue)
    assert c.verdict == HELPED
    assert c.p_wilcoxon is None  # n < 6: Wilcoxon cannot reach p < 0.05, not reported
    assert c.rel_diff == pytest.approx(c.mean_diff / base.mean())


def test_wilcoxon_reported_when_n_allows():
    rng = np.random.default_rng(0)
    base = rng.normal(1.0, 0.05, 8)
    fixed = base + rng.normal(0.1, 0.03, 8)
    c = paired(base, fixed)
    assert c.p_wilcoxon == pytest.approx(st.wilcoxon(fixed, base).pvalue)
    assert c.verdict == HURT
    assert c.ci_low > 0


def test_no_significant_change_when_interval_straddles_zero():
    c = paired([1.0, 1.1, 0.9], [1.05, 1.0, 0.95])
    assert c.ci_low < 0 < c.ci_high
    assert c.verdict == NO_CHANGE
    assert c.p_t > 0.05


def test_degenerate_pairs():
    same = paired([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert same.verdict == NO_CHANGE and same.p_t == 1.0 and same.mean_diff == 0
    shifted = paired([1.0, 2.0, 3.0], [0.5, 1.5, 2.5])  # identical improvement every seed
    assert shifted.verdict == HELPED and shifted.ci_high == pytest.approx(-0.5)
    one = paired([1.0], [0.5])
    assert one.verdict == NO_CHANGE and math.isinf(one.ci_low) and math.isnan(one.p_t)
    # A diverged run (NaN) drops its pair instead of poisoning the mean.
    nan = paired([1.0, 1.1, float("nan"), 1.2], [0.8, 0.9, 0.5, 1.0])
    assert nan.n == 3 and nan.mean_diff == pytest.approx(-0.2)
    with pytest.raises(ValueError):
        paired([1.0, 2.0], [1.0])


def test_power_law_recovers_known_parameters():
    n = np.array([200.0, 400.0, 600.0, 800.0])
    loss = 8.0 * n**-0.6 + 0.3
    fit = fit_power_law(n, loss)
    assert fit.method == "power-law"
    assert fit.b == pytest.approx(0.6, rel=1e-3)
    assert fit.c == pytest.approx(0.3, rel=1e-3)
    assert fit.current == pytest.approx(8.0 * 800**-0.6 + 0.3, rel=1e-4)
    assert fit.doubled == pytest.approx(8.0 * 1600**-0.6 + 0.3, rel=1e-3)
    assert fit.gain > 0
    assert not diminishing(fit)


def test_power_law_flat_curve_is_diminishing_and_loglog_fallback():
    n = np.array([100.0, 200.0, 300.0, 400.0])
    flat = fit_power_law(n, 0.5 + 0.001 * n**-0.5)
    assert flat.rel_gain < 0.02 and diminishing(flat)
    two = fit_power_law([100, 400], [2.0, 1.0])  # too few sizes for 3 parameters
    assert two.method == "log-log"
    assert two.b == pytest.approx(0.5)
    assert two.doubled == pytest.approx(2.0 * (800 / 100) ** -0.5)
    with pytest.raises(ValueError):
        fit_power_law([100, 100], [1.0, 1.0])


def test_sign_test_matches_scipy_binomial():
    assert sign_test(3, 0).p == pytest.approx(st.binomtest(3, 3, 0.5).pvalue) == 0.25
    assert sign_test(3, 0).verdict == NO_CHANGE
    assert sign_test(0, 7).verdict == HURT
    assert sign_test(0, 0).p == 1.0


def test_losses_are_judged_as_ratios_per_seed():
    # b-too-small of the remedy bench: two seeds of five solve the spirals with 2 units;
    # growing the net solves them in every seed. The differences are wildly unequal
    # (0.41 ... 0.04), the ratios are not (every seed 0.06-0.5).
    base = np.array([0.452, 0.076, 0.484, 0.495, 0.073])
    grown = np.array([0.040, 0.036, 0.035, 0.032, 0.028])
    diff = paired(base, grown)
    assert diff.scale == "difference" and diff.verdict == HELPED
    assert diff.p_t == pytest.approx(st.ttest_rel(grown, base).pvalue)
    c = paired(base, grown, ratio=True)
    ref = st.ttest_rel(np.log(grown), np.log(base))
    ci = ref.confidence_interval(0.95)
    assert c.scale == "ratio" and c.verdict == HELPED
    assert c.p_t == pytest.approx(ref.pvalue) and c.p_t < diff.p_t / 3
    assert c.ratio == pytest.approx(float(np.exp(np.mean(np.log(grown / base)))))
    assert (c.ratio_low, c.ratio_high) == (
        pytest.approx(math.exp(ci.low)),
        pytest.approx(math.exp(ci.high)),
    )
    assert c.rel_diff == pytest.approx(c.ratio - 1)
    # the differences are still reported beside the ratio
    assert (c.mean_diff, c.ci_low) == (diff.mean_diff, diff.ci_low)
    # a value that is not positive (a gap, a log-likelihood) falls back to differences
    gap = paired([0.2, -0.1, 0.3], [0.1, -0.2, 0.2], ratio=True)
    assert gap.scale == "difference" and math.isnan(gap.ratio)

"""Statistics of a verification: paired comparisons over seeds, verdicts, the data power law.

Baseline and fix are trained with the same seeds, so the runs come in pairs and the
comparison is on the per-seed differences ``fixed - baseline``: their mean, a Student-t
confidence interval, a paired t-test and, when there are enough pairs for it to reach
significance (n >= 6), the Wilcoxon signed-rank test. Lower is better for every metric
compared here (losses, gaps, epochs).

Losses are compared as ratios (``ratio=True``): the same statistics on the per-seed
differences of their logarithms, i.e. on ``fixed / baseline`` per seed, reported as a
geometric-mean ratio with its interval. A fix acts on a loss multiplicatively: when two
seeds of five solve a task that the other three do not, a fix that makes every seed solve
it lowers the loss of those three by 0.45 and of the two by 0.04 — wildly unequal
differences, but ratios of 0.07-0.5 in every seed. The difference test gives p = 0.045
there, which the Holm correction over three fixes turns into "no significant change";
the paired t-test on log losses (the standard for positive, multiplicative outcomes,
e.g. bioequivalence studies) gives p = 0.012 and sees the consistent effect. The
verdict of a ratio comparison rests on the ratio's interval; a loss that is not positive
in every pair falls back to differences.

Example:
    >>> c = paired([1.00, 1.10, 0.95, 1.05], [0.90, 0.97, 0.86, 0.93])
    >>> round(c.mean_diff, 3), c.verdict
    (-0.11, 'helped')
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy import stats as st

#: Verdicts, as shown to users.
HELPED, NO_CHANGE, HURT = "helped", "no significant change", "hurt"

#: Significance level of every verdict (family-wise, with :func:`holm`).
ALPHA = 0.05


@dataclass(frozen=True)
class Comparison:
    """Paired comparison of one metric, fixed minus baseline (negative = lower = better).

    Attributes:
        n: Number of pairs.
        baseline_mean, fixed_mean: Means of each side.
        mean_diff: Mean of ``fixed - baseline``.
        ci_low, ci_high: ``confidence`` interval of the mean difference (Student t).
        p_t: Two-sided p-value of the paired t-test (NaN with fewer than 2 pairs).
        p_wilcoxon: Two-sided p-value of the Wilcoxon signed-rank test, or ``None``
            when ``n < 6`` (it cannot reach p < 0.05 then) or all differences are zero.
        verdict: ``helped`` when the interval lies below 0, ``hurt`` when above 0,
            else ``no significant change`` (equivalently: paired t-test at ``1 - confidence``).
        confidence: The confidence level used.
        scale: ``"difference"``, or ``"ratio"`` when the test and the verdict are on log
            values (``p_t``, ``p_wilcoxon`` and ``verdict`` then refer to the ratio).
        ratio, ratio_low, ratio_high: Geometric mean of ``fixed / baseline`` and its
            interval (NaN on the difference scale).
    """

    n: int
    baseline_mean: float
    fixed_mean: float
    mean_diff: float
    ci_low: float
    ci_high: float
    p_t: float
    p_wilcoxon: float | None
    verdict: str
    confidence: float = 0.95
    scale: str = "difference"
    ratio: float = math.nan
    ratio_low: float = math.nan
    ratio_high: float = math.nan

    @property
    def rel_diff(self) -> float:
        """The relative change (``-0.12`` = 12 % lower): the geometric-mean ratio minus
        one on the ratio scale, else the mean difference over the baseline mean."""
        if self.scale == "ratio":
            return self.ratio - 1.0
        if self.baseline_mean == 0 or not math.isfinite(self.baseline_mean):
            return math.nan
        return self.mean_diff / abs(self.baseline_mean)


def paired(baseline, fixed, confidence: float = 0.95, ratio: bool = False) -> Comparison:
    """Compare paired samples (same seeds), lower is better.

    Args:
        baseline: One value per seed for the baseline.
        fixed: One value per seed for the fix, in the same seed order.
        confidence: Level of the interval (and ``1 - alpha`` of the verdict).
        ratio: Judge ``fixed / baseline`` per seed (t-test on log values) when every
            value is positive (losses); the differences are reported either way.

    Returns:
        A :class:`Comparison`. With fewer than 2 pairs the interval is infinite and the
        verdict ``no significant change``. Non-finite pairs (a diverged run) are dropped.

    Example:
        >>> paired([1.0, 1.0], [1.0, 1.0]).verdict
        'no significant change'
    """
    b = np.asarray(baseline, dtype=float)
    f = np.asarray(fixed, dtype=float)
    if b.shape != f.shape:
        raise ValueError(f"paired samples differ in length: {b.shape} vs {f.shape}")
    keep = np.isfinite(b) & np.isfinite(f)
    b, f = b[keep], f[keep]
    d = f - b
    n = len(d)
    if n == 0:
        return Comparison(
            0,
            math.nan,
            math.nan,
            math.nan,
            -math.inf,
            math.inf,
            math.nan,
            None,
            NO_CHANGE,
            confidence,
        )
    mean = float(d.mean())
    if n < 2:
        return Comparison(
            1,
            float(b.mean()),
            float(f.mean()),
            mean,
            -math.inf,
            math.inf,
            math.nan,
            None,
            NO_CHANGE,
            confidence,
        )
    low, high, p, p_w, verdict = _tests(d, confidence)
    base = (n, float(b.mean()), float(f.mean()), mean, low, high)
    if not (ratio and (b > 0).all() and (f > 0).all()):
        return Comparison(*base, p, p_w, verdict, confidence)
    log_d = np.log(f) - np.log(b)
    l_low, l_high, l_p, l_pw, l_verdict = _tests(log_d, confidence)
    return Comparison(
        *base, l_p, l_pw, l_verdict, confidence, "ratio",
        math.exp(float(log_d.mean())), math.exp(l_low), math.exp(l_high),
    )  # fmt: skip


def _tests(d: np.ndarray, confidence: float) -> tuple[float, float, float, float | None, str]:
    """Student-t interval of the mean of ``d``, its t-test p, the Wilcoxon p (n >= 6) and
    the verdict (lower is better)."""
    n, mean = len(d), float(d.mean())
    sd = float(d.std(ddof=1))
    if sd <= 1e-12 * max(abs(mean), 1e-300):
        # Identical differences: no spread, so the interval is the point itself.
        p = 1.0 if mean == 0 else 0.0
        low = high = mean
    else:
        se = sd / math.sqrt(n)
        tcrit = float(st.t.ppf(0.5 + confidence / 2, n - 1))
        low, high = mean - tcrit * se, mean + tcrit * se
        p = float(st.ttest_1samp(d, 0.0).pvalue)
    p_w = None
    if n >= 6 and np.any(d != 0):
        p_w = float(st.wilcoxon(d).pvalue)
    if high < 0:
        verdict = HELPED
    elif low > 0:
        verdict = HURT
    else:
        verdict = NO_CHANGE
    return low, high, p, p_w, verdict


def holm(pvalues) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error rate, any dependence).

    Several fixes judged against the same baseline runs are several tests; without a
    correction, three fixes that do nothing give at least one "helped" about one
    time in seven. Holm's method is uniformly more powerful than Bonferroni and
    needs no assumption on how the tests depend on each other (they share the
    baseline). A fix's verdict holds when its adjusted p is below :data:`ALPHA`.

    Example:
        >>> [round(p, 3) for p in holm([0.01, 0.04, 0.03])]
        [0.03, 0.06, 0.06]
    """
    p = np.asarray(list(pvalues), dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for i, idx in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[idx]))
        adjusted[idx] = running
    return [float(a) for a in adjusted]


@dataclass(frozen=True)
class SignTest:
    """Exact two-sided sign test on discordant pairs (e.g. only the baseline diverged).

    Attributes:
        for_fix: Pairs where only the baseline had the bad outcome.
        against_fix: Pairs where only the fix had it.
        p: Two-sided exact binomial p-value (1.0 with no discordant pair).
        verdict: ``helped`` / ``hurt`` when ``p < alpha``, else no significant change.
    """

    for_fix: int
    against_fix: int
    p: float
    verdict: str


def sign_test(for_fix: int, against_fix: int, alpha: float = 0.05) -> SignTest:
    """Exact sign (McNemar) test; with 3 seeds even 3 of 3 gives p = 0.25.

    Example:
        >>> sign_test(6, 0).p, sign_test(6, 0).verdict
        (0.03125, 'helped')
    """
    n = for_fix + against_fix
    p = 1.0 if n == 0 else float(st.binomtest(for_fix, n, 0.5).pvalue)
    verdict = NO_CHANGE
    if p < alpha:
        verdict = HELPED if for_fix > against_fix else HURT
    return SignTest(for_fix, against_fix, p, verdict)


@dataclass(frozen=True)
class PowerLaw:
    """``best_val_loss = a * n ** -b + c`` fitted to (training-set size, best val loss).

    Attributes:
        a, b, c: The fitted parameters (``c`` = 0 for the log-log fallback).
        method: ``"power-law"`` (least squares with an asymptote) or ``"log-log"``
            (a straight line in log-log space, used when the 3-parameter fit fails or
            there are fewer than 4 sizes).
        n: The largest training-set size used.
        current: The fitted loss at ``n``.
        doubled: The predicted loss at ``2 n``.
    """

    a: float
    b: float
    c: float
    method: str
    n: float
    current: float
    doubled: float

    def predict(self, n) -> np.ndarray:
        return self.a * np.power(np.asarray(n, dtype=float), -self.b) + self.c

    @property
    def gain(self) -> float:
        """Expected decrease of the best validation loss from twice the data (>0 = better)."""
        return self.current - self.doubled

    @property
    def rel_gain(self) -> float:
        return self.gain / self.current if self.current else math.nan


def fit_power_law(sizes, losses) -> PowerLaw:
    """Fit ``loss = a * n**-b + c`` (falling back to a log-log line) and predict ``2 n``.

    Args:
        sizes: Training-set sizes (samples or batches), at least 2 distinct.
        losses: Best validation loss at each size (e.g. the mean over seeds).

    Example:
        >>> n = np.array([100, 200, 300, 400])
        >>> fit = fit_power_law(n, 5.0 * n ** -0.5 + 0.2)
        >>> round(fit.b, 2), round(fit.c, 2), round(fit.doubled, 3)
        (0.5, 0.2, 0.377)
    """
    x = np.asarray(sizes, dtype=float)
    y = np.asarray(losses, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0)
    x, y = x[keep], y[keep]
    if len(np.unique(x)) < 2:
        raise ValueError("a data-size curve needs at least two distinct training-set sizes")
    n_max = float(x.max())
    if len(x) >= 4 and np.all(y > 0):
        try:
            params = _fit_three(x, y)
        except (RuntimeError, ValueError, optimize.OptimizeWarning):
            params = None
        if params is not None:
            a, b, c = params
            fit = PowerLaw(a, b, c, "power-law", n_max, 0.0, 0.0)
            return PowerLaw(
                a,
                b,
                c,
                "power-law",
                n_max,
                float(fit.predict(n_max)),
                float(fit.predict(2 * n_max)),
            )
    if np.all(y > 0):
        slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
        a, b = float(math.exp(intercept)), float(-slope)
        fit = PowerLaw(a, b, 0.0, "log-log", n_max, 0.0, 0.0)
    else:  # losses that can be negative: fit a line in log n instead
        slope, intercept = np.polyfit(np.log(x), y, 1)
        a, b = float(slope), 0.0
        return PowerLaw(
            a, b, float(intercept), "log-linear", n_max,
            float(intercept + slope * math.log(n_max)),
            float(intercept + slope * math.log(2 * n_max)),
        )  # fmt: skip
    return PowerLaw(
        a, b, 0.0, "log-log", n_max, float(fit.predict(n_max)), float(fit.predict(2 * n_max))
    )


def _fit_three(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float] | None:
    """Least-squares ``a n^-b + c`` with ``a >= 0``, ``0 <= b <= 3``, ``0 <= c <= min(y)``."""
    y_min = float(y.min())
    b0 = 0.5
    a0 = max((float(y.max()) - y_min) / max(x.min() ** -b0 - x.max() ** -b0, 1e-12), 1e-6)
    p0 = (a0, b0, 0.5 * y_min)
    lower = (0.0, 0.0, 0.0)
    upper = (np.inf, 3.0, y_min)
    popt, _ = optimize.curve_fit(
        lambda n, a, b, c: a * np.power(n, -b) + c,
        x,
        y,
        p0=p0,
        bounds=(lower, upper),
        maxfev=20000,
    )
    a, b, c = (float(v) for v in popt)
    if not all(math.isfinite(v) for v in (a, b, c)):
        return None
    return a, b, c


def diminishing(fit: PowerLaw, observed_gain_last_half: float | None = None) -> bool:
    """Whether more data is past its best: the predicted gain from doubling is under 2 %
    of the current loss, or under half of what the last doubling (50 % -> 100 %) gave.

    Example:
        >>> n = np.array([100, 200, 300, 400])
        >>> diminishing(fit_power_law(n, 5.0 * n ** -0.5 + 0.2))
        False
    """
    if fit.current <= 0 or not math.isfinite(fit.gain):
        return True
    if fit.rel_gain < 0.02:
        return True
    if observed_gain_last_half is not None and observed_gain_last_half > 0:
        return fit.gain < 0.5 * observed_gain_last_half
    return False

"""``gradient-norm``: a logged gradient norm that is non-finite or explodes.

The Hugging Face Trainer logs ``grad_norm`` (the norm *before* clipping), Lightning's
``GradientAccumulationScheduler``/``log_grad_norm`` users log ``grad_norm`` or
``train/grad_norm``. Two kinds of evidence:

- **non-finite** norms: ``inf`` or ``NaN`` at a logged step. In an fp16 run this is the
  textbook overflow sign (the loss scaler skips the step and halves its scale; many in a
  row, or a loss that rises with them, mean the scale cannot keep up); in fp32 it is a
  real explosion;
- **exploding** norms: steps whose norm is at least ``explode_factor`` times the run's
  typical norm. The typical norm is the larger of the median over the run and the
  median over its first quarter, so a norm that shrinks as the model converges (a
  classifier reaching zero loss) does not make the early, normal norms look huge.

Example:
    >>> from loganalyzer.analysis import to_run
    >>> from loganalyzer.rulepack import rule_by_code
    >>> g = [0.6, 0.5, 0.7, 0.5, 672.0, 0.6, 0.55, 0.5, 2649.0, 0.6, 0.5, float("inf")]
    >>> run = to_run({"loss": [1.0] * 12, "grad_norm": g})
    >>> f = detect(run, rule_by_code("LA111"), {})[0]
    >>> f.evidence["nonfinite_at"], f.evidence["exploding_at"], f.evidence["typical"]
    ([11], [4, 8], 0.6)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from loganalyzer.findings import Finding, as_index
from loganalyzer.rulepack import Rule
from loganalyzer.run import Run

KIND = "gradient-norm"

DEFAULTS = {"explode_factor": 50.0, "min_points": 5}

#: Canonical names under which a gradient norm is logged.
GRAD_NAMES = ("grad_norm", "gradient_norm", "grad_norm_2", "global_grad_norm", "grad_norm_total")


@dataclass(frozen=True)
class GradNorms:
    """A run's logged gradient norms, summarised once for detectors and advice.

    Attributes:
        metric: The column that holds them.
        index: Log index of every logged point; ``values`` the norms (non-finite kept).
        typical: The typical norm (see the module docstring).
        nonfinite_at: Indices where the norm is inf or NaN.
        exploding_at: Indices where it is at least ``explode_factor`` x ``typical``.
    """

    metric: str
    index: np.ndarray
    values: np.ndarray
    typical: float
    nonfinite_at: list
    exploding_at: list

    @property
    def finite(self) -> np.ndarray:
        return self.values[np.isfinite(self.values)]

    def quantile(self, q: float) -> float:
        f = self.finite
        return float(np.quantile(f, q)) if len(f) else float("nan")

    def share_above(self, x: float) -> float:
        """Fraction of the logged steps (non-finite ones count as above) whose norm
        exceeds ``x``: what clipping at ``x`` would touch."""
        v = self.values
        return float(np.mean(~np.isfinite(v) | (v > x))) if len(v) else 0.0


def grad_norms(run: Run, explode_factor: float = DEFAULTS["explode_factor"]) -> GradNorms | None:
    """Summarise the first logged gradient-norm column, or ``None`` when there is none."""
    for name in GRAD_NAMES:
        s = run.series(name) if name in run.metrics.columns else None
        if s is None or s.empty:
            continue
        v = s.to_numpy(dtype=float)
        ok = np.isfinite(v)
        if not ok.any():
            typical = float("nan")
        else:
            first = v[: max(1, len(v) // 4)]
            first = first[np.isfinite(first)]
            typical = max(float(np.median(v[ok])), float(np.median(first)) if len(first) else 0.0)
        idx = s.index.to_numpy()
        nonfinite = [as_index(i) for i in idx[~ok]]
        exploding = []
        if math.isfinite(typical) and typical > 0:
            exploding = [as_index(i) for i in idx[ok & (v >= explode_factor * typical)]]
        return GradNorms(name, idx, v, typical, nonfinite, exploding)
    return None


def _steps(points: list, unit: str) -> str:
    shown = ", ".join(str(p) for p in points[:6]) + (", ..." if len(points) > 6 else "")
    return f"{unit}{'s' if len(points) > 1 else ''} {shown}"


def detect(run: Run, rule: Rule, params: dict) -> list[Finding]:
    """One finding when the gradient norm is non-finite or explodes somewhere."""
    p = {**DEFAULTS, **params}
    g = grad_norms(run, float(p["explode_factor"]))
    if g is None or len(g.values) < int(p["min_points"]):
        return []
    if not g.nonfinite_at and not g.exploding_at:
        return []
    unit = run.index
    n = len(g.values)
    parts = []
    if g.nonfinite_at:
        parts.append(
            f"{g.metric} is non-finite at {_steps(g.nonfinite_at, unit)} "
            f"({len(g.nonfinite_at)} of {n} logged): gradients overflowed (in fp16 the "
            "loss scaler skipped those steps; in fp32 they exploded)"
        )
    if g.exploding_at:
        top = float(np.nanmax(np.where(np.isfinite(g.values), g.values, np.nan)))
        parts.append(
            f"{g.metric} reached {top:.4g} against a typical {g.typical:.3g} "
            f"({top / g.typical:.0f}x) at {_steps(g.exploding_at, unit)}: exploding gradients"
        )
    points = sorted(g.nonfinite_at + g.exploding_at, key=float)
    finite = g.finite
    return [
        Finding(
            rule=rule.code,
            kind=KIND,
            severity=rule.severity,
            metric=g.metric,
            start=points[0],
            end=points[-1],
            message="; ".join(parts) + ".",
            evidence={
                "metric": g.metric,
                "nonfinite_at": g.nonfinite_at,
                "exploding_at": g.exploding_at,
                "typical": round(g.typical, 4),
                "median": float(np.median(finite)) if len(finite) else None,
                "max_finite": float(finite.max()) if len(finite) else None,
                "points": n,
                "explode_factor": float(p["explode_factor"]),
            },
        )
    ]

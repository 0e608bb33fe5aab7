"""``shrink``: fewer units or filters per hidden layer.

Keep 75 % of the units when the gap is moderate (severity below 0.5, see
:func:`~loganalyzer.advice._common.gap_severity`) and 50 % when the validation loss
rose by half its best or more: halving the width is the usual first step of a
capacity search, and a smaller step is enough for a mild overfit.

Example:
    >>> keep_fraction(0.2), keep_fraction(0.8)
    (0.75, 0.5)
"""

from __future__ import annotations

from loganalyzer.advice._common import AdviceContext, because, fmt, gap_severity, literal
from loganalyzer.findings import Advice

ACTION = "shrink"


def keep_fraction(severity: float) -> float:
    """Fraction of units/filters kept for a gap severity in [0, 1]."""
    return 0.75 if severity < 0.5 else 0.5


def build(ctx: AdviceContext) -> Advice:
    s = gap_severity(ctx)
    keep = keep_fraction(s)
    summary = (
        f"Shrink the model: keep {fmt(keep * 100)}% of the units/filters in each hidden "
        f"layer (e.g. Dense 256 → {round(256 * keep)}, Conv2D 64 → {round(64 * keep)}), "
        f"as the gap severity is {s:.2f} of 1. " + because(ctx)
    )
    code = (
        "import keras\n\n"
        f"keep = {literal(keep)}  # fraction of units/filters kept per hidden layer\n"
        f'dense = keras.layers.Dense(max(1, round(256 * keep)), activation="relu")'
        f"  # 256 -> {round(256 * keep)}\n"
        f'conv = keras.layers.Conv2D(max(1, round(64 * keep)), 3, activation="relu")'
        f"  # 64 -> {round(64 * keep)}\n"
    )
    return Advice(ACTION, 0, ctx.rules, summary, code, {"factor": keep})

"""``regularize``: an L2 kernel penalty whose starting factor grows with the gap.

The starting factor is ``1e-4 * 10**s`` (rounded to one digit), where ``s`` in [0, 1]
is :func:`~loganalyzer.advice._common.gap_severity` (Prechelt's generalization loss
/ 100 when the run overfits). ``1e-4`` is the customary starting weight decay for
Dense/Conv kernels (ResNet and most Keras examples use 1e-4 to 5e-4); a validation
loss that ended twice its best calls for the strong end, ``1e-3``, beyond which an L2
penalty usually costs training fit before it buys generalization. Tune from there
by factors of about 3.

Example:
    >>> starting_factor(0.0), starting_factor(0.5), starting_factor(1.0)
    (0.0001, 0.0003, 0.001)
"""

from __future__ import annotations

from loganalyzer.advice._common import AdviceContext, because, fmt, gap_severity, literal, nice
from loganalyzer.findings import Advice

ACTION = "regularize"


def starting_factor(severity: float) -> float:
    """``1e-4`` for no gap, up to ``1e-3`` for a validation loss that doubled."""
    return nice(1e-4 * 10 ** max(0.0, min(1.0, severity)), 1)


def build(ctx: AdviceContext) -> Advice:
    s = gap_severity(ctx)
    factor = starting_factor(s)
    f = ctx.first("overfitting")
    gl = f.evidence.get("gl") if f is not None else None
    basis = (
        f"the validation loss ended {gl:.0f}% above its best (GL)"
        if isinstance(gl, (int, float))
        else f"a relative train/validation gap of {fmt(s)}"
    )
    summary = (
        f"Add an L2 penalty to the Dense/Conv kernels, starting at {literal(factor)}: "
        f"1e-4 scaled up to 10× as {basis}; tune by factors of 3. " + because(ctx)
    )
    code = (
        "import keras\n\n"
        f"l2 = keras.regularizers.L2({literal(factor)})\n"
        'dense = keras.layers.Dense(256, activation="relu", kernel_regularizer=l2)\n'
        'conv = keras.layers.Conv2D(64, 3, activation="relu", kernel_regularizer=l2)\n'
    )
    return Advice(ACTION, 0, ctx.rules, summary, code, {"kind": "l2", "factor": factor})

"""``batch-norm``: BatchNormalization between each hidden layer and its activation.

It steadies the scale of activations, which lets a run train at a rate that made it
noisy or unstable, and often speeds up a slow start.

Example:
    >>> "BatchNormalization" in SNIPPET
    True
"""

from __future__ import annotations

from loganalyzer.advice._common import AdviceContext, because
from loganalyzer.findings import Advice

ACTION = "batch-norm"

SNIPPET = (
    "import keras\n\n"
    "x = keras.layers.Dense(256, use_bias=False)(x)  # the norm's beta replaces the bias\n"
    "x = keras.layers.BatchNormalization()(x)\n"
    'x = keras.layers.Activation("relu")(x)\n'
)


def build(ctx: AdviceContext) -> Advice:
    summary = (
        "Put BatchNormalization between each hidden Dense/Conv layer and its activation "
        "to steady training. " + because(ctx)
    )
    return Advice(ACTION, 0, ctx.rules, summary, SNIPPET, {})

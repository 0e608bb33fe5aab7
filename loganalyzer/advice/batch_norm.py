"""``batch-norm``: BatchNormalization between each hidden layer and its activation.

It steadies the scale of activations, which lets a run train at a rate that made it
noisy or unstable, and often speeds up a slow start. It does not apply to a Hugging
Face Trainer model: a pretrained transformer already normalises every block
(LayerNorm), and its architecture is not the user's to change.

Example:
    >>> "BatchNormalization" in SNIPPET
    True
"""

from __future__ import annotations

from loganalyzer.advice._common import AdviceContext, because, pick
from loganalyzer.findings import Advice

ACTION = "batch-norm"

SNIPPET = (
    "import keras\n\n"
    "x = keras.layers.Dense(256, use_bias=False)(x)  # the norm's beta replaces the bias\n"
    "x = keras.layers.BatchNormalization()(x)\n"
    'x = keras.layers.Activation("relu")(x)\n'
)


def applies(ctx: AdviceContext) -> bool:
    return ctx.framework != "hf"


def build(ctx: AdviceContext) -> Advice:
    summary = (
        "Put batch normalization between each hidden Dense/Conv layer and its activation "
        "to steady training. " + because(ctx)
    )
    return Advice(ACTION, 0, ctx.rules, summary, pick(ctx, TEMPLATES, {}), {})


def _torch(ctx: AdviceContext, p: dict) -> str:
    return (
        "from torch import nn\n\n"
        "block = nn.Sequential(\n"
        "    nn.Linear(in_features, 256, bias=False),  # the norm's shift replaces the bias\n"
        "    nn.BatchNorm1d(256),\n"
        "    nn.ReLU(),\n"
        ")\n"
    )


TEMPLATES = {"keras": lambda ctx, p: SNIPPET, "lightning": _torch, "pytorch": _torch}

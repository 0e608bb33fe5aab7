"""``normalize-inputs``: standardise the inputs, for a run that diverged.

Inputs on a large scale (raw pixel values, features in the hundreds) make the first
layer's gradients large and a rate that suits unit-scale inputs blow up. Standardising
each feature with statistics of the *training* set (mean 0, std 1) is the first fix
before touching the rate. It does not apply to a Hugging Face Trainer run: tokens are
embedded, and image/audio processors already normalise.

Example:
    >>> "Normalization" in SNIPPET
    True
"""

from __future__ import annotations

from loganalyzer.advice._common import AdviceContext, because, pick
from loganalyzer.findings import Advice

ACTION = "normalize-inputs"

SNIPPET = (
    "import keras\n\n"
    "norm = keras.layers.Normalization(axis=-1)\n"
    "norm.adapt(x_train)  # mean and variance of the training inputs, per feature\n"
    "inputs = keras.Input(shape=x_train.shape[1:])\n"
    "x = norm(inputs)  # the model sees standardised inputs, at training and inference\n"
)


def applies(ctx: AdviceContext) -> bool:
    return ctx.framework != "hf"


def build(ctx: AdviceContext) -> Advice:
    summary = (
        "Standardise the inputs (mean 0, std 1 per feature, from the training set): inputs "
        "on a large scale make gradients large and the rate blow up. " + because(ctx)
    )
    return Advice(ACTION, 0, ctx.rules, summary, pick(ctx, TEMPLATES, {}), {})


def _torch(ctx: AdviceContext, p: dict) -> str:
    return (
        "mean = x_train.mean(dim=0)\n"
        "std = x_train.std(dim=0).clamp_min(1e-8)\n"
        "x_train = (x_train - mean) / std\n"
        "x_val = (x_val - mean) / std  # the training set's statistics, also at inference\n"
    )


TEMPLATES = {"keras": lambda ctx, p: SNIPPET, "lightning": _torch, "pytorch": _torch}

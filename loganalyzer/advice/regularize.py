"""``regularize``: a weight penalty whose strength grows with the gap.

Keras: an L2 kernel penalty starting at ``1e-4 * 10**s`` (rounded to one digit), where
``s`` in [0, 1] is :func:`~loganalyzer.advice._common.gap_severity` (Prechelt's
generalization loss / 100 when the run overfits). ``1e-4`` is the customary starting
weight decay for Dense/Conv kernels (ResNet and most Keras examples use 1e-4 to 5e-4);
a validation loss that ended twice its best calls for the strong end, ``1e-3``, beyond
which an L2 penalty usually costs training fit before it buys generalization.

Hugging Face Trainer, Lightning and PyTorch models train with AdamW, whose decoupled
``weight_decay`` works on another scale: ``0.01 * 10**s``, i.e. 0.01 (the customary
value for fine-tuning) up to 0.1. With SGD (when the log names it) decay is coupled
again and the Keras scale applies. Tune from there by factors of about 3.

Example:
    >>> starting_factor(0.0), starting_factor(0.5), starting_factor(1.0)
    (0.0001, 0.0003, 0.001)
    >>> decoupled_decay(0.0), decoupled_decay(1.0)
    (0.01, 0.1)
"""

from __future__ import annotations

from loganalyzer.advice._common import (
    AdviceContext,
    because,
    fmt,
    gap_severity,
    literal,
    nice,
    pick,
)
from loganalyzer.advice._frameworks import hf_args, known
from loganalyzer.findings import Advice

ACTION = "regularize"


def starting_factor(severity: float) -> float:
    """``1e-4`` for no gap, up to ``1e-3`` for a validation loss that doubled."""
    return nice(1e-4 * 10 ** max(0.0, min(1.0, severity)), 1)


def decoupled_decay(severity: float) -> float:
    """AdamW ``weight_decay``: 0.01 for no gap, up to 0.1."""
    return nice(0.01 * 10 ** max(0.0, min(1.0, severity)), 1)


def build(ctx: AdviceContext) -> Advice:
    s = gap_severity(ctx)
    f = ctx.first("overfitting")
    gl = f.evidence.get("gl") if f is not None else None
    basis = (
        f"the validation loss ended {gl:.0f}% above its best (GL)"
        if isinstance(gl, (int, float))
        else f"a relative train/validation gap of {fmt(s)}"
    )
    sgd = known(ctx, ("SGD",)) is not None
    if ctx.framework == "keras" or sgd:
        factor = starting_factor(s)
        params = {"kind": "l2", "factor": factor}
        what = (
            f"Add an L2 penalty to the Dense/Conv kernels, starting at {literal(factor)}: "
            f"1e-4 scaled up to 10× as {basis}; tune by factors of 3. "
        )
        if ctx.framework != "keras":
            params = {"kind": "weight_decay", "weight_decay": factor}
            what = f"Set weight_decay={literal(factor)} on SGD: 1e-4 scaled up to 10× as {basis}. "
    else:
        decay = decoupled_decay(s)
        params = {"kind": "weight_decay", "weight_decay": decay}
        what = (
            f"Set AdamW's weight_decay to {literal(decay)}: 0.01 (the usual fine-tuning "
            f"value) scaled up to 10× as {basis}; tune by factors of 3. "
        )
    return Advice(ACTION, 0, ctx.rules, what + because(ctx), pick(ctx, TEMPLATES, params), params)


def _keras(ctx: AdviceContext, p: dict) -> str:
    return (
        "import keras\n\n"
        f"l2 = keras.regularizers.L2({literal(p['factor'])})\n"
        'dense = keras.layers.Dense(256, activation="relu", kernel_regularizer=l2)\n'
        'conv = keras.layers.Conv2D(64, 3, activation="relu", kernel_regularizer=l2)\n'
    )


def _hf(ctx: AdviceContext, p: dict) -> str:
    return "from transformers import TrainingArguments\n\n" + hf_args(
        {"weight_decay": p["weight_decay"]}, {"weight_decay": "AdamW's decoupled decay"}
    )


def _torch_optimizer(ctx: AdviceContext, p: dict, params: str) -> str:
    opt = "SGD" if known(ctx, ("SGD",)) else "AdamW"
    return (
        f"torch.optim.{opt}({params}, lr=LEARNING_RATE, weight_decay={literal(p['weight_decay'])})"
    )


def _lightning(ctx: AdviceContext, p: dict) -> str:
    return (
        "import torch\n\n"
        "# in your LightningModule\n"
        "def configure_optimizers(self):\n"
        f"    return {_torch_optimizer(ctx, p, 'self.parameters()')}\n"
    )


def _pytorch(ctx: AdviceContext, p: dict) -> str:
    return f"import torch\n\noptimizer = {_torch_optimizer(ctx, p, 'model.parameters()')}\n"


TEMPLATES = {"keras": _keras, "hf": _hf, "lightning": _lightning, "pytorch": _pytorch}

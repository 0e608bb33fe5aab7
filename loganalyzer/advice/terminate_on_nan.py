"""``terminate-on-nan``: stop at the first non-finite loss instead of training on garbage.

Once the loss is NaN the weights are too, and every later epoch or step only burns
compute (and can overwrite a good checkpoint). Keras has ``TerminateOnNaN``; the
Trainer stops through a small callback; a Lightning module or a plain loop checks
``torch.isfinite(loss)``.

Example:
    >>> "TerminateOnNaN" in SNIPPET
    True
"""

from __future__ import annotations

import numpy as np

from loganalyzer.advice._common import AdviceContext, because, fmt, pick
from loganalyzer.findings import Advice

ACTION = "terminate-on-nan"

SNIPPET = (
    "import keras\n\n"
    "model.fit(\n"
    "    x_train,\n"
    "    y_train,\n"
    "    validation_data=(x_val, y_val),\n"
    "    callbacks=[keras.callbacks.TerminateOnNaN()],\n"
    ")\n"
)


def applies(ctx: AdviceContext) -> bool:
    """Only where a loss turned non-finite (an inf gradient norm alone is fp16's loss
    scaler doing its job: it skips that step)."""
    for name in (ctx.run.train_loss, ctx.run.val_loss):
        s = ctx.run.series(name)
        if s is not None and not np.isfinite(s.to_numpy(dtype=float)).all():
            return True
    return False


def build(ctx: AdviceContext) -> Advice:
    div = next((f for f in ctx.findings if f.kind == "divergence"), None)
    first = div.evidence.get("first_nonfinite_index") if div is not None else None
    wasted = ""
    if isinstance(first, (int, float)):
        last = ctx.run.metrics.index[-1]
        wasted = (
            f": the loss turned non-finite at {ctx.index} {fmt(first)} and the run went on "
            f"to {ctx.index} {fmt(last)}"
        )
    summary = (
        f"Stop training at the first non-finite loss{wasted}; weights that produced a NaN "
        "are garbage and every later update wastes compute. " + because(ctx)
    )
    return Advice(ACTION, 0, ctx.rules, summary, pick(ctx, TEMPLATES, {}), {})


def _hf(ctx: AdviceContext, p: dict) -> str:
    return (
        "import math\n\n"
        "from transformers import TrainerCallback\n\n\n"
        "class StopOnNonFiniteLoss(TrainerCallback):\n"
        "    def on_log(self, args, state, control, logs=None, **kwargs):\n"
        '        if logs and not math.isfinite(logs.get("loss", 0.0)):\n'
        "            control.should_training_stop = True\n\n\n"
        "trainer.add_callback(StopOnNonFiniteLoss())\n"
    )


def _lightning(ctx: AdviceContext, p: dict) -> str:
    return (
        "import torch\n\n"
        "# in your LightningModule\n"
        "def training_step(self, batch, batch_idx):\n"
        "    loss = self.compute_loss(batch)\n"
        "    if not torch.isfinite(loss):\n"
        "        self.trainer.should_stop = True  # stop at the first NaN/inf loss\n"
        "    return loss\n"
    )


def _pytorch(ctx: AdviceContext, p: dict) -> str:
    return (
        "import torch\n\n"
        "loss = loss_fn(model(x), y)\n"
        "if not torch.isfinite(loss):\n"
        '    raise FloatingPointError(f"non-finite loss at step {step}")\n'
    )


TEMPLATES = {
    "keras": lambda ctx, p: SNIPPET,
    "hf": _hf,
    "lightning": _lightning,
    "pytorch": _pytorch,
}

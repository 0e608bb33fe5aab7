"""``grow``: more capacity, for a model that under-fits.

The mirror of ``shrink``. How far the training loss fell before it flattened says
how much capacity is missing: a loss that lost at least half of its starting level
learned the easy part and needs a wider model (``factor`` 2, the usual first step
of a capacity search); one that lost less than half captures little of the target
(``factor`` 4). A loss stuck at a chance level ln(k) learned nothing from its
inputs: capacity is not the cause, so no ``grow`` advice (``check-data`` is). Nor
for a loss stuck after a blow-up at its start (the rate was too high: ``lower-lr``,
see :func:`loganalyzer.advice.context.collapse`). A loss that crawls keeps this
advice, after ``raise-lr``: a slow rate and a small model can look alike.

For a Hugging Face Trainer fine-tune the capacity that can grow is the adapter's: the
LoRA rank times the same factor, on all linear layers.

Example:
    >>> grow_factor(start=1.67, final=0.32), grow_factor(start=1.0, final=0.8)
    (2.0, 4.0)
"""

from __future__ import annotations

from loganalyzer.advice._common import (
    AdviceContext,
    because,
    finite_series,
    fmt,
    literal,
    pick,
)
from loganalyzer.advice._frameworks import lora
from loganalyzer.findings import Advice

ACTION = "grow"


def grow_factor(start: float, final: float) -> float:
    """Width multiplier from the training loss at the start and where it flattened."""
    if start > 0 and final <= 0.5 * start:
        return 2.0
    return 4.0


def applies(ctx: AdviceContext) -> bool:
    """Not at a chance level (a model that learned nothing is not too small), nor after
    a blow-up at the start (the rate wrecked the model)."""
    c = ctx.context
    return c.chance is None and not c.lr_zero and c.collapse is None


def build(ctx: AdviceContext) -> Advice | None:
    under = ctx.first("underfitting")
    if under is not None and under.evidence.get("chance_level") is not None:
        return None
    run = ctx.run
    _, y = finite_series(run, run.train_loss)
    final = under.evidence.get("final_train_loss") if under is not None else None
    start = float(y[0]) if len(y) else 0.0
    if under is not None and under.evidence.get("start_train_loss") is not None:
        start = float(under.evidence["start_train_loss"])  # the number the finding quotes
    if final is None:
        final = float(y[-1]) if len(y) else 0.0
    factor = grow_factor(start, float(final))
    began = f" (it began at {fmt(start)})" if start > 0 else ""
    why = (
        f"the training loss flattened at {fmt(final)}{began}, so the model cannot fit its "
        "own training data. "
    )
    if ctx.framework == "hf":
        summary = (
            f"Give the fine-tune more capacity: a LoRA rank {factor:g}x yours (r 16 → "
            f"{round(16 * factor)}) on all linear layers, or a larger checkpoint: " + why
        )
    else:
        layer = "Linear" if ctx.framework in ("lightning", "pytorch") else "Dense"
        summary = (
            f"Grow the model: {factor:g}x the units/filters in each hidden layer (e.g. "
            f"{layer} 64 → {round(64 * factor)}, Conv2D 32 → {round(32 * factor)}), or add a "
            "hidden layer, and weaken any L2 or dropout: " + why
        )
    code = pick(ctx, TEMPLATES, {"factor": factor})
    return Advice(ACTION, 0, ctx.rules, summary + because(ctx), code, {"factor": factor})


def _keras(ctx: AdviceContext, p: dict) -> str:
    factor = p["factor"]
    return (
        "import keras\n\n"
        f"grow = {literal(factor)}  # units/filters per hidden layer, times\n"
        f'dense = keras.layers.Dense(round(64 * grow), activation="relu")'
        f"  # 64 -> {round(64 * factor)}\n"
        f'conv = keras.layers.Conv2D(round(32 * grow), 3, activation="relu")'
        f"  # 32 -> {round(32 * factor)}\n"
    )


def _hf(ctx: AdviceContext, p: dict) -> str:
    r = round(16 * p["factor"])
    return lora(r, f"rank 16 -> {r}")


def _torch(ctx: AdviceContext, p: dict) -> str:
    factor = p["factor"]
    return (
        "from torch import nn\n\n"
        f"hidden = round(64 * {literal(factor)})  # 64 -> {round(64 * factor)}\n"
        "model = nn.Sequential(\n"
        "    nn.Linear(in_features, hidden),\n"
        "    nn.ReLU(),\n"
        "    nn.Linear(hidden, hidden),\n"
        "    nn.ReLU(),\n"
        "    nn.Linear(hidden, num_outputs),\n"
        ")\n"
    )


TEMPLATES = {"keras": _keras, "hf": _hf, "lightning": _torch, "pytorch": _torch}

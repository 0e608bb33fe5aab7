"""``grow``: more units or filters per hidden layer, for a model that under-fits.

The mirror of ``shrink``. How far the training loss fell before it flattened says
how much capacity is missing: a loss that lost at least half of its starting level
learned the easy part and needs a wider model (``factor`` 2, the usual first step
of a capacity search); one that lost less than half captures little of the target
(``factor`` 4). A loss stuck at a chance level ln(k) learned nothing from its
inputs: capacity is not the cause, so no ``grow`` advice (``check-data`` is).

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
)
from loganalyzer.findings import Advice

ACTION = "grow"


def grow_factor(start: float, final: float) -> float:
    """Width multiplier from the training loss at the start and where it flattened."""
    if start > 0 and final <= 0.5 * start:
        return 2.0
    return 4.0


def build(ctx: AdviceContext) -> Advice | None:
    under = ctx.first("underfitting")
    if under is not None and under.evidence.get("chance_level") is not None:
        return None
    run = ctx.run
    _, y = finite_series(run, run.train_loss)
    final = under.evidence.get("final_train_loss") if under is not None else None
    start = float(y[0]) if len(y) else 0.0
    if final is None:
        final = float(y[-1]) if len(y) else 0.0
    factor = grow_factor(start, float(final))
    began = f" (it began at {fmt(start)})" if start > 0 else ""
    summary = (
        f"Grow the model: {factor:g}x the units/filters in each hidden layer (e.g. Dense "
        f"64 → {round(64 * factor)}, Conv2D 32 → {round(32 * factor)}), or add a hidden "
        f"layer, and weaken any L2 or dropout: the training loss flattened at "
        f"{fmt(final)}{began}, so the model cannot fit its own training data. " + because(ctx)
    )
    code = (
        "import keras\n\n"
        f"grow = {literal(factor)}  # units/filters per hidden layer, times\n"
        f'dense = keras.layers.Dense(round(64 * grow), activation="relu")'
        f"  # 64 -> {round(64 * factor)}\n"
        f'conv = keras.layers.Conv2D(round(32 * grow), 3, activation="relu")'
        f"  # 32 -> {round(32 * factor)}\n"
    )
    return Advice(ACTION, 0, ctx.rules, summary, code, {"factor": factor})

"""``lower-lr``: a smaller learning rate, by a factor sized by what went wrong.

- divergence (a non-finite or exploding loss): ``factor = 0.1``, an order of
  magnitude, because a rate that blew up once will usually blow up again at half;
- noisy training: ``factor = 1 / noise_to_trend`` clipped to [0.1, 0.5] (two
  significant digits), because SGD's loss fluctuation around the trend grows roughly in
  proportion to the rate, so dividing the rate by the noise-to-trend ratio brings
  the noise down to the size of the trend;
- anything else (spikes): ``factor = 0.5``.

The new ``learning_rate`` is the logged rate where the problem starts (or the
largest logged rate) times the factor; without a logged rate only the factor is given.

Example:
    >>> factor_for_noise(5.0), factor_for_noise(1.5), factor_for_noise(40.0)
    (0.2, 0.5, 0.1)
"""

from __future__ import annotations

import math

from loganalyzer.advice._common import (
    AdviceContext,
    because,
    fmt,
    learning_rate_at,
    literal,
    nice,
)
from loganalyzer.findings import Advice

ACTION = "lower-lr"


def factor_for_noise(noise_to_trend: float) -> float:
    """``1 / noise_to_trend`` clipped to [0.1, 0.5], two significant digits."""
    if not math.isfinite(noise_to_trend) or noise_to_trend <= 0:
        return 0.5
    return nice(min(0.5, max(0.1, 1.0 / noise_to_trend)))


def _factor_and_lr(ctx: AdviceContext) -> tuple[float, float | None, str]:
    kinds = {f.kind: f for f in ctx.findings}
    if "divergence" in kinds:
        f = kinds["divergence"]
        lr = f.evidence.get("learning_rate")
        if not isinstance(lr, (int, float)) or not math.isfinite(lr):
            lr = learning_rate_at(ctx.run, f.start)
        return 0.1, lr, "the loss diverged"
    if "noisy" in kinds:
        f = kinds["noisy"]
        ratio = f.evidence.get("noise_to_trend")
        factor = factor_for_noise(float(ratio)) if isinstance(ratio, (int, float)) else 0.5
        lr = f.evidence.get("learning_rate")
        if not isinstance(lr, (int, float)) or not math.isfinite(lr):
            lr = learning_rate_at(ctx.run, None)
        why = (
            f"epoch-to-epoch noise is {fmt(ratio)}× the trend"
            if isinstance(ratio, (int, float))
            else "training is noisy"
        )
        return factor, lr, why
    start = ctx.findings[0].start if ctx.findings else None
    return 0.5, learning_rate_at(ctx.run, start), "the loss jumps"


def build(ctx: AdviceContext) -> Advice:
    factor, lr, why = _factor_and_lr(ctx)
    params: dict = {"factor": factor}
    if lr is not None and lr > 0:
        new_lr = nice(lr * factor)
        params["learning_rate"] = new_lr
        summary = (
            f"Lower the learning rate {fmt(lr)} → {literal(new_lr)} (×{literal(factor)}) "
            f"because {why}. "
        )
        code = (
            "import keras\n\n"
            f"# was {literal(nice(lr, 3))} in this log; keep your optimizer, change only the rate\n"
            f"optimizer = keras.optimizers.Adam(learning_rate={literal(new_lr)})\n"
            "model.compile(optimizer=optimizer, loss=loss, metrics=metrics)\n"
        )
    else:
        summary = (
            f"Lower the learning rate to {literal(factor)}× its current value because "
            f"{why} (the log has no learning rate). "
        )
        code = (
            "import keras\n\n"
            "old_lr = float(model.optimizer.learning_rate)\n"
            f"optimizer = keras.optimizers.Adam(learning_rate=old_lr * {literal(factor)})\n"
            "model.compile(optimizer=optimizer, loss=loss, metrics=metrics)\n"
        )
    return Advice(ACTION, 0, ctx.rules, summary + because(ctx), code, params)

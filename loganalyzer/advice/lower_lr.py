"""``lower-lr``: a smaller learning rate, by a factor sized by what went wrong.

- divergence (a non-finite or exploding loss): ``factor = 0.1``, an order of
  magnitude, because a rate that blew up once will usually blow up again at half;
- noisy training: ``factor = 1 / noise_to_trend`` clipped to [0.1, 0.5] (two
  significant digits), because SGD's loss fluctuation around the trend grows roughly in
  proportion to the rate, so dividing the rate by the noise-to-trend ratio brings
  the noise down to the size of the trend;
- a **collapse** (:func:`loganalyzer.advice.context.collapse`: the loss blew up in its
  first epoch to 10x the level it then stuck at): ``factor = 0.1`` like a divergence,
  and the action comes **first** (priority 0), called for by every warning of the run
  (:func:`loganalyzer.advice.advise`): the flat, "under-fitting" loss or the drifting
  validation loss after such a blow-up is a model wrecked by its rate, which neither
  more capacity, a schedule for a plateau nor early stopping repairs;
- anything else (spikes): ``factor = 0.5``.

Which rate the factor applies to depends on the logged schedule
(:func:`loganalyzer.advice.context.schedule`): the **configured** rate, i.e. the peak of a
warm-up or the start of a decay, for every schedule that has one, so the advice is the
same whatever step the detector tripped at (and from seed to seed); for a rate that
rises with no ceiling (a warm-up that never stops), the rate at which the loss blew up.
A blow-up during a warm-up also gets a warm-up twice as long. Without a logged rate
only the factor is given. At a rate of 0 this action does not apply (``fix-lr`` does).

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
from loganalyzer.advice._frameworks import hf_args, set_lr
from loganalyzer.findings import Advice

ACTION = "lower-lr"


def factor_for_noise(noise_to_trend: float) -> float:
    """``1 / noise_to_trend`` clipped to [0.1, 0.5], two significant digits."""
    if not math.isfinite(noise_to_trend) or noise_to_trend <= 0:
        return 0.5
    return nice(min(0.5, max(0.1, 1.0 / noise_to_trend)))


def applies(ctx: AdviceContext) -> bool:
    """Not at a learning rate of 0: there is nothing to lower."""
    return not ctx.context.lr_zero


def _tripped_at(ctx: AdviceContext, f) -> float | None:
    lr = f.evidence.get("learning_rate")
    if isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0:
        return float(lr)
    return learning_rate_at(ctx.run, f.start)


def _factor_and_why(ctx: AdviceContext) -> tuple[float, str, object]:
    kinds: dict = {}
    for f in ctx.findings:  # the first of each kind: the most severe, then the training loss
        kinds.setdefault(f.kind, f)
    if "divergence" in kinds:
        return 0.1, "the loss diverged", kinds["divergence"]
    c = ctx.context.collapse
    if c is not None:
        why = (
            f"the training loss blew up to {fmt(c.peak)} at {ctx.index} {fmt(c.at)} "
            f"({fmt(round(c.ratio))}x the level {fmt(c.level)} it then stuck at) and never "
            "learned after it: the rate wrecked the model"
        )
        return 0.1, why, ctx.findings[0] if ctx.findings else None
    if "noisy" in kinds:
        f = kinds["noisy"]
        ratio = f.evidence.get("noise_to_trend")
        if isinstance(ratio, (int, float)):
            return factor_for_noise(float(ratio)), f"the noise is {fmt(ratio)}× the trend", f
        return 0.5, "training is noisy", f
    f = ctx.findings[0] if ctx.findings else None
    return 0.5, "the loss jumps", f


def build(ctx: AdviceContext) -> Advice:
    factor, why, f = _factor_and_why(ctx)
    if ctx.context.collapse is not None:
        ctx.priority = 0  # the cause: before any remedy for the flat loss it left
    sched = ctx.context.schedule
    unit = ctx.index
    params: dict = {"factor": factor}
    tripped = _tripped_at(ctx, f) if f is not None else None
    warmup_steps = None
    if sched.kind == "none":
        summary = (
            f"Lower the learning rate to {literal(factor)}× its current value because "
            f"{why} (the log has no learning rate). "
        )
        code = _relative(ctx, factor)
        return Advice(ACTION, 0, ctx.rules, summary + because(ctx), code, params)
    if sched.kind == "rising":
        base = tripped or sched.end
        head = (
            f"The rate rises with no ceiling ({fmt(sched.start)} → {fmt(sched.end)}) and "
            f"{why} at {fmt(base)}: cap it at"
        )
    else:
        base = sched.peak
        head = f"Lower the configured rate (the schedule is {sched.describe(unit)}) from"
        if sched.kind == "warmup" and tripped is not None and f is not None and f.start is not None:
            if isinstance(sched.peak_at, (int, float)) and float(f.start) <= float(sched.peak_at):
                warmup_steps = int(2 * float(sched.peak_at))
                peak = fmt(nice(sched.peak, 3))
                if f.kind == "noisy":  # a noisy curve did not blow up: say what was found
                    head = (
                        f"Training is noisy from the warm-up on ({unit} {fmt(f.start)}; the "
                        f"rate rises to its peak {peak} at {unit} {fmt(sched.peak_at)}): "
                        "lower the peak from"
                    )
                else:
                    head = (
                        f"The loss blew up during the warm-up ({unit} {fmt(f.start)}, rate "
                        f"{fmt(nice(tripped, 3))} on its way to the peak {peak}): "
                        "lower the peak from"
                    )
    new_lr = nice(base * factor)
    params["learning_rate"] = new_lr
    if sched.kind == "rising":
        summary = f"{head} {literal(new_lr)} (×{literal(factor)}). "
    else:
        summary = (
            f"{head} {fmt(nice(base, 3))} to {literal(new_lr)} (×{literal(factor)}) because {why}. "
        )
    if warmup_steps:
        params["warmup_steps"] = warmup_steps
        summary += (
            f"Warm up twice as long ({warmup_steps} {unit}s instead of {fmt(sched.peak_at)}). "
        )
    if ctx.framework == "hf" and warmup_steps:
        code = "from transformers import TrainingArguments\n\n" + hf_args(
            {"learning_rate": new_lr, "warmup_steps": warmup_steps},
            {"learning_rate": f"peak; was {literal(nice(base, 3))} in this log"},
        )
    else:
        code = set_lr(ctx, new_lr, nice(base, 3))
    return Advice(ACTION, 0, ctx.rules, summary + because(ctx), code, params)


def _relative(ctx: AdviceContext, factor: float) -> str:
    fw = ctx.framework
    if fw == "hf":
        return (
            "from transformers import TrainingArguments\n\n"
            f"# learning_rate = {literal(factor)} x the one you use now\n"
            + hf_args({"learning_rate": "__LR__"}).replace(
                '"__LR__"', f"{literal(factor)} * LEARNING_RATE"
            )
        )
    if fw in ("lightning", "pytorch"):
        where = "self.optimizers()" if fw == "lightning" else "optimizer"
        return (
            f"for group in {where}.param_groups:  # keep your optimizer\n"
            f'    group["lr"] *= {literal(factor)}\n'
        )
    return (
        "# keep your optimizer, change only its rate (after model.compile)\n"
        "old_lr = float(model.optimizer.learning_rate)\n"
        f"model.optimizer.learning_rate = old_lr * {literal(factor)}\n"
    )

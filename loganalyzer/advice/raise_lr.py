"""``raise-lr``: a larger learning rate, when the run moved far too slowly.

Two situations call for it, and the run's context decides (the action does not apply
otherwise, whatever finding calls for it):

- the loss falls **steadily but far too slowly**
  (:func:`loganalyzer.detectors._curves.steady_but_slow`): a significant fall over the
  whole run (one-sided Mann-Kendall p < 0.01) that is not slowing down (the second half
  falls at least half as fast as the first) and still removed less than a fifth of the
  loss: ``factor = 3`` (half a decade, one step of a learning-rate range test);
- the loss is **stuck at chance level with a tiny rate** (below 1e-5, 1e-6 for a
  Trainer fine-tune): ``factor = 10``.

The new rate is the configured (peak) rate times the factor; without a logged rate
only the factor is given. A steady crawl comes **first** (priority 0): the loss shows
the model is still learning, only slowly, so neither a bigger model (``grow`` does not
apply to it) nor a schedule for a plateau is the first thing to try. After a collapse
(a blow-up at the start, see :func:`loganalyzer.advice.context.collapse`) it never
applies: that rate was too high, not too low.

Example:
    >>> import numpy as np
    >>> steady_but_slow(np.linspace(1.0, 0.9, 30)), steady_but_slow(np.exp(-np.arange(30)))
    (True, False)
"""

from __future__ import annotations

from loganalyzer.advice._common import AdviceContext, because, finite_series, fmt, literal, nice
from loganalyzer.advice._frameworks import set_lr
from loganalyzer.advice.lower_lr import _relative
from loganalyzer.detectors._curves import steady_but_slow
from loganalyzer.findings import Advice

ACTION = "raise-lr"
_BLOCKERS = ("divergence", "noisy", "loss-spike", "gradient-norm", "overfitting")


def crawls(ctx: AdviceContext) -> bool:
    """Does the run's training loss fall steadily but far too slowly (:func:`steady_but_slow`)?"""
    _, y = finite_series(ctx.run, ctx.run.train_loss)
    return steady_but_slow(y)


def _tiny(ctx: AdviceContext) -> bool:
    peak = ctx.context.schedule.peak
    limit = 1e-6 if ctx.framework == "hf" else 1e-5
    return peak is not None and 0 < peak < limit


def _situation(ctx: AdviceContext) -> str | None:
    c = ctx.context
    if c.lr_zero or c.collapse is not None or any(ctx.has(k) for k in _BLOCKERS):
        return None
    if c.chance is not None:
        return "chance" if _tiny(ctx) else None
    return "slow" if crawls(ctx) else None


def applies(ctx: AdviceContext) -> bool:
    return _situation(ctx) is not None


def build(ctx: AdviceContext) -> Advice:
    situation = _situation(ctx) or "slow"
    if situation == "slow":
        ctx.priority = 0  # a crawl: the cause of the flat-looking loss, before its remedies
    factor = 10.0 if situation == "chance" else 3.0
    peak = ctx.context.schedule.peak
    if situation == "chance":
        c = ctx.context.chance
        why = (
            f"the loss sits at the chance level ln({c.classes}) = {fmt(c.level)} with a "
            f"rate of only {fmt(peak)}"
        )
    else:
        _, y = finite_series(ctx.run, ctx.run.train_loss)
        why = (
            f"the training loss falls steadily but far too slowly ({fmt(y[0])} → {fmt(y[-1])}, "
            "not slowing down)"
        )
    params: dict = {"factor": factor}
    if peak:
        new_lr = nice(peak * factor)
        params["learning_rate"] = new_lr
        summary = (
            f"Raise the learning rate {fmt(peak)} → {literal(new_lr)} (×{literal(factor)}): "
            f"{why}; a short learning-rate range test finds the best value. "
        )
        code = set_lr(ctx, new_lr, nice(peak, 3))
    else:
        summary = (
            f"Raise the learning rate ×{literal(factor)}: {why} (the log has no learning "
            "rate); a short learning-rate range test finds the best value. "
        )
        code = _relative(ctx, factor)
    return Advice(ACTION, 0, ctx.rules, summary + because(ctx), code, params)

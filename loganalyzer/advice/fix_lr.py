"""``fix-lr``: a learning rate of 0 at every logged point: nothing was trained.

The weights never changed; the loss only moves with the batches it is measured on. No
schedule or patience can help, so this replaces every other learning-rate advice.
The usual causes are a rate of 0 in the configuration, a warm-up longer than the run,
or a scheduler (a ``LambdaLR``) that returns 0. The rate to start from is the
framework's default for the optimizer: the Trainer's ``learning_rate`` default 5e-5
(LoRA fine-tunes often use about 2e-4), Adam/AdamW's 1e-3, SGD's 0.01.

Example:
    >>> from loganalyzer.analysis import to_run
    >>> run = to_run({"loss": [1.0, 1.01, 0.99, 1.0, 1.02], "learning_rate": [0.0] * 5})
    >>> build(AdviceContext(run, ACTION, [], [])).params
    {'learning_rate': 0.001}
"""

from __future__ import annotations

from loganalyzer.advice._common import AdviceContext, because, fmt, literal
from loganalyzer.advice._frameworks import set_lr
from loganalyzer.findings import Advice

ACTION = "fix-lr"


def applies(ctx: AdviceContext) -> bool:
    return ctx.context.lr_zero


def default_rate(ctx: AdviceContext) -> float:
    """A working starting rate for this framework and optimizer."""
    if ctx.framework == "hf":
        return 5e-5
    opt = (ctx.context.optimizer or "").lower()
    return 0.01 if opt == "sgd" else 1e-3


def build(ctx: AdviceContext) -> Advice:
    lr = default_rate(ctx)
    idx = ctx.run.series(ctx.run.learning_rate)
    where = f" ({ctx.index}s {fmt(idx.index[0])}–{fmt(idx.index[-1])})" if idx is not None else ""
    usual = "; LoRA fine-tunes often use about 2e-4" if ctx.framework == "hf" else ""
    summary = (
        f"Fix the learning rate: it is 0 at every logged point{where}, so the weights never "
        "changed and the loss only moves with the batches. Check the configured rate, a "
        "warm-up longer than the run, or a scheduler that returns 0; start from "
        f"{literal(lr)} ({ctx.label}'s usual default{usual}). "
    )
    code = set_lr(ctx, lr, 0.0, why="0 trains nothing")
    return Advice(ACTION, 0, ctx.rules, summary + because(ctx), code, {"learning_rate": lr})

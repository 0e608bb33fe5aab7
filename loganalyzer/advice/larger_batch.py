"""``larger-batch``: average the gradient over more examples, for a noisy run.

The noise of a minibatch gradient falls as ``1 / sqrt(batch size)``: a batch 4x larger
halves it. The multiplier is 4 when the curve's noise is at least its trend
(``noise_to_trend >= 1``), else 2. Where memory is the limit, gradient accumulation
gives the same effective batch (``gradient_accumulation_steps`` in the Trainer,
``accumulate_grad_batches`` in Lightning). With SGD the rate usually scales with the
batch (linear scaling), with Adam roughly with its square root.

Example:
    >>> batch_factor(0.4), batch_factor(2.5)
    (2, 4)
"""

from __future__ import annotations

from loganalyzer.advice._common import AdviceContext, because, fmt, pick
from loganalyzer.advice._frameworks import hf_args
from loganalyzer.findings import Advice

ACTION = "larger-batch"


def batch_factor(noise_to_trend: float | None) -> int:
    return 4 if isinstance(noise_to_trend, (int, float)) and noise_to_trend >= 1 else 2


def build(ctx: AdviceContext) -> Advice:
    noisy = next((f for f in ctx.findings if f.kind == "noisy"), None)
    ratio = noisy.evidence.get("noise_to_trend") if noisy is not None else None
    k = batch_factor(ratio)
    what = (
        f"the noise is {fmt(ratio)}× the trend"
        if isinstance(ratio, (int, float))
        else "training is noisy"
    )
    summary = (
        f"Use a {k}x larger batch (or accumulate {k} batches per update): {what}, and the "
        f"gradient noise falls as 1/√batch ({k}x → {fmt(round(k**0.5, 2))}x less). Scale the "
        f"rate with it: ×{k} for SGD, ×{fmt(round(k**0.5, 2))} for Adam. "
    )
    return Advice(
        ACTION, 0, ctx.rules, summary + because(ctx), pick(ctx, TEMPLATES, {"k": k}), {"factor": k}
    )


def _keras(ctx: AdviceContext, p: dict) -> str:
    return (
        "model.fit(\n"
        "    x_train,\n"
        "    y_train,\n"
        f"    batch_size={p['k']} * BATCH_SIZE,  # the batch size you use now, times {p['k']}\n"
        "    validation_data=(x_val, y_val),\n"
        ")\n"
    )


def _hf(ctx: AdviceContext, p: dict) -> str:
    return "from transformers import TrainingArguments\n\n" + hf_args(
        {"gradient_accumulation_steps": p["k"]},
        {"gradient_accumulation_steps": f"{p['k']}x the effective batch, same memory"},
    )


def _lightning(ctx: AdviceContext, p: dict) -> str:
    return (
        "import lightning as L\n\n"
        f"trainer = L.Trainer(accumulate_grad_batches={p['k']})  # {p['k']}x the effective batch\n"
    )


def _pytorch(ctx: AdviceContext, p: dict) -> str:
    return (
        "from torch.utils.data import DataLoader\n\n"
        f"train_loader = DataLoader(train_set, batch_size={p['k']} * BATCH_SIZE, shuffle=True)\n"
    )


TEMPLATES = {"keras": _keras, "hf": _hf, "lightning": _lightning, "pytorch": _pytorch}

"""``shrink``: less capacity to memorise with.

Keep 75 % of the units when the gap is moderate (severity below 0.5, see
:func:`~loganalyzer.advice._common.gap_severity`) and 50 % when the validation loss
rose by half its best or more: halving the width is the usual first step of a
capacity search, and a smaller step is enough for a mild overfit.

A Hugging Face Trainer run fine-tunes a pretrained model whose layers are not the
user's to shrink: its capacity to memorise is the adapter's rank and the number of
passes over the data. The same fraction applies to the LoRA rank (``r`` 16 -> 8), and
the advice adds "fewer epochs, or more data".

Example:
    >>> keep_fraction(0.2), keep_fraction(0.8)
    (0.75, 0.5)
"""

from __future__ import annotations

from loganalyzer.advice._common import AdviceContext, because, fmt, gap_severity, literal, pick
from loganalyzer.advice._frameworks import lora
from loganalyzer.findings import Advice

ACTION = "shrink"


def keep_fraction(severity: float) -> float:
    """Fraction of units/filters kept for a gap severity in [0, 1]."""
    return 0.75 if severity < 0.5 else 0.5


def build(ctx: AdviceContext) -> Advice:
    s = gap_severity(ctx)
    keep = keep_fraction(s)
    if ctx.framework == "hf":
        summary = (
            f"Give the fine-tune less capacity to memorise: a LoRA rank of {fmt(keep * 100)}% "
            f"of yours (r 16 → {round(16 * keep)}), fewer epochs over the same data, or more "
            f"data; the gap severity is {s:.2f} of 1. "
        )
        params = {"lora_rank_factor": keep}
    else:
        layer = "Linear 256" if ctx.framework in ("lightning", "pytorch") else "Dense 256"
        summary = (
            f"Shrink the model: keep {fmt(keep * 100)}% of the units/filters in each hidden "
            f"layer (e.g. {layer} → {round(256 * keep)}, Conv2D 64 → {round(64 * keep)}), "
            f"as the gap severity is {s:.2f} of 1. "
        )
        params = {"factor": keep}
    code = pick(ctx, TEMPLATES, {"keep": keep})
    return Advice(ACTION, 0, ctx.rules, summary + because(ctx), code, params)


def _keras(ctx: AdviceContext, p: dict) -> str:
    keep = p["keep"]
    return (
        "import keras\n\n"
        f"keep = {literal(keep)}  # fraction of units/filters kept per hidden layer\n"
        f'dense = keras.layers.Dense(max(1, round(256 * keep)), activation="relu")'
        f"  # 256 -> {round(256 * keep)}\n"
        f'conv = keras.layers.Conv2D(max(1, round(64 * keep)), 3, activation="relu")'
        f"  # 64 -> {round(64 * keep)}\n"
    )


def _hf(ctx: AdviceContext, p: dict) -> str:
    r = max(1, round(16 * p["keep"]))
    return lora(r, f"rank 16 -> {r}")


def _torch(ctx: AdviceContext, p: dict) -> str:
    keep = p["keep"]
    return (
        "from torch import nn\n\n"
        f"keep = {literal(keep)}  # fraction of units kept per hidden layer\n"
        "hidden = max(1, round(256 * keep))"
        f"  # 256 -> {round(256 * keep)}\n"
        "model = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), "
        "nn.Linear(hidden, num_classes))\n"
    )


TEMPLATES = {"keras": _keras, "hf": _hf, "lightning": _torch, "pytorch": _torch}

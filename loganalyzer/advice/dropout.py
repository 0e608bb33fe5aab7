"""``dropout``: dropout after hidden layers, at a rate sized by the gap.

``rate = 0.1 + 0.4 * s`` rounded to 0.05, where ``s`` in [0, 1] is
:func:`~loganalyzer.advice._common.gap_severity`: 0.1 for a barely visible gap, up
to 0.5 (Srivastava et al.'s rate for hidden units, and the most that is usually
useful) for a validation loss that doubled from its best.

A Hugging Face Trainer run usually fine-tunes a pretrained transformer: its layers are
not the user's to rewrite, so the advice is the adapter's dropout, ``LoraConfig(
lora_dropout=...)`` at ``0.05 + 0.15 * s`` (0.05 to 0.2; PEFT examples use 0.05-0.1),
or, for a full fine-tune, the model config's own dropout.

Example:
    >>> dropout_rate(0.0), dropout_rate(0.5), dropout_rate(1.0)
    (0.1, 0.3, 0.5)
    >>> lora_dropout(0.0), lora_dropout(1.0)
    (0.05, 0.2)
"""

from __future__ import annotations

from loganalyzer.advice._common import AdviceContext, because, gap_severity, literal, pick
from loganalyzer.findings import Advice

ACTION = "dropout"


def _steps_of_005(x: float) -> float:
    return round(round(x / 0.05) * 0.05, 2)


def dropout_rate(severity: float) -> float:
    """Dropout rate for a gap severity in [0, 1]."""
    return _steps_of_005(0.1 + 0.4 * max(0.0, min(1.0, severity)))


def lora_dropout(severity: float) -> float:
    """LoRA adapter dropout for a gap severity in [0, 1]."""
    return _steps_of_005(0.05 + 0.15 * max(0.0, min(1.0, severity)))


def build(ctx: AdviceContext) -> Advice:
    s = gap_severity(ctx)
    if ctx.framework == "hf":
        rate = lora_dropout(s)
        params = {"lora_dropout": rate}
        summary = (
            f"Raise the adapter's dropout: LoraConfig(lora_dropout={literal(rate)}), from "
            f"0.05 up to 0.2 with the train/validation gap (severity {s:.2f} of 1 here); "
            "for a full fine-tune, raise the model config's dropout (e.g. "
            "hidden_dropout_prob) instead. "
        )
    else:
        rate = dropout_rate(s)
        params = {"rate": rate}
        summary = (
            f"Add Dropout({literal(rate)}) after each hidden Dense/Conv block: the rate grows "
            f"from 0.1 to 0.5 with the train/validation gap (severity {s:.2f} of 1 here). "
        )
    return Advice(
        ACTION, 0, ctx.rules, summary + because(ctx), pick(ctx, TEMPLATES, params), params
    )


def _keras(ctx: AdviceContext, p: dict) -> str:
    rate = literal(p["rate"])
    return (
        "import keras\n\n"
        "model = keras.Sequential(\n"
        "    [\n"
        '        keras.layers.Dense(256, activation="relu"),\n'
        f"        keras.layers.Dropout({rate}),\n"
        '        keras.layers.Dense(128, activation="relu"),\n'
        f"        keras.layers.Dropout({rate}),\n"
        "        keras.layers.Dense(num_classes),\n"
        "    ]\n"
        ")\n"
    )


def _hf(ctx: AdviceContext, p: dict) -> str:
    return (
        "from peft import LoraConfig, get_peft_model\n\n"
        "lora = LoraConfig(\n"
        "    r=16,  # keep your rank\n"
        "    lora_alpha=32,\n"
        f"    lora_dropout={literal(p['lora_dropout'])},\n"
        '    target_modules="all-linear",\n'
        ")\n"
        "model = get_peft_model(model, lora)\n"
    )


def _torch(ctx: AdviceContext, p: dict) -> str:
    rate = literal(p["rate"])
    return (
        "from torch import nn\n\n"
        "model = nn.Sequential(\n"
        "    nn.Linear(in_features, 256),\n"
        "    nn.ReLU(),\n"
        f"    nn.Dropout(p={rate}),\n"
        "    nn.Linear(256, 128),\n"
        "    nn.ReLU(),\n"
        f"    nn.Dropout(p={rate}),\n"
        "    nn.Linear(128, num_classes),\n"
        ")\n"
    )


TEMPLATES = {"keras": _keras, "hf": _hf, "lightning": _torch, "pytorch": _torch}

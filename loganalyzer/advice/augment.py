"""``augment``: noise on the training inputs (or image augmentation), sized by the gap.

For vector inputs, ``GaussianNoise(stddev)`` with ``stddev = 0.05 + 0.15 * s``
rounded to 0.05 (``s`` in [0, 1] from
:func:`~loganalyzer.advice._common.gap_severity`), in units of standardized inputs:
0.05 to 0.2 of a feature's standard deviation perturbs without drowning the signal.
The snippet names the image layers for image inputs (a log does not say which).

A Hugging Face Trainer run fine-tunes on tokens, where input noise is NEFTune's noise
on the embeddings (``TrainingArguments(neftune_noise_alpha=5)``, the paper's value for
instruction tuning); for image or audio models the dataset's transform augments.

Example:
    >>> noise_stddev(0.0), noise_stddev(1.0)
    (0.05, 0.2)
"""

from __future__ import annotations

from loganalyzer.advice._common import AdviceContext, because, gap_severity, literal, pick
from loganalyzer.advice._frameworks import hf_args
from loganalyzer.findings import Advice

ACTION = "augment"
NEFTUNE_ALPHA = 5.0


def noise_stddev(severity: float) -> float:
    s = max(0.0, min(1.0, severity))
    return round(round((0.05 + 0.15 * s) / 0.05) * 0.05, 2)


def build(ctx: AdviceContext) -> Advice:
    s = gap_severity(ctx)
    if ctx.framework == "hf":
        params = {"kind": "neftune", "neftune_noise_alpha": NEFTUNE_ALPHA}
        summary = (
            "Add noise to the fine-tune's inputs: for a text model, NEFTune noise on the "
            f"embeddings (neftune_noise_alpha={literal(NEFTUNE_ALPHA)}); for image or audio "
            "models, random augmentation in the dataset's transform. "
        )
    else:
        stddev = noise_stddev(s)
        params = {"kind": "gaussian-noise", "stddev": stddev}
        summary = (
            f"Augment the training inputs: Gaussian noise of std {literal(stddev)} on "
            f"standardized inputs (in training only), or random flips/rotations for images; "
            f"strength from the gap severity {s:.2f} of 1. "
        )
    return Advice(
        ACTION, 0, ctx.rules, summary + because(ctx), pick(ctx, TEMPLATES, params), params
    )


def _keras(ctx: AdviceContext, p: dict) -> str:
    return (
        "import keras\n\n"
        "inputs = keras.Input(shape=input_shape)\n"
        f"x = keras.layers.GaussianNoise({literal(p['stddev'])})(inputs)  # standardized inputs\n"
        "# images instead:\n"
        '# x = keras.layers.RandomFlip("horizontal")(inputs)\n'
        "# x = keras.layers.RandomRotation(0.05)(x)\n"
    )


def _hf(ctx: AdviceContext, p: dict) -> str:
    return "from transformers import TrainingArguments\n\n" + hf_args(
        {"neftune_noise_alpha": p["neftune_noise_alpha"]},
        {"neftune_noise_alpha": "noise on the input embeddings, training only"},
    )


def _lightning(ctx: AdviceContext, p: dict) -> str:
    return (
        "import torch\n\n"
        "# in your LightningModule (training_step only: validation stays clean)\n"
        "def training_step(self, batch, batch_idx):\n"
        "    x, y = batch\n"
        f"    x = x + {literal(p['stddev'])} * torch.randn_like(x)  # standardized inputs\n"
        "    return self.loss_fn(self(x), y)\n"
    )


def _pytorch(ctx: AdviceContext, p: dict) -> str:
    return (
        "import torch\n\n"
        "for x, y in train_loader:  # training batches only\n"
        f"    x = x + {literal(p['stddev'])} * torch.randn_like(x)  # standardized inputs\n"
        "    loss = loss_fn(model(x), y)\n"
    )


TEMPLATES = {"keras": _keras, "hf": _hf, "lightning": _lightning, "pytorch": _pytorch}

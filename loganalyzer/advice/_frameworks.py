"""Code pieces several actions share, per framework: setting a learning rate while
keeping the user's optimizer, ``TrainingArguments`` blocks, a Lightning ``Trainer``.

Every snippet is plain Python that ``ast.parse`` accepts, uses only argument names the
framework's current API has (``tests/test_advice_frameworks.py`` holds the table), and
takes every number from the run.

Example:
    >>> print(hf_args({"learning_rate": 2e-3, "warmup_steps": 50}), end="")
    args = TrainingArguments(
        output_dir="out",
        learning_rate=0.002,
        warmup_steps=50,
    )
"""

from __future__ import annotations

import json
from typing import Any

from loganalyzer.advice._common import AdviceContext, literal

#: Optimizers by the name Lightning's LearningRateMonitor writes (``lr-AdamW``): the
#: class in each framework, when it has one by that name.
KERAS_OPTIMIZERS = ("Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam")
TORCH_OPTIMIZERS = ("Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam")


def value(x: Any) -> str:
    """A Python literal for a snippet: numbers via :func:`literal`, strings quoted safely."""
    if isinstance(x, str):
        return json.dumps(x)
    if isinstance(x, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {value(v)}" for k, v in x.items()) + "}"
    return literal(x)


def comment(text: object) -> str:
    """Text from the log made safe for a ``#`` comment: one line, no control characters
    (a metric name with a newline must not become a line of code).

    Example:
        >>> comment("val/loss\\nimport os")
        'val/loss import os'
    """
    return " ".join("".join(c if c.isprintable() else " " for c in str(text)).split())


def hf_args(fields: dict, comments: dict | None = None) -> str:
    """``args = TrainingArguments(output_dir="out", ...)`` with one field per line."""
    comments = comments or {}
    lines = ["args = TrainingArguments(", '    output_dir="out",']
    for k, v in fields.items():
        note = f"  # {comment(comments[k])}" if k in comments else ""
        lines.append(f"    {k}={value(v)},{note}")
    return "\n".join(lines) + "\n)\n"


def hf_eval_fields(ctx: AdviceContext, every: int | None) -> dict:
    """Evaluation (and saving) at the log's own interval, as ``load_best_model_at_end``
    needs saving and evaluation on the same schedule."""
    if ctx.run.index == "epoch" or not every:
        return {"eval_strategy": "epoch", "save_strategy": "epoch"}
    return {
        "eval_strategy": "steps",
        "eval_steps": every,
        "save_strategy": "steps",
        "save_steps": every,
    }


def lora(rank: int, note: str) -> str:
    """A PEFT ``LoraConfig`` of ``rank`` (alpha = 2 x rank, all linear layers), applied."""
    return (
        "from peft import LoraConfig, get_peft_model\n\n"
        f'lora = LoraConfig(r={rank}, lora_alpha={2 * rank}, target_modules="all-linear")'
        f"  # {note}\n"
        "model = get_peft_model(model, lora)\n"
    )


def known(ctx: AdviceContext, names: tuple) -> str | None:
    """The optimizer the log names, when ``names`` (a framework's classes) has it."""
    opt = ctx.context.optimizer
    if opt is None:
        return None
    for n in names:
        if n.lower() == opt.lower():
            return n
    return None


def set_lr(ctx: AdviceContext, lr: float, was: float | None, *, why: str = "") -> str:
    """Code that sets the learning rate to ``lr`` and keeps the optimizer the run used."""
    was_note = f"was {literal(was)} in this log" if was is not None else "not in this log"
    note = f"  # {was_note}{'; ' + why if why else ''}"
    fw = ctx.framework
    if fw == "hf":
        return (
            "from transformers import TrainingArguments\n\n"
            "# learning_rate is the peak of the Trainer's schedule; the optimizer (optim) is kept\n"
            + hf_args({"learning_rate": lr}, {"learning_rate": note[4:]})
        )
    if fw in ("lightning", "pytorch"):
        opt = known(ctx, TORCH_OPTIMIZERS)
        if opt is not None:
            make = f"torch.optim.{opt}(self.parameters(), lr={literal(lr)}){note}"
            if fw == "pytorch":
                make = make.replace("self.parameters()", "model.parameters()")
            body = f"optimizer = {make}\n"
        else:
            body = (
                "optimizer = ...  # the optimizer you use now, created as before\n"
                "for group in optimizer.param_groups:\n"
                f'    group["lr"] = {literal(lr)}{note}\n'
            )
        if fw == "lightning":
            inner = "".join("    " + ln + "\n" for ln in body.splitlines())
            return (
                "import torch\n\n"
                "# in your LightningModule\n"
                "def configure_optimizers(self):\n" + inner + "    return optimizer\n"
            )
        return "import torch\n\n" + body
    opt = known(ctx, KERAS_OPTIMIZERS)
    if opt is not None:
        return (
            "import keras\n\n"
            f"optimizer = keras.optimizers.{opt}(learning_rate={literal(lr)}){note}\n"
            "model.compile(optimizer=optimizer, loss=loss, metrics=metrics)\n"
        )
    return (
        "# keep your optimizer, change only its rate (after model.compile)\n"
        f"model.optimizer.learning_rate = {literal(lr)}{note}\n"
    )


def lightning_trainer(fields: dict, callbacks: list[str] | None = None) -> str:
    """``trainer = L.Trainer(...)`` (``import lightning as L`` is the caller's)."""
    items = [f"callbacks=[{', '.join(callbacks)}]"] if callbacks else []
    items += [f"{k}={value(v)}" for k, v in fields.items()]
    return "trainer = L.Trainer(" + ", ".join(items) + ")\n"

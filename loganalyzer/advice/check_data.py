"""``check-data``: look at the data (and the log itself) before touching the model.

Called for when a curve cannot be explained by training dynamics: a loss that is
non-finite from the start, one stuck at chance level, validation and training losses so
alike that the validation set may be part of the training set, a loss column that
behaves like a score (the header may not match the columns), or a run far worse than
its siblings in the same sweep.

At a chance level this is the *first* thing to do (the builder promotes it to priority
1): a model that learned nothing from its inputs is not helped by a schedule or more
epochs. The check that separates a data bug from a model bug is to over-fit one small
batch: a model that cannot drive the loss of 32 examples to near zero is broken
(rate, initialisation, a frozen or disconnected layer); one that can, but learns
nothing from the full set, is fed wrong labels. Every framework has a form of it
(Lightning: ``Trainer(overfit_batches=1)``).

Example:
    >>> "isfinite" in SNIPPET
    True
"""

from __future__ import annotations

from loganalyzer.advice._common import AdviceContext, because, fmt, pick
from loganalyzer.advice._frameworks import comment, hf_args
from loganalyzer.findings import Advice

ACTION = "check-data"

SNIPPET = (
    "import numpy as np\n\n"
    "assert np.isfinite(x_train).all() and np.isfinite(x_val).all(), 'NaN/inf in inputs'\n"
    'print("label counts:", np.unique(y_train, return_counts=True))\n'
    "train_rows = {row.tobytes() for row in np.asarray(x_train)}\n"
    "shared = sum(row.tobytes() in train_rows for row in np.asarray(x_val))\n"
    'print(f"{shared} of {len(x_val)} validation rows also in training")\n'
)


def _reasons(ctx: AdviceContext) -> list[str]:
    out = []
    c = ctx.context
    if c.chance is not None:
        out.append(
            f"the training loss is stuck at the chance level ln({c.chance.classes}) = "
            f"{fmt(c.chance.level)}: the model learned nothing from its inputs, so check the "
            "labels and their alignment with the inputs, and over-fit one small batch to "
            "tell a data bug from a model bug"
        )
    for f in ctx.findings:
        ev = f.evidence
        if f.kind == "val-below-train" and ev.get("near_identical"):
            out.append(
                f"validation loss is below training loss {fmt(100 * ev.get('fraction_below', 0))}% "
                f"of the time and nearly identical to it (median ratio "
                f"{fmt(ev.get('median_ratio'))}): check for leakage"
            )
        elif f.kind == "divergence" and ev.get("first_nonfinite_index") is not None:
            out.append(
                f"the loss turned non-finite at {ctx.index} "
                f"{fmt(ev['first_nonfinite_index'])}: check inputs for NaN/inf"
            )
        elif f.kind == "column-mismatch":
            other = ev.get("behaves_like")
            orig = ctx.run.original_names
            out.append(
                f"{orig.get(f.metric, f.metric)!r} behaves like an accuracy and "
                f"{orig.get(other, other)!r} like the loss: check the file's header against "
                "what was logged (an appended run with other metrics?), write one file per "
                f"run, and analyse with --train-loss {orig.get(other, other)}"
            )
        elif f.kind == "sweep-outlier":
            out.append(
                f"this run ends {fmt(ev.get('ratio', 0))}x worse than its sweep siblings "
                f"({fmt(ev.get('final_level'))} against {fmt(ev.get('reference'))}): diff its "
                "configuration and data pipeline against theirs (labels, tokenisation, "
                "learning rate, precision)"
            )
    return out


def build(ctx: AdviceContext) -> Advice:
    if ctx.context.chance is not None or any(
        f.kind in ("column-mismatch", "sweep-outlier") for f in ctx.findings
    ):
        ctx.priority = 1
    reasons = _reasons(ctx) or ["the curves suggest a data problem"]
    summary = "Check the data first: " + "; ".join(reasons) + ". " + because(ctx)
    return Advice(ACTION, 0, ctx.rules, summary, pick(ctx, TEMPLATES, {}), {})


def _mismatch(ctx: AdviceContext) -> str:
    """A comment block: which column holds what, and how to analyse the right one."""
    lines = [f"# the header says: {comment(', '.join(ctx.run.original_names.values()))}"]
    for f in ctx.findings:
        if f.kind == "column-mismatch":
            other = ctx.run.original_names.get(f.evidence.get("behaves_like"), "")
            name = ctx.run.original_names.get(f.metric, f.metric)
            lines.append(f"# {comment(name)} behaves like a score, {comment(other)} like the loss")
    return "\n".join(lines) + "\n"


def _keras(ctx: AdviceContext, p: dict) -> str:
    if any(f.kind == "column-mismatch" for f in ctx.findings):
        return (
            "import keras\n\n"
            + _mismatch(ctx)
            + "# one file per run: an appended run cannot inherit another run's header\n"
            'csv_logger = keras.callbacks.CSVLogger(f"logs/{run_name}.csv", append=False)\n'
        )
    if ctx.context.chance is None:
        return SNIPPET
    return SNIPPET + (
        "\n# over-fit one small batch: the loss must fall to near 0\n"
        "model.fit(x_train[:32], y_train[:32], epochs=200, verbose=0)\n"
        "print(model.evaluate(x_train[:32], y_train[:32], verbose=0))\n"
    )


def _hf(ctx: AdviceContext, p: dict) -> str:
    return (
        "from collections import Counter\n\n"
        "from transformers import Trainer, TrainingArguments\n\n"
        "print(train_dataset[0])  # inputs and labels aligned as expected?\n"
        'print(Counter(str(x["labels"])[:40] for x in train_dataset.select(range(200))))\n'
        "# over-fit 16 examples: the training loss must fall to near 0\n"
        + hf_args({"max_steps": 100, "logging_steps": 10}).replace("args =", "tiny =")
        + "Trainer(model=model, args=tiny, train_dataset=train_dataset.select(range(16))).train()\n"
    )


def _lightning(ctx: AdviceContext, p: dict) -> str:
    return (
        "import lightning as L\n\n"
        "# over-fit one batch: the training loss must fall to near 0\n"
        "trainer = L.Trainer(overfit_batches=1, max_epochs=200)\n"
        "trainer.fit(model, datamodule=datamodule)\n"
    )


def _pytorch(ctx: AdviceContext, p: dict) -> str:
    return (
        "import torch\n\n"
        "x, y = next(iter(train_loader))\n"
        'assert torch.isfinite(x).all(), "NaN/inf in inputs"\n'
        'print("label counts:", torch.unique(y, return_counts=True))\n'
        "for _ in range(200):  # over-fit one batch: the loss must fall to near 0\n"
        "    optimizer.zero_grad()\n"
        "    loss = loss_fn(model(x), y)\n"
        "    loss.backward()\n"
        "    optimizer.step()\n"
        "print(loss.item())\n"
    )


TEMPLATES = {"keras": _keras, "hf": _hf, "lightning": _lightning, "pytorch": _pytorch}

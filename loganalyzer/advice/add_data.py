"""``add-data``: more training data, checked first with a learning curve.

Train on growing fractions of the data and compare the best validation loss: if it still
falls between 75 % and 100 %, more data will help. The snippet is the framework's own
way to take a fraction (``x[:n]`` in Keras, ``Dataset.select`` for the Trainer,
``torch.utils.data.Subset`` for Lightning and PyTorch).

Example:
    >>> "fraction" in SNIPPET
    True
"""

from __future__ import annotations

from loganalyzer.advice._common import AdviceContext, because, gap_severity, pick
from loganalyzer.advice._frameworks import value
from loganalyzer.findings import Advice

ACTION = "add-data"

SNIPPET = (
    "# Does more data help? Train on growing fractions and compare the best val_loss.\n"
    "for fraction in (0.25, 0.5, 0.75, 1.0):\n"
    "    n = int(len(x_train) * fraction)\n"
    "    model = build_model()\n"
    "    history = model.fit(x_train[:n], y_train[:n], validation_data=(x_val, y_val))\n"
    '    print(fraction, min(history.history["val_loss"]))\n'
)


def build(ctx: AdviceContext) -> Advice:
    s = gap_severity(ctx)
    monitor = ctx.log_name(ctx.run.val_loss) or "val_loss"
    summary = (
        f"Get more (or more varied) training data; the train/validation gap severity is "
        f"{s:.2f} of 1. If the best {monitor} still falls between 75% and 100% of the "
        "data, more data will help. " + because(ctx)
    )
    return Advice(ACTION, 0, ctx.rules, summary, pick(ctx, TEMPLATES, {"monitor": monitor}), {})


def _hf(ctx: AdviceContext, p: dict) -> str:
    return (
        "from transformers import Trainer\n\n"
        "# Does more data help? Fine-tune on growing fractions, compare the best eval_loss.\n"
        "for fraction in (0.25, 0.5, 0.75, 1.0):\n"
        "    subset = train_dataset.select(range(int(len(train_dataset) * fraction)))\n"
        "    trainer = Trainer(\n"
        "        model=make_model(), args=args, train_dataset=subset, eval_dataset=eval_dataset\n"
        "    )\n"
        "    trainer.train()\n"
        '    print(fraction, trainer.evaluate()["eval_loss"])\n'
    )


def _lightning(ctx: AdviceContext, p: dict) -> str:
    return (
        "import lightning as L\n"
        "from torch.utils.data import DataLoader, Subset\n\n"
        "# Does more data help? Train on growing fractions, compare the best validation loss.\n"
        "for fraction in (0.25, 0.5, 0.75, 1.0):\n"
        "    subset = Subset(train_set, range(int(len(train_set) * fraction)))\n"
        "    trainer = L.Trainer(max_epochs=EPOCHS)\n"
        "    trainer.fit(\n"
        "        make_model(),\n"
        "        train_dataloaders=DataLoader(subset, batch_size=BATCH_SIZE, shuffle=True),\n"
        "        val_dataloaders=val_loader,\n"
        "    )\n"
        f"    print(fraction, trainer.callback_metrics[{value(p['monitor'])}])\n"
    )


def _pytorch(ctx: AdviceContext, p: dict) -> str:
    return (
        "from torch.utils.data import DataLoader, Subset\n\n"
        "# Does more data help? Train on growing fractions, compare the best validation loss.\n"
        "for fraction in (0.25, 0.5, 0.75, 1.0):\n"
        "    subset = Subset(train_set, range(int(len(train_set) * fraction)))\n"
        "    loader = DataLoader(subset, batch_size=BATCH_SIZE, shuffle=True)\n"
        "    model = make_model()\n"
        "    print(fraction, min(train_and_validate(model, loader, val_loader)))\n"
    )


TEMPLATES = {
    "keras": lambda ctx, p: SNIPPET,
    "hf": _hf,
    "lightning": _lightning,
    "pytorch": _pytorch,
}

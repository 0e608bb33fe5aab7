"""``lr-schedule``: ReduceLROnPlateau with a patience taken from the plateau.

``patience = clip(round(L / 3), 2, 10)`` where ``L`` is the plateau's length in
logged points: the rate drops after a third of the stretch this run wasted, early
enough to save most of it but not on a two-point wobble. ``factor = 0.5`` (halving
a few times is gentler than Keras's default 0.1, which can stall a run that was
merely slow). ``min_lr`` is a thousandth of the logged rate (or ``1e-6``). Patience
counts evaluations (logged points of the monitor) in every framework.

It does not apply at a rate of 0 (there is nothing to reduce: ``fix-lr``) nor to a loss
stuck at chance level (a model that learned nothing is not helped by a smaller rate:
``check-data``).

Example:
    >>> patience_for(4), patience_for(12), patience_for(90)
    (2, 4, 10)
"""

from __future__ import annotations

import json

import numpy as np

from loganalyzer.advice._common import (
    AdviceContext,
    because,
    finite_series,
    fmt,
    learning_rate_at,
    literal,
    nice,
    pick,
)
from loganalyzer.advice._frameworks import comment, hf_args, value
from loganalyzer.findings import Advice

ACTION = "lr-schedule"
FACTOR = 0.5


def patience_for(points: int) -> int:
    """ReduceLROnPlateau patience for a plateau of ``points`` logged points."""
    return int(np.clip(round(points / 3), 2, 10))


def applies(ctx: AdviceContext) -> bool:
    return not ctx.context.lr_zero and ctx.context.chance is None


def _plateau_points(ctx: AdviceContext, f) -> tuple[str | None, int | None]:
    ev = f.evidence
    metric = ev.get("metric", f.metric)
    start, end = ev.get("start", f.start), ev.get("end", f.end)
    idx, _ = finite_series(ctx.run, metric)
    if not len(idx) or not isinstance(start, (int, float)) or not isinstance(end, (int, float)):
        return metric, None
    idx = idx.astype(float)
    return metric, int(((idx >= float(start)) & (idx <= float(end))).sum())


def build(ctx: AdviceContext) -> Advice:
    run = ctx.run
    plateau = next((f for f in ctx.findings if f.kind == "plateau"), None)
    metric, points = _plateau_points(ctx, plateau) if plateau else (None, None)
    monitor = metric if metric in ("loss", "val_loss") else (run.val_loss or run.train_loss)
    monitor = monitor or "val_loss"
    patience = patience_for(points) if points else 3
    lr = learning_rate_at(run, None)
    min_lr = nice(lr * 1e-3, 1) if lr else 1e-6
    params = {"monitor": monitor, "factor": FACTOR, "patience": patience, "min_lr": min_lr}
    name = ctx.log_name(monitor)
    if points:
        why = (
            f"{metric} made no significant progress for {points} points from {ctx.index} "
            f"{fmt(plateau.evidence.get('start', plateau.start))}; halve the rate after "
            f"{patience} (a third of that) instead of waiting it out"
        )
    else:
        why = f"halve the rate when {name} stalls for {patience} evaluations"
    sched = ctx.context.schedule
    if sched.kind in ("decay", "warmup", "steps") and sched.end is not None and sched.peak:
        why += f" (this replaces the logged schedule: {sched.describe(ctx.index)})"
    summary = f"Reduce the rate on plateau: {why}. " + because(ctx)
    code = pick(ctx, TEMPLATES, {**params, "monitor": name})
    return Advice(ACTION, 0, ctx.rules, summary, code, params)


def _keras(ctx: AdviceContext, p: dict) -> str:
    return (
        "import keras\n\n"
        "reduce_lr = keras.callbacks.ReduceLROnPlateau(\n"
        f"    monitor={json.dumps(p['monitor'])},\n"
        f"    factor={literal(p['factor'])},\n"
        f"    patience={p['patience']},\n"
        f"    min_lr={literal(p['min_lr'])},\n"
        ")\n"
        "model.fit(x_train, y_train, validation_data=(x_val, y_val), callbacks=[reduce_lr])\n"
    )


def _hf(ctx: AdviceContext, p: dict) -> str:
    kwargs = {"factor": p["factor"], "patience": p["patience"], "min_lr": p["min_lr"]}
    metric = p["monitor"] if p["monitor"].startswith("eval_") else "eval_loss"
    return "from transformers import TrainingArguments\n\n" + hf_args(
        {
            "lr_scheduler_type": "reduce_lr_on_plateau",
            "lr_scheduler_kwargs": kwargs,
            "eval_strategy": "steps" if ctx.index == "step" else "epoch",
            "metric_for_best_model": metric,
        },
        {"lr_scheduler_kwargs": "patience in evaluations"},
    )


def _torch_scheduler(p: dict, optimizer: str) -> str:
    return (
        "torch.optim.lr_scheduler.ReduceLROnPlateau(\n"
        f"    {optimizer},\n"
        '    mode="min",\n'
        f"    factor={literal(p['factor'])},\n"
        f"    patience={p['patience']},  # evaluations\n"
        f"    min_lr={literal(p['min_lr'])},\n"
        ")"
    )


def _lightning(ctx: AdviceContext, p: dict) -> str:
    sched = _torch_scheduler(p, "optimizer").replace("\n", "\n    ")
    return (
        "import torch\n\n"
        "# in your LightningModule\n"
        "def configure_optimizers(self):\n"
        "    optimizer = ...  # the optimizer you use now, created as before\n"
        f"    scheduler = {sched}\n"
        "    return {\n"
        '        "optimizer": optimizer,\n'
        f'        "lr_scheduler": {{"scheduler": scheduler, "monitor": {value(p["monitor"])}}},\n'
        "    }\n"
    )


def _pytorch(ctx: AdviceContext, p: dict) -> str:
    return (
        "import torch\n\n"
        f"scheduler = {_torch_scheduler(p, 'optimizer')}\n"
        "for epoch in range(EPOCHS):\n"
        "    train_one_epoch(model, optimizer)\n"
        f"    scheduler.step(evaluate(model))  # {comment(p['monitor'])} in this log\n"
    )


TEMPLATES = {"keras": _keras, "hf": _hf, "lightning": _lightning, "pytorch": _pytorch}

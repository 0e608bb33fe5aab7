"""``lr-schedule``: ReduceLROnPlateau with a patience taken from the plateau.

``patience = clip(round(L / 3), 2, 10)`` where ``L`` is the plateau's length in
logged points: the rate drops after a third of the stretch this run wasted, early
enough to save most of it but not on a two-point wobble. ``factor = 0.5`` (halving
a few times is gentler than Keras's default 0.1, which can stall a run that was
merely slow). ``min_lr`` is a thousandth of the logged rate (or ``1e-6``).

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
)
from loganalyzer.findings import Advice

ACTION = "lr-schedule"
FACTOR = 0.5


def patience_for(points: int) -> int:
    """ReduceLROnPlateau patience for a plateau of ``points`` logged points."""
    return int(np.clip(round(points / 3), 2, 10))


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
    if points:
        why = (
            f"{metric} made no significant progress for {points} points from {ctx.index} "
            f"{fmt(plateau.evidence.get('start', plateau.start))}; halve the rate after "
            f"{patience} (a third of that) instead of waiting it out"
        )
    else:
        why = f"halve the rate when {monitor} stalls for {patience} evaluations"
    summary = f"Add ReduceLROnPlateau: {why}. " + because(ctx)
    code = (
        "import keras\n\n"
        "reduce_lr = keras.callbacks.ReduceLROnPlateau(\n"
        f"    monitor={json.dumps(monitor)},\n"
        f"    factor={literal(FACTOR)},\n"
        f"    patience={patience},\n"
        f"    min_lr={literal(min_lr)},\n"
        ")\n"
        "model.fit(x_train, y_train, validation_data=(x_val, y_val), callbacks=[reduce_lr])\n"
    )
    return Advice(ACTION, 0, ctx.rules, summary, code, params)

"""``train-longer``: more epochs, as many as the slowing trend says are still useful.

The monitored curve (the ``undertrained`` finding's metric, else the validation
loss) is assumed to approach its floor like ``a + b * exp(-t / tau)``: the
Theil–Sen slopes of the two halves of its last third, ``s1`` then ``s2``, give
``tau = dt / ln(s1 / s2)`` (``dt`` the distance between the halves' centres), and
``3 * tau`` more epochs collect about 95 % of the improvement still to come. When
the slope is not slowing (``s2 >= s1``, so no floor is in sight) the run is doubled.
Either way the extra length is clipped to [max(3, a quarter of the run), twice the
run], and the snippet keeps an EarlyStopping guard so the extra epochs cost little
if the curve flattens sooner. An under-fitting run without an ``undertrained``
finding gets this advice only while the curve's last third still improves
significantly (:func:`still_improving`).

It does not apply where more of the same cannot help or contradicts another finding: a
learning rate of 0, a loss stuck at chance level, a run that diverged or over-fits, a
suspect loss column, or a sweep sibling far better than this run.

Example:
    >>> import numpy as np
    >>> t = np.arange(20.0)
    >>> extra_epochs(t, 0.3 + np.exp(-t / 10))  # tau = 10: about 30 more
    30
"""

from __future__ import annotations

import json
import math

import numpy as np

from loganalyzer.advice._common import (
    AdviceContext,
    because,
    eval_spacing,
    finite_series,
    fmt,
    mode_for,
    pick,
)
from loganalyzer.advice._frameworks import comment, hf_args, value
from loganalyzer.advice.early_stopping import choose
from loganalyzer.findings import Advice, as_index
from loganalyzer.stats import mann_kendall, theil_sen

ACTION = "train-longer"


def extra_epochs(x: np.ndarray, y: np.ndarray, mode: str = "min") -> int:
    """Extra index units (epochs or steps) to train, from the tail's slowing slope."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    span = float(x[-1] - x[0]) if len(x) > 1 else 1.0
    span = max(span, 1.0)
    low, high = max(3.0, 0.25 * span), 2.0 * span
    sign = -1.0 if mode == "min" else 1.0  # improvement is a falling loss / rising accuracy
    tail = max(6, len(x) // 3)
    xt, yt = x[-tail:], y[-tail:]
    extra = span
    if len(xt) >= 6:
        half = len(xt) // 2
        s1 = sign * theil_sen(xt[:half], yt[:half], alpha=None).slope  # no interval read
        s2 = sign * theil_sen(xt[half:], yt[half:], alpha=None).slope
        # np.mean's values (the same pairwise sum over the count) without its overhead
        dt = float(xt[half:].sum() / (len(xt) - half) - xt[:half].sum() / half)
        if s1 > 0 and 0 < s2 < s1 and dt > 0:
            extra = 3.0 * dt / math.log(s1 / s2)
    return int(math.ceil(min(high, max(low, extra))))


def still_improving(y: np.ndarray, mode: str = "min", alpha: float = 0.05) -> bool:
    """Does the last third of ``y`` still improve (one-sided Mann–Kendall at ``alpha``)?

    Example:
        >>> still_improving(np.linspace(1, 0.5, 30)), still_improving(np.full(30, 0.5))
        (True, False)
    """
    tail = np.asarray(y, dtype=float)[-max(6, len(y) // 3) :]
    trend = mann_kendall(tail if mode == "min" else -tail)
    return bool(trend.z < 0 and trend.p / 2 < alpha)


_CONTRADICTED_BY = (
    "divergence",
    "overfitting",
    "column-mismatch",
    "sweep-outlier",
    "gradient-norm",
)


def applies(ctx: AdviceContext) -> bool:
    c = ctx.context
    if c.lr_zero or c.chance is not None:
        return False
    return not any(ctx.has(k) for k in _CONTRADICTED_BY)


def build(ctx: AdviceContext) -> Advice | None:
    run = ctx.run
    f = next((f for f in ctx.findings if f.kind == "undertrained"), None)
    metric = (f.evidence.get("metric") or f.metric) if f else None
    metric = metric if metric in run.data else (run.val_loss or run.train_loss)
    x, y = finite_series(run, metric)
    if len(y) < 3:
        return None
    mode = mode_for(metric)
    underfit = any(t.kind == "underfitting" for t in ctx.findings)
    if f is None and underfit and not still_improving(y, mode):
        # Under-fitting on a flat curve: more epochs give more of the same.
        return None
    extra = extra_epochs(x.astype(float), y, mode)
    choice = choose(y, mode)
    patience = choice.patience if choice else 5
    unit = ctx.index
    slope = f.evidence.get("slope") if f else None
    rate = f" (slope {fmt(slope)} per {unit})" if isinstance(slope, (int, float)) else ""
    name = ctx.log_name(metric)
    summary = (
        f"Train about {extra} more {unit}s: {name} was still improving when the log "
        f"ended at {unit} {fmt(x[-1])}{rate}; by an exponential fit to the slowing slope, "
        f"{extra} more {unit}s collect about 95% of the remaining gain. "
        f"Keep an early-stopping guard (patience {patience} evaluations). " + because(ctx)
    )
    p = {
        "monitor": name,
        "mode": mode,
        "patience": patience,
        "extra": extra,
        "done": as_index(x[-1]),
        "length": run.length,
        "every": eval_spacing(run, metric),
    }
    p["total"] = int(p["done"]) + extra if isinstance(p["done"], (int, float)) else extra
    code = pick(ctx, TEMPLATES, p)
    return Advice(ACTION, 0, ctx.rules, summary, code, {"extra_epochs": extra})


def _keras(ctx: AdviceContext, p: dict) -> str:
    if ctx.index == "epoch":
        done = p["length"]
        fit = f"    initial_epoch={done},\n    epochs={done + p['extra']},\n"
    else:
        fit = f"    epochs=EPOCHS,  # about {p['extra']} more steps than this run\n"
    return (
        "import keras\n\n"
        "guard = keras.callbacks.EarlyStopping(\n"
        f"    monitor={json.dumps(p['monitor'])},\n"
        f'    mode="{p["mode"]}",\n'
        f"    patience={p['patience']},\n"
        "    restore_best_weights=True,\n"
        ")\n"
        "model.fit(\n"
        "    x_train,\n"
        "    y_train,\n"
        "    validation_data=(x_val, y_val),\n"
        f"{fit}"
        "    callbacks=[guard],\n"
        ")\n"
    )


def _hf(ctx: AdviceContext, p: dict) -> str:
    total = p["total"]
    key = "max_steps" if ctx.index == "step" else "num_train_epochs"
    metric = p["monitor"] if p["monitor"].startswith("eval_") else "eval_loss"
    fields = {key: total}
    if ctx.run.val_loss is not None:
        fields.update(
            {
                "eval_strategy": "steps" if ctx.index == "step" else "epoch",
                "load_best_model_at_end": True,
                "metric_for_best_model": metric,
            }
        )
    return (
        "from transformers import EarlyStoppingCallback, Trainer, TrainingArguments\n\n"
        + hf_args(fields, {key: f"this run ended at {p['done']}"})
        + "trainer = Trainer(\n"
        "    model=model,\n"
        "    args=args,\n"
        "    train_dataset=train_dataset,\n"
        "    eval_dataset=eval_dataset,\n"
        f"    callbacks=[EarlyStoppingCallback(early_stopping_patience={p['patience']})],\n"
        ")\n"
        "trainer.train(resume_from_checkpoint=True)  # continue from the last checkpoint\n"
    )


def _lightning(ctx: AdviceContext, p: dict) -> str:
    total = p["total"]
    key = "max_steps" if ctx.index == "step" else "max_epochs"
    return (
        "import lightning as L\n"
        "from lightning.pytorch.callbacks import EarlyStopping\n\n"
        f"guard = EarlyStopping(monitor={value(p['monitor'])}, mode={value(p['mode'])}, "
        f"patience={p['patience']})\n"
        f"trainer = L.Trainer({key}={total}, callbacks=[guard])  # this run ended at {p['done']}\n"
        'trainer.fit(model, datamodule=datamodule, ckpt_path="last")  # resume\n'
    )


def _pytorch(ctx: AdviceContext, p: dict) -> str:
    return (
        f"# resume from your last checkpoint and train about {p['extra']} more {ctx.index}s,\n"
        f"# stopping when {comment(p['monitor'])} has not improved for {p['patience']} evaluations\n"
        f"for epoch in range(start_epoch, start_epoch + {p['extra']}):\n"
        "    train_one_epoch(model, optimizer)\n"
    )


TEMPLATES = {"keras": _keras, "hf": _hf, "lightning": _lightning, "pytorch": _pytorch}

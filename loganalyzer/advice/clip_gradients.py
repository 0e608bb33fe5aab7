"""``clip-gradients``: cap the gradient norm so one bad batch cannot wreck training.

When the log has the gradient norm (Hugging Face's ``grad_norm``, logged *before*
clipping), the cap is the smaller of the 90th percentile of the norms of the ordinary
steps (those below the explosion threshold of ``gradient-norm``) and 3x the typical
norm (``gradient-norm``'s: the larger of the median over the run and over its first
quarter, so a norm that shrinks as a classifier converges does not pull the cap below
the norms of the steps that did the learning), rounded up to two digits: ordinary steps
pass untouched (in a healthy run the largest norm stays within about twice the median)
and the outliers are cut to an ordinary size. The median itself would clip half of all
steps, turning clipping into a smaller learning rate. The advice says which share of the logged steps the cap would
have touched. Without logged norms ``1.0`` is the common default (the Trainer's
``max_grad_norm``).

Example:
    >>> from loganalyzer.analysis import to_run
    >>> g = [0.5, 0.6, 0.55, 0.7, 0.62, 0.58, 0.66, 0.52, 672.0, 0.61, 2649.0, 0.57]
    >>> run = to_run({"loss": [1.0] * 12, "grad_norm": g})
    >>> clipnorm_for(run)[:2]
    (0.67, 'the 90th percentile of the norms of ordinary steps')
"""

from __future__ import annotations

import numpy as np

from loganalyzer.advice._common import AdviceContext, because, fmt, literal, nice_up, pick
from loganalyzer.advice._frameworks import KERAS_OPTIMIZERS, hf_args, known
from loganalyzer.detectors.gradient_norm import DEFAULTS, grad_norms
from loganalyzer.findings import Advice
from loganalyzer.run import Run

ACTION = "clip-gradients"


def clipnorm_for(run: Run) -> tuple[float, str, float | None]:
    """``(clipnorm, where it came from, share of logged steps it would clip)``."""
    g = grad_norms(run)
    if g is not None and len(g.finite):
        ordinary = g.finite
        if np.isfinite(g.typical) and g.typical > 0:
            ordinary = ordinary[ordinary < DEFAULTS["explode_factor"] * g.typical]
        if len(ordinary) and float(np.quantile(ordinary, 0.9)) > 0:
            p90 = float(np.quantile(ordinary, 0.9))
            typical = g.typical if np.isfinite(g.typical) else float(np.median(g.finite))
            if p90 <= 3 * typical:
                clip, why = nice_up(p90), "the 90th percentile of the norms of ordinary steps"
            else:
                clip, why = nice_up(3 * typical), "3x the typical logged gradient norm"
            return clip, why, g.share_above(clip)
    return 1.0, "the common default (no gradient norm in the log)", None


def build(ctx: AdviceContext) -> Advice:
    clipnorm, source, share = clipnorm_for(ctx.run)
    g = ctx.context.grads
    summary = f"Clip gradients at norm {literal(clipnorm)}, {source}"
    if share is not None and g is not None:
        top = float(np.max(g.finite)) if len(g.finite) else float("nan")
        summary += (
            f": it would have touched {share:.0%} of the {len(g.values)} logged steps (median "
            f"norm {fmt(nice_up(float(np.median(g.finite))))}, largest {fmt(nice_up(top))}"
            f"{', plus ' + str(len(g.nonfinite_at)) + ' non-finite' if g.nonfinite_at else ''})"
        )
    summary += ". "
    if ctx.framework == "hf":
        default = f" (it would touch {g.share_above(1.0):.0%} here)" if g is not None else ""
        summary += (
            f"The Trainer clips at max_grad_norm=1.0{default} unless it is set to 0 or None, "
            "and logs the norm before clipping; with fp16, non-finite norms mean overflow: "
            "bf16 (on GPUs that have it) avoids it. "
        )
    params = {"clipnorm": clipnorm}
    return Advice(
        ACTION, 0, ctx.rules, summary + because(ctx), pick(ctx, TEMPLATES, params), params
    )


def _keras(ctx: AdviceContext, p: dict) -> str:
    opt = known(ctx, KERAS_OPTIMIZERS)
    if opt is not None:
        return (
            "import keras\n\n"
            f"optimizer = keras.optimizers.{opt}(clipnorm={literal(p['clipnorm'])})\n"
            "model.compile(optimizer=optimizer, loss=loss, metrics=metrics)\n"
        )
    return (
        "# keep your optimizer; cap each update's gradient norm (after model.compile)\n"
        f"model.optimizer.clipnorm = {literal(p['clipnorm'])}\n"
    )


def _hf(ctx: AdviceContext, p: dict) -> str:
    return "from transformers import TrainingArguments\n\n" + hf_args(
        {"max_grad_norm": p["clipnorm"]}, {"max_grad_norm": "bf16=True instead of fp16=True"}
    )


def _lightning(ctx: AdviceContext, p: dict) -> str:
    return (
        "import lightning as L\n\n"
        f"trainer = L.Trainer(gradient_clip_val={literal(p['clipnorm'])}, "
        'gradient_clip_algorithm="norm")\n'
    )


def _pytorch(ctx: AdviceContext, p: dict) -> str:
    return (
        "import torch\n\n"
        "loss.backward()\n"
        f"torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm={literal(p['clipnorm'])})\n"
        "optimizer.step()\n"
    )


TEMPLATES = {"keras": _keras, "hf": _hf, "lightning": _lightning, "pytorch": _pytorch}

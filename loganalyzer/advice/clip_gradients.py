"""``clip-gradients``: cap the gradient norm so one bad batch cannot wreck training.

When the log has the gradient norm (Hugging Face's ``grad_norm``), ``clipnorm`` is
its median over the run (two digits): typical steps pass untouched, the outliers
behind spikes are cut to a typical size. Otherwise ``clipnorm = 1.0``, the common
default (Hugging Face's ``max_grad_norm``) for unit-scale losses.

Example:
    >>> from loganalyzer.analysis import to_run
    >>> run = to_run({"loss": [1, 0.9, 5, 0.8], "grad_norm": [2.0, 2.4, 90.0, 2.2]})
    >>> clipnorm_for(run)
    (2.3, 'the median logged gradient norm')
"""

from __future__ import annotations

import numpy as np

from loganalyzer.advice._common import AdviceContext, because, finite_series, literal, nice
from loganalyzer.findings import Advice
from loganalyzer.run import Run

ACTION = "clip-gradients"
_GRAD_NAMES = ("grad_norm", "gradient_norm", "grad_norm_2", "global_grad_norm")


def clipnorm_for(run: Run) -> tuple[float, str]:
    """``(clipnorm, where it came from)`` for this run."""
    for name in _GRAD_NAMES:
        _, g = finite_series(run, name)
        g = g[g > 0]
        if len(g):
            return nice(float(np.median(g))), "the median logged gradient norm"
    return 1.0, "the common default (no gradient norm in the log)"


def build(ctx: AdviceContext) -> Advice:
    clipnorm, source = clipnorm_for(ctx.run)
    summary = f"Clip gradients at norm {literal(clipnorm)}, {source}. " + because(ctx)
    code = (
        "import keras\n\n"
        f"optimizer = keras.optimizers.Adam(clipnorm={literal(clipnorm)})\n"
        "model.compile(optimizer=optimizer, loss=loss, metrics=metrics)\n"
    )
    return Advice(ACTION, 0, ctx.rules, summary, code, {"clipnorm": clipnorm})

"""``check-data``: look at the data before touching the model.

Called for when a curve cannot be explained by training dynamics: a loss that is
non-finite from the start, one stuck at chance level, or validation and training
losses so alike that the validation set may be part of the training set.

Example:
    >>> "isfinite" in SNIPPET
    True
"""

from __future__ import annotations

from loganalyzer.advice._common import AdviceContext, because, fmt
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
    for f in ctx.findings:
        ev = f.evidence
        if f.kind == "val-below-train" and ev.get("near_identical"):
            out.append(
                f"validation loss is below training loss {fmt(100 * ev.get('fraction_below', 0))}% "
                f"of the time and nearly identical to it (median ratio "
                f"{fmt(ev.get('median_ratio'))}): check for leakage"
            )
        elif f.kind == "underfitting" and ev.get("chance_level") is not None:
            out.append(
                f"training loss {fmt(ev.get('final_train_loss'))} is stuck near the chance "
                f"level {fmt(ev.get('chance_level'))}: check labels and their alignment"
            )
        elif f.kind == "divergence" and ev.get("first_nonfinite_index") is not None:
            out.append(
                f"the loss turned non-finite at {ctx.index} "
                f"{fmt(ev['first_nonfinite_index'])}: check inputs for NaN/inf"
            )
    return out


def build(ctx: AdviceContext) -> Advice:
    reasons = _reasons(ctx) or ["the curves suggest a data problem"]
    summary = "Check the data first: " + "; ".join(reasons) + ". " + because(ctx)
    return Advice(ACTION, 0, ctx.rules, summary, SNIPPET, {})

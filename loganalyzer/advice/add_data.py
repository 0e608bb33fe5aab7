"""``add-data``: more training data, checked first with a learning curve.

Example:
    >>> "fraction" in SNIPPET
    True
"""

from __future__ import annotations

from loganalyzer.advice._common import AdviceContext, because, gap_severity
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
    summary = (
        f"Get more (or more varied) training data; the train/validation gap severity is "
        f"{s:.2f} of 1. If the best val_loss still falls between 75% and 100% of the "
        "data, more data will help. " + because(ctx)
    )
    return Advice(ACTION, 0, ctx.rules, summary, SNIPPET, {})

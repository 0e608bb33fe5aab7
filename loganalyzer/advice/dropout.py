"""``dropout``: Dropout after hidden layers, at a rate sized by the gap.

``rate = 0.1 + 0.4 * s`` rounded to 0.05, where ``s`` in [0, 1] is
:func:`~loganalyzer.advice._common.gap_severity`: 0.1 for a barely visible gap, up
to 0.5 (Srivastava et al.'s rate for hidden units, and the most that is usually
useful) for a validation loss that doubled from its best.

Example:
    >>> dropout_rate(0.0), dropout_rate(0.5), dropout_rate(1.0)
    (0.1, 0.3, 0.5)
"""

from __future__ import annotations

from loganalyzer.advice._common import AdviceContext, because, gap_severity, literal
from loganalyzer.findings import Advice

ACTION = "dropout"


def dropout_rate(severity: float) -> float:
    """Dropout rate for a gap severity in [0, 1]."""
    s = max(0.0, min(1.0, severity))
    return round(round((0.1 + 0.4 * s) / 0.05) * 0.05, 2)


def build(ctx: AdviceContext) -> Advice:
    s = gap_severity(ctx)
    rate = dropout_rate(s)
    summary = (
        f"Add Dropout({literal(rate)}) after each hidden Dense/Conv block: the rate grows "
        f"from 0.1 to 0.5 with the train/validation gap (severity {s:.2f} of 1 here). "
        + because(ctx)
    )
    code = (
        "import keras\n\n"
        "model = keras.Sequential(\n"
        "    [\n"
        '        keras.layers.Dense(256, activation="relu"),\n'
        f"        keras.layers.Dropout({literal(rate)}),\n"
        '        keras.layers.Dense(128, activation="relu"),\n'
        f"        keras.layers.Dropout({literal(rate)}),\n"
        "        keras.layers.Dense(num_classes),\n"
        "    ]\n"
        ")\n"
    )
    return Advice(ACTION, 0, ctx.rules, summary, code, {"rate": rate})

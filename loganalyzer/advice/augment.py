"""``augment``: input noise (or image augmentation) at a strength sized by the gap.

For vector inputs, ``GaussianNoise(stddev)`` with ``stddev = 0.05 + 0.15 * s``
rounded to 0.05 (``s`` in [0, 1] from
:func:`~loganalyzer.advice._common.gap_severity`), in units of standardized inputs:
0.05 to 0.2 of a feature's standard deviation perturbs without drowning the signal.
The snippet names the image layers for image inputs (a log does not say which).

Example:
    >>> noise_stddev(0.0), noise_stddev(1.0)
    (0.05, 0.2)
"""

from __future__ import annotations

from loganalyzer.advice._common import AdviceContext, because, gap_severity, literal
from loganalyzer.findings import Advice

ACTION = "augment"


def noise_stddev(severity: float) -> float:
    s = max(0.0, min(1.0, severity))
    return round(round((0.05 + 0.15 * s) / 0.05) * 0.05, 2)


def build(ctx: AdviceContext) -> Advice:
    s = gap_severity(ctx)
    stddev = noise_stddev(s)
    summary = (
        f"Augment the training inputs: GaussianNoise({literal(stddev)}) on standardized "
        f"inputs (active in training only), or random flips/rotations for images; "
        f"strength from the gap severity {s:.2f} of 1. " + because(ctx)
    )
    code = (
        "import keras\n\n"
        "inputs = keras.Input(shape=input_shape)\n"
        f"x = keras.layers.GaussianNoise({literal(stddev)})(inputs)  # standardized inputs\n"
        "# images instead:\n"
        '# x = keras.layers.RandomFlip("horizontal")(inputs)\n'
        "# x = keras.layers.RandomRotation(0.05)(x)\n"
    )
    return Advice(ACTION, 0, ctx.rules, summary, code, {"kind": "gaussian-noise", "stddev": stddev})

"""Detectors: one module per finding ``kind``, each a small statistical method.

A detector module defines ``KIND`` and ``detect(run, rule, params) -> list[Finding]``
and is listed in :data:`DETECTORS`. ``params`` are the rule's defaults merged with
the user's configuration. Detectors read a :class:`~loganalyzer.run.Run` and
nothing else: no file formats, no rendering.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module

from loganalyzer.findings import Finding
from loganalyzer.rulepack import Rule
from loganalyzer.run import Run

Detector = Callable[[Run, Rule, dict], list[Finding]]

# kind -> module name below loganalyzer.detectors
_MODULES: dict[str, str] = {
    "too-short": "too_short",
    "overfitting": "overfitting",
    "generalization-gap": "generalization_gap",
    "divergence": "divergence",
    "loss-spike": "loss_spike",
    "plateau": "plateau",
    "noisy": "noisy",
    "underfitting": "underfitting",
    "undertrained": "undertrained",
    "val-below-train": "val_below_train",
    "metric-disagreement": "metric_disagreement",
    "gradient-norm": "gradient_norm",
    "column-mismatch": "column_mismatch",
    "sweep-outlier": "sweep_outlier",
}


def detector_for(kind: str) -> Detector | None:
    """The ``detect`` function for ``kind``, or ``None`` when no detector exists."""
    mod = _MODULES.get(kind)
    if mod is None:
        return None
    name = f"loganalyzer.detectors.{mod}"
    # sys.modules first: asked for every rule of every run, import_module's own
    # lookup of an imported module costs more than most detectors' verdicts
    return (sys.modules.get(name) or import_module(name)).detect

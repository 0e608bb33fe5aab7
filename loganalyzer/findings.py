"""Findings and advice: what detectors and the advice engine produce.

A :class:`Finding` is one diagnosed problem (or an info note) with its evidence; an
:class:`Advice` is one ranked action with a Keras snippet. Both serialise to the
``loganalyzer/1`` JSON schema documented in ``docs/json-schema.md``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from math import isfinite
from typing import Any

SEVERITIES = ("info", "warning", "error")


def severity_rank(severity: str) -> int:
    """``info`` < ``warning`` < ``error``; used for ``--fail-on`` and sorting."""
    return SEVERITIES.index(severity)


#: Among findings of one severity, causes lead and their symptoms follow: a run that
#: diverged also spikes and stalls; an under-fitting run also sits on a plateau. The
#: first finding is a run's headline, and the actions a cause calls for rank before
#: those its symptoms call for.
LEAD_ORDER = (
    "column-mismatch",
    "divergence",
    "gradient-norm",
    "sweep-outlier",
    "overfitting",
    "generalization-gap",
    "underfitting",
    "noisy",
    "loss-spike",
    "metric-disagreement",
    "plateau",
    "undertrained",
    "val-below-train",
    "too-short",
)


def lead_rank(kind: str) -> int:
    """Position of ``kind`` in :data:`LEAD_ORDER` (unknown kinds last)."""
    return LEAD_ORDER.index(kind) if kind in LEAD_ORDER else len(LEAD_ORDER)


@dataclass
class Finding:
    """One diagnosis.

    Args:
        rule: Stable rule code from the rule pack (``"LA101"``).
        kind: Detector kind (``"overfitting"``, ``"divergence"``, ...).
        severity: ``"info"``, ``"warning"`` or ``"error"``.
        metric: Canonical metric the finding is about (``"val_loss"``), or ``None``.
        start: First index of the finding in the log's own numbering (for
            ``overfitting``: the onset, i.e. the index of the best validation loss).
        end: Last index it covers (inclusive), or ``None``.
        message: One sentence a user reads first, with the key numbers.
        evidence: Test statistics and values behind it (JSON-serialisable).
    """

    rule: str
    kind: str
    severity: str
    metric: str | None
    start: float | int | None
    end: float | int | None
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _fields_dict(self)


@dataclass
class Advice:
    """One ranked action.

    Args:
        action: One of the advice actions (``"early-stopping"``, ``"regularize"``, ...).
        rank: 1 is the first thing to try.
        rules: Codes of the findings that call for it.
        summary: Why, with this run's numbers.
        code: A Keras 3 snippet whose numbers come from this run.
        params: The numbers used in ``code`` (``{"patience": 4, ...}``), for machines
            and for ``loganalyzer verify``.
    """

    action: str
    rank: int
    rules: list[str]
    summary: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _fields_dict(self)


def as_index(x: Any) -> Any:
    """A log index (from a pandas index) as a plain int, or a float when fractional.

    Example:
        >>> import numpy as np
        >>> as_index(np.int64(8)), as_index(np.float64(12.0)), as_index(2.5)
        (8, 12, 2.5)
    """
    if hasattr(x, "item") and getattr(x, "ndim", 1) == 0:
        x = x.item()
    if isinstance(x, float):
        return int(x) if x.is_integer() else x
    return x


def _fields_dict(obj) -> dict[str, Any]:
    """A dataclass's fields as a JSON-safe dict: :func:`jsonable` builds new containers,
    so ``asdict()``'s deep copy would be spent twice; the names are read once per class."""
    names = _FIELD_NAMES.get(type(obj))
    if names is None:
        names = _FIELD_NAMES[type(obj)] = tuple(f.name for f in fields(obj))
    return jsonable({name: getattr(obj, name) for name in names})


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}

#: Values :func:`jsonable` returns as they are (a finite ``float`` too).
_PLAIN = frozenset({str, int, bool, type(None)})


def jsonable(obj: Any) -> Any:
    """Make numpy scalars, tuples and non-finite floats JSON-safe (NaN/inf -> str)."""
    kind = type(obj)  # the plain types first: this runs on every value of the output
    if kind in _PLAIN or (kind is float and isfinite(obj)):
        return obj
    if kind is dict:
        # a plain value inside is kept here, without a call per value (most of them)
        return {
            k if type(k) is str else str(k): v
            if type(v) in _PLAIN or (type(v) is float and isfinite(v))
            else jsonable(v)
            for k, v in obj.items()
        }
    if kind is list or kind is tuple:
        return [v if type(v) in _PLAIN else jsonable(v) for v in obj]
    if is_dataclass(obj) and not isinstance(obj, type):
        return jsonable(asdict(obj))
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        obj = obj.item()
    if isinstance(obj, float):
        if math.isnan(obj):
            return "NaN"
        if math.isinf(obj):
            return "Infinity" if obj > 0 else "-Infinity"
        return obj
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    return str(obj)

"""Compare runs: where each one was best, how far apart they are, and how each ended.

The numbers are read off the runs and their results (``RunResult.best``, findings); the
only arithmetic is the difference of each best to the best of all runs and the final
generalization gap (validation minus training loss at the last index where both were
logged). Renderers show a :class:`Comparison`; they do not compute it.

Example:
    >>> from loganalyzer.analysis import Analysis, analyze_run, to_run
    >>> a = analyze_run(to_run({"loss": [1.0, 0.5], "val_loss": [1.0, 0.6]}, "a"))
    >>> b = analyze_run(to_run({"loss": [1.0, 0.4], "val_loss": [0.9, 0.7]}, "b"))
    >>> rows = compare(Analysis(runs=[a, b])).rows
    >>> [(r.name, r.best_value, round(r.delta_best, 2), round(r.final_gap, 2)) for r in rows]
    [('a', 0.6, 0.0, 0.1), ('b', 0.7, 0.1, 0.3)]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class CompareRow:
    """One run in a comparison (indices in the run's own numbering)."""

    name: str
    format: str
    index: str
    length: int
    monitor: str | None
    best_value: float | None
    best_index: float | int | None
    delta_best: float | None  # best_value minus the lowest best_value of all runs
    final_value: float | None  # last logged value of the monitor (may be NaN/inf)
    final_gap: float | None  # val - train loss at the last index both were logged
    findings: list[str] = field(default_factory=list)  # "LA101 overfitting", worst first


@dataclass
class Comparison:
    rows: list[CompareRow]

    @property
    def best(self) -> CompareRow | None:
        """The run with the lowest best value of its monitored loss."""
        ranked = [r for r in self.rows if r.best_value is not None]
        return min(ranked, key=lambda r: r.best_value) if ranked else None


def _final_gap(run: Any) -> float | None:
    if run.train_loss is None or run.val_loss is None:
        return None
    both = run.metrics[[run.train_loss, run.val_loss]].to_numpy(dtype=float)
    ok = np.isfinite(both).all(axis=1)
    if not ok.any():
        return None
    last = both[np.nonzero(ok)[0][-1]]
    return float(last[1] - last[0])


def _final_value(run: Any, name: str | None) -> float | None:
    s = run.series(name)
    if s is None or s.empty:
        return None
    return float(s.iloc[-1])


def compare(analysis: Any) -> Comparison:
    """A :class:`Comparison` of every run in ``analysis``, in the order given."""
    rows = []
    for rr in analysis.runs:
        best = rr.best
        rows.append(
            CompareRow(
                name=rr.run.name,
                format=rr.run.format,
                index=rr.run.index,
                length=rr.run.length,
                monitor=rr.monitor,
                best_value=best["value"] if best else None,
                best_index=best["index"] if best else None,
                delta_best=None,
                final_value=_final_value(rr.run, rr.monitor),
                final_gap=_final_gap(rr.run),
                findings=[f"{f.rule} {f.kind}" for f in rr.findings if f.severity != "info"],
            )
        )
    values = [
        r.best_value for r in rows if r.best_value is not None and math.isfinite(r.best_value)
    ]
    if values:
        low = min(values)
        for r in rows:
            if r.best_value is not None:
                r.delta_best = r.best_value - low
    return Comparison(rows)

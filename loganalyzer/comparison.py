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
import os
from dataclasses import dataclass, field
from pathlib import Path
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


def labels(results: list[Any]) -> list[str]:
    """Names that tell the runs apart: their display names, or, when two share a name
    (``overfit/tensorboard`` and ``healthy/tensorboard`` given as two arguments both
    show as ``tensorboard``), their source paths.

    Example:
        >>> from types import SimpleNamespace as NS
        >>> runs = [NS(run=NS(name="tb", sources=[f"logs/{d}/tb/train/ev", f"logs/{d}/tb/validation/ev"]))
        ...         for d in ("a", "b")]
        >>> labels(runs)
        ['a/tb', 'b/tb']
    """
    names = [rr.run.name for rr in results]
    if len(set(names)) == len(names):
        return names
    paths = []
    for rr in results:
        sources = [os.path.normpath(s) for s in rr.run.sources]
        suffix = rr.run.name[rr.run.name.index("#") :] if "#" in rr.run.name else ""
        # A TensorBoard run's sources are its event files: the run is their folder.
        path = os.path.commonpath(sources) if len(sources) > 1 else (sources or [rr.run.name])[0]
        paths.append((path, suffix))
    parts = [Path(p).parts for p, _ in paths]
    common = 0
    while all(len(p) > common + 1 for p in parts) and len({p[common] for p in parts}) == 1:
        common += 1
    out = [
        Path(*p[common:]).as_posix() + suffix for p, (_, suffix) in zip(parts, paths, strict=True)
    ]
    return out if len(set(out)) == len(out) else [f"{i}: {o}" for i, o in enumerate(out, 1)]


def compare(analysis: Any) -> Comparison:
    """A :class:`Comparison` of every run in ``analysis``, in the order given."""
    rows = []
    for rr, label in zip(analysis.runs, labels(analysis.runs), strict=True):
        best = rr.best
        rows.append(
            CompareRow(
                name=label,
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

"""Compare runs: where each one was best, how far apart they are, and how each ended.

Like is compared with like: every run is compared on the same loss (the validation loss
when at least two runs logged one, else the training loss) on the same kind of index
(epochs or steps). A run that cannot be compared so is left out, with the reason
(:attr:`Comparison.left_out`), never silently mixed in: a training loss is not starred
as the best validation loss, and no difference is taken across two metrics.

The numbers are read off the runs (best and final value of the compared loss, findings);
the only arithmetic is the difference of each best to the best of all runs and the final
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

    position: int  # the run's position in the Analysis (``analysis.runs[position]``)
    name: str
    format: str
    index: str
    length: int
    monitor: str | None  # the compared series of this run (its ``val_loss`` or ``train_loss``)
    best_value: float | None
    best_index: float | int | None
    delta_best: float | None  # best_value minus the lowest best_value of all runs
    final_value: float | None  # last logged value of the monitor (may be NaN/inf)
    final_gap: float | None  # val - train loss at the last index both were logged
    findings: list[str] = field(default_factory=list)  # "LA101 overfitting", worst first


@dataclass
class LeftOut:
    """A run the comparison could not include, and why."""

    position: int
    name: str
    reason: str


@dataclass
class Comparison:
    rows: list[CompareRow]
    left_out: list[LeftOut] = field(default_factory=list)
    #: ``"validation"`` or ``"training"``: which loss every row compares.
    role: str = "validation"
    #: ``"epoch"`` or ``"step"``: the index every row is on.
    index: str = "epoch"

    @property
    def what(self) -> str:
        """``"Validation loss"`` or ``"Training loss"`` (titles)."""
        return f"{self.role.capitalize()} loss"

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
    """A :class:`Comparison` of the runs in ``analysis`` that can be compared on one loss
    and one index, in the order given; the others are in ``left_out`` with the reason.

    Example:
        >>> from loganalyzer.analysis import Analysis, analyze_run, to_run
        >>> a = analyze_run(to_run({"loss": [1.0, 0.5], "val_loss": [1.0, 0.6]}, "a"))
        >>> b = analyze_run(to_run({"loss": [1.0, 0.4], "val_loss": [0.9, 0.7]}, "b"))
        >>> c = analyze_run(to_run({"loss": [1.0, 0.2]}, "c"))
        >>> cmp = compare(Analysis(runs=[a, b, c]))
        >>> cmp.what, [r.name for r in cmp.rows], [(x.name, x.reason) for x in cmp.left_out]
        ('Validation loss', ['a', 'b'], [('c', 'no validation loss logged')])
    """
    results = analysis.runs
    names = labels(results)
    has_val = [rr.best_of(rr.run.val_loss) is not None for rr in results]
    has_train = [rr.best_of(rr.run.train_loss) is not None for rr in results]
    if sum(has_val) >= 2 or sum(has_val) >= sum(has_train):
        role, usable, missing = "validation", has_val, "no validation loss logged"
    else:
        role, usable, missing = "training", has_train, "no training loss logged"
    indices = [rr.run.index for rr, ok in zip(results, usable, strict=True) if ok]
    index = max(sorted(set(indices)), key=indices.count) if indices else "epoch"
    rows: list[CompareRow] = []
    left_out: list[LeftOut] = []
    for i, (rr, label, ok) in enumerate(zip(results, names, usable, strict=True)):
        run = rr.run
        if not ok:
            left_out.append(LeftOut(i, label, missing))
            continue
        if run.index != index:
            left_out.append(LeftOut(i, label, f"logged per {run.index}, the others per {index}"))
            continue
        column = run.val_loss if role == "validation" else run.train_loss
        best = rr.best_of(column)
        rows.append(
            CompareRow(
                position=i,
                name=label,
                format=run.format,
                index=run.index,
                length=run.length,
                monitor=column,
                best_value=best["value"] if best else None,
                best_index=best["index"] if best else None,
                delta_best=None,
                final_value=_final_value(run, column),
                final_gap=_final_gap(run),
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
    return Comparison(rows, left_out, role, index)

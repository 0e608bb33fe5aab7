"""``sweep-outlier``: a run that ends far worse than its siblings in the same sweep.

A run can look clean on its own (its loss falls and settles) and still be broken: a
sweep of the same setup shows what the loss *should* reach. This detector compares runs
analysed together, so it works on the whole analysis, not on one run
(:func:`detect_sweep`; :func:`detect` on a single run finds nothing).

**Siblings** are runs of one script with different settings: the same format and
monitored loss name, logged files of the same name (``trainer_state.json`` in
``lr_1e-4/`` and ``lr_3e-4/``) at the very same points (the same epochs or steps, as a
sweep with one ``max_steps`` logs them), in folders at most ``max_depth`` levels below
their common parent (``sweep/<config>/<seed>/``). A sweep needs at least ``min_runs``
such runs. Unrelated projects collected in one folder are not a sweep: their files have
other names or other logging points.

A run is an **outlier** when its final level (the median of the last tenth of its
monitored loss, at least 3 points) is at least ``min_ratio`` times the *reference* of
its siblings: the median of the better half of the siblings' final levels. The better
half, not all of them: a sweep in which half the configurations are broken still shows
what the working ones reach. Only positive losses are compared.

Example:
    >>> from loganalyzer.analysis import to_run
    >>> runs = []
    >>> for i, end in enumerate([0.94, 1.0, 1.1, 0.97, 5.6]):
    ...     run = to_run({"loss": [2.0, 1.5, 1.2] + [end] * 7}, name=f"seed{i}")
    ...     run.sources = [f"sweep/cfg{i}/trainer_state.json"]
    ...     runs.append(run)
    >>> from loganalyzer.rulepack import rule_by_code
    >>> found = detect_sweep(runs, rule_by_code("LA113"), {})
    >>> sorted(found), round(found[4][0].evidence["reference"], 3)
    ([4], 0.955)
"""

from __future__ import annotations

import os
from pathlib import PurePath

import numpy as np

from loganalyzer.findings import Finding
from loganalyzer.rulepack import Rule
from loganalyzer.run import Run

KIND = "sweep-outlier"

DEFAULTS = {"min_runs": 4, "min_ratio": 2.0, "max_depth": 2}


def detect(run: Run, rule: Rule, params: dict) -> list[Finding]:
    """A single run has no siblings: see :func:`detect_sweep`."""
    return []


def final_level(run: Run) -> float | None:
    """Median of the last tenth (at least 3 points) of the monitored loss, if positive."""
    name = run.val_loss or run.train_loss
    s = run.series(name)
    if s is None:
        return None
    y = s.to_numpy(dtype=float)
    y = y[np.isfinite(y)]
    if len(y) < 5:
        return None
    level = float(np.median(y[-max(3, len(y) // 10) :]))
    return level if level > 0 else None


def _folder(run: Run) -> PurePath | None:
    if not run.sources:
        return None
    src = PurePath(run.sources[0])
    return src.parent if run.format != "tensorboard" else _tb_run_dir(src)


def _tb_run_dir(src: PurePath) -> PurePath:
    parent = src.parent
    return parent.parent if parent.name in ("train", "validation", "eval") else parent


def _key(run: Run) -> tuple | None:
    folder = _folder(run)
    if folder is None:
        return None
    name = PurePath(run.sources[0]).name if run.format != "tensorboard" else "tfevents"
    monitor = run.val_loss or run.train_loss
    s = run.series(monitor)
    if s is None or s.empty:
        return None
    points = s.index.to_numpy(dtype=float)  # the logged points, compared by their bytes
    return (run.format, run.index, monitor, name, len(points), points.tobytes())


def groups(runs: list[Run], params: dict | None = None) -> list[list[int]]:
    """Indices of ``runs`` that form sweeps (see the module docstring)."""
    p = {**DEFAULTS, **(params or {})}
    by_key: dict[tuple, list[int]] = {}
    for i, run in enumerate(runs):
        key = _key(run)
        if key is not None:
            by_key.setdefault(key, []).append(i)
    out = []
    for members in by_key.values():
        for part in _by_folder_depth(runs, members, int(p["max_depth"])):
            if len(part) >= int(p["min_runs"]):
                out.append(part)
    return out


def _by_folder_depth(runs: list[Run], members: list[int], max_depth: int) -> list[list[int]]:
    """Split ``members`` until every folder is at most ``max_depth`` below the common one."""
    if len(members) < 2:
        return [members]
    folders = {i: str(_folder(runs[i])) for i in members}
    try:
        common = os.path.commonpath(list(folders.values()))
    except ValueError:  # mixed absolute and relative paths
        return []
    depth = {i: len(PurePath(os.path.relpath(f, common)).parts) for i, f in folders.items()}
    depth = {i: (0 if folders[i] == common else d) for i, d in depth.items()}
    if max(depth.values()) <= max_depth:
        return [members]
    parts: dict[str, list[int]] = {}
    for i in members:
        rel = PurePath(os.path.relpath(folders[i], common)).parts
        parts.setdefault(rel[0] if rel and rel[0] != "." else "", []).append(i)
    if len(parts) == 1:  # cannot split further
        return []
    out = []
    for sub in parts.values():
        out.extend(_by_folder_depth(runs, sub, max_depth))
    return out


def detect_sweep(runs: list[Run], rule: Rule, params: dict) -> dict[int, list[Finding]]:
    """``{index into runs: [finding]}`` for every run far worse than its siblings."""
    p = {**DEFAULTS, **params}
    found: dict[int, list[Finding]] = {}
    for members in groups(runs, p):
        levels = {i: final_level(runs[i]) for i in members}
        levels = {i: v for i, v in levels.items() if v is not None}
        if len(levels) < int(p["min_runs"]):
            continue
        for i, level in levels.items():
            others = sorted(v for j, v in levels.items() if j != i)
            better = others[: max(1, (len(others) + 1) // 2)]
            reference = float(np.median(better))
            if reference <= 0 or level < float(p["min_ratio"]) * reference:
                continue
            run = runs[i]
            name = run.val_loss or run.train_loss
            orig = run.original_names.get(name, name)
            s = run.series(name)
            found[i] = [
                Finding(
                    rule=rule.code,
                    kind=KIND,
                    severity=rule.severity,
                    metric=name,
                    start=None,
                    end=s.index[-1].item() if hasattr(s.index[-1], "item") else s.index[-1],
                    message=(
                        f"{orig} ends at {level:.4g}, {level / reference:.1f}x what its "
                        f"{len(others)} sibling runs in this sweep reach (the better half "
                        f"ends at {reference:.4g}; all siblings: {others[0]:.4g} to "
                        f"{others[-1]:.4g}): this run is broken even if its own curve "
                        "looks clean; compare its configuration and data with theirs."
                    ),
                    evidence={
                        "metric": name,
                        "final_level": level,
                        "reference": reference,
                        "ratio": level / reference,
                        "siblings": [runs[j].name for j in levels if j != i],
                        "sibling_levels": others,
                    },
                )
            ]
    return found

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

The evidence names the siblings and their final levels; in a sweep of more than
``MAX_LISTED`` siblings only the best ``MAX_LISTED`` (lowest levels first), with
``sibling_count`` saying how many there are: a sweep of 2,000 runs with a third of them
broken wrote 2,000 names into each of 667 findings (97 MB of JSON instead of 10).

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

import bisect
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import numpy as np

from loganalyzer.findings import Finding
from loganalyzer.rulepack import Rule
from loganalyzer.run import Run
from loganalyzer.stats import median

KIND = "sweep-outlier"

DEFAULTS = {"min_runs": 4, "min_ratio": 2.0, "max_depth": 2}

#: The most siblings an outlier's evidence lists (the best ones of a larger sweep).
MAX_LISTED = 50


def detect(run: Run, rule: Rule, params: dict) -> list[Finding]:
    """A single run has no siblings: see :func:`detect_sweep`."""
    return []


@dataclass(frozen=True, slots=True)
class Sibling:
    """What the comparison needs of one run: a few hundred bytes, so a sweep of 100,000
    runs is compared without keeping the runs (:func:`sibling`).

    Attributes:
        name: The run's name (listed in its siblings' evidence).
        key: Which runs can be siblings (format, index kind, monitored loss, file name,
            the logged points: their count and a digest of their bytes), or ``None``.
            The runs of a sweep share one key: a long list of summaries keeps one copy.
        folder: The run's folder.
        level: :func:`final_level`.
        metric: The monitored loss; ``label`` its name in the log.
        end: The last logged index of the monitored loss.
    """

    name: str
    key: tuple | None
    folder: str | None
    level: float | None
    metric: str | None
    label: str | None
    end: Any


def sibling(run: Run) -> Sibling:
    """The :class:`Sibling` summary of ``run``."""
    metric = run.val_loss or run.train_loss
    s = run.points(metric)
    end = None
    if s is not None and len(s.x):
        end = s.x[-1].item() if hasattr(s.x[-1], "item") else s.x[-1]
    folder = _folder(run)
    return Sibling(
        run.name,
        _key(run),
        None if folder is None else str(folder),
        final_level(run),
        metric,
        run.original_names.get(metric, metric),
        end,
    )


class SiblingTable:
    """The :class:`Sibling` summaries of a sweep too large to keep as objects, as columns.

    What stays in memory is 16 bytes per run: a digest of its key (runs can only be
    siblings when their keys are equal). The rest of each summary goes to ``records``,
    an append-only store of byte strings read back in order (a temporary file for a
    large sweep), and is read back only for the runs whose key at least ``min_runs``
    runs share: the only runs a sweep can hold. A sweep of 100,000 runs is compared in
    about 2 MB instead of 30 (the summaries as objects, ~300 bytes each).

    Args:
        records: Where the summaries are written: a list, or any store that can
            ``append`` byte strings and iterate over them in order.

    Example:
        >>> table = SiblingTable([])
        >>> for i in range(5):
        ...     s = Sibling(f"seed{i}", ("csv", "epoch", 1), "sweep", 1.0, "loss", "loss", 9)
        ...     table.append(SiblingTable.pack(s))
        >>> table.append(SiblingTable.pack(Sibling("alone", None, None, None, None, None, None)))
        >>> len(table), sorted(table.sharing(4))
        (6, [0, 1, 2, 3, 4])
    """

    def __init__(self, records) -> None:
        self.digests = bytearray()
        self.records = records

    def __len__(self) -> int:
        return len(self.digests) // 16

    @staticmethod
    def pack(s: Sibling) -> tuple[bytes, bytes]:
        """``s`` as the table keeps it: its key's digest and its other fields (a worker
        packs its runs' summaries, the parent only appends them)."""
        # 16 zero bytes: no key (a blake2b digest of 16 zero bytes has odds of 2**-128)
        key = bytes(16) if s.key is None else _digest(repr(s.key).encode())
        return key, json.dumps((s.name, s.folder, s.level, s.metric, s.label, s.end)).encode()

    def append(self, packed: tuple[bytes, bytes]) -> None:
        """Add a summary packed by :meth:`pack`."""
        key, record = packed
        self.digests += key
        self.records.append(record)

    def sharing(self, min_runs: int) -> dict[int, Sibling]:
        """``{position: summary}`` of the runs whose key at least ``min_runs`` runs
        have; each summary's ``key`` is the digest of the key it was packed with."""
        keys = np.frombuffer(bytes(self.digests), dtype="V16")
        if not len(keys):
            return {}
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        keep = (counts[inverse.ravel()] >= max(1, min_runs)) & (keys != np.void(bytes(16)))
        wanted = set(np.flatnonzero(keep).tolist())
        out: dict[int, Sibling] = {}
        for i, record in enumerate(self.records):
            if i in wanted:
                name, folder, level, metric, label, end = json.loads(record)
                out[i] = Sibling(name, bytes(keys[i]), folder, level, metric, label, end)
        return out


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def final_level(run: Run) -> float | None:
    """Median of the last tenth (at least 3 points) of the monitored loss, if positive."""
    name = run.val_loss or run.train_loss
    s = run.points(name)
    if s is None:
        return None
    y = s.y[np.isfinite(s.y)]
    if len(y) < 5:
        return None
    level = float(median(y[-max(3, len(y) // 10) :]))
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
    s = run.points(monitor)
    if s is None or not len(s.y):
        return None
    # The logged points, compared by a digest of their bytes: a sweep of 100,000 runs
    # keeps one key per run whose file names differ, and the bytes themselves (800 for
    # 100 epochs) were most of the parent's memory per run.
    points = s.x.astype(float)
    return (run.format, run.index, monitor, name, len(points), _digest(points.tobytes()))


def groups(runs: list[Run] | list[Sibling], params: dict | None = None) -> list[list[int]]:
    """Indices of ``runs`` that form sweeps (see the module docstring)."""
    p = {**DEFAULTS, **(params or {})}
    runs = [r if isinstance(r, Sibling) else sibling(r) for r in runs]
    by_key: dict[tuple, list[int]] = {}
    for i, run in enumerate(runs):
        key = run.key
        if key is not None:
            by_key.setdefault(key, []).append(i)
    out = []
    for members in by_key.values():
        for part in _by_folder_depth(runs, members, int(p["max_depth"])):
            if len(part) >= int(p["min_runs"]):
                out.append(part)
    return out


def _by_folder_depth(runs: list[Sibling], members: list[int], max_depth: int) -> list[list[int]]:
    """Split ``members`` until every folder is at most ``max_depth`` below the common one."""
    if len(members) < 2:
        return [members]
    folders = {i: str(runs[i].folder) for i in members}
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


def detect_sweep(
    runs: list[Run] | list[Sibling] | SiblingTable, rule: Rule, params: dict
) -> dict[int, list[Finding]]:
    """``{index into runs: [finding]}`` for every run far worse than its siblings
    (``runs`` may be the runs, their :class:`Sibling` summaries, or a
    :class:`SiblingTable` of them)."""
    p = {**DEFAULTS, **params}
    if isinstance(runs, SiblingTable):  # only the runs whose key enough runs share
        some = runs.sharing(int(p["min_runs"]))
        at = list(some)
        return {at[k]: f for k, f in detect_sweep(list(some.values()), rule, params).items()}
    runs = [r if isinstance(r, Sibling) else sibling(r) for r in runs]
    found: dict[int, list[Finding]] = {}
    for members in groups(runs, p):
        levels = {i: runs[i].level for i in members}
        levels = {i: v for i, v in levels.items() if v is not None}
        if len(levels) < max(2, int(p["min_runs"])):  # a run alone has no siblings
            continue
        ordered = sorted(levels.values())
        best: list[int] | None = None  # the members, lowest level first (a large sweep)
        for i, level in levels.items():
            reference = _reference(ordered, level)
            if reference <= 0 or level < float(p["min_ratio"]) * reference:
                continue
            count = len(ordered) - 1
            listed = _others(ordered, level, MAX_LISTED)
            highest = ordered[-1] if level < ordered[-1] else ordered[-2]
            if count <= MAX_LISTED:  # every sibling, in sweep order
                names, more = [runs[j].name for j in levels if j != i], {}
            else:  # the best MAX_LISTED, lowest level first, and how many there are
                if best is None:
                    best = sorted(levels, key=levels.__getitem__)[: MAX_LISTED + 1]
                names = [runs[j].name for j in best if j != i][:MAX_LISTED]
                more = {"sibling_count": count}
            run = runs[i]
            found[i] = [
                Finding(
                    rule=rule.code,
                    kind=KIND,
                    severity=rule.severity,
                    metric=run.metric,
                    start=None,
                    end=run.end,
                    message=(
                        f"{run.label} ends at {level:.4g}, {level / reference:.1f}x what its "
                        f"{count} sibling runs in this sweep reach (the better half "
                        f"ends at {reference:.4g}; all siblings: {listed[0]:.4g} to "
                        f"{highest:.4g}): this run is broken even if its own curve "
                        "looks clean; compare its configuration and data with theirs."
                    ),
                    evidence={
                        "metric": run.metric,
                        "final_level": level,
                        "reference": reference,
                        "ratio": level / reference,
                        "siblings": names,
                        "sibling_levels": listed,
                        **more,
                    },
                )
            ]
    return found


def _reference(ordered: list[float], level: float) -> float:
    """The median of the better half of the *other* runs' levels: ``ordered`` are all
    the levels of the sweep, sorted, ``level`` is this run's. Read off ``ordered``
    without building the others' list for every run (that made a sweep of n runs cost
    n * n: 2.25 million steps for 1,500 runs, ten billion for 100,000)."""
    n = len(ordered)
    k = max(1, n // 2)  # the better half of the n - 1 others
    at = bisect.bisect_left(ordered, level)  # this run's place; the others skip it

    def other(j: int) -> float:  # the j-th smallest of the others
        return ordered[j] if j < at else ordered[j + 1]

    middle = [other((k - 1) // 2)] if k % 2 else [other(k // 2 - 1), other(k // 2)]
    return float(median(middle))


def _others(ordered: list[float], level: float, upto: int) -> list[float]:
    """The lowest ``upto`` levels of the *other* runs: ``ordered`` (all the sweep's
    levels, sorted) without one copy of ``level``, built only as far as it is listed."""
    at = bisect.bisect_left(ordered, level)
    return ordered[: min(at, upto)] + ordered[at + 1 : upto + 1]

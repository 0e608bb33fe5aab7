"""TensorBoard event files -> canonical runs, read without TensorFlow.

A TensorBoard run is a *folder*, not a file:

- Keras (``keras.callbacks.TensorBoard``) writes ``RUN/train/events...`` and
  ``RUN/validation/events...``: one run keyed by ``RUN``. ``epoch_<metric>`` tags are
  the per-epoch series (``epoch_loss`` in ``validation/`` is ``val_loss``;
  ``epoch_learning_rate`` is ``learning_rate``), indexed by epoch. ``batch_<metric>``
  tags (``update_freq="batch"`` or an integer) and ``evaluation_<metric>_vs_iterations``
  are on another index (the batch step) and go to :attr:`Run.side_series`.
- tensorboardX, ``torch.utils.tensorboard``, Lightning (``lightning_logs/version_0/``)
  and Hugging Face (``runs/<date>_<host>/``) write one folder per run with tags such as
  ``train/loss``, ``eval/loss``, ``val_loss``, ``loss/train``, ``train_loss_step`` /
  ``train_loss_epoch``; they are named through :func:`loganalyzer.naming.canonical_name`
  and indexed by global step. The ``epoch`` counter Lightning and HF log as a scalar
  is kept in :attr:`Run.side_series` (it is the clock, not a metric).
- Several event files in one folder (a run restarted or resumed) are merged in step
  order. Where a restarted run logged a step again, the later value (by wall time)
  wins and a warning says so.

Every scalar point is kept (no reservoir sampling, unlike TensorBoard's own
accumulator). Both TF2 tensor summaries (what ``tf.summary`` and Keras write) and
legacy ``simple_value`` scalars are read; histograms, images, graphs and other plugin
data are left out and listed in :attr:`Run.dropped`. A step logged more than once in
one file (Lightning's learning-rate monitor does) keeps its last value. Damaged files
(a truncated last record, a CRC mismatch, garbage) keep every valid record and warn
with the byte offset;
see :mod:`loganalyzer.readers._tfrecord` for the record-level reader and why it is
hand-written.

Example:
    >>> from pathlib import Path
    >>> from loganalyzer.readers import tensorboard
    >>> files = sorted(Path("logs/fit").rglob("*tfevents*"))  # doctest: +SKIP
    >>> for run_dir, group in tensorboard.group(files):  # doctest: +SKIP
    ...     run = tensorboard.read_group(run_dir, group)[0]
    ...     print(run.name, run.index, run.train_loss, run.val_loss)
    fit epoch loss val_loss
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np

from loganalyzer.errors import LogReadError
from loganalyzer.naming import canonical_name, is_loss, split_of
from loganalyzer.readers._tfrecord import EventFileError, Scalars, read_scalars
from loganalyzer.run import Run
from loganalyzer.sources import as_path

FORMAT = "tensorboard"

#: Sub-folders that hold one split of a run (Keras ``train/`` + ``validation/``; the
#: Estimator's ``eval/``). Their event files belong to the parent folder's run.
TRAIN_DIRS = ("train",)
VAL_DIRS = ("validation", "eval")

# Canonical names of scalars that count progress rather than measure training.
_COUNTERS = ("epoch", "global_step")


def sniff(path: Path, head: bytes) -> bool:
    """True when ``head`` starts with a valid TFRecord header (length + its CRC).

    Example:
        >>> sniff(Path("x"), b"not an event file at all")
        False
    """
    import struct

    from loganalyzer.readers._tfrecord import masked_crc32c

    if len(head) < 12:
        return False
    return masked_crc32c(head[:8]) == struct.unpack_from("<I", head, 8)[0]


def group(files: Iterable[Path]) -> list[tuple[Path, list[Path]]]:
    """Group event files into runs: ``[(run_dir, [files...]), ...]``, sorted.

    Files in a ``train/``, ``validation/`` or ``eval/`` sub-folder belong to the run of
    the folder above (the Keras layout); every other folder is one run, however many
    event files (restarts) it holds.

    Example:
        >>> group([Path("fit/train/events.out.tfevents.1.a.v2"),
        ...        Path("fit/validation/events.out.tfevents.2.a.v2"),
        ...        Path("lightning_logs/version_0/events.out.tfevents.3.b")])
        ... # doctest: +NORMALIZE_WHITESPACE
        [(PosixPath('fit'), [PosixPath('fit/train/events.out.tfevents.1.a.v2'),
                             PosixPath('fit/validation/events.out.tfevents.2.a.v2')]),
         (PosixPath('lightning_logs/version_0'),
          [PosixPath('lightning_logs/version_0/events.out.tfevents.3.b')])]
    """
    files = [as_path(f) for f in files]
    paired = _scalars_pairs({f.parent for f in files})
    runs: dict[Path, list[Path]] = {}
    own = {f.parent for f in files}
    for f in files:
        parent = f.parent
        split = parent.name in TRAIN_DIRS + VAL_DIRS or parent in paired
        key = parent.parent if split else parent
        if (
            parent in paired
            and key not in own
            and key.parent in own
            and not key.name.endswith(tuple(_SCALARS_SPLITS))
        ):
            # tensorboardX nests add_scalars as RUN/loss/training: the writer's own
            # event file sits in RUN, so the splits belong to RUN's run.
            key = key.parent
        runs.setdefault(key, []).append(f)
    return sorted((k, sorted(v)) for k, v in runs.items())


#: ``SummaryWriter.add_scalars(tag, {"training": .., "validation": ..})`` (PyTorch,
#: tensorboardX) writes each key to a sibling folder ``<tag>_<key>``: split suffixes.
_SCALARS_SPLITS = {
    "training": "train",
    "train": "train",
    "validation": "validation",
    "val": "validation",
    "valid": "validation",
    "eval": "validation",
}


def _scalars_split(name: str) -> tuple[str, str] | None:
    """``("loss", "validation")`` for an ``add_scalars`` folder named ``loss_validation``
    (PyTorch), ``("", "train")`` for one named ``training`` (tensorboardX nests
    ``loss/training``)."""
    if name in _SCALARS_SPLITS:
        return "", _SCALARS_SPLITS[name]
    head, _, tail = name.rpartition("_")
    return (head, _SCALARS_SPLITS[tail]) if head and tail in _SCALARS_SPLITS else None


def _scalars_pairs(folders: set[Path]) -> set[Path]:
    """The ``add_scalars`` split folders that have a sibling of the other split (the
    same tag, ``loss_training`` beside ``loss_validation``): one run, their parent's.

    Example:
        >>> sorted(p.as_posix() for p in _scalars_pairs({Path("r/loss_training"),
        ...     Path("r/loss_validation"), Path("r/lr_val"), Path("x/loss/training"),
        ...     Path("x/loss/val"), Path("other")}))
        ['r/loss_training', 'r/loss_validation', 'x/loss/training', 'x/loss/val']
    """
    by_tag: dict[tuple[Path, str], set[str]] = {}
    for d in folders:
        got = _scalars_split(d.name)
        if got:
            by_tag.setdefault((d.parent, got[0]), set()).add(got[1])
    return {
        d
        for d in folders
        if (got := _scalars_split(d.name)) and len(by_tag[(d.parent, got[0])]) == 2
    }


def _split_of_file(f: Path, run_dir: Path | None = None) -> str:
    """The split an event file belongs to: its folder ``train``/``validation``/``eval``
    (Keras), or an ``add_scalars`` folder ``<tag>_training``/``<tag>_validation`` grouped
    under ``run_dir``; ``""`` for a file of the run folder itself."""
    name = f.parent.name
    if name in TRAIN_DIRS + VAL_DIRS:
        return name
    if run_dir is not None and f.parent != run_dir and _scalars_split(name):
        return _scalars_split(name)[1]
    return ""


def _is_val(split: str) -> bool:
    return split in VAL_DIRS


def _label(f: Path, run_dir: Path) -> str:
    try:
        return Path(os.path.relpath(f, run_dir)).as_posix()
    except (ValueError, TypeError):  # another drive, or a Source (URL)
        top = str(run_dir).rstrip("/") + "/"
        return str(f)[len(top) :] if str(f).startswith(top) else f.name


def read(path: Path, *, check_crc: bool = True) -> list[Run]:
    """Read a single event file as a run of its own (see :func:`read_group`)."""
    return read_group(as_path(path).parent, [as_path(path)], check_crc=check_crc)


def read_group(run_dir: Path, files: list[Path], *, check_crc: bool = True) -> list[Run]:
    """Read the event files of one run folder and merge them into one canonical run.

    Args:
        run_dir: The run folder (``RUN`` for ``RUN/train`` + ``RUN/validation``).
        files: Its event files (from :func:`group`).
        check_crc: Check each record's data CRC too (the length CRC of each record
            header is always checked). Costs about 0.1-0.2 s per million events.

    Returns:
        One :class:`~loganalyzer.run.Run` (format ``"tensorboard"``).

    Raises:
        LogReadError: no file holds a readable record, or no scalar was logged.

    Example:
        >>> runs = read_group(Path("fit"), [Path("fit/train/events.out.tfevents.1.a.v2"),
        ...                                 Path("fit/validation/events.out.tfevents.2.a.v2")])
        ... # doctest: +SKIP
        >>> runs[0].metrics.columns.tolist()  # doctest: +SKIP
        ['loss', 'accuracy', 'learning_rate', 'val_loss', 'val_accuracy']
    """
    run_dir = as_path(run_dir)
    warnings: list[str] = []
    dropped: dict[str, str] = {}
    read_ok: list[tuple[Path, str, Scalars]] = []
    failures: list[tuple[Path, EventFileError | OSError]] = []
    for f in files:
        f = as_path(f)
        try:
            sc = read_scalars(f, check_crc=check_crc)
        except (EventFileError, OSError) as exc:
            failures.append((f, exc))
            continue
        label = _label(f, run_dir)
        warnings.extend(f"{label}: {w}" for w in sc.warnings)
        split = _split_of_file(f, run_dir)
        for tag, why in sc.dropped.items():
            dropped.setdefault(_prefixed(tag, split), why)
        read_ok.append((f, split, sc))
    if not read_ok:
        f, exc = failures[0]
        if isinstance(exc, EventFileError):
            source = str(f) if len(files) == 1 else str(run_dir)
            why = exc.why if len(files) == 1 else f"{f.name}: {exc.why}"
            raise LogReadError(source, why, exc.where)
        raise exc
    for f, exc in failures:
        why = exc.why if isinstance(exc, EventFileError) else (exc.strerror or str(exc))
        where = f" ({exc.where})" if getattr(exc, "where", None) else ""
        warnings.append(f"{_label(f, run_dir)}: {why}{where}; skipped this file")

    # First wall time of each file: restarts are merged in the order they ran.
    def first_wall(item):
        sc = item[2]
        return (float(sc.wall_time.min()) if len(sc.wall_time) else float("inf"), str(item[0]))

    read_ok.sort(key=first_wall)
    series = _merge([(f, split, _by_tag(sc)) for f, split, sc in read_ok], run_dir, warnings)
    if not series:
        what = ", ".join(sorted(set(dropped.values()))) or "no summaries"
        raise LogReadError(
            str(files[0]) if len(files) == 1 else str(run_dir),
            f"no scalar summaries in the event file(s) (found: {what})",
        )
    run = _build_run(run_dir, files, series, warnings, dropped)
    return [run]


def _prefixed(tag: str, split: str) -> str:
    """How a tag is named in ``original_names``/``dropped``: ``validation/epoch_loss``
    for the validation folder's tags, the bare tag otherwise."""
    return f"{split}/{tag}" if _is_val(split) else tag


def _by_tag(sc: Scalars) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Split a file's points per tag: tag -> (step, wall_time, value), in file order.
    Empties ``sc`` as it goes, so a file's points are held once, not twice."""
    out = {}
    tid = sc.tag_id
    if len(sc.tags) <= 16:
        groups = [(t, np.flatnonzero(tid == t)) for t in range(len(sc.tags))]
    else:
        order = np.argsort(tid, kind="stable")
        bounds = np.flatnonzero(np.diff(tid[order])) + 1
        groups = [(int(tid[c[0]]), c) for c in np.split(order, bounds) if len(c)]
    sc.tag_id = np.zeros(0, np.int32)
    for name in ("step", "wall_time", "value"):
        column = getattr(sc, name)
        setattr(sc, name, np.zeros(0, column.dtype))
        for t, idx in groups:
            if len(idx):
                out.setdefault(sc.tags[t], []).append(column[idx])
        del column
    return {tag: tuple(parts) for tag, parts in out.items()}


class Curve(NamedTuple):
    """The merged points of one tag: ``step`` strictly increasing (int64), ``value``
    (float64) at each step."""

    step: np.ndarray
    value: np.ndarray


def _merge(
    read_ok: list[tuple[Path, str, dict]], run_dir: Path, warnings: list[str]
) -> dict[tuple[str, str], Curve]:
    """One curve per (split, tag): all files' points, later wall time winning on
    a step logged twice, sorted by step (strictly increasing)."""
    per_key: dict[tuple[str, str], list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]] = {}
    for file_no, (_, split, tags) in enumerate(read_ok):
        for tag, (step, wall, value) in tags.items():
            per_key.setdefault((split, tag), []).append((file_no, step, wall, value))
        tags.clear()
    out: dict[tuple[str, str], Curve] = {}
    restarts: dict[int, tuple[int, int, int]] = {}  # file -> (from step, to step, rewritten)
    for key, parts in per_key.items():
        step = np.concatenate([p[1] for p in parts])
        wall = np.concatenate([p[2] for p in parts])
        value = np.concatenate([p[3] for p in parts])
        file_of = np.concatenate([np.full(len(p[1]), p[0]) for p in parts])
        if len(parts) > 1:
            # Files were read in order of their first wall time; within that, order
            # every point by wall time (stable, so equal times keep file order).
            o = np.argsort(wall, kind="stable")
            step, value, file_of = step[o], value[o], file_of[o]
        parts.clear()
        if len(step) < 2 or bool(np.all(step[1:] > step[:-1])):
            out[key] = Curve(step, value)  # the usual case: nothing to merge
            continue
        before = np.maximum.accumulate(step)
        back = np.flatnonzero(step[1:] < before[:-1]) + 1
        if len(back):
            i = int(back[0])
            f = int(file_of[i])
            # steps logged again after going back: later (by wall time) wins
            rewritten = int(len(step) - len(np.unique(step)))
            prev = restarts.get(f)
            if prev is None or rewritten > prev[2]:
                restarts[f] = (int(before[i - 1]), int(step[i]), rewritten)
        # keep the last occurrence of each step
        rev_unique, rev_idx = np.unique(step[::-1], return_index=True)
        keep = len(step) - 1 - rev_idx
        out[key] = Curve(rev_unique, value[keep])
    for f, (hi, lo, rewritten) in sorted(restarts.items()):
        label = _label(read_ok[f][0], run_dir)
        warnings.append(
            f"{label}: steps go back from {hi} to {lo} (a restarted run); "
            f"{rewritten} step(s) were logged more than once, kept the later value of each"
        )
    return out


def _on(index: np.ndarray, c: Curve) -> np.ndarray:
    """``c``'s values spread on ``index`` (a sorted superset of its steps), NaN where
    it has no point: what reindexing a pandas Series does."""
    if len(index) == len(c.step):  # the same steps (sorted, unique): nothing to spread
        return c.value
    out = np.full(len(index), np.nan)
    out[np.searchsorted(index, c.step)] = c.value
    return out


def _fill_gaps(first: Curve, second: Curve) -> Curve:
    """``first`` with its gaps (NaN, or steps it lacks) filled from ``second``, on the
    union of their steps: ``Series.combine_first``."""
    union = np.union1d(first.step, second.step)
    a, b = _on(union, first), _on(union, second)
    return Curve(union, np.where(np.isnan(a), b, a))


def _union_steps(curves: Iterable[Curve]) -> np.ndarray:
    """The sorted union of the curves' steps (the rows a DataFrame of them would have)."""
    steps = [c.step for c in curves]
    if not steps:
        return np.zeros(0, np.int64)
    first = steps[0]
    if all(len(s) == len(first) and np.array_equal(s, first) for s in steps[1:]):
        return first  # one clock for all (every Keras epoch tag): no union to build
    return np.unique(np.concatenate(steps))


def _lightning_base(tag: str, tags: set[str]) -> str:
    """``train_loss_epoch`` -> ``train_loss`` (Lightning's ``on_epoch`` aggregate is the
    series to compare with validation); ``train_loss_step`` -> ``train_loss`` only when
    no ``_epoch`` twin exists. Other tags are returned unchanged."""
    for suffix, twin in (("_epoch", "_step"), ("_step", "_epoch")):
        if tag.endswith(suffix) and len(tag) > len(suffix):
            base = tag[: -len(suffix)]
            if base in tags:
                return tag
            split, name = split_of(base)
            if not split and not is_loss(canonical_name(base)):
                return tag
            if suffix == "_step" and base + twin in tags:
                return tag
            return base
    return tag


def _build_run(
    run_dir: Path,
    files: list[Path],
    series: dict[tuple[str, str], Curve],
    warnings: list[str],
    dropped: dict[str, str],
) -> Run:
    # Built from numpy columns (Run.from_columns), not a DataFrame: the frame, a
    # Series per tag, combine_first and the index unions cost as much as decoding the
    # event files of a 100-epoch Keras run, and a worker paid pandas' import for them.
    # The result is the same as the DataFrame of the tags' Series: its rows are the
    # sorted union of the steps, NaN where a tag has no point.
    keras = any(split for split, _ in series) or any(t.startswith("epoch_") for _, t in series)
    has_epoch_tags = any(t.startswith("epoch_") for _, t in series)
    tags_by_split: dict[str, set[str]] = {}
    for split, tag in series:
        tags_by_split.setdefault(split, set()).add(tag)

    main: dict[tuple[str, str], Curve] = {}
    side: dict[tuple[str, str], Curve] = {}
    if keras and has_epoch_tags:
        index = "epoch"
        epoch_max = max(int(c.step[-1]) for (_, t), c in series.items() if t.startswith("epoch_"))
        for key, c in series.items():
            tag = key[1]
            if tag.startswith("epoch_"):
                main[key] = c
            elif tag.startswith("batch_") or (
                tag.startswith("evaluation_") and tag.endswith("_vs_iterations")
            ):
                side[key] = c
            elif len(c.step) and int(c.step[-1]) <= epoch_max:
                main[key] = c  # a custom per-epoch scalar
            else:
                side[key] = c
    else:
        index = "step"
        main = dict(series)

    columns: dict[str, Curve] = {}
    original: dict[str, str] = {}
    side_names: dict[tuple[str, str], str] = {}
    for (split, tag), c in sorted(main.items(), key=_column_order):
        name = tag
        if keras and not has_epoch_tags and tag.startswith("batch_"):
            name = tag[len("batch_") :]
        name = _lightning_base(name, tags_by_split.get(split, set()))
        canon = canonical_name(name)
        if canon in _COUNTERS:
            # Lightning and HF log the epoch counter as a scalar on the step index: kept,
            # but beside the metrics (it is the clock, not something trained).
            side[(split, tag)] = c
            side_names[(split, tag)] = canon
            continue
        if _is_val(split) and not canon.startswith("val_") and canon != "learning_rate":
            canon = "val_" + canon
        label = _prefixed(tag, split)
        if canon in columns:
            columns[canon] = _fill_gaps(columns[canon], c)
            dropped[label] = f"same metric as {original[canon]!r} (both map to {canon!r})"
            continue
        columns[canon] = c
        original[canon] = label
    steps = _union_steps(columns.values())
    run = Run.from_columns(
        run_dir.name or str(run_dir),
        steps,
        {name: _on(steps, c) for name, c in columns.items()},
        format=FORMAT,
        index=index,
        sources=[str(f) for f in files],
        warnings=warnings,
        dropped=dropped,
    )
    run.original_names = {c: original.get(c, c) for c in run.data}
    # An event file holds every logged point, NaN ones included: a series that ends
    # before the run does (a truncated last validation record) was not logged there.
    last = steps[-1] if len(steps) else None
    run.unlogged_tail = {
        name for name, c in columns.items() if name in run.data and c.step[-1] < last
    }
    if side:
        _add_side_series(run, side, side_names)
    return run


def _add_side_series(
    run: Run, side: dict[tuple[str, str], Curve], side_names: dict[tuple[str, str], str]
) -> None:
    """Put the curves off the run's index in :attr:`Run.side_series`: the only pandas
    left on this path, because ``side_series`` holds pandas Series (its API)."""
    import pandas as pd

    used = set()
    for (split, tag), c in sorted(side.items(), key=_column_order):
        name = side_names.get((split, tag), tag)
        if name in used:
            name = _prefixed(tag, split)
        used.add(name)
        run.side_series[name] = pd.Series(c.value, index=c.step).rename_axis("step").rename(name)


def _column_order(item) -> tuple:
    """Train before validation; within a split, losses first, then by tag."""
    (split, tag), _ = item
    return (_is_val(split), "loss" not in tag, tag)

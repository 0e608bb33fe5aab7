"""Keras ``CSVLogger`` files and CSV histories written with pandas.

What real files look like, and what this reader does with it:

- the separator is sniffed from the header (``,`` ``;`` or TAB);
- missing values are ``NA``, ``nan``, ``NaN``, empty or a single space -> NaN;
- ``CSVLogger(append=True)`` appends a new run to the same file without a new
  header, so the ``epoch`` column drops back to its first value. The file is split
  into segments there and **the last segment** (the most recent run) is analysed,
  with a warning naming every segment. A drop to a later epoch (a run resumed from a
  checkpoint with ``initial_epoch``) continues the same run; the re-logged epochs
  replace the earlier ones;
- a truncated last line is dropped with a warning; every complete row is kept;
- quoted list cells (``"[0.1, 0.2]"``) are not numbers: their column is left out
  (and ``loganalyzer series`` says why);
- the ``epoch`` column (any spelling: ``Epoch``, ``epochs``) is the index, kept in
  the log's own numbering (0- or 1-based); without one the row number is the epoch;
- headers such as ``Train Loss``, ``ValLoss`` or ``validation/main/loss`` are mapped
  by :mod:`loganalyzer.naming`.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "log.csv"
    >>> _ = p.write_text("epoch;loss;val_loss\\n0;1.0;1.2\\n1;0.5;0.9\\n0;2.0;2.1\\n1;1.5;1.6\\n")
    >>> run = read(p)[0]
    >>> run.series("loss").tolist(), run.warnings[0][:28]
    ([2.0, 1.5], 'resumed at epoch 0 once: 2 s')
"""

from __future__ import annotations

import operator
import re
from pathlib import Path

import numpy as np

from loganalyzer.errors import LogReadError
from loganalyzer.naming import _snake
from loganalyzer.readers._text import (
    csv_head,
    number,
    number_columns,
    parse_csv_file,
    unlogged_last_cells,
)
from loganalyzer.run import Run, all_nan

FORMAT = "keras-csv"

_EPOCH_NAMES = {"epoch", "epochs", "ep", "epoch_num", "epoch_index"}
_HINTS = ("loss", "acc", "error", "mse", "mae", "epoch", "lr", "learning", "auc", "precision")


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def epoch_column(header: list[str]) -> int | None:
    """Position of the epoch column in a header, or ``None``."""
    for i, name in enumerate(header):
        if _snake(name) in _EPOCH_NAMES:
            return i
    if header and header[0].strip() in ("", "Unnamed: 0", "index"):
        return 0  # the index column pandas ``to_csv`` writes
    return None


def sniff(path: Path, head: bytes) -> bool:
    """A header of metric names over rows of numbers, with a loss/metric/epoch column."""
    table = csv_head(head)
    if table is None:
        return False
    return any(any(h in _snake(name) for h in _HINTS) for name in table.header)


def read(path: Path) -> list[Run]:
    """Read a CSV history into one run (the last ``append=True`` segment).

    Raises:
        LogReadError: when the file is not a CSV of metrics.
    """
    source = str(path)
    table = parse_csv_file(path, source)
    warnings = list(table.warnings)
    if not table.rows:
        raise LogReadError(source, "CSV log with a header but no complete data rows", broken=True)
    header = table.header
    ep = epoch_column(header)
    # One float column per metric (numpy, not pandas: a CSVLogger file is small and
    # clean, and judging it must not pay for importing pandas).
    values = number_columns(table.rows, table.row_lines)
    columns = {name: values[i] for i, name in enumerate(header) if i != ep}
    if table.delimiter == ";":
        comma_cols = _decimal_commas(columns, header, table.rows)
        if comma_cols:
            warnings.append(f"decimal commas read as decimal points ({', '.join(comma_cols)})")
    if ep is None:
        index: list = list(range(len(table.rows)))
        if table.repeated_headers:
            # Each repeated header starts a new run; the longest one is the run (the
            # others are aborted starts), the last of equally long ones.
            starts = [0] + [
                next((k for k, ln in enumerate(table.lines) if ln > h), len(index))
                for h in table.repeated_headers
            ]
            bounds = starts + [len(index)]
            lengths = [bounds[k + 1] - bounds[k] for k in range(len(starts))]
            pick = max(range(len(starts)), key=lambda k: (lengths[k], k))
            first, stop = bounds[pick], bounds[pick + 1]
            line = table.lines[first] if first < len(table.lines) else table.lines[-1]
            warnings.append(
                f"header repeated {_times(len(table.repeated_headers))} (a new run appended "
                f"with its own header): {len(starts)} segments "
                f"(lengths {'/'.join(map(str, lengths))}); analysing the longest "
                f"(from line {line}, {stop - first} rows)"
            )
            columns = {k: v[first:stop] for k, v in columns.items()}
            index = list(range(stop - first))
    else:
        epochs = values[ep]
        keep = np.abs(epochs) < 2**53  # NaN, inf or absurd: not an epoch number
        if not keep.all():
            warnings.append(f"{int((~keep).sum())} row(s) without an epoch number were skipped")
            columns = {k: v[keep] for k, v in columns.items()}
            epochs = epochs[keep]
        if not len(epochs):
            raise LogReadError(source, "CSV log without a single row with an epoch number")
        whole = bool(np.all(epochs == np.floor(epochs)))
        # Fractional epochs (0, 0.5, 1, ...: evaluations within an epoch) stay as written.
        numbered = epochs.astype(np.int64) if whole else epochs
        if (numbered[1:] > numbered[:-1]).all():  # the usual log: one run, epochs rising
            index = numbered
        else:
            index, rows, seg_warning = _last_segment(numbered.tolist())
            columns = {k: v[rows] for k, v in columns.items()}
            if seg_warning:
                warnings.append(seg_warning)
    dropped = {}
    position = {name: i for i, name in enumerate(header)}
    for col in [c for c, v in columns.items() if all_nan(v)]:
        cells = [row[position[col]].strip().lower() for row in table.rows]
        if all(c in ("", "na", "none", "null") for c in cells):
            # Empty or NA everywhere: never logged (a metric CSVLogger had no value
            # for). A column of "nan" is different: a loss computed as NaN, kept.
            dropped[col] = "never logged (every cell empty or NA)"
        elif any(c not in ("", "na", "nan", "none", "null") for c in cells):
            dropped[col] = "no numeric values (e.g. list or text cells)"
    columns = {k: v for k, v in columns.items() if k not in dropped}
    unlogged = unlogged_last_cells(header, table.rows[-1], ep)
    if unlogged:
        warnings.append(
            f"last row (line {table.lines[-1]}) has no value for {', '.join(unlogged)}: "
            "read as not logged (the file may have been cut while being written)"
        )
    run = Run.from_columns(
        path.name,
        np.asarray(index),
        columns,
        format=FORMAT,
        index="epoch",
        sources=[source],
        warnings=warnings,
        dropped=dropped,
    )
    if run.empty:
        raise LogReadError(source, "CSV without a numeric metric column: not a training log")
    run.unlogged_tail = {c for c, orig in run.original_names.items() if orig in unlogged}
    return [run]


def _last_segment(epochs: list[float]) -> tuple[list[float], slice, str]:
    """Split at every drop of the epoch column back to the file's first epoch and keep
    the longest segment (the last of equally long ones); a drop to a later epoch
    continues the run (later rows win).
    Rows written in decreasing epoch order (a table sorted newest first) are one run.
    Returns the segment's epochs, the rows it spans (``slice``), and a warning."""
    if all(map(operator.lt, epochs, epochs[1:])):  # the usual log: one run, epochs rising
        return epochs, slice(None), ""
    if len(epochs) > 1 and all(b < a for a, b in zip(epochs, epochs[1:], strict=False)):
        return epochs, slice(None), "rows are in decreasing epoch order; read them in epoch order"
    start_epoch = epochs[0]
    starts = [0]
    resumed: list[int] = []
    for i in range(1, len(epochs)):
        if epochs[i] <= epochs[i - 1]:
            if epochs[i] <= start_epoch:
                starts.append(i)
            else:
                resumed.append(epochs[i])
    message = ""
    rows = slice(None)
    if len(starts) > 1:
        bounds = starts + [len(epochs)]
        lengths = [bounds[k + 1] - bounds[k] for k in range(len(starts))]
        # The longest segment is the run (shorter ones are aborted starts); of equally
        # long ones the last, as it is the one the file ends with.
        pick = max(range(len(starts)), key=lambda k: (lengths[k], k))
        which = "the last segment" if pick == len(starts) - 1 else f"segment {pick + 1}"
        message = (
            f"resumed at epoch {start_epoch} {_times(len(starts) - 1)}: {len(starts)} segments "
            f"(lengths {'/'.join(map(str, lengths))}, as CSVLogger(append=True) writes them); "
            f"analysing {which} ({lengths[pick]} rows), the longest"
        )
        rows = slice(bounds[pick], bounds[pick + 1])
        epochs = epochs[rows]
        resumed = [e for e in resumed if e in epochs]
    if resumed:
        note = f"resumed from a checkpoint at epoch {', '.join(map(str, sorted(set(resumed))))}"
        note += "; the re-logged epochs replace the earlier rows"
        message = f"{message}; {note}" if message else note
    return epochs, rows, message


_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d+,\d+([eE][+-]?\d+)?\s*$")


def _decimal_commas(columns: dict, header: list[str], rows: list[list[str]]) -> list[str]:
    """Columns of a ``;``-separated file written with decimal commas (``0,123``),
    parsed in place in ``columns``; their names."""
    fixed = []
    for col in list(columns):
        if not np.isnan(columns[col]).all():
            continue
        i = header.index(col)
        cells = [r[i] for r in rows if r[i].strip()]
        if cells and all(_DECIMAL_COMMA.match(c) for c in cells):
            columns[col] = np.array([number(r[i].replace(",", ".")) for r in rows], dtype=float)
            fixed.append(col)
    return fixed

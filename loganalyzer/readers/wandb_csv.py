"""The CSV a Weights & Biases line-plot panel exports ("Export panel data" -> CSV).

The web app writes one x-axis column (``Step``, or the panel's x-axis: ``epoch``,
``_step``, ``Relative Time (Process)``) and, for every run in the panel, a column
``<run name> - <metric>`` plus ``<run name> - <metric>__MIN`` and ``__MAX``: when the
panel shows fewer points than were logged, each shown point is a bucket's mean and
``__MIN``/``__MAX`` its range. Every cell is quoted; a run without a value at a step
has an empty cell.

- every run prefix is one run (``export.csv#<run name>``), indexed by the x-axis
  column (``step``, or ``epoch`` when the panel's x-axis is an epoch);
- ``__MIN``/``__MAX`` columns are left out (the bucket's range, not a series), and
  ``loganalyzer series`` says so;
- the metric names are the part after `` - `` (a run name may itself hold `` - ``; the
  last one splits).

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "wandb_export.csv"
    >>> _ = p.write_text('"Step","a - loss","a - loss__MIN","a - loss__MAX"\\n'
    ...                  '"0","1.0","1.0","1.0"\\n"1","0.5","0.4","0.6"\\n')
    >>> run = read(p)[0]
    >>> run.name, run.series("loss").tolist()
    ('wandb_export.csv#a', [1.0, 0.5])
"""

from __future__ import annotations

import pandas as pd

from loganalyzer.errors import LogReadError
from loganalyzer.readers._text import decode_head, number, parse_csv
from loganalyzer.run import Run

FORMAT = "wandb-csv"

_SEP = " - "
_RANGE = ("__MIN", "__MAX")


def _split(header: list[str]) -> tuple[int, dict[str, list[tuple[int, str]]], list[str]]:
    """``(x column, run -> [(column, metric)], range columns)``."""
    runs: dict[str, list[tuple[int, str]]] = {}
    ranges = []
    for i, name in enumerate(header[1:], start=1):
        if name.endswith(_RANGE):
            ranges.append(name)
            continue
        run, sep, metric = name.rpartition(_SEP)
        if sep and run and metric:
            runs.setdefault(run, []).append((i, metric))
    return 0, runs, ranges


def sniff(path, head: bytes) -> bool:
    """A CSV header whose columns after the first are ``<run> - <metric>`` and
    ``<run> - <metric>__MIN``/``__MAX``."""
    text = decode_head(head)
    if text is None or _SEP not in text[:4096] or "__MIN" not in text[:65536]:
        return False
    first = text.split("\n", 1)[0]
    try:
        header = parse_csv(first + "\n", "head").header
    except LogReadError:
        return False
    _, runs, ranges = _split(header)
    named = sum(len(v) for v in runs.values())
    return bool(runs) and bool(ranges) and named + len(ranges) == len(header) - 1


def read(path) -> list[Run]:
    """One run per run prefix of the export.

    Raises:
        LogReadError: when no column holds a number.
    """
    source = str(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise LogReadError(
            source, "not UTF-8 text: not a training log", f"byte {exc.start}"
        ) from None
    table = parse_csv(text, source)
    if not table.rows:
        raise LogReadError(source, "W&B export with a header but no data rows")
    x, runs, ranges = _split(table.header)
    x_name = table.header[x]
    index_kind = "epoch" if x_name.strip().lower() in ("epoch", "epochs") else "step"
    xs = [number(r[x]) for r in table.rows]
    out = []
    for run_name, cols in runs.items():
        data_cols = {metric: [number(r[i]) for r in table.rows] for i, metric in cols}
        frame = pd.DataFrame(data_cols)
        keep = [v == v and abs(v) < 2**53 for v in xs]
        frame = frame[keep]
        kept = [v for v, k in zip(xs, keep, strict=True) if k]
        frame.index = pd.Index(
            [int(v) if float(v).is_integer() else v for v in kept], name=index_kind
        )
        frame = frame.dropna(how="all")
        if frame.empty:
            continue
        dropped = {
            c: "min/max of the points W&B merged into one shown point, not a series"
            for c in ranges
            if c.startswith(run_name + _SEP)
        }
        run = Run.from_frame(
            f"{path.name}#{run_name}",
            frame,
            format=FORMAT,
            index=index_kind,
            sources=[source],
            warnings=list(table.warnings),
            dropped=dropped,
        )
        run.original_names = {c: f"{run_name}{_SEP}{o}" for c, o in run.original_names.items()}
        out.append(run)
    if not out:
        raise LogReadError(source, "W&B export without numeric values")
    return out

"""Shared helpers of the text readers (CSV and JSON logs): decoding and CSV rows.

Logs are untrusted input: everything here returns plain values or raises
:class:`~loganalyzer.errors.LogReadError`; nothing is evaluated.

Example:
    >>> table = parse_csv("epoch;loss\\n0;1.5\\n1;NA\\n", "demo.csv")
    >>> table.header, table.rows, table.delimiter
    (['epoch', 'loss'], [['0', '1.5'], ['1', 'NA']], ';')
    >>> number(" NA "), number("1e-3")
    (nan, 0.001)
"""

from __future__ import annotations

import csv
import functools
import itertools
import json
import math
import operator
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from loganalyzer.errors import LogReadError
from loganalyzer.sources import as_path

DELIMITERS = (",", ";", "\t")

#: CSV logs larger than this are streamed and thinned to about MAX_CSV_ROWS rows.
STREAM_BYTES = 16 * 1024 * 1024
MAX_CSV_ROWS = 250_000

#: How missing values are spelled in CSV logs (compared after stripping spaces).
MISSING = {"", "na", "n/a", "nan", "none", "null", "-"}

# Unambiguous (each character can be matched one way only), so a long cell of digits
# is matched in linear time: ``\d+\.?\d*`` backtracked quadratically on 30 KB of digits.
_NUMBER = re.compile(
    r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|infinity|nan)", re.I
)
#: No logger writes a number longer than this (a float's repr is at most 24 characters);
#: longer cells are text, and are not even scanned.
MAX_NUMBER_CHARS = 400


def decode_head(head: bytes) -> str | None:
    """The head of a file as text, or ``None`` when it is not UTF-8 text.

    A multi-byte character cut by the end of the head window is tolerated. The last
    head's text is kept: every sniffer asks for it, one after the other.
    """
    global _last_head
    last = _last_head  # (head, text), replaced whole: safe if threads read files too
    if last[0] is head:
        return last[1]
    text = _decode_head(head)
    _last_head = (head, text)
    return text


_last_head: tuple = (None, None)


def _decode_head(head: bytes) -> str | None:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:
            return None
        text = head[: exc.start].decode("utf-8", errors="replace")
    if "\x00" in text:
        return None
    return text.lstrip("\ufeff")


_held = threading.local()


@contextmanager
def holding(path, data: bytes) -> Iterator[None]:
    """While in this block, :func:`read_text` and :func:`parse_csv_file` of ``path``
    (this very object) use ``data``, the whole file, instead of reading it again:
    format detection has just read a small log whole (as its head); opening, sizing
    and reading it a second time cost 3% of reading a 100-epoch log."""
    before = getattr(_held, "item", None)
    _held.item = (path, data)
    try:
        yield
    finally:
        _held.item = before


def _held_bytes(path) -> bytes | None:
    item = getattr(_held, "item", None)
    return item[1] if item is not None and item[0] is path else None


def read_text(path: Path) -> str:
    """The whole file as text (UTF-8, BOM removed).

    Raises:
        LogReadError: when the file is not UTF-8 text or holds NUL bytes.
    """
    data = _held_bytes(path)
    if data is None:
        data = as_path(path).read_bytes()  # a local file or a Source (URL, stdin)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LogReadError(
            str(path), "not UTF-8 text: not a training log", f"byte {exc.start}"
        ) from None
    if "\x00" in text:
        raise LogReadError(str(path), "binary data (NUL byte): not a training log")
    return text.lstrip("\ufeff")


def invalid_json(source: str, exc: ValueError | RecursionError) -> LogReadError:
    """The one-line error for text ``json.loads`` rejected: where and why.

    Example:
        >>> try:
        ...     json.loads('{"loss": [1.0,')
        ... except ValueError as exc:
        ...     print(invalid_json("h.json", exc))
        h.json (line 1, column 15): invalid JSON (Expecting value)
    """
    if isinstance(exc, json.JSONDecodeError):
        where = f"line {exc.lineno}, column {exc.colno}"
        return LogReadError(source, f"invalid JSON ({exc.msg})", where, broken=True)
    if isinstance(exc, RecursionError):
        return LogReadError(source, "invalid JSON (nested too deeply)", broken=True)
    # e.g. an integer literal beyond Python's digit limit
    return LogReadError(source, f"invalid JSON ({exc})", broken=True)


def is_number(cell: str) -> bool:
    """True for a cell that spells a number (``1``, ``-2.5e-3``, ``nan``, ``inf``)."""
    cell = cell.strip()
    return len(cell) <= MAX_NUMBER_CHARS and bool(_NUMBER.fullmatch(cell))


def number(cell: object) -> float:
    """A cell as float; missing spellings and anything that is not a number -> NaN."""
    if cell is None:
        return math.nan
    if isinstance(cell, bool):
        return math.nan
    if isinstance(cell, int | float):
        try:
            return float(cell)
        except OverflowError:  # an integer too large for a float
            return math.inf if cell > 0 else -math.inf
    s = str(cell).strip()
    if len(s) > MAX_NUMBER_CHARS or s.lower() in MISSING or not _NUMBER.fullmatch(s):
        return math.nan
    return float(s)


def numbers(values) -> np.ndarray:
    """:func:`number` of every value, as a float array. A column of clean numbers (JSON
    floats, or cells that Python's ``float`` reads and that hold no ``_`` and are not
    absurdly long, where ``float`` and :func:`number` agree) is converted in one pass,
    ten times faster than cell by cell; anything else cell by cell.

    Example:
        >>> numbers(["1.5", " 2 ", "nan"]).tolist()[:2], numbers(["1_0", "NA"]).tolist()
        ([1.5, 2.0], [nan, nan])
    """
    values = list(values)
    kinds = set(map(type, values))
    if kinds == {float}:
        return np.array(values, dtype=float)
    if kinds == {str}:
        if "_" not in "".join(values) and max(map(len, values), default=0) <= MAX_NUMBER_CHARS:
            try:
                return np.array(list(map(float, values)), dtype=float)
            except ValueError:
                pass  # a missing value or text somewhere: cell by cell
    return np.array([number(v) for v in values], dtype=float)


def number_columns(rows: list[list[str]], lines: list[str] | None = None) -> list[np.ndarray]:
    """:func:`numbers` of every column of ``rows`` (CSV rows of one width), one float
    array per column. A table of clean numbers is converted in one pass over all its
    cells (a column at a time cost a third of the time of reading a small log); a table
    with a missing value or text anywhere, column by column as :func:`numbers` does.

    ``lines``, the text lines the rows were split from when known, bound the cells'
    lengths more cheaply than the cells themselves (a third as many strings).

    Example:
        >>> [c.tolist() for c in number_columns([["0", "1.5"], ["1", "NA"]])]
        [[0.0, 1.0], [1.5, nan]]
    """
    cells = list(itertools.chain.from_iterable(rows))
    if (
        cells
        and "_" not in "".join(cells)
        and (
            (lines is not None and max(map(len, lines), default=0) <= MAX_NUMBER_CHARS)
            or max(map(len, cells)) <= MAX_NUMBER_CHARS
        )
    ):
        try:
            # numpy reads each str with Python's float (as test_reader_csv_table checks
            # on the corner cases), without a list of float objects in between
            table = np.array(cells, dtype=float)
        except (ValueError, TypeError):
            pass  # a missing value or text somewhere: column by column
        else:
            return list(table.reshape(len(rows), -1).T.copy())
    return [numbers(column) for column in zip(*rows, strict=True)]


#: Spellings of a cell that was not logged (a logged NaN is written ``nan``).
NOT_LOGGED = MISSING - {"nan"}


def unlogged_last_cells(header: list[str], last: list[str], skip: int | None = None) -> list[str]:
    """Columns whose cell in the last row is empty (or ``NA``) while another loss in
    that row has a value: the row was cut, or a validation was not run at the last
    epoch. Those cells are missing, not a loss that turned NaN.

    Example:
        >>> unlogged_last_cells(["epoch", "loss", "val_loss"], ["9", "0.1", ""], skip=0)
        ['val_loss']
        >>> unlogged_last_cells(["epoch", "loss", "val_loss"], ["9", "nan", ""], skip=0)
        []
    """
    from loganalyzer.naming import canonical_name, is_loss

    cells = {n: c for i, (n, c) in enumerate(zip(header, last, strict=False)) if i != skip}
    empty = [n for n, c in cells.items() if c.strip().lower() in NOT_LOGGED]
    if not empty:
        return empty
    logged = any(is_loss(canonical_name(n)) and math.isfinite(number(c)) for n, c in cells.items())
    return empty if logged else []


def sniff_delimiter(line: str) -> str | None:
    """The delimiter of a header line: the one of ``, ; TAB`` it holds most often."""
    counts = {d: line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else None


@dataclass
class CsvTable:
    """A CSV log split into rows, with what went wrong on the way.

    Args:
        header: Column names as written (spaces stripped).
        rows: Data rows with exactly ``len(header)`` cells, in file order.
        lines: The 1-based line number of each row.
        delimiter: The separator used.
        warnings: What was repaired (a truncated last line, rows with the wrong width).
        repeated_headers: Line numbers where the header was written again (a new run
            appended with its own header).
    """

    header: list[str]
    rows: list[list[str]]
    lines: list[int] = field(default_factory=list)
    delimiter: str = ","
    warnings: list[str] = field(default_factory=list)
    repeated_headers: list[int] = field(default_factory=list)
    #: The text line of each row, when each is exactly its row's cells joined by the
    #: delimiter (no quotes): see :func:`number_columns`.
    row_lines: list[str] | None = field(default=None, repr=False, compare=False)


def parse_csv(text: str, source: str) -> CsvTable:
    """Split CSV text into a header and rows of the header's width.

    A last line cut short (no line end and fewer cells than the header, or a row
    that breaks the quoting) is dropped with a warning; every complete row is kept.
    Rows of the wrong width elsewhere are dropped with one warning naming the lines.

    Raises:
        LogReadError: when there is no header or no delimiter.
    """
    lines = text.splitlines()
    ends_cleanly = text.endswith(("\n", "\r"))
    if '"' not in text and "\x00" not in text:
        table = _plain_table(lines, ends_cleanly)
        if table is not None:
            return table
    return _parse_lines(lines, source, ends_cleanly)


def _plain_table(lines: list[str], ends_cleanly: bool) -> CsvTable | None:
    """The table :func:`_parse_lines` gives for the common log, found with a few
    whole-list operations: a header on line 1 and every other line a row of its width
    (no quotes, no blank or repeated-header line, no row of the wrong width). Without
    quotes the csv module splits a line exactly as ``str.split`` does, and its
    row-by-row loop was most of the time of reading a small log (2,000 runs of 100
    epochs: 0.18 -> 0.05 ms per file). ``None`` for anything else (the full parse)."""
    if len(lines) < 2 or not lines[0].strip():
        return None
    delimiter = sniff_delimiter(lines[0])
    if delimiter is None:
        return None
    header = _unique([c.strip() for c in lines[0].split(delimiter)])
    rows = [ln.split(delimiter) for ln in lines[1:]]
    if set(map(len, rows)) != {len(header)}:
        return None
    # A row with a blank first cell may be blank throughout; one whose first cell is the
    # header's first name may be the header again: both are left to the full parse.
    firsts = list(map(str.strip, map(operator.itemgetter(0), rows)))  # no hashing
    if "" in firsts or header[0] in firsts:
        return None
    table = CsvTable(header, rows, list(range(2, len(lines) + 1)), delimiter)
    table.row_lines = lines[1:]
    if not ends_cleanly and len(lines) > 2:
        table.warnings.append(_NO_LINE_END.format(line=len(lines)))
    return table


def parse_csv_file(path: Path, source: str) -> CsvTable:
    """:func:`parse_csv` of a file. Up to ``STREAM_BYTES`` the file is read whole;
    above, it is streamed line by line and thinned to about ``MAX_CSV_ROWS`` evenly
    spaced rows (the last one always kept), with a warning: a 200 MB log used to take
    3.3 GB of memory.

    Raises:
        LogReadError: not UTF-8 text, binary data, no header or no delimiter.
    """
    from loganalyzer.sources import Source

    if isinstance(path, Source):
        # a remote object, standard input or a named pipe: read through its source
        # (remote sources are fetched in blocks; a pipe cannot be read twice anyway)
        return parse_csv(read_text(path), source)
    held = _held_bytes(path)
    size = len(held) if held is not None else Path(path).stat().st_size
    if size <= STREAM_BYTES:
        return parse_csv(read_text(path), source)
    with open(path, "rb") as fh:
        head = fh.read(65536)
        fh.seek(size - 1)
        ends_cleanly = fh.read(1) in (b"\n", b"\r")
    per_line = max(1, len(head) // max(1, head.count(b"\n")))
    stride = max(1, -(-size // per_line // MAX_CSV_ROWS))

    def lines():
        with open(path, encoding="utf-8", newline="") as fh:
            for k, line in enumerate(fh):
                if "\x00" in line:
                    raise LogReadError(source, "binary data (NUL byte): not a training log")
                yield (line.lstrip("\ufeff") if k == 0 else line).rstrip("\r\n")

    try:
        table = _parse_lines(lines(), source, ends_cleanly, stride)
    except UnicodeDecodeError:
        raise LogReadError(source, "not UTF-8 text: not a training log") from None
    if stride > 1:
        table.warnings.append(
            f"{size / 1e6:.0f} MB log: read every {stride}th row ({len(table.rows)} rows) "
            f"to bound memory; a spike narrower than {stride} rows may be missed"
        )
    return table


def _parse_lines(lines, source: str, ends_cleanly: bool, stride: int = 1) -> CsvTable:
    """The body of :func:`parse_csv` over any iterable of lines (without line ends);
    keeps every ``stride``-th data row, and the last one."""
    count = 0

    def numbered():
        nonlocal count
        for line in lines:
            count += 1
            yield line

    it = numbered()
    head_line = next((ln for ln in it if ln.strip()), None)
    if head_line is None:
        raise LogReadError(source, "empty file")
    first = count - 1
    delimiter = sniff_delimiter(head_line)
    if delimiter is None:
        raise LogReadError(source, "not a CSV log: no , ; or tab separator in the header", "line 1")
    reader = csv.reader(
        itertools.chain([head_line], it), delimiter=delimiter, skipinitialspace=False
    )
    # The csv module refuses fields over 128 KiB (a process-wide limit): a long text
    # column (a pasted config) must not cost the rows after it. Raised for this parse.
    limit = csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))
    table = CsvTable(header=[], rows=[], delimiter=delimiter)
    bad: list[int] = []
    held = None  # the last data row, when the stride passed over it
    n_data = 0
    try:
        for k, cells in enumerate(reader):
            lineno = first + k + 1
            if not table.header:
                table.header = _unique([c.strip() for c in cells])
                continue
            if not cells or not "".join(cells).strip():
                continue
            if cells[0].strip() == table.header[0] and _unique([c.strip() for c in cells]) == (
                table.header
            ):
                table.repeated_headers.append(lineno)
                continue
            if len(cells) != len(table.header):
                bad.append(lineno)
                continue
            n_data += 1
            if stride > 1 and (n_data - 1) % stride:
                held = (cells, lineno)
                continue
            held = None
            table.rows.append(cells)
            table.lines.append(lineno)
    except csv.Error as exc:
        table.warnings.append(f"stopped reading at a malformed line ({exc})")
        for _ in it:  # count the lines left
            pass
    finally:
        csv.field_size_limit(limit)
    if held is not None:
        table.rows.append(held[0])
        table.lines.append(held[1])
    last_line = count
    if bad and bad[-1] == last_line and not ends_cleanly:
        bad.pop()
        table.warnings.append(
            f"last line truncated (line {last_line}); kept the {len(table.rows)} complete rows"
        )
    elif table.lines and table.lines[-1] == last_line and not ends_cleanly and last_line > 2:
        table.warnings.append(_NO_LINE_END.format(line=last_line))
    if bad:
        shown = ", ".join(str(b) for b in bad[:5]) + (" ..." if len(bad) > 5 else "")
        table.warnings.append(
            f"{len(bad)} row(s) with a different number of fields than the header "
            f"were skipped (line {shown})"
        )
    return table


#: Loggers end every row with a line end: a last row without one may be cut inside its
#: last number. It is kept, but the user should know.
_NO_LINE_END = (
    "last line (line {line}) has no line end: the file may have been cut while being "
    "written; its values are kept"
)


def _unique(names: list[str]) -> list[str]:
    """Header names made unique (``loss``, ``loss.2``) so no column hides another."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}.{seen[name]}")
    return out


@functools.lru_cache(maxsize=4)
def csv_head(head: bytes) -> CsvTable | None:
    """:func:`looks_like_csv_log` of a file's first bytes (``None`` when they are not
    text). Both CSV sniffers ask it of the same head: it is worked out once per file."""
    text = decode_head(head)
    return None if text is None else looks_like_csv_log(text)


def looks_like_csv_log(text: str) -> CsvTable | None:
    """Cheap content check shared by the CSV sniffers: a header of names and a first
    data row of the same width that is mostly numbers. Returns the parsed head."""
    lines = text[:4096].splitlines()  # the first 20 lines, without splitting 64 KiB
    lines = [ln for ln in (lines if len(lines) > 20 else text.splitlines())[:20] if ln.strip()]
    if len(lines) < 2:
        return None
    delimiter = sniff_delimiter(lines[0])
    if delimiter is None:
        return None
    if '"' not in lines[0] and '"' not in lines[1]:
        rows = [lines[0].split(delimiter), lines[1].split(delimiter)]  # as csv splits them
    else:
        limit = csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
        try:
            rows = list(csv.reader(lines[:2], delimiter=delimiter))
        except csv.Error:
            return None
        finally:
            csv.field_size_limit(limit)
    if len(rows) < 2:
        return None
    header, first = [c.strip() for c in rows[0]], rows[1]
    if len(header) < 2 or len(first) != len(header):
        return None
    # pandas ``to_csv`` leaves the index column unnamed: an empty first name is fine
    if any((not h and i > 0) or is_number(h) for i, h in enumerate(header)):
        return None
    if delimiter == ";":  # decimal commas go with semicolons
        first = [c.replace(",", ".") for c in first]
    numeric = sum(1 for c in first if is_number(c) or c.strip().lower() in MISSING)
    if numeric * 2 < len(first) or not any(is_number(c) for c in first):
        return None
    return CsvTable(header=header, rows=[first], delimiter=delimiter)

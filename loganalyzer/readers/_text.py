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
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from loganalyzer.errors import LogReadError
from loganalyzer.sources import as_path

DELIMITERS = (",", ";", "\t")

#: How missing values are spelled in CSV logs (compared after stripping spaces).
MISSING = {"", "na", "n/a", "nan", "none", "null", "-"}

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|infinity|nan)$", re.I)


def decode_head(head: bytes) -> str | None:
    """The head of a file as text, or ``None`` when it is not UTF-8 text.

    A multi-byte character cut by the end of the head window is tolerated.
    """
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:
            return None
        text = head[: exc.start].decode("utf-8", errors="replace")
    if "\x00" in text:
        return None
    return text.lstrip("\ufeff")


def read_text(path: Path) -> str:
    """The whole file as text (UTF-8, BOM removed).

    Raises:
        LogReadError: when the file is not UTF-8 text or holds NUL bytes.
    """
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
        return LogReadError(source, f"invalid JSON ({exc.msg})", where)
    if isinstance(exc, RecursionError):
        return LogReadError(source, "invalid JSON (nested too deeply)")
    # e.g. an integer literal beyond Python's digit limit
    return LogReadError(source, f"invalid JSON ({exc})")


def is_number(cell: str) -> bool:
    """True for a cell that spells a number (``1``, ``-2.5e-3``, ``nan``, ``inf``)."""
    return bool(_NUMBER.match(cell.strip()))


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
    if s.lower() in MISSING or not _NUMBER.match(s):
        return math.nan
    return float(s)


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


def parse_csv(text: str, source: str) -> CsvTable:
    """Split CSV text into a header and rows of the header's width.

    A last line cut short (no line end and fewer cells than the header, or a row
    that breaks the quoting) is dropped with a warning; every complete row is kept.
    Rows of the wrong width elsewhere are dropped with one warning naming the lines.

    Raises:
        LogReadError: when there is no header or no delimiter.
    """
    lines = text.splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        raise LogReadError(source, "empty file")
    delimiter = sniff_delimiter(lines[first])
    if delimiter is None:
        raise LogReadError(source, "not a CSV log: no , ; or tab separator in the header", "line 1")
    ends_cleanly = text.endswith(("\n", "\r"))
    reader = csv.reader(lines[first:], delimiter=delimiter, skipinitialspace=False)
    table = CsvTable(header=[], rows=[], delimiter=delimiter)
    bad: list[int] = []
    try:
        for k, cells in enumerate(reader):
            lineno = first + k + 1
            if not table.header:
                table.header = _unique([c.strip() for c in cells])
                continue
            if not cells or all(not c.strip() for c in cells):
                continue
            if _unique([c.strip() for c in cells]) == table.header:
                table.repeated_headers.append(lineno)
                continue
            if len(cells) != len(table.header):
                bad.append(lineno)
                continue
            table.rows.append(cells)
            table.lines.append(lineno)
    except csv.Error as exc:
        table.warnings.append(f"stopped reading at a malformed line ({exc})")
    last_line = len(lines)
    if bad and bad[-1] == last_line and not ends_cleanly:
        bad.pop()
        table.warnings.append(
            f"last line truncated (line {last_line}); kept the {len(table.rows)} complete rows"
        )
    elif table.lines and table.lines[-1] == last_line and not ends_cleanly and last_line > 2:
        # Loggers end every row with a line end: a last row without one may be cut
        # inside its last number. It is kept, but the user should know.
        table.warnings.append(
            f"last line (line {last_line}) has no line end: the file may have been cut "
            "while being written; its values are kept"
        )
    if bad:
        shown = ", ".join(str(b) for b in bad[:5]) + (" ..." if len(bad) > 5 else "")
        table.warnings.append(
            f"{len(bad)} row(s) with a different number of fields than the header "
            f"were skipped (line {shown})"
        )
    return table


def _unique(names: list[str]) -> list[str]:
    """Header names made unique (``loss``, ``loss.2``) so no column hides another."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}.{seen[name]}")
    return out


def looks_like_csv_log(text: str) -> CsvTable | None:
    """Cheap content check shared by the CSV sniffers: a header of names and a first
    data row of the same width that is mostly numbers. Returns the parsed head."""
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    if len(lines) < 2:
        return None
    delimiter = sniff_delimiter(lines[0])
    if delimiter is None:
        return None
    try:
        rows = list(csv.reader(lines[:2], delimiter=delimiter))
    except csv.Error:
        return None
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

"""The quick split of a clean CSV log gives the very table the full parse gives.

:func:`loganalyzer.readers._text.parse_csv` splits a log without quotes, blank lines,
repeated headers or rows of the wrong width with whole-list operations, and leaves
everything else to the row-by-row parse (:func:`_parse_lines`). A user would see any
difference as other numbers, other warnings or other line numbers, so both are
compared on every real CSV log and on damaged copies of them.
"""

from __future__ import annotations

import random

import pytest

from loganalyzer.errors import LogReadError
from loganalyzer.readers._text import _parse_lines, parse_csv, read_text
from tests.real_corpus import roots


def _full_parse(text: str):
    try:
        return _parse_lines(text.splitlines(), "x.csv", text.endswith(("\n", "\r")))
    except LogReadError as exc:
        return str(exc)


def _quick_parse(text: str):
    try:
        return parse_csv(text, "x.csv")
    except LogReadError as exc:
        return str(exc)


def _real_csv_texts() -> list[str]:
    texts = []
    for root in roots():
        for path in sorted(root.rglob("*.csv")):
            try:
                texts.append(read_text(path))
            except (LogReadError, OSError):
                continue
    return texts


def _damaged(text: str, rng: random.Random) -> str:
    """``text`` with one line blanked, cut, repeated as a header, or widened."""
    lines = text.splitlines(keepends=True)
    k = rng.randrange(len(lines))
    how = rng.randrange(4)
    if how == 0:
        lines.insert(k, "\n")
    elif how == 1:
        lines[k] = lines[k][: rng.randrange(len(lines[k]) + 1)]
    elif how == 2:
        lines.insert(k, lines[0])
    else:
        lines[k] = lines[k].replace(",", ",,", 1)
    return "".join(lines)


EDGES = [
    "epoch,loss,val_loss\n0,1.0,1.2\n1,0.5,0.9\n",
    "epoch,loss,val_loss\n0,1.0,1.2\n1,0.5,0.9",  # no line end after the last row
    "epoch,loss,val_loss\n0,1.0,1.2\n1,0.5\n",  # a short last row
    "epoch,loss,val_loss\n0,1.0,1.2\n1,0.5",  # ... cut while written
    "epoch,loss,val_loss\n0,1.0,1.2\n,,\n1,0.5,0.9\n",  # a row of empty cells
    "epoch,loss\n0,1\nepoch,loss\n0,2\n",  # a second run appended with its header
    ",loss,val_loss\n0,1,2\n1,3,4\n",  # pandas' unnamed index column
    ",loss\n,1\n,2\n",  # ... with blank index cells
    "epoch;loss\r\n0;1,5\r\n1;NA\r\n",
    'epoch,loss,note\n0,1.0,"a, b"\n',  # quoted: the full parse
    "epoch,loss\n0,1\n \n1,2\n",  # a line of spaces
    "epoch,loss\n\n0,1\n",  # a blank line after the header
    "\nepoch,loss\n0,1\n",  # a blank line before it
    "epoch,loss\n",
]


def test_real_logs_split_the_same_both_ways():
    texts = _real_csv_texts()
    if len(texts) < 20:
        pytest.skip("real logs not found beside the repository")
    for text in texts:
        assert _quick_parse(text) == _full_parse(text)


def test_damaged_logs_and_edge_cases_split_the_same_both_ways():
    rng = random.Random(0)
    texts = [t for t in _real_csv_texts() if t.strip()][:100]
    cases = EDGES + [_damaged(t, rng) for t in texts for _ in range(4)]
    for text in cases:
        assert _quick_parse(text) == _full_parse(text), text[:200]


def test_columns_convert_to_the_same_numbers_at_once_or_one_by_one():

    from loganalyzer.readers._text import number_columns, numbers

    tables = [parse_csv(t, "x.csv") for t in _real_csv_texts() if t.strip()]
    tables.append(parse_csv("epoch,loss,val\n0,1e-3,NA\n1, 2 ,nan\n2,inf,1_0\n", "x.csv"))
    # cells numpy must read exactly as Python's float does (the one-pass conversion hands
    # numpy the strings), or refuse, so the cell-by-cell reading decides
    corners = ["-0", "-0.0", "1e400", "-1e-400", "\u0661\u0662", "0x10", "+1", ".5", "5.", "1 ",
               "Infinity", "-inf", "NaN", "9007199254740993", "2.4703282292062328e-324", "1" * 300,
               "1" * 401, "0." + "1" * 399, "\u00a01.5", "1e5_0"]  # fmt: skip
    for cell in corners:
        tables.append(parse_csv(f"epoch,loss\n0,{cell}\n1,0.5\n", "x.csv"))
        tables.append(parse_csv(f"epoch,loss\n0,{cell}\n", "x.csv"))
    for table in tables:
        if not table.rows:
            continue
        one_by_one = [numbers(c) for c in zip(*table.rows, strict=True)]
        for at_once in (number_columns(table.rows), number_columns(table.rows, table.row_lines)):
            assert len(at_once) == len(one_by_one)
            for a, b in zip(at_once, one_by_one, strict=True):
                assert a.dtype == b.dtype and a.tobytes() == b.tobytes()  # -0.0 and NaN too

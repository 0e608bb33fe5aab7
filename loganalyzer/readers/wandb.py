"""Weights & Biases run folders, read without importing wandb.

The ``wandb`` SDK writes one folder per run, online or offline::

    wandb/run-20240101_120000-<id>/            (offline: offline-run-...-<id>/)
        run-<id>.wandb       every record of the run: history rows, summary, config
        files/               wandb-summary.json, config.yaml, output.log, requirements.txt
        logs/                debug.log, debug-internal.log

The metrics are in the ``.wandb`` record file (the summary JSON has only the last
values). Its format, as the SDK's own ``datastore`` documents it: a 7-byte header
(``:W&B``, magic ``0xBEE1``, version ``0``), then LevelDB-log framing — 32 KiB blocks
of records, each with a 7-byte header (CRC-32 of type byte + data, length, type
``FULL``/``FIRST``/``MIDDLE``/``LAST``) — whose payloads are ``wandb_internal.Record``
protocol buffers. A history row (``Record.history = 2``) holds items of ``key`` or
``nested_key`` and ``value_json``; ``_step`` is W&B's step, ``_runtime`` and
``_timestamp`` are clocks.

Why by hand: importing ``wandb`` to read a file pulls in the whole SDK (≈ 1 s and a
Go core binary) and ties the reader to the SDK version installed; the framing is ~40
lines and the three messages we need are decoded with the same small protobuf field
walker the TensorBoard reader uses (:mod:`loganalyzer.readers._tfrecord`).

- the run is indexed by ``_step``; an ``epoch`` counter logged beside the metrics is
  kept aside (:attr:`Run.side_series`), as the TensorBoard reader keeps it;
- ``NaN``/``Infinity`` values (JSON tokens in ``value_json``) are kept;
- nested keys (``run.log({"train": {"acc": 0.9}})``) are joined with ``.``
  (``train.acc``), as W&B shows them; non-numeric values (images, tables, histograms)
  are left out and ``loganalyzer series`` says so;
- the run's display name comes from its run record;
- a record cut short at the end (a run still being written) is not read; a damaged
  record (CRC mismatch) is skipped with a warning naming its byte offset;
- every file below a run folder belongs to the run (``output.log`` is the console
  copy of the same metrics; it is not read again on its own).

Example:
    >>> from pathlib import Path
    >>> run = read_group(Path("wandb/offline-run-20240101_120000-abc"),
    ...                  [Path("wandb/offline-run-20240101_120000-abc/run-abc.wandb")])
    ... # doctest: +SKIP
    >>> run[0].index, run[0].train_loss  # doctest: +SKIP
    ('step', 'loss')
"""

from __future__ import annotations

import json
import math
import re
import struct
import zlib

import pandas as pd

from loganalyzer.errors import LogReadError
from loganalyzer.readers._tfrecord import _DecodeError, _fields
from loganalyzer.run import Run

FORMAT = "wandb"

_RUN_DIR = re.compile(r"^(offline-)?run-\d{8}_\d{6}-[A-Za-z0-9]+$")
_HEADER = struct.Struct("<4sHB")
_RECORD = struct.Struct("<IHB")
_BLOCK = 32768
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4
_CLOCKS = ("_runtime", "_timestamp")


def claims(files: list) -> tuple[list[tuple[object, list]], list]:
    """Run folders (``run-*``/``offline-run-*`` holding a ``.wandb`` file) and their
    files; returns ``(groups, the other files)``."""
    dirs = {f.parent for f in files if f.name.endswith(".wandb") and _RUN_DIR.match(f.parent.name)}
    if not dirs:
        return [], files
    groups: dict[object, list] = {}
    rest = []
    for f in files:
        owner = next((a for a in f.parents if a in dirs), None)
        if owner is None:
            rest.append(f)
        else:
            groups.setdefault(owner, []).append(f)
    return sorted(((d, fs) for d, fs in groups.items()), key=lambda g: str(g[0])), rest


def group(files: list) -> list[tuple[object, list]]:
    return claims(files)[0]


def read_group(run_dir, files: list) -> list[Run]:
    """Read a run folder's ``.wandb`` record file into one step-indexed run.

    Raises:
        LogReadError: when the record file is missing, not a W&B file, or holds no
            history rows.
    """
    records_file = next((f for f in files if f.name.endswith(".wandb")), None)
    if records_file is None:
        raise LogReadError(str(run_dir), "W&B run folder without its .wandb record file")
    source = str(records_file)
    rows, name, warnings = read_records(records_file.read_bytes(), source)
    if not rows:
        raise LogReadError(source, "W&B run without logged history rows")
    dropped: dict[str, str] = {}
    table: dict[int, dict[str, float]] = {}
    epoch: dict[int, float] = {}
    for k, row in enumerate(rows):
        step = row.pop("_step", k)
        if not isinstance(step, int | float) or not abs(step) < 2**53:
            step = k
        cells = table.setdefault(int(step), {})
        # A logged media object (wandb.Image, wandb.Html, a Table) arrives as nested
        # keys with a ``_type``: one left-out entry for the object, not one per field.
        media = {k[: -len("._type")]: v for k, v in row.items() if k.endswith("._type")}
        for key, value in row.items():
            if key in _CLOCKS:
                continue
            owner = next((m for m in media if key.startswith(m + ".")), None)
            if owner is not None:
                dropped.setdefault(owner, f"a W&B {media[owner]} object, not a number")
                continue
            v = _float(value)
            if v is None:
                dropped.setdefault(key, "not a number (media, table or text)")
            elif key == "epoch":
                epoch[int(step)] = v
            else:
                cells[key] = v
    frame = pd.DataFrame.from_dict(table, orient="index").sort_index()
    frame.index.name = "step"
    if frame.empty or not len(frame.columns):
        raise LogReadError(source, "W&B run without numeric history values")
    run = Run.from_frame(
        f"{run_dir.name}#{name}" if name else run_dir.name,
        frame,
        format=FORMAT,
        index="step",
        sources=[source],
        warnings=warnings,
        dropped=dropped,
    )
    if epoch:
        s = pd.Series(epoch, dtype=float).sort_index()
        run.side_series["epoch"] = s.rename_axis("step").rename("epoch")
    return [run]


def _float(value) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            return math.copysign(math.inf, value)
    return None


def read_records(data: bytes, source: str) -> tuple[list[dict], str, list[str]]:
    """History rows (dicts of key -> value), the run's display name and warnings.

    Raises:
        LogReadError: when ``data`` does not start with the W&B header.
    """
    if len(data) < _HEADER.size:
        raise LogReadError(source, "not a W&B record file: shorter than its header")
    ident, magic, _version = _HEADER.unpack_from(data, 0)
    if ident != b":W&B" or magic != 0xBEE1:
        raise LogReadError(source, "not a W&B record file (no :W&B header)", "byte 0")
    rows: list[dict] = []
    name = ""
    warnings: list[str] = []
    bad: list[int] = []
    for offset, payload in _payloads(data, bad):
        try:
            kind, body = _record(payload)
            if kind == 2:
                rows.append(_history(payload, body))
            elif kind == 17 and not name:
                name = _string_field(payload, body, 8)
        except (_DecodeError, ValueError, UnicodeDecodeError):
            bad.append(offset)
    if bad:
        warnings.append(
            f"{len(bad)} damaged record(s) skipped (first at byte {bad[0]}); the others are kept"
        )
    return rows, name, warnings


def _payloads(data: bytes, bad: list[int]):
    """``(offset, payload)`` of every complete record; a record cut short at the end
    (still being written) is left for the next read."""
    pos = _HEADER.size
    parts: list[bytes] = []
    start = pos
    n = len(data)
    while True:
        left = _BLOCK - pos % _BLOCK
        if left < _RECORD.size:  # block trailer: zero padding
            pos += left
            continue
        if pos + _RECORD.size > n:
            return
        crc, length, kind = _RECORD.unpack_from(data, pos)
        if crc == 0 and length == 0 and kind == 0:
            pos += left  # zero-filled rest of a block (preallocated)
            if pos >= n:
                return
            continue
        end = pos + _RECORD.size + length
        if end > n:
            return
        chunk = data[pos + _RECORD.size : end]
        if zlib.crc32(chunk, zlib.crc32(bytes([kind]))) & 0xFFFFFFFF != crc or kind > _LAST:
            bad.append(pos)
            parts = []
            pos += left  # resynchronise at the next block
            continue
        if kind in (_FULL, _FIRST):
            parts, start = [chunk], pos
        else:
            parts.append(chunk)
        if kind in (_FULL, _LAST):
            yield start, b"".join(parts)
            parts = []
        pos = end


def _record(buf: bytes) -> tuple[int, tuple[int, int]]:
    """The record type (its oneof field number) and its message span."""
    for number, wire, value in _fields(buf, 0, len(buf)):
        if wire == 2 and number not in (16, 19, 200):  # control, uuid, _info
            return number, value
    return 0, (0, 0)


def _string_field(buf: bytes, span: tuple[int, int], field: int) -> str:
    for number, wire, value in _fields(buf, *span):
        if number == field and wire == 2:
            return buf[value[0] : value[1]].decode("utf-8", errors="replace")
    return ""


def _history(buf: bytes, span: tuple[int, int]) -> dict:
    row: dict = {}
    for number, wire, value in _fields(buf, *span):
        if number == 1 and wire == 2:  # HistoryItem
            key, nested, val = "", [], None
            for n2, w2, v2 in _fields(buf, *value):
                if w2 == 2 and n2 in (1, 2, 16):
                    text = buf[v2[0] : v2[1]].decode("utf-8")
                    if n2 == 1:
                        key = text
                    elif n2 == 2:
                        nested.append(text)
                    else:
                        val = json.loads(text, parse_constant=_constant)
                elif n2 == 6 and w2 == 1:  # number (double)
                    val = struct.unpack_from("<d", buf, v2)[0]
                elif n2 == 5 and w2 == 0:  # integer (sint64, zigzag)
                    val = (v2 >> 1) ^ -(v2 & 1)
            row[key or ".".join(nested)] = val
        elif number == 2 and wire == 2 and "_step" not in row:  # HistoryStep
            for n2, w2, v2 in _fields(buf, *value):
                if n2 == 1 and w2 == 0:
                    row["_step"] = v2
    return row


def _constant(token: str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[token]

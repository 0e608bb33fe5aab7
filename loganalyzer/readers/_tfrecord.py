"""Read every scalar point of a TensorBoard event file, without TensorFlow.

An event file is a TFRecord stream: each record is ::

    uint64 length | uint32 masked_crc32c(length) | data[length] | uint32 masked_crc32c(data)

and each ``data`` is a serialized ``tensorflow.Event`` protocol buffer. This module
decodes only the handful of protobuf fields a scalar needs (``Event.wall_time``,
``Event.step``, ``Event.summary.value[].tag`` / ``simple_value`` / ``tensor`` /
``metadata.plugin_data.plugin_name`` and the scalar part of ``TensorProto``).

Why a hand-written reader rather than TensorBoard's or tbparse:

- **No TensorFlow**: reading a log must not import tensorflow (hundreds of MB, seconds
  to import) nor even the protobuf runtime.
- **Lossless**: TensorBoard's ``EventAccumulator`` reservoir-samples scalars (1000 per
  tag by default); we keep every point.
- **Speed and memory**: decoding one protobuf object per record in Python costs tens
  of microseconds and hundreds of bytes per point (tbparse needs ~36 s and ~2 GB for a
  file of one million scalars). Here the record headers are walked with
  ``struct.unpack_from`` over a bytes chunk, and the records are then decoded *all at
  once* with numpy: nearly every scalar event written by Keras/``tf.summary``,
  tensorboardX, ``torch.utils.tensorboard`` or Lightning has the same byte layout
  (wall_time, step, one summary value with a tag and a float), so the fields are
  gathered column-wise and only the records that do not fit that layout (the file
  header, graphs, histograms, multi-value summaries) go through the general,
  per-record decoder. The file is read in chunks, so memory stays at a few bytes per
  point (about 29) plus one chunk, whatever the file size.
- **Robust**: a truncated final record, a record whose CRC does not match, or bytes
  that are not records at all never raise; every valid record is kept and a warning
  names the byte offset. A record whose data CRC fails is skipped; after a damaged
  header (whose length cannot be trusted) the reader looks for the next position
  where a record's length *and* data CRCs both match and goes on from there
  (TensorBoard stops at the first damage). The length CRC of every record header is
  always checked (it costs little: 8 bytes per record, vectorised); the data CRC is
  checked when ``check_crc=True`` (the default; vectorised table CRC32C).

Example:
    >>> from loganalyzer.readers._tfrecord import read_scalars  # doctest: +SKIP
    >>> sc = read_scalars("logs/train/events.out.tfevents.1700000000.host.1.0.v2")  # doctest: +SKIP
    >>> sc.tags, len(sc.value)  # doctest: +SKIP
    (['epoch_loss', 'epoch_accuracy'], 100)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import cache
from os import PathLike

import numpy as np

from loganalyzer.sources import open_binary

CHUNK_BYTES = 1 << 20  # read the file this many bytes at a time
_HEADER = 12  # uint64 length + uint32 length CRC
_FOOTER = 4  # uint32 data CRC
_MASK_DELTA = 0xA282EAD8
_BAD_HEADER = "length CRC does not match (damaged or not a record)"
_PAST_END = "its length runs past the end of the file (damaged)"

# ----------------------------------------------------------------------------- CRC32C


def _make_crc_list() -> list[int]:
    poly = 0x82F63B78  # Castagnoli, reflected
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


# The tables are built in plain Python ints, the 16-bit one on first use
# (_crc_table16): importing this module (every file's sniff asks whether it is an event
# file) then costs well under a millisecond instead of ~10 ms of numpy scalar writes.
_CRC_LIST = _make_crc_list()
_CRC_TABLE = np.array(_CRC_LIST, dtype=np.uint32)


def crc32c(data: bytes) -> int:
    """CRC32C (Castagnoli) of ``data``, in pure Python (for short inputs).

    Example:
        >>> hex(crc32c(b"123456789"))
        '0xe3069283'
    """
    crc = 0xFFFFFFFF
    table = _CRC_LIST
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """The masked CRC32C that TFRecord framing stores.

    Example:
        >>> masked_crc32c(b"") == ((0 >> 15 | 0 << 17) + 0xA282EAD8) & 0xFFFFFFFF
        True
    """
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


@cache
def _crc_table16() -> np.ndarray:
    """CRC of two bytes at once: crc' = T16[(crc ^ w) & 0xFFFF] ^ (crc ^ w) >> 16."""
    c = np.arange(65536, dtype=np.uint32)
    for _ in range(2):
        c = _CRC_TABLE[c & 0xFF] ^ (c >> 8)
    return c


def _crc_registers(b: np.ndarray, starts: np.ndarray, length: int, init) -> np.ndarray:
    """CRC32C registers (no final xor) after ``b[s:s+length]`` for every ``s`` in
    ``starts``, each starting from ``init``; vectorised over the rows, one 16-bit table
    lookup per two-byte column."""
    crc = np.empty(len(starts), dtype=np.uint32)
    crc[:] = init
    n = len(b)
    pairs = length // 2
    if pairs:
        views = (b[: n - n % 2].view("<u2"), b[1 : 1 + (n - 1) // 2 * 2].view("<u2"))
        for parity in (0, 1):
            sel = np.flatnonzero((starts & 1) == parity)
            if not len(sel):
                continue
            words = views[parity]
            idx = (starts[sel] >> 1).astype(np.intp)
            c = crc[sel]
            table = _crc_table16()
            for _ in range(pairs):
                c ^= words[idx]
                c = table[c & 0xFFFF] ^ (c >> 16)
                idx += 1
            crc[sel] = c
    if length % 2:
        crc = _CRC_TABLE[(crc ^ b[starts + (length - 1)]) & 0xFF] ^ (crc >> 8)
    return crc


def _mask(crc):
    crc = crc ^ np.uint32(0xFFFFFFFF)
    return ((crc >> 15) | (crc << 17)) + np.uint32(_MASK_DELTA)


def _masked_crc_rows(b: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Masked CRC32C of ``b[s:s+length]`` for every ``s`` in ``starts``."""
    return _mask(_crc_registers(b, starts, length, 0xFFFFFFFF))


def _gf2_apply(mat: list[int], r: int) -> int:
    out = 0
    i = 0
    while r:
        if r & 1:
            out ^= mat[i]
        r >>= 1
        i += 1
    return out


def _zeros_operator(nbytes: int) -> list[int]:
    """The linear map a CRC32C register undergoes over ``nbytes`` zero bytes, as the
    images of its 32 bits (square-and-multiply from the one-byte map)."""
    step = [_CRC_LIST[(1 << i) & 0xFF] ^ ((1 << i) >> 8) for i in range(32)]
    result = [1 << i for i in range(32)]
    while nbytes:
        if nbytes & 1:
            result = [_gf2_apply(step, x) for x in result]
        step = [_gf2_apply(step, x) for x in step]
        nbytes >>= 1
    return result


def _long_masked_crc(buf, b: np.ndarray, start: int, length: int, rows: int = 1024) -> int:
    """Masked CRC32C of one long record (a graph, an image): cut into ``rows`` equal
    segments computed side by side with numpy, then chained. The register is linear,
    so ``reg(A + B) = Z^|B| reg(A) ^ reg0(B)`` where ``Z`` is the zero-byte map and
    ``reg0`` starts from 0."""
    seg = length // rows
    if seg < 16:
        return masked_crc32c(memoryview(buf)[start : start + length])
    init = np.zeros(rows, dtype=np.uint32)
    init[0] = 0xFFFFFFFF
    starts = start + seg * np.arange(rows, dtype=np.int64)
    regs = _crc_registers(b, starts, seg, init).tolist()
    shift = _zeros_operator(seg)
    r = regs[0]
    for x in regs[1:]:
        r = _gf2_apply(shift, r) ^ x
    table = _CRC_LIST
    for byte in memoryview(buf)[start + rows * seg : start + length]:
        r = table[(r ^ byte) & 0xFF] ^ (r >> 8)
    r ^= 0xFFFFFFFF
    return (((r >> 15) | (r << 17)) + _MASK_DELTA) & 0xFFFFFFFF


_LONG_RECORD = 4096  # longer records (graphs, images) are checked one at a time


def _data_crcs(buf, b: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Masked CRC32C of ``b[s:s+n]`` for every record, all records at once.

    The records are sorted by length and processed two bytes per step with a 16-bit
    table (``crc' = T16[(crc ^ w) & 0xFFFF] ^ (crc ^ w) >> 16``); at step ``j`` only the
    records longer than ``2j`` take part, so the work is one numpy pass per two-byte
    column of the longest short record, over all records of the chunk together.
    """
    out = np.empty(len(starts), dtype=np.uint32)
    long_ = lengths > _LONG_RECORD
    for i in np.flatnonzero(long_).tolist():
        out[i] = _long_masked_crc(buf, b, int(starts[i]), int(lengths[i]))
    short = np.flatnonzero(~long_)
    if not len(short):
        return out
    order = short[np.argsort(lengths[short], kind="stable")]
    ls = lengths[order]
    st = starts[order]
    n = len(b)
    even = b[: n - n % 2].view("<u2")
    words = np.concatenate([even, b[1 : 1 + (n - 1) // 2 * 2].view("<u2")])
    idx = (st >> 1) + (st & 1) * len(even)
    longest = int(ls[-1])
    bounds = np.searchsorted(ls, np.arange(longest + 3)).tolist()  # first index with ls >= x
    crc = np.full(len(order), 0xFFFFFFFF, dtype=np.uint32)
    t8, t16 = _CRC_TABLE, _crc_table16()
    for j in range(longest // 2 + 1):
        lo, hi = bounds[2 * j + 1], bounds[2 * j + 2]
        if hi > lo:  # records of odd length 2j+1 end with one byte
            c = crc[lo:hi]
            crc[lo:hi] = t8[(c ^ b[st[lo:hi] + 2 * j]) & 0xFF] ^ (c >> 8)
        if hi >= len(order):
            break
        c = crc[hi:] ^ words[idx[hi:] + j]
        crc[hi:] = t16[c & 0xFFFF] ^ (c >> 16)
    out[order] = _mask(crc)
    return out


_LEN = struct.Struct("<Q").unpack_from
_LEN32 = struct.Struct("<I").unpack_from


def _walk(buf: bytes, b: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """Offsets of the complete records in ``buf``, where the first incomplete one
    starts, and which offsets already had their length CRC checked: exactly the
    records that following the length fields from the start gives.

    A plain Python loop does that at ~0.3 us a record. Faster: every Event begins with
    its ``wall_time`` field (byte ``0x09``), so the positions ``p`` with
    ``buf[p + 12] == 0x09`` whose 8 bytes at ``p`` match the length CRC at ``p + 8``
    are, but for a 2**-32 chance, exactly the record starts. Those candidates are found
    and checked with numpy; runs of candidates where each record's length leads to
    the next candidate are taken whole, and the walk only steps record by record in
    Python where the chain leaves the candidates (a record not starting with 0x09, a
    damaged header) until it meets one again.
    """
    n = len(buf)
    cand = np.flatnonzero(b[_HEADER:] == 0x09)
    if len(cand):
        cand = cand[_masked_crc_rows(b, cand, 8) == _gather_u32(b, cand + 8)]
    lens = np.minimum(_gather_u64(b, cand), np.uint64(n + 1)).astype(np.int64)
    nxt = cand + lens + (_HEADER + _FOOTER)
    breaks = np.flatnonzero(nxt[:-1] != cand[1:])  # C[j] does not lead to C[j + 1]
    parts: list[np.ndarray] = []
    checked: list[np.ndarray] = []
    single: list[int] = []
    pos = 0
    ncand = len(cand)
    while True:
        i = int(np.searchsorted(cand, pos)) if ncand else 0
        if i < ncand and cand[i] == pos:
            if single:
                parts.append(np.asarray(single, dtype=np.int64))
                checked.append(np.zeros(len(single), dtype=bool))
                single = []
            k = int(np.searchsorted(breaks, i))
            j = int(breaks[k]) if k < len(breaks) else ncand - 1
            over = np.flatnonzero(nxt[i : j + 1] > n)
            if len(over):  # a record that does not fit in the buffer ends the walk
                parts.append(cand[i : i + int(over[0])])
                checked.append(np.ones(int(over[0]), dtype=bool))
                pos = int(cand[i + int(over[0])])
                break
            parts.append(cand[i : j + 1])
            checked.append(np.ones(j + 1 - i, dtype=bool))
            pos = int(nxt[j])
            continue
        if pos + _HEADER > n:
            break
        end = pos + _LEN(buf, pos)[0] + _HEADER + _FOOTER
        if end > n:
            break
        single.append(pos)
        pos = end
    if single:
        parts.append(np.asarray(single, dtype=np.int64))
        checked.append(np.zeros(len(single), dtype=bool))
    if not parts:
        return np.zeros(0, dtype=np.int64), pos, np.zeros(0, dtype=bool)
    return np.concatenate(parts).astype(np.int64, copy=False), pos, np.concatenate(checked)


def _find_record(buf, b: np.ndarray, start: int, remaining: int) -> int | None:
    """First position ``>= start`` in ``buf`` where a record with a matching length
    CRC begins (and, when the whole record is in ``buf``, a matching data CRC too:
    two 32-bit checks make a false match negligible). ``remaining`` is how many bytes
    the file holds from ``buf[0]`` on (a length past it is implausible)."""
    n = len(buf)
    for lo in range(start, max(start, n - _HEADER + 1), 1 << 20):
        cand = np.arange(lo, min(lo + (1 << 20), n - _HEADER + 1), dtype=np.int64)
        hits = np.flatnonzero(_masked_crc_rows(b, cand, 8) == _gather_u32(b, cand + 8))
        for p in cand[hits].tolist():
            length = _LEN(buf, p)[0]
            end = p + _HEADER + length + _FOOTER
            if end > remaining:
                continue
            if end > n:
                return p  # the rest of it is in the next chunk
            if _long_masked_crc(buf, b, p + _HEADER, length) == _LEN32(buf, end - _FOOTER)[0]:
                return p
    return None


def _gather_u32(b: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Little-endian uint32 at each (unaligned) byte position."""
    out = b[pos].astype(np.uint32)
    for k in (1, 2, 3):
        out |= b[pos + k].astype(np.uint32) << np.uint32(8 * k)
    return out


def _gather_u64(b: np.ndarray, pos: np.ndarray) -> np.ndarray:
    lo = _gather_u32(b, pos).astype(np.uint64)
    hi = _gather_u32(b, pos + 4).astype(np.uint64)
    return lo | (hi << np.uint64(32))


# ----------------------------------------------------------------------------- result


@dataclass
class Scalars:
    """Every scalar point of one event file, in file order (lossless).

    Args:
        tags: Tag names; ``tag_id`` indexes this list.
        tag_id, step, wall_time, value: One entry per scalar point.
        kind: Per tag, how it was stored: ``"simple_value"`` or ``"tensor"``.
        plugins: Per tag, the plugin named by its first summary metadata (``""`` if none).
        dropped: Tags (or event kinds such as ``graph_def``) that are not scalars -> why.
        warnings: Damage found, with byte offsets.
        records: Number of valid records read.
    """

    tags: list[str] = field(default_factory=list)
    tag_id: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    step: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    wall_time: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    value: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    kind: dict[str, str] = field(default_factory=dict)
    plugins: dict[str, str] = field(default_factory=dict)
    dropped: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    records: int = 0

    def triples(self) -> list[tuple[str, int, float]]:
        """``(tag, step, value)`` for every point, in file order (for tests and tools)."""
        tags = self.tags
        return [
            (tags[t], int(s), float(v))
            for t, s, v in zip(
                self.tag_id.tolist(), self.step.tolist(), self.value.tolist(), strict=True
            )
        ]


class EventFileError(Exception):
    """An event file with no readable record at all (``where`` is a byte offset)."""

    def __init__(self, why: str, where: str | None = None):
        self.why = why
        self.where = where
        super().__init__(why if where is None else f"{why} ({where})")


# ----------------------------------------------------------------------------- general decoder


class _DecodeError(Exception):
    pass


def _varint(buf, pos: int, end: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise _DecodeError("varint runs past the end of its message")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise _DecodeError("varint longer than 10 bytes")


def _fields(buf, pos: int, end: int):
    """Yield ``(field_number, wire_type, value)`` of a protobuf message; ``value`` is
    an int for varint/fixed fields and a ``(start, end)`` pair for length-delimited ones."""
    while pos < end:
        key, pos = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise _DecodeError("field number 0")
        if wire == 0:
            value, pos = _varint(buf, pos, end)
        elif wire == 1:
            if pos + 8 > end:
                raise _DecodeError("fixed64 runs past the end of its message")
            value = pos
            pos += 8
        elif wire == 2:
            n, pos = _varint(buf, pos, end)
            if pos + n > end:
                raise _DecodeError("length-delimited field runs past the end of its message")
            value = (pos, pos + n)
            pos += n
        elif wire == 5:
            if pos + 4 > end:
                raise _DecodeError("fixed32 runs past the end of its message")
            value = pos
            pos += 4
        else:
            raise _DecodeError(f"unsupported wire type {wire}")
        yield number, wire, value


# TensorFlow DataType enum values we turn into floats: code -> (numpy dtype, itemsize).
_DTYPES = {
    1: ("<f4", 4),  # DT_FLOAT
    2: ("<f8", 8),  # DT_DOUBLE
    3: ("<i4", 4),  # DT_INT32
    9: ("<i8", 8),  # DT_INT64
    19: ("<f2", 2),  # DT_HALF
}
_DTYPE_NAMES = {7: "string", 10: "bool", 14: "bfloat16", 8: "complex64", 18: "complex128"}


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _tensor_scalar(buf, start: int, end: int) -> tuple[float | None, str]:
    """Decode a ``TensorProto`` holding one number. Returns ``(value, why_not)``."""
    dtype = 0
    dims: list[int] = []
    content = None
    typed: list[float] = []
    for number, wire, val in _fields(buf, start, end):
        if number == 1 and wire == 0:
            dtype = val
        elif number == 2 and wire == 2:  # TensorShapeProto
            for n2, w2, v2 in _fields(buf, *val):
                if n2 == 2 and w2 == 2:  # Dim
                    size = 0
                    for n3, w3, v3 in _fields(buf, *v2):
                        if n3 == 1 and w3 == 0:
                            size = _signed64(v3)
                    dims.append(size)
        elif number == 4 and wire == 2:
            content = bytes(buf[val[0] : val[1]])
        elif number == 5:  # float_val
            typed.extend(_packed(buf, wire, val, "<f", 4))
        elif number == 6:  # double_val
            typed.extend(_packed(buf, wire, val, "<d", 8))
        elif number in (7, 13):  # int_val, half_val (half stored as uint16 bits)
            ints = _packed_varints(buf, wire, val)
            if number == 13:
                typed.extend(float(np.uint16(i & 0xFFFF).view(np.float16)) for i in ints)
            else:
                typed.extend(float(_signed64(i)) for i in ints)
        elif number == 10:  # int64_val
            typed.extend(float(_signed64(i)) for i in _packed_varints(buf, wire, val))
    if dtype not in _DTYPES:
        name = _DTYPE_NAMES.get(dtype, f"dtype {dtype}")
        return None, f"{name} tensor (not a number)"
    numel = 1
    for d in dims:
        numel *= d
    if numel != 1:
        return None, f"tensor of shape {dims} (not a scalar)"
    np_dtype, size = _DTYPES[dtype]
    if content:
        if len(content) != size:
            return None, "tensor content of the wrong size"
        return float(np.frombuffer(content, np_dtype)[0]), ""
    if typed:
        value = typed[0]
        if dtype == 1:
            value = float(np.float32(value))
        return value, ""
    return 0.0, ""  # TensorFlow's make_ndarray fills an empty scalar with zero


def _packed(buf, wire: int, val, fmt: str, size: int) -> list[float]:
    if wire == 2:
        s, e = val
        if (e - s) % size:
            raise _DecodeError("packed floats of the wrong length")
        return list(struct.unpack_from(f"{fmt[0]}{(e - s) // size}{fmt[1]}", buf, s))
    if (wire == 5 and size == 4) or (wire == 1 and size == 8):
        return [struct.unpack_from(fmt, buf, val)[0]]
    raise _DecodeError("float field with a wrong wire type")


def _packed_varints(buf, wire: int, val) -> list[int]:
    if wire == 0:
        return [val]
    if wire == 2:
        out = []
        pos, end = val
        while pos < end:
            v, pos = _varint(buf, pos, end)
            out.append(v)
        return out
    raise _DecodeError("integer field with a wrong wire type")


def _plugin_name(buf, start: int, end: int) -> str:
    """``SummaryMetadata.plugin_data.plugin_name`` (``""`` if absent)."""
    for number, wire, val in _fields(buf, start, end):
        if number == 1 and wire == 2:
            for n2, w2, v2 in _fields(buf, *val):
                if n2 == 1 and w2 == 2:
                    return bytes(buf[v2[0] : v2[1]]).decode("utf-8", "replace")
    return ""


_EVENT_KINDS = {
    4: "graph_def",
    6: "log_message",
    7: "session_log",
    8: "tagged_run_metadata",
    9: "meta_graph_def",
}
_VALUE_KINDS = {3: "histogram", 4: "image", 5: "histogram", 6: "audio"}


def _decode_event(buf, start: int, end: int):
    """Decode one Event. Returns ``(wall, step, values, others)`` where ``values`` is a
    list of ``(tag, value_or_None, is_tensor, plugin_or_None, why_not)``."""
    wall = 0.0
    step = 0
    values = []
    others = []
    for number, wire, val in _fields(buf, start, end):
        if number == 1:
            if wire != 1:
                raise _DecodeError("wall_time is not a double")
            wall = struct.unpack_from("<d", buf, val)[0]
        elif number == 2:
            if wire != 0:
                raise _DecodeError("step is not a varint")
            step = _signed64(val)
        elif number == 5 and wire == 2:
            for n2, w2, v2 in _fields(buf, *val):
                if n2 == 1 and w2 == 2:
                    values.append(_decode_value(buf, *v2))
        elif number in _EVENT_KINDS:
            others.append(_EVENT_KINDS[number])
    return wall, step, values, others


def _decode_value(buf, start: int, end: int):
    tag = ""
    value = None
    is_tensor = False
    plugin = None
    why = "no value"
    tensor = None
    for number, wire, val in _fields(buf, start, end):
        if number == 1 and wire == 2:
            tag = bytes(buf[val[0] : val[1]]).decode("utf-8", "replace")
        elif number == 2 and wire == 5:
            value = struct.unpack_from("<f", buf, val)[0]
            why = ""
        elif number == 8 and wire == 2:
            tensor = val
        elif number == 9 and wire == 2:
            plugin = _plugin_name(buf, *val)
        elif number in _VALUE_KINDS:
            why = _VALUE_KINDS[number]
    if tensor is not None and value is None:
        is_tensor = True
        value, why = _tensor_scalar(buf, *tensor)
    if value is None and plugin:
        why = f"{plugin} plugin data (not a scalar)"
    return tag, value, is_tensor, plugin, why


# ----------------------------------------------------------------------------- fast path


def _varint_vec(b: np.ndarray, pos: np.ndarray, ok: np.ndarray):
    """Decode one varint at each ``pos`` (where ``ok``). Returns (value, next_pos, ok).

    Nearly all varints in a scalar event are one byte; only the others are followed
    further, on the subset that needs it."""
    last = len(b) - 1
    byte = b[np.clip(pos, 0, last)]
    value = (byte & 0x7F).astype(np.uint64)
    length = np.ones(len(pos), dtype=np.int64)
    more = ok & (byte >= 0x80)
    if more.any():
        idx = np.flatnonzero(more)
        p = pos[idx]
        v = value[idx]
        n = np.ones(len(idx), dtype=np.int64)
        active = np.ones(len(idx), dtype=bool)
        for k in range(1, 10):
            byte = b[np.clip(p + k, 0, last)]
            v |= np.where(active, (byte & 0x7F).astype(np.uint64) << np.uint64(7 * k), 0)
            done = active & (byte < 0x80)
            n[done] = k + 1
            active &= ~done
            if not active.any():
                break
        value[idx] = v
        length[idx] = n
        if active.any():  # longer than 10 bytes: not a varint
            ok = ok.copy()
            ok[idx[active]] = False
    return value, pos + length, ok


def _fast_decode(b: np.ndarray, s: np.ndarray, e: np.ndarray):
    """Decode, column-wise, every record in ``b[s:e]`` that has the common layout of
    a one-value scalar event::

        09 <f64 wall_time> [10 <varint step>] 2a <len> 0a <len> 0a <len> <tag>
            ( 15 <f32 simple_value> | 42 <len> <TensorProto: dtype, empty shape, one value> )
            [ 4a <len> <SummaryMetadata> ]

    Returns a dict of arrays for the records that match (``ok`` mask) plus the
    positions of their tag and metadata bytes. Records that do not match are left
    to the general decoder.
    """
    last = len(b) - 1

    def at(pos):
        return b[np.clip(pos, 0, last)]

    ok = (at(s) == 0x09) & (s + 9 < e)
    wall = _gather_u64(b, np.minimum(s + 1, last - 7)).view(np.float64)
    cur = s + 9
    has_step = ok & (at(cur) == 0x10)
    step, after, step_ok = _varint_vec(b, cur + 1, has_step)
    ok &= ~has_step | step_ok
    step = np.where(has_step, step, 0).view(np.int64)
    cur = np.where(has_step, after, cur)
    # Event.summary (field 5) must be the last field; Summary holds exactly one Value.
    ok &= at(cur) == 0x2A
    n, cur, ok = _varint_vec(b, cur + 1, ok)
    ok &= cur + n.astype(np.int64) == e
    ok &= at(cur) == 0x0A
    n, cur, ok = _varint_vec(b, cur + 1, ok)
    ok &= cur + n.astype(np.int64) == e
    ok &= at(cur) == 0x0A
    tag_len, tag_start, ok = _varint_vec(b, cur + 1, ok)
    tag_len = tag_len.astype(np.int64)
    cur = tag_start + tag_len
    ok &= cur < e
    first = at(cur)
    simple = ok & (first == 0x15)
    tensor = ok & (first == 0x42)
    ok &= simple | tensor
    value_pos = cur + 1
    value_end = np.where(simple, cur + 5, e)
    # TensorProto: 08 <dtype> 12 00 then one of
    #   22 <n> <content> | 2a <n> <packed float_val> | 2d <f32> | 32 <n> <packed double> | 31 <f64>
    tlen, tcur, tensor = _varint_vec(b, cur + 1, tensor)
    tend = tcur + tlen.astype(np.int64)
    tensor &= (tend <= e) & (at(tcur) == 0x08)
    dtype = at(tcur + 1)
    tensor &= ((dtype == 1) | (dtype == 2)) & (at(tcur + 2) == 0x12) & (at(tcur + 3) == 0)
    size = np.where(dtype == 1, 4, 8)
    pb = at(tcur + 4)
    plen = at(tcur + 5)
    packed = (pb == 0x22) | np.where(dtype == 1, pb == 0x2A, pb == 0x32)
    packed &= (plen == size) & (tcur + 6 + size == tend)
    unpacked = np.where(dtype == 1, pb == 0x2D, pb == 0x31) & (tcur + 5 + size == tend)
    tensor &= packed | unpacked
    value_pos = np.where(tensor, np.where(packed, tcur + 6, tcur + 5), value_pos)
    value_end = np.where(tensor, tend, value_end)
    ok &= simple | tensor
    is_double = tensor & (dtype == 2)
    # optional SummaryMetadata (field 9) closing the Value
    has_meta = ok & (value_end < e)
    ok &= ~has_meta | (at(value_end) == 0x4A)
    mlen, mstart, meta_ok = _varint_vec(b, value_end + 1, has_meta & ok)
    ok &= ~has_meta | (meta_ok & (mstart + mlen.astype(np.int64) == e))
    ok &= value_end <= e

    vp = np.clip(value_pos, 0, max(last - 7, 0))
    with np.errstate(invalid="ignore"):  # signalling NaNs are values too
        f32 = _gather_u32(b, vp).view(np.float32).astype(np.float64)
    value = f32
    if is_double.any():
        f64 = _gather_u64(b, vp).view(np.float64)
        value = np.where(is_double, f64, f32)
    return {
        "ok": ok,
        "wall": wall,
        "step": step,
        "value": value,
        "tensor": tensor & ok,
        "tag_start": tag_start,
        "tag_len": tag_len,
        "has_meta": has_meta & ok,
        "meta_start": mstart,
        "meta_len": mlen.astype(np.int64),
    }


def _unique_slices(b: np.ndarray, start: np.ndarray, length: np.ndarray):
    """Group byte slices ``b[start:start+length]`` by content.

    Returns ``(blobs, inverse)``: distinct slices as ``bytes`` and, per input, the
    index of its blob (a blob may be listed twice; callers map blobs to names).
    Tags repeat a lot, so each distinct slice is matched column by column against
    all remaining ones (no index matrix, no sort); past a few distinct slices of one
    length the rest are sorted out with ``np.unique``.
    """
    inverse = np.zeros(len(start), dtype=np.int64)
    blobs: list[bytes] = []
    for n in np.unique(length).tolist():
        rest = np.flatnonzero(length == n)
        for _ in range(8):
            if not len(rest):
                break
            s0 = int(start[rest[0]])
            blob = b[s0 : s0 + n].tobytes()
            same = np.ones(len(rest), dtype=bool)
            pos = start[rest]
            for j, byte in enumerate(blob):
                same &= b[pos + j] == byte
            inverse[rest[same]] = len(blobs)
            blobs.append(blob)
            rest = rest[~same]
        batch = max(1, (4 << 20) // max(n, 1))  # bound the (k, n) index matrix
        for lo in range(0, len(rest), batch):
            sel = rest[lo : lo + batch]
            rows = b[start[sel, None] + np.arange(n)]
            keys = np.ascontiguousarray(rows).view(f"V{n}").ravel()
            _, first, inv = np.unique(keys, return_index=True, return_inverse=True)
            inverse[sel] = inv.ravel() + len(blobs)
            blobs.extend(rows[i].tobytes() for i in first.tolist())
    return blobs, inverse


# ----------------------------------------------------------------------------- reader


class _Collector:
    """Accumulates points chunk by chunk and tracks per-tag facts."""

    def __init__(self):
        self.tag_ids: dict[str, int] = {}
        self.tags: list[str] = []
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.kind: dict[str, str] = {}
        self.plugins: dict[str, str] = {}
        self.dropped: dict[str, str] = {}
        self.bad_events = 0
        self.first_bad: tuple[int, str] | None = None

    def tag_id(self, tag: str) -> int:
        tid = self.tag_ids.get(tag)
        if tid is None:
            tid = self.tag_ids[tag] = len(self.tags)
            self.tags.append(tag)
        return tid


def read_scalars(
    path: str | PathLike, *, check_crc: bool = True, chunk_bytes: int = CHUNK_BYTES
) -> Scalars:
    """Read every scalar point of one event file.

    Args:
        path: The ``events.out.tfevents.*`` file.
        check_crc: Also check each record's data CRC (the length CRC of each header is
            always checked). A record whose data CRC does not match is skipped with a
            warning; the records after it are still read.
        chunk_bytes: Read size; memory use is about one chunk plus ~29 bytes per point.

    Returns:
        :class:`Scalars`, with a warning (naming the byte offset) for a truncated or
        damaged record: every valid record before and after the damage is kept.

    Raises:
        EventFileError: the file is empty or its first record is not a valid record.
        OSError: the file cannot be opened.

    Example:
        >>> sc = read_scalars("run/events.out.tfevents.1.host")  # doctest: +SKIP
        >>> sc.triples()[:1]  # doctest: +SKIP
        [('epoch_loss', 0, 0.6931471824645996)]
    """
    col = _Collector()
    warnings: list[str] = []
    records = 0
    crc_bad = 0
    crc_first = -1
    damaged = -1  # file offset of a damaged record header while looking past it
    damage = _BAD_HEADER  # what is wrong with it
    fh, size = open_binary(path)  # a local file, or a Source streamed in blocks
    with fh:
        base = 0  # file offset of buf[0]
        buf = b""
        eof = False
        want = chunk_bytes
        while True:
            if not eof:
                data = fh.read(want)
                eof = len(data) < want
                buf = buf + data if buf else data
                want = chunk_bytes
            n = len(buf)
            b = np.frombuffer(buf, dtype=np.uint8)
            if damaged >= 0:
                # Look for the next record whose header (and data) CRC match.
                p = _find_record(buf, b, max(0, damaged + 1 - base), size - base)
                if p is None:
                    if eof and damage == _PAST_END:
                        warnings.append(
                            f"record at byte {damaged}: truncated ({size - damaged} of its "
                            f"bytes are in the file); kept {records} records before it"
                        )
                        break
                    if eof:
                        warnings.append(
                            f"record at byte {damaged}: {_BAD_HEADER}; kept {records} records "
                            f"before it, no valid record after it (ignored the last "
                            f"{size - damaged} bytes)"
                        )
                        break
                    keep = max(0, n - (_HEADER - 1))  # a header may straddle the chunks
                    base += keep
                    buf = buf[keep:]
                    continue
                warnings.append(
                    f"record at byte {damaged}: {damage}; skipped {base + p - damaged} "
                    f"bytes to the next valid record at byte {base + p}"
                )
                damaged = -1
                base += p
                buf = buf[p:]
                n = len(buf)
                b = np.frombuffer(buf, dtype=np.uint8)
            o, pos, good = _walk(buf, b)
            stop = None  # (file offset, message) that ends the walk of this chunk
            if len(o):
                lengths = _gather_u64(b, o).astype(np.int64)
                rest = np.flatnonzero(~good)  # length CRCs the walk did not check
                if len(rest):
                    good[rest] = _masked_crc_rows(b, o[rest], 8) == _gather_u32(b, o[rest] + 8)
                if not good.all():
                    i = int(np.argmin(good))
                    stop = (base + int(o[i]), _BAD_HEADER)
                    pos = int(o[i])
                    o, lengths = o[:i], lengths[:i]
            if stop is None and pos < n and (eof or pos + _HEADER <= n):
                # The next record does not fit in what we have: damaged header, a length
                # past the end of the file, or more to read, or (at the end) truncated.
                if (
                    pos + _HEADER <= n
                    and masked_crc32c(buf[pos : pos + 8])
                    != struct.unpack_from("<I", buf, pos + 8)[0]
                ):
                    stop = (base + pos, _BAD_HEADER)
                elif (
                    pos + _HEADER <= n
                    and base + pos + _HEADER + _FOOTER + _LEN(buf, pos)[0] > size
                    and base + pos > 0
                ):
                    # A length that runs past the end: a truncated last record, or a
                    # damaged length (2**63) with valid records after it: look for them.
                    stop = (base + pos, _PAST_END)
                elif eof:
                    stop = (base + pos, f"truncated ({n - pos} of its bytes are in the file)")
                elif pos + _HEADER <= n:
                    # a long record (a graph, an image): read the rest of it at once
                    need = pos + _HEADER + _FOOTER + struct.unpack_from("<Q", buf, pos)[0] - n
                    want = max(chunk_bytes, min(need, size - base - n))
            if len(o):
                if check_crc:
                    ds = o + _HEADER
                    dcrc = _gather_u32(b, ds + lengths)
                    okc = _data_crcs(buf, b, ds, lengths) == dcrc
                    if not okc.all():
                        bad = np.nonzero(~okc)[0]
                        if crc_first < 0:
                            crc_first = base + int(o[bad[0]])
                        crc_bad += len(bad)
                        o, lengths = o[okc], lengths[okc]
                records += len(o)
                with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf are data
                    _decode_chunk(buf, b, o + _HEADER, lengths, base, col)
            if stop is not None:
                if records == 0 and crc_bad == 0 and stop[0] == 0:
                    raise EventFileError(
                        f"not a TensorBoard event file: its first record's {stop[1]}"
                        if stop[1] == _BAD_HEADER
                        else f"not a TensorBoard event file: its first record is {stop[1]}",
                        "byte 0",
                    )
                if stop[1] in (_BAD_HEADER, _PAST_END):
                    # The length cannot be trusted; valid records may follow the damage.
                    damaged, damage = stop
                    base += pos
                    buf = buf[pos:]
                    continue
                warnings.append(
                    f"record at byte {stop[0]}: {stop[1]}; kept {records} records before it"
                )
                break
            if eof and pos >= n:
                break
            base += pos
            buf = buf[pos:]
    if records == 0 and crc_bad == 0 and not warnings:
        raise EventFileError("empty event file" if base == 0 else "no records")
    if crc_bad:
        warnings.insert(
            0,
            f"{crc_bad} record(s) failed the data CRC check (first at byte {crc_first}); "
            "skipped them",
        )
        if records == 0:
            raise EventFileError("no record passed the data CRC check", f"byte {crc_first}")
    if col.bad_events:
        where, why = col.first_bad
        warnings.append(
            f"{col.bad_events} record(s) are not valid events (first at byte {where}: {why}); "
            "skipped them"
        )
    return _finish(col, warnings, records)


def _decode_chunk(buf, b, starts: np.ndarray, lengths: np.ndarray, base: int, col: _Collector):
    """Decode the records of one chunk: fast path column-wise, the rest one by one."""
    ends = starts + lengths
    fast = _fast_decode(b, starts, ends)
    ok = fast["ok"]
    idx = np.nonzero(ok)[0]
    rec_parts = []
    # tags of the fast records
    blobs, inv = _unique_slices(b, fast["tag_start"][idx], fast["tag_len"][idx])
    blob_ids = np.array([col.tag_id(x.decode("utf-8", "replace")) for x in blobs], dtype=np.int32)
    tid = blob_ids[inv] if len(idx) else np.zeros(0, np.int32)
    is_tensor = fast["tensor"][idx]
    # plugin names from the fast records' metadata (first one per tag wins)
    meta_sel = np.nonzero(fast["has_meta"][idx])[0]
    meta_first: list[tuple[int, int, str]] = []
    if len(meta_sel):
        mblobs, minv = _unique_slices(
            b, fast["meta_start"][idx[meta_sel]], fast["meta_len"][idx[meta_sel]]
        )
        names = []
        for blob in mblobs:
            try:
                names.append(_plugin_name(blob, 0, len(blob)))
            except _DecodeError:
                names.append("?")
        tids = tid[meta_sel]
        _, first = np.unique(tids, return_index=True)
        for i in first.tolist():
            meta_first.append((int(idx[meta_sel[i]]), int(tids[i]), names[minv[i]]))
    rec_parts.append(
        (
            idx.astype(np.int64),
            tid,
            fast["step"][idx],
            fast["wall"][idx],
            fast["value"][idx],
            is_tensor,
        )
    )
    # tag kinds seen on the fast path
    for t in np.unique(tid[is_tensor]).tolist():
        col.kind.setdefault(col.tags[t], "tensor")
    for t in np.unique(tid[~is_tensor]).tolist():
        col.kind.setdefault(col.tags[t], "simple_value")
    # the rest: general decoder
    slow_rec, slow_tid, slow_step, slow_wall, slow_val, slow_tensor = [], [], [], [], [], []
    for r in np.nonzero(~ok)[0].tolist():
        s = int(starts[r])
        try:
            wall, step, values, others = _decode_event(buf, s, int(ends[r]))
        except _DecodeError as exc:
            col.bad_events += 1
            if col.first_bad is None:
                col.first_bad = (base + s - _HEADER, str(exc))
            continue
        for kind in others:
            col.dropped.setdefault(kind, f"{kind.replace('_', ' ')} (not a metric)")
        for tag, value, is_t, plugin, why in values:
            t = col.tag_id(tag)
            if plugin is not None:
                meta_first.append((r, t, plugin))
            if value is None:
                col.dropped.setdefault(tag, why)
                continue
            slow_rec.append(r)
            slow_tid.append(t)
            slow_step.append(step)
            slow_wall.append(wall)
            slow_val.append(value)
            slow_tensor.append(is_t)
            col.kind.setdefault(tag, "tensor" if is_t else "simple_value")
    for _, t, plugin in sorted(meta_first):
        col.plugins.setdefault(col.tags[t], plugin)
    if slow_rec:
        rec_parts.append(
            (
                np.asarray(slow_rec, dtype=np.int64),
                np.asarray(slow_tid, dtype=np.int32),
                np.asarray(slow_step, dtype=np.int64),
                np.asarray(slow_wall, dtype=np.float64),
                np.asarray(slow_val, dtype=np.float64),
                np.asarray(slow_tensor, dtype=bool),
            )
        )
        rec = np.concatenate([p[0] for p in rec_parts])
        order = np.argsort(rec, kind="stable")
        col.parts.append(
            tuple(np.concatenate([p[k] for p in rec_parts])[order] for k in range(1, 6))
        )
    else:
        col.parts.append(rec_parts[0][1:])


def _concat_free(arrays: list[np.ndarray]) -> np.ndarray:
    out = np.concatenate(arrays)
    arrays.clear()
    return out


def _finish(col: _Collector, warnings: list[str], records: int) -> Scalars:
    if col.parts:
        # one column at a time, freeing the chunks as we go (peak: one extra column)
        columns = [list(c) for c in zip(*col.parts, strict=True)]
        col.parts.clear()
        tid, step, wall, value, is_tensor = (_concat_free(c) for c in columns)
    else:
        tid = np.zeros(0, np.int32)
        step = np.zeros(0, np.int64)
        wall = np.zeros(0, np.float64)
        value = np.zeros(0, np.float64)
        is_tensor = np.zeros(0, bool)
    # Tensors are scalars only for the scalars plugin (or no plugin at all): a
    # one-element tensor of another plugin (hparams, text, ...) is that plugin's data.
    foreign = [
        t for t, name in enumerate(col.tags) if col.plugins.get(name, "") not in ("", "scalars")
    ]
    if foreign and len(tid):
        bad = is_tensor & np.isin(tid, foreign)
        if bad.any():
            for t in np.unique(tid[bad]).tolist():
                name = col.tags[t]
                col.dropped.setdefault(name, f"{col.plugins[name]} plugin data (not a scalar)")
            keep = ~bad
            tid, step, wall, value = tid[keep], step[keep], wall[keep], value[keep]
    present = set(np.unique(tid).tolist())
    for t in present:  # a tag with points is not "dropped" because one event lacked a value
        col.dropped.pop(col.tags[t], None)
    for t, name in enumerate(col.tags):
        if t not in present and name not in col.dropped:
            plugin = col.plugins.get(name)
            col.dropped[name] = f"{plugin} plugin data (not a scalar)" if plugin else "no value"
    return Scalars(
        tags=list(col.tags),
        tag_id=tid,
        step=step,
        wall_time=wall,
        value=value,
        kind={k: v for k, v in col.kind.items() if col.tag_ids[k] in present},
        plugins=dict(col.plugins),
        dropped=dict(col.dropped),
        warnings=warnings,
        records=records,
    )

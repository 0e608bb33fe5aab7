"""Write small TensorBoard event files byte by byte, for the reader's tests.

The byte layouts follow what the real writers produce (checked against TensorBoard's
own loader in ``test_tensorboard_differential.py``): TF2 ``tf.summary.scalar`` /
Keras write a tensor summary with ``scalars`` plugin metadata, tensorboardX and
``torch.utils.tensorboard`` a ``simple_value``.
"""

from __future__ import annotations

import struct
from pathlib import Path

from loganalyzer.readers._tfrecord import masked_crc32c

SCALARS_META = b"\x4a\x0b\x0a\x09\x0a\x07scalars"


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def ld(field: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def tensor_value(tag: str, value: float, *, encoding: str = "content", meta: bool = True):
    """A ``Summary.Value`` holding a scalar tensor.

    encoding: ``content`` (float32 tensor_content, as TF writes), ``float_val``,
    ``double_val``, ``double_content``, ``half_content``, ``int64``.
    """
    shape = b"\x12\x00"
    if encoding == "content":
        proto = b"\x08\x01" + shape + ld(4, struct.pack("<f", value))
    elif encoding == "float_val":
        proto = b"\x08\x01" + shape + ld(5, struct.pack("<f", value))
    elif encoding == "double_val":
        proto = b"\x08\x02" + shape + ld(6, struct.pack("<d", value))
    elif encoding == "double_content":
        proto = b"\x08\x02" + shape + ld(4, struct.pack("<d", value))
    elif encoding == "half_content":
        proto = b"\x08\x13" + shape + ld(4, struct.pack("<e", value))
    elif encoding == "int64":
        proto = b"\x08\x09" + shape + ld(10, varint(int(value)))
    else:
        raise ValueError(encoding)
    return ld(1, tag.encode()) + ld(8, proto) + (SCALARS_META if meta else b"")


def simple_value(tag: str, value: float) -> bytes:
    return ld(1, tag.encode()) + b"\x15" + struct.pack("<f", value)


def vector_value(tag: str, values: list[float], plugin: str = "histograms") -> bytes:
    dims = b"".join(ld(2, b"\x08" + varint(len(values))) for _ in [0])
    proto = b"\x08\x01" + ld(2, dims) + ld(4, struct.pack(f"<{len(values)}f", *values))
    meta = ld(9, ld(1, ld(1, plugin.encode())))
    return ld(1, tag.encode()) + ld(8, proto) + meta


def event(step: int, wall: float, *values: bytes) -> bytes:
    """An ``Event`` with a summary of the given values (step 0 omitted, as proto3 does)."""
    head = b"\x09" + struct.pack("<d", wall) + (b"\x10" + varint(step) if step else b"")
    return head + ld(5, b"".join(ld(1, v) for v in values))


def header_event(wall: float = 1.7e9) -> bytes:
    return b"\x09" + struct.pack("<d", wall) + ld(3, b"brain.Event:2")


def graph_event(wall: float = 1.7e9) -> bytes:
    return b"\x09" + struct.pack("<d", wall) + ld(4, b"\x0a\x03abc")


def record(data: bytes) -> bytes:
    header = struct.pack("<Q", len(data))
    return (
        header
        + struct.pack("<I", masked_crc32c(header))
        + data
        + struct.pack("<I", masked_crc32c(data))
    )


def write(path: Path, events: list[bytes], *, header: bool = True) -> Path:
    """Write ``events`` (serialized) as an event file, with the file-version header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = b"".join(record(e) for e in ([header_event()] if header else []) + events)
    path.write_bytes(body)
    return path


def scalar_file(
    path: Path,
    series: dict[str, list[float]],
    *,
    tensor: bool = False,
    step0: int = 0,
    wall0: float = 1.7e9,
) -> Path:
    """One event per (tag, step): ``series`` maps tag -> values at steps step0, step0+1..."""
    events = []
    n = max(len(v) for v in series.values())
    for i in range(n):
        for tag, values in series.items():
            if i < len(values):
                v = tensor_value(tag, values[i]) if tensor else simple_value(tag, values[i])
                events.append(event(step0 + i, wall0 + i, v))
    return write(path, events)

"""Property tests: damaged or random event files never raise anything but a clear
error, and every record before the damage is kept."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import tb_eventfiles as tb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loganalyzer.errors import LogReadError
from loganalyzer.readers import tensorboard
from loganalyzer.readers._tfrecord import EventFileError, read_scalars

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _events() -> list[bytes]:
    events = [tb.graph_event()]
    for i in range(40):
        w = 1.7e9 + i
        events.append(tb.event(i, w, tb.tensor_value("epoch_loss", 1 / (i + 1))))
        events.append(tb.event(i, w, tb.simple_value("val_loss", 2 / (i + 1))))
        if i % 7 == 0:
            events.append(tb.event(i, w, tb.simple_value("a", i), tb.simple_value("b", -i)))
            events.append(tb.event(i, w, tb.vector_value("hist", [1.0, 2.0])))
    return events


BODY = b"".join(tb.record(e) for e in [tb.header_event(), *_events()])
RECORD_ENDS = []
_pos = 0
for _e in [tb.header_event(), *_events()]:
    _pos += len(tb.record(_e))
    RECORD_ENDS.append(_pos)


def _full(tmp_path: Path) -> list:
    f = tmp_path / "full.tfevents"
    f.write_bytes(BODY)
    return read_scalars(f).triples()


def _read(tmp_path: Path, data: bytes, check_crc: bool = True):
    f = tmp_path / "events.out.tfevents.fuzz"
    f.write_bytes(data)
    try:
        return read_scalars(f, check_crc=check_crc)
    except EventFileError as exc:
        assert exc.why and exc.where is None or exc.where.startswith("byte ")
        return None


@SETTINGS
@given(cut=st.integers(min_value=0, max_value=len(BODY)))
def test_truncation_keeps_every_complete_record(tmp_path, cut):
    full = _full(tmp_path)
    sc = _read(tmp_path, BODY[:cut])
    complete = sum(1 for end in RECORD_ENDS if end <= cut)
    if complete == 0:
        assert sc is None  # nothing readable: a clear error
        return
    assert sc is not None and sc.records == complete
    got = sc.triples()
    assert got == full[: len(got)]
    if cut in RECORD_ENDS:
        assert sc.warnings == []
    else:
        [w] = sc.warnings
        assert f"record at byte {max(e for e in [0, *RECORD_ENDS] if e <= cut)}" in w


@SETTINGS
@given(
    flips=st.lists(
        st.tuples(st.integers(0, len(BODY) - 1), st.integers(0, 7)), min_size=1, max_size=3
    )
)
def test_bit_flips_with_crc_never_invent_points(tmp_path, flips):
    full = Counter(_full(tmp_path))
    data = bytearray(BODY)
    for pos, bit in flips:
        data[pos] ^= 1 << bit
    sc = _read(tmp_path, bytes(data), check_crc=True)
    if sc is None:
        return
    got = Counter(sc.triples())
    assert not got - full  # every point read is a point that was written
    if len(got) < len(full):
        assert sc.warnings  # and losing points is never silent


@SETTINGS
@given(
    flips=st.lists(
        st.tuples(st.integers(0, len(BODY) - 1), st.integers(0, 7)), min_size=1, max_size=5
    )
)
def test_bit_flips_without_crc_never_crash(tmp_path, flips):
    data = bytearray(BODY)
    for pos, bit in flips:
        data[pos] ^= 1 << bit
    sc = _read(tmp_path, bytes(data), check_crc=False)
    if sc is not None:
        assert len(sc.tag_id) == len(sc.step) == len(sc.value) == len(sc.wall_time)


@SETTINGS
@given(data=st.binary(max_size=3000))
def test_random_bytes_are_a_clear_error(tmp_path, data):
    d = tmp_path / "run"
    d.mkdir(exist_ok=True)
    f = d / "events.out.tfevents.rand"
    f.write_bytes(data)
    try:
        runs = tensorboard.read_group(d, [f])
    except LogReadError as exc:
        assert exc.source == str(f) and exc.why
        return
    assert len(runs) == 1  # astronomically unlikely: random bytes with valid CRCs


@SETTINGS
@given(
    prefix=st.binary(max_size=64),
    records=st.lists(st.binary(max_size=80), max_size=6),
)
def test_valid_framing_around_garbage_payloads(tmp_path, prefix, records):
    """Records with correct CRCs but arbitrary content exercise the event decoder."""
    data = b"".join(tb.record(r) for r in records) + prefix
    sc = _read(tmp_path, data)
    if sc is None:
        return
    assert sc.records <= len(records)
    for tag, _, value in sc.triples():
        assert isinstance(tag, str) and isinstance(value, float)


@pytest.mark.parametrize("size", [1, 11, 12, 15, 16])
def test_tiny_files(tmp_path, size):
    sc = _read(tmp_path, BODY[:size])
    assert sc is None


def _naive_walk(buf: bytes) -> tuple[list[int], int]:
    pos, out = 0, []
    while pos + 12 <= len(buf):
        end = pos + int.from_bytes(buf[pos : pos + 8], "little") + 16
        if end > len(buf):
            break
        out.append(pos)
        pos = end
    return out, pos


@SETTINGS
@given(
    pattern=st.lists(st.integers(0, 40), min_size=1, max_size=5),
    repeats=st.integers(1, 400),
    breaks=st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 90)), max_size=4),
    cut=st.integers(0, 30),
    flip=st.none() | st.integers(0, 10**6),
)
def test_vectorised_record_walk_equals_sequential_walk(pattern, repeats, breaks, cut, flip):
    """The numpy walk (candidate record starts checked by their length CRC) must find
    exactly the records a plain sequential walk finds, damaged or not."""
    import numpy as np

    from loganalyzer.readers._tfrecord import _walk

    lengths = pattern * repeats
    for at, n in breaks:
        lengths.insert(min(at, len(lengths)), n)
    # Events start with 0x09 (their wall_time field); the odd ones here do not, and
    # some payloads hold what looks like a record header with a valid CRC.
    fake = tb.record(b"\x09" + bytes(8))[:13]
    payloads = [
        (b"\x09" + bytes([7]) * n if n % 5 else bytes([7]) * n + fake) if n % 7 else bytes([9]) * n
        for n in lengths
    ]
    buf = b"".join(tb.record(p) for p in payloads)
    buf = buf[: max(0, len(buf) - cut)]
    if flip is not None and buf:
        buf = bytearray(buf)
        buf[flip % len(buf)] ^= 0x04
        buf = bytes(buf)
    offs, pos, checked = _walk(buf, np.frombuffer(buf, dtype=np.uint8))
    assert (offs.tolist(), pos) == _naive_walk(buf)
    assert len(checked) == len(offs)

"""Hostile inputs the readers and detectors used to get wrong (issue 13), each built
here from a generated input: a hang, a whole-run crash, or a wrong result without a
word. Every test names what a user saw before."""

from __future__ import annotations

import json
import signal
import struct
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import tb_eventfiles as tb

from loganalyzer import analyze
from loganalyzer.readers import read_file, read_paths
from loganalyzer.readers._text import is_number, number
from loganalyzer.readers._tfrecord import masked_crc32c, read_scalars


@contextmanager
def time_bound(seconds: int):
    """Fail (instead of hanging the suite) when the block runs past ``seconds``."""

    def expired(*_):
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows))
    return path


def _curve(n: int = 10) -> list[tuple[float, float]]:
    return [(1.0 / (i + 1), 1.2 / (i + 1)) for i in range(n)]


def _kinds(run) -> set[str]:
    return {f.kind for f in analyze(run).findings}


# ------------------------------------------------------------------ hangs
def test_a_long_cell_of_digits_is_parsed_in_linear_time(tmp_path):
    # before: the number regex backtracked; a 30 KB JSON took 13 s, 1 MB over a minute
    digits = "1" * 1_000_000
    with time_bound(20):
        assert not is_number(digits + "x") and number(digits + "x") != number(digits + "x")
        assert is_number("-1.5e-3") and number(" .5 ") == 0.5 and not is_number("1_0")
        p = tmp_path / "h.json"
        p.write_text(json.dumps({"loss": [digits + "x", 1.0, 0.5], "val_loss": [1, 2, 3]}))
        assert read_file(p)[0].length == 3
        q = _csv(tmp_path / "log.csv", "epoch,loss,note", [f"0,1.0,{digits}x", "1,0.5,a"])
        assert read_file(q)[0].series("loss").tolist() == [1.0, 0.5]


# ------------------------------------------------------------------ CSV quirks
def test_a_csv_header_over_64_kib_is_still_a_log(tmp_path):
    extra = [f"metric_with_a_long_name_{i}" for i in range(4000)]  # ~120 KiB of header
    rows = [f"{i},{a},{b}," + ",".join("1" for _ in extra) for i, (a, b) in enumerate(_curve())]
    p = _csv(tmp_path / "wide.csv", "epoch,loss,val_loss," + ",".join(extra), rows)
    run = read_file(p)[0]  # before: "not a training log: no recognised format"
    assert run.length == 10 and run.val_loss == "val_loss"


def test_a_field_over_128_kib_costs_no_row(tmp_path):
    rows = [f"{i},{a},{b},{'x' * (200_000 if i == 2 else 1)}" for i, (a, b) in enumerate(_curve())]
    run = read_file(_csv(tmp_path / "notes.csv", "epoch,loss,val_loss,note", rows))[0]
    assert run.length == 10 and not run.warnings  # before: 2 rows, "stopped reading"


def test_a_quoted_csv_header_is_csv_not_json(tmp_path):
    rows = [f"{i},{a},{b}" for i, (a, b) in enumerate(_curve())]
    run = read_file(_csv(tmp_path / "q.csv", '"epoch","loss","val_loss"', rows))[0]
    assert run.format == "keras-csv" and run.length == 10  # before: "invalid JSON"


def test_fractional_epochs_are_kept_as_written(tmp_path):
    rows = [f"{i / 2},{a},{b}" for i, (a, b) in enumerate(_curve())]
    run = read_file(_csv(tmp_path / "half.csv", "epoch,loss,val_loss", rows))[0]
    # before: truncated to 0, 0, 1, 1, ... and read as "resumed at epoch 0", 5 rows
    assert run.metrics.index.tolist() == [i / 2 for i in range(10)]
    assert not run.warnings


def test_decreasing_epochs_keep_every_row(tmp_path):
    rows = [f"{9 - i},{a},{b}" for i, (a, b) in enumerate(_curve())]
    run = read_file(_csv(tmp_path / "desc.csv", "epoch,loss,val_loss", rows))[0]
    assert run.length == 10  # before: only the last row (10 "segments")
    assert run.series("loss").iloc[0] == pytest.approx(0.1)
    assert any("decreasing epoch order" in w for w in run.warnings)


# ------------------------------------------------------------------ missing, not diverged
def test_an_empty_last_validation_cell_is_missing_not_divergence(tmp_path):
    rows = [f"{i},{a},{b}" for i, (a, b) in enumerate(_curve(9))] + ["9,0.09,"]
    run = read_file(_csv(tmp_path / "cut.csv", "epoch,loss,val_loss", rows))[0]
    assert "divergence" not in _kinds(run)  # before: "val_loss became non-finite"
    assert any("no value for val_loss" in w and "cut" in w for w in run.warnings)
    assert run.series("val_loss").index.max() == 8


def test_a_logged_nan_in_the_last_row_is_still_divergence(tmp_path):
    rows = [f"{i},{a},{b}" for i, (a, b) in enumerate(_curve(9))] + ["9,nan,nan"]
    run = read_file(_csv(tmp_path / "nan.csv", "epoch,loss,val_loss", rows))[0]
    assert "divergence" in _kinds(run)


def test_a_shorter_json_list_is_not_divergence(tmp_path):
    p = tmp_path / "h.json"
    losses = [a for a, _ in _curve()]
    p.write_text(json.dumps({"loss": losses, "val_loss": [b for _, b in _curve(9)]}))
    assert "divergence" not in _kinds(read_file(p)[0])


def _val_file(path: Path, n: int) -> bytes:
    events = [
        tb.event(i, 1.7e9 + i, tb.simple_value("epoch_loss", 1.2 / (i + 1))) for i in range(n)
    ]
    return tb.write(path, events).read_bytes()


def test_a_truncated_last_tensorboard_validation_record_is_missing(tmp_path):
    run_dir = tmp_path / "fit"
    tb.write(
        run_dir / "train" / "events.out.tfevents.1.a.v2",
        [tb.event(i, 1.7e9 + i, tb.simple_value("epoch_loss", 1.0 / (i + 1))) for i in range(10)],
    )
    val = run_dir / "validation" / "events.out.tfevents.2.a.v2"
    val.write_bytes(_val_file(val, 10)[:-9])  # the last record cut while being written
    result = read_paths([run_dir])
    run = result.runs[0]
    assert run.length == 10 and run.series("val_loss").index.max() == 8
    assert any("truncated" in w for w in run.warnings)
    assert "divergence" not in _kinds(run)  # before: "val_loss became non-finite"


def test_a_record_length_of_2_to_the_63_keeps_every_later_record(tmp_path):
    events = [tb.event(i, 1.7e9 + i, tb.simple_value("loss", 1.0 / (i + 1))) for i in range(10)]
    head = struct.pack("<Q", 2**63)
    bad = head + struct.pack("<I", masked_crc32c(head)) + b"\x09damaged bytes"
    p = tmp_path / "events.out.tfevents.1.x"
    before = b"".join(tb.record(e) for e in [tb.header_event(), *events[:5]])
    p.write_bytes(before + bad + b"".join(tb.record(e) for e in events[5:]))
    for chunk in (64, 1 << 20):
        sc = read_scalars(p, chunk_bytes=chunk)
        assert [s for _, s, _ in sc.triples()] == list(range(10))  # before: 0..4, "truncated"
        assert "past the end of the file" in sc.warnings[0]
    # a genuinely truncated last record is still called truncated
    p.write_bytes(before + tb.record(events[5])[:-7])
    sc = read_scalars(p)
    assert len(sc.triples()) == 5 and "truncated" in sc.warnings[0]


# ------------------------------------------------------------------ detectors
def test_a_training_loss_of_exactly_zero_on_the_drift_path():
    rng = np.random.default_rng(0)
    y = np.abs(0.3 + 0.0006 * np.arange(1000) + 0.2 * rng.standard_normal(1000))
    y[int(np.argmin(y))] = 0.0  # the best raw point is exactly 0, its block mean is not
    result = analyze({"loss": y.tolist()})  # before: ZeroDivisionError
    (f,) = [f for f in result.findings if f.kind == "divergence"]
    assert "climbed back up from its best 0 " in f.message


# ------------------------------------------------------------------ blow-ups
def test_a_large_python_repr_history_is_parsed_lean(tmp_path):
    import tracemalloc

    rng = np.random.default_rng(2)
    history = {"loss": rng.random(120_000).tolist(), "val_loss": rng.random(120_000).tolist()}
    history["val_loss"][5] = float("nan")
    p = tmp_path / "history.json"
    p.write_text(repr(history))  # json.dump(str(h)) users: ~5 MB with nan
    tracemalloc.start()
    try:
        run = read_file(p)[0]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert run.length == 120_000 and np.isnan(run.metrics["val_loss"].iloc[5])
    # before: ast.literal_eval, ~200 bytes of syntax tree per character (16.5 MB: 3.6 GB)
    assert peak < 30 * p.stat().st_size


def test_a_large_csv_is_streamed_and_thinned_with_a_warning(tmp_path, monkeypatch):
    import loganalyzer.readers._text as text

    rows = [f"{i},{1 / (i + 1)},{1.2 / (i + 1)}" for i in range(2001)]
    p = _csv(tmp_path / "big.csv", "epoch,loss,val_loss", rows)
    whole = read_file(p)[0]
    monkeypatch.setattr(text, "STREAM_BYTES", 1000)
    streamed = read_file(p)[0]  # streamed, no thinning needed: the same run
    assert streamed.metrics.equals(whole.metrics) and streamed.warnings == whole.warnings
    monkeypatch.setattr(text, "MAX_CSV_ROWS", 500)
    thin = read_file(p)[0]
    assert 400 <= thin.length <= 600 and thin.metrics.index[-1] == 2000
    assert any("to bound memory" in w for w in thin.warnings)

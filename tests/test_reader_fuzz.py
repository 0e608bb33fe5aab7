"""Fuzz the text readers: truncated, bit-flipped, empty and random inputs give a run
(maybe with warnings) or a LogReadError, never another exception."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loganalyzer.errors import LogReadError
from loganalyzer.readers import hf_trainer, keras_csv, keras_json, lightning_csv, read_file

SAMPLES = Path(__file__).resolve().parents[1] / "sample_logs"

SEEDS = {
    "keras_json": (SAMPLES / "overfit" / "history.json").read_bytes(),
    "keras_csv": (SAMPLES / "healthy" / "training.csv").read_bytes(),
    "lightning_csv": (
        b"epoch,lr-Adam,step,train_loss_epoch,train_loss_step,val_loss\n,0.001,0,,,\n"
        b"0,,49,,0.9,\n0,,99,,,0.8\n0,,99,0.85,,\n1,,149,,0.6,\n1,,199,,,0.7\n1,,199,0.62,,\n"
    ),
    "hf_trainer": json.dumps(
        {
            "global_step": 20,
            "log_history": [
                {"epoch": 1.0, "loss": 1.0, "learning_rate": 1e-4, "step": 10},
                {"epoch": 1.0, "eval_loss": 1.2, "eval_runtime": 1.0, "step": 10},
                {"epoch": 2.0, "loss": 0.8, "learning_rate": 5e-5, "step": 20},
                {"step": 20, "train_loss": 0.9, "train_runtime": 2.0},
            ],
        }
    ).encode(),
}
READERS = {
    "keras_json": keras_json,
    "keras_csv": keras_csv,
    "lightning_csv": lightning_csv,
    "hf_trainer": hf_trainer,
}
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _check(tmp_path: Path, name: str, data: bytes) -> None:
    p = tmp_path / "fuzzed.log"
    p.write_bytes(data)
    # the reader itself, called directly (it must not rely on sniffing to be safe) ...
    try:
        runs = READERS[name].read(p)
    except LogReadError as exc:
        assert exc.why and str(p) in exc.line()
    else:
        assert runs and all(not r.metrics.empty for r in runs)
    # ... and the content-sniffing entry point
    try:
        read_file(p)
    except LogReadError:
        pass


@pytest.mark.parametrize("name", sorted(READERS))
@FUZZ
@given(data=st.data())
def test_truncated(tmp_path, name, data):
    seed = SEEDS[name]
    cut = data.draw(st.integers(0, len(seed)))
    _check(tmp_path, name, seed[:cut])


@pytest.mark.parametrize("name", sorted(READERS))
@FUZZ
@given(data=st.data())
def test_bit_flipped(tmp_path, name, data):
    seed = bytearray(SEEDS[name])
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(seed) - 1))
        seed[i] ^= 1 << data.draw(st.integers(0, 7))
    _check(tmp_path, name, bytes(seed))


@pytest.mark.parametrize("name", sorted(READERS))
@FUZZ
@given(blob=st.binary(max_size=300))
def test_random_bytes(tmp_path, name, blob):
    _check(tmp_path, name, blob)


@pytest.mark.parametrize("name", sorted(READERS))
@FUZZ
@given(
    text=st.text(
        alphabet=st.sampled_from(list("{}[]\",:;\n\t 0123456789.eE-+NaInfity'lossval_")),
        max_size=200,
    )
)
def test_random_structured_text(tmp_path, name, text):
    _check(tmp_path, name, text.encode())


@pytest.mark.parametrize("name", sorted(READERS))
def test_empty(tmp_path, name):
    p = tmp_path / "empty.log"
    p.write_bytes(b"")
    with pytest.raises(LogReadError):
        READERS[name].read(p)
    with pytest.raises(LogReadError, match="empty file"):
        read_file(p)


@pytest.mark.parametrize(
    "name, text",
    [
        ("a.json", '{"loss": [1, %s], "val_loss": [1, 2]}' % ("9" * 400)),
        ("b.json", '{"loss": [1, %s]}' % ("9" * 5000)),  # beyond Python's int digit limit
        ("c.json", '{"epochs": [1e300, 2], "loss": [1, 2]}'),
        ("d.json", '{"log_history": [{"loss": 1, "step": 1e999}, {"loss": 2, "step": 3}]}'),
        ("e.csv", "epoch,step,train_loss,val_loss\ninf,1,0.5,\n0,inf,0.4,\n0,2,,0.3\n"),
        ("f.csv", "epoch,loss\n1e400,1\n99999999999999999999999,2\n0,3\n"),
        ("g.json", "[" * 100_000 + "]" * 100_000),
        ("h.json", '"' + "{'loss': [" * 5000 + '"'),
    ],
)
def test_absurd_numbers_and_nesting(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    try:
        runs = read_file(p)
    except LogReadError as exc:
        assert str(p) in exc.line()
    else:
        for run in runs:
            assert run.metrics.index.is_monotonic_increasing
            assert all(abs(i) < 2**53 for i in run.metrics.index)

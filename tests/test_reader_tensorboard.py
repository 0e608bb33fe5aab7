"""TensorBoard reader: grouping, Keras pairing, naming, merging, damage, real files."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tb_eventfiles as tb

from loganalyzer.errors import LogReadError
from loganalyzer.readers import read_paths, tensorboard
from loganalyzer.readers._tfrecord import EventFileError, read_scalars

REAL = Path(__file__).resolve().parents[2] / "shared" / "real_logs"
LIGHTNING = REAL / "Mormolykos__trainproof/evidence/fish_lightning_feb2026"
KERAS_REAL = (
    REAL / "Wardat-ISU__DeepLocalize/Benchmark/GitHub/Buggy Model/Traffic-Sign-Classifier/logdir"
)
SAMPLES = Path(__file__).resolve().parents[1] / "sample_logs"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real logs not found at {path} (clone shared/ beside the repo)")
    return path


def keras_run(root: Path, epochs: int = 5) -> Path:
    """A Keras-callback layout: train/ and validation/, tensor summaries."""
    rng = np.random.default_rng(1)
    train, val = [], []
    for e in range(epochs):
        w = 1.7e9 + e
        train.append(tb.event(e, w, tb.tensor_value("epoch_loss", 1.0 / (e + 1))))
        train.append(tb.event(e, w, tb.tensor_value("epoch_accuracy", 0.5 + e / 100)))
        train.append(tb.event(e, w, tb.tensor_value("epoch_learning_rate", 0.001)))
        val.append(tb.event(e, w + 0.5, tb.tensor_value("epoch_loss", 1.5 / (e + 1))))
        val.append(tb.event(e, w + 0.5, tb.tensor_value("epoch_accuracy", 0.4 + e / 100)))
        val.append(
            tb.event(e * 10, w + 0.5, tb.tensor_value("evaluation_loss_vs_iterations", 2.0 - e))
        )
        for b in range(10):
            step = e * 10 + b
            train.append(tb.event(step, w, tb.tensor_value("batch_loss", float(rng.random()))))
    tb.write(root / "train" / "events.out.tfevents.1700000000.host.1.0.v2", train)
    tb.write(root / "validation" / "events.out.tfevents.1700000001.host.1.1.v2", val)
    return root


# --------------------------------------------------------------------------- grouping


def test_group_pairs_keras_layout_and_keys_other_writers_by_folder():
    files = [
        Path("logs/fit/20240101/train/events.out.tfevents.1.h.1.0.v2"),
        Path("logs/fit/20240101/validation/events.out.tfevents.2.h.1.1.v2"),
        Path("lightning_logs/version_0/events.out.tfevents.3.h.2.0"),
        Path("lightning_logs/version_0/events.out.tfevents.9.h.2.0"),  # a restart
        Path("runs/Jan01_12-00-00_host/events.out.tfevents.4.h.3.0"),
    ]
    groups = dict(tensorboard.group(files))
    assert list(groups) == [
        Path("lightning_logs/version_0"),
        Path("logs/fit/20240101"),
        Path("runs/Jan01_12-00-00_host"),
    ]
    assert len(groups[Path("logs/fit/20240101")]) == 2
    assert len(groups[Path("lightning_logs/version_0")]) == 2


# --------------------------------------------------------------------------- Keras layout


def test_keras_layout_is_one_run_with_val_series_and_side_series(tmp_path):
    root = keras_run(tmp_path / "fit")
    files = sorted(root.rglob("*tfevents*"))
    [(run_dir, group)] = tensorboard.group(files)
    [run] = tensorboard.read_group(run_dir, group)
    assert run.format == "tensorboard" and run.index == "epoch" and run.name == "fit"
    assert (run.train_loss, run.val_loss, run.learning_rate) == (
        "loss",
        "val_loss",
        "learning_rate",
    )
    assert list(run.metrics.index) == [0, 1, 2, 3, 4]
    assert run.metrics["val_loss"].tolist() == pytest.approx([1.5 / (e + 1) for e in range(5)])
    assert run.metrics["loss"].iloc[-1] == pytest.approx(0.2)
    assert set(run.metrics.columns) == {
        "loss",
        "accuracy",
        "learning_rate",
        "val_loss",
        "val_accuracy",
    }
    assert run.original_names["val_loss"] == "validation/epoch_loss"
    assert run.original_names["learning_rate"] == "epoch_learning_rate"
    # batch_* and evaluation_*_vs_iterations are on the batch step, not the epoch
    assert len(run.side_series["batch_loss"]) == 50
    assert run.side_series["batch_loss"].index.name == "step"
    assert run.side_series["evaluation_loss_vs_iterations"].index.tolist() == [0, 10, 20, 30, 40]
    assert run.counts()["batch_loss"] == 50
    assert run.warnings == []


def test_read_paths_on_keras_dir_returns_one_run_with_train_and_val_loss(tmp_path):
    keras_run(tmp_path / "logs" / "fit")
    result = read_paths([tmp_path / "logs"])
    assert result.errors == [] and result.skipped == []
    [run] = result.runs
    assert run.name == "fit"
    assert run.train_loss == "loss" and run.val_loss == "val_loss"
    assert run.counts()["loss"] == 5 and run.counts()["val_loss"] == 5


def test_single_validation_file_named_explicitly_is_validation(tmp_path):
    root = keras_run(tmp_path / "fit")
    [f] = list((root / "validation").glob("*tfevents*"))
    result = read_paths([f])
    [run] = result.runs
    assert run.val_loss == "val_loss" and run.train_loss is None


def test_sample_logs_keras_callback_runs():
    runs = [p for p in sorted(SAMPLES.glob("*/tensorboard")) if p.is_dir()]
    if not runs:
        pytest.skip("sample_logs/*/tensorboard not present")
    for root in runs:
        [run] = read_paths([root]).runs
        assert run.index == "epoch"
        assert run.train_loss == "loss" and run.val_loss == "val_loss", root
        assert run.counts()["loss"] == run.counts()["val_loss"] >= 5, root


# --------------------------------------------------------------------------- other writers


def test_other_writers_tags_are_canonical_and_step_indexed(tmp_path):
    f = tb.scalar_file(
        tmp_path / "runs" / "exp1" / "events.out.tfevents.1.h",
        {"train/loss": [3.0, 2.0, 1.0], "eval/loss": [3.5, 2.5, 2.0], "lr": [0.1, 0.1, 0.01]},
    )
    [run] = tensorboard.read_group(f.parent, [f])
    assert run.index == "step"
    assert (run.train_loss, run.val_loss, run.learning_rate) == (
        "loss",
        "val_loss",
        "learning_rate",
    )
    assert run.original_names == {
        "loss": "train/loss",
        "val_loss": "eval/loss",
        "learning_rate": "lr",
    }
    assert run.metrics["val_loss"].tolist() == [3.5, 2.5, 2.0]


def test_hugging_face_trainer_tags(tmp_path):
    events = []
    for step in range(10, 101, 10):
        w = 1.7e9 + step
        events.append(tb.event(step, w, tb.simple_value("train/loss", 2.0 - step / 100)))
        events.append(tb.event(step, w, tb.simple_value("train/learning_rate", 5e-5)))
        events.append(tb.event(step, w, tb.simple_value("train/epoch", step / 50)))
        if step % 50 == 0:
            events.append(tb.event(step, w, tb.simple_value("eval/loss", 1.5)))
            events.append(tb.event(step, w, tb.simple_value("eval/runtime", 3.2)))
    f = tb.write(tmp_path / "runs" / "Jan01_12-00-00_host" / "events.out.tfevents.1.h", events)
    [run] = read_paths([tmp_path / "runs"]).runs
    assert run.name == "Jan01_12-00-00_host" and run.index == "step"
    assert (run.train_loss, run.val_loss, run.learning_rate) == (
        "loss",
        "val_loss",
        "learning_rate",
    )
    assert run.counts()["loss"] == 10 and run.counts()["val_loss"] == 2
    assert "epoch" not in run.metrics.columns and run.side_series["epoch"].iloc[-1] == 2.0
    assert run.sources == [str(f)]


def test_estimator_eval_folder_is_validation(tmp_path):
    root = tmp_path / "model_dir"
    tb.scalar_file(root / "events.out.tfevents.1.h", {"loss": [2.0, 1.0, 0.5]})
    tb.scalar_file(root / "eval" / "events.out.tfevents.2.h", {"loss": [2.5, 2.0, 2.2]})
    [run] = read_paths([root]).runs
    assert (run.train_loss, run.val_loss, run.index) == ("loss", "val_loss", "step")
    assert run.original_names["val_loss"] == "eval/loss"
    assert run.metrics["val_loss"].tolist() == [2.5, 2.0, float(np.float32(2.2))]


def test_loss_slash_split_style(tmp_path):
    f = tb.scalar_file(
        tmp_path / "r" / "events.out.tfevents.1.h", {"loss/train": [1.0, 0.5], "loss/val": [1, 1]}
    )
    [run] = tensorboard.read_group(f.parent, [f])
    assert (run.train_loss, run.val_loss) == ("loss", "val_loss")


def test_lightning_step_and_epoch_suffixes(tmp_path):
    events = []
    for step in range(1, 21):
        events.append(tb.event(step, 1.7e9 + step, tb.simple_value("train_loss_step", 1 / step)))
        if step % 10 == 0:
            events.append(tb.event(step, 1.7e9 + step, tb.simple_value("train_loss_epoch", 0.3)))
            events.append(tb.event(step, 1.7e9 + step, tb.simple_value("val_loss", 0.4)))
    f = tb.write(tmp_path / "lightning_logs" / "version_0" / "events.out.tfevents.1.h", events)
    [run] = tensorboard.read_group(f.parent, [f])
    # the per-epoch aggregate is the loss compared with validation; per-step kept too
    assert run.train_loss == "loss" and run.val_loss == "val_loss"
    assert run.original_names["loss"] == "train_loss_epoch"
    assert run.series("loss").index.tolist() == [10, 20]
    assert run.counts()["loss_step"] == 20


# --------------------------------------------------------------------------- merging, lossless


def test_restart_in_same_folder_merges_in_step_order_later_wins(tmp_path):
    d = tmp_path / "run"
    tb.scalar_file(d / "events.out.tfevents.100.h.1.0", {"loss": [10.0 + i for i in range(100)]})
    # restarted from a checkpoint at step 50, an hour later, different values
    tb.scalar_file(
        d / "events.out.tfevents.200.h.2.0",
        {"loss": [-float(i) for i in range(100)]},
        step0=50,
        wall0=1.7e9 + 3600,
    )
    [(run_dir, files)] = tensorboard.group(sorted(d.glob("*")))
    [run] = tensorboard.read_group(run_dir, files)
    loss = run.metrics["loss"]
    assert loss.index.tolist() == list(range(150))
    assert loss.loc[49] == 59.0  # first file only
    assert loss.loc[50] == 0.0 and loss.loc[99] == -49.0  # rewritten: later wins
    assert loss.loc[149] == -99.0
    [w] = run.warnings
    assert "events.out.tfevents.200.h.2.0" in w and "from 99 to 50" in w and "50 step" in w


def test_restart_order_follows_wall_time_not_file_name(tmp_path):
    d = tmp_path / "run"
    # the later run happens to sort first by name
    tb.scalar_file(d / "events.out.tfevents.a", {"loss": [5.0, 5.0]}, wall0=1.7e9 + 100)
    tb.scalar_file(d / "events.out.tfevents.b", {"loss": [1.0, 1.0, 1.0]}, wall0=1.7e9)
    [run] = tensorboard.read_group(d, sorted(d.glob("*")))
    assert run.metrics["loss"].tolist() == [5.0, 5.0, 1.0]


def test_lossless_twenty_thousand_points(tmp_path):
    values = np.random.default_rng(0).random(20_000, dtype=np.float32).astype(float).tolist()
    f = tb.scalar_file(tmp_path / "r" / "events.out.tfevents.1.h", {"train/loss": values})
    [run] = tensorboard.read_group(f.parent, [f])
    assert run.length == 20_000 and run.counts()["loss"] == 20_000
    assert run.metrics["loss"].tolist() == values


def test_chunk_boundaries_do_not_change_the_result(tmp_path):
    big = tb.vector_value("hist", list(range(500)))  # a record larger than the chunk
    events = [
        tb.event(i, 1.7e9 + i, tb.simple_value("a", i), tb.simple_value("b", -i)) for i in range(50)
    ]
    events += [tb.event(i, 1.7e9 + i, tb.tensor_value("c", i / 3)) for i in range(50)]
    events.insert(10, tb.event(3, 1.7e9, big))
    f = tb.write(tmp_path / "events.out.tfevents.1", events)
    whole = read_scalars(f)
    assert len(whole.value) == 150 and "hist" in whole.dropped
    for chunk in (7, 64, 100, 333):
        part = read_scalars(f, chunk_bytes=chunk)
        assert part.triples() == whole.triples()
        assert part.warnings == []


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    "encoding, value",
    [
        ("content", 0.1),
        ("float_val", -2.5e-8),
        ("double_val", 0.1),
        ("double_content", 1e300),
        ("half_content", 0.333251953125),
        ("int64", -7),
    ],
)
def test_tensor_encodings(tmp_path, encoding, value):
    with_meta = tb.tensor_value("m", value, encoding=encoding)
    without = tb.tensor_value("m", value, encoding=encoding, meta=False)
    f = tb.write(
        tmp_path / "e.tfevents", [tb.event(1, 1.7e9, with_meta), tb.event(2, 1.7e9, without)]
    )
    sc = read_scalars(f)
    expected = float(np.float32(value)) if encoding in ("content", "float_val") else value
    assert sc.triples() == [("m", 1, expected), ("m", 2, expected)]
    assert sc.kind == {"m": "tensor"} and sc.plugins == {"m": "scalars"}


def test_non_scalars_are_dropped_with_why(tmp_path):
    f = tb.write(
        tmp_path / "e.tfevents",
        [
            tb.graph_event(),
            tb.event(1, 1.7e9, tb.vector_value("weights", [1.0, 2.0, 3.0])),
            tb.event(1, 1.7e9, tb.vector_value("hp", [1.0], plugin="hparams")),
            tb.event(1, 1.7e9, tb.simple_value("loss", 0.5)),
        ],
    )
    [run] = tensorboard.read_group(f.parent, [f])
    assert list(run.metrics.columns) == ["loss"]
    assert "not a scalar" in run.dropped["weights"]
    assert run.dropped["hp"] == "hparams plugin data (not a scalar)"
    assert "graph" in run.dropped["graph_def"]


def test_multi_value_summary_and_negative_step(tmp_path):
    f = tb.write(
        tmp_path / "e.tfevents",
        [tb.event(-1, 1.7e9, tb.simple_value("a", 1.0), tb.tensor_value("b", 2.0))],
    )
    assert read_scalars(f).triples() == [("a", -1, 1.0), ("b", -1, 2.0)]


def test_nonfinite_values_are_kept(tmp_path):
    f = tb.scalar_file(tmp_path / "r" / "e.tfevents", {"loss": [1.0, float("inf"), float("nan")]})
    [run] = tensorboard.read_group(f.parent, [f])
    s = run.metrics["loss"]
    assert s.iloc[1] == float("inf") and np.isnan(s.iloc[2]) and len(s) == 3


# --------------------------------------------------------------------------- damage


def _loss_file(tmp_path, n=100):
    return tb.scalar_file(
        tmp_path / "r" / "events.out.tfevents.1.h", {"loss": [float(i) for i in range(n)]}
    )


def _offsets(data: bytes) -> list[int]:
    pos, out = 0, []
    while pos < len(data):
        out.append(pos)
        pos += struct.unpack_from("<Q", data, pos)[0] + 16
    return out


def test_truncated_final_record_keeps_earlier_records_and_names_offset(tmp_path):
    f = _loss_file(tmp_path)
    data = f.read_bytes()
    last = _offsets(data)[-1]
    f.write_bytes(data[: last + 20])
    [run] = tensorboard.read_group(f.parent, [f])
    assert run.counts()["loss"] == 99
    [w] = run.warnings
    assert w.startswith("events.out.tfevents.1.h: record at byte ")
    assert f"byte {last}: truncated" in w and "kept 100 records before it" in w


def test_flipped_data_byte_is_skipped_when_checking_crc(tmp_path):
    f = _loss_file(tmp_path)
    data = bytearray(f.read_bytes())
    rec = _offsets(bytes(data))[51]  # the event of step 50
    data[rec + 12 + 3] ^= 0x40  # inside wall_time
    f.write_bytes(bytes(data))
    sc = read_scalars(f, check_crc=True)
    assert len(sc.value) == 99 and 50 not in sc.step.tolist()
    assert sc.warnings == [
        f"1 record(s) failed the data CRC check (first at byte {rec}); skipped them"
    ]
    unchecked = read_scalars(f, check_crc=False)
    assert len(unchecked.value) == 100 and unchecked.warnings == []


def test_flipped_length_byte_skips_to_the_next_valid_record(tmp_path):
    f = _loss_file(tmp_path)
    data = bytearray(f.read_bytes())
    offsets = _offsets(bytes(data))
    rec, nxt = offsets[30], offsets[31]  # record 30 holds step 29
    data[rec] ^= 0x01
    f.write_bytes(bytes(data))
    for check in (True, False):
        sc = read_scalars(f, check_crc=check)
        assert sc.step.tolist() == [s for s in range(100) if s != 29]
        [w] = sc.warnings
        assert w == (
            f"record at byte {rec}: length CRC does not match (damaged or not a record); "
            f"skipped {nxt - rec} bytes to the next valid record at byte {nxt}"
        )


def test_damaged_tail_is_ignored_with_offset(tmp_path):
    f = _loss_file(tmp_path)
    data = f.read_bytes()
    rec = _offsets(data)[60]
    f.write_bytes(data[:rec] + b"\xff" * 500)
    sc = read_scalars(f)
    assert sc.step.tolist() == list(range(59))
    [w] = sc.warnings
    assert f"record at byte {rec}: length CRC does not match" in w
    assert "kept 60 records before it" in w and "ignored the last 500 bytes" in w


def test_resync_across_chunks(tmp_path):
    f = _loss_file(tmp_path, n=400)
    data = bytearray(f.read_bytes())
    rec = _offsets(bytes(data))[100]
    data[rec + 2] ^= 0x10
    f.write_bytes(bytes(data))
    whole = read_scalars(f)
    assert len(whole.value) == 399
    for chunk in (50, 333, 4096):
        part = read_scalars(f, chunk_bytes=chunk)
        assert part.triples() == whole.triples() and part.warnings == whole.warnings


def test_empty_and_random_files_are_one_clear_error(tmp_path):
    empty = tmp_path / "a" / "events.out.tfevents.1.h"
    empty.parent.mkdir()
    empty.write_bytes(b"")
    junk = tmp_path / "b" / "events.out.tfevents.2.h"
    junk.parent.mkdir()
    junk.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(EventFileError):
        read_scalars(empty)
    with pytest.raises(LogReadError) as exc:
        tensorboard.read_group(junk.parent, [junk])
    assert exc.value.source == str(junk) and exc.value.where == "byte 0"
    assert "not a TensorBoard event file" in exc.value.why
    result = read_paths([tmp_path])
    assert result.runs == []
    errors = {e.source: e.error for e in result.errors}
    assert "empty" in errors[str(empty)]
    assert "not a TensorBoard event file" in errors[str(junk)]


def test_one_bad_file_in_a_run_is_a_warning(tmp_path):
    root = keras_run(tmp_path / "fit")
    (root / "train" / "events.out.tfevents.1700000009.host.1.9.v2").write_bytes(b"garbage" * 9)
    [run] = read_paths([root]).runs
    assert run.counts()["loss"] == 5
    assert any(
        "events.out.tfevents.1700000009" in w and "skipped this file" in w for w in run.warnings
    )


def test_event_file_without_scalars_is_an_error(tmp_path):
    f = tb.write(tmp_path / "events.out.tfevents.1", [tb.graph_event()])
    with pytest.raises(LogReadError, match="no scalar summaries"):
        tensorboard.read_group(f.parent, [f])


# --------------------------------------------------------------------------- real logs


def test_real_lightning_event_file():
    [f] = need(LIGHTNING).glob("events.out.tfevents*")
    sc = read_scalars(f)
    assert len(sc.kind) == 13 and set(sc.kind.values()) == {"simple_value"}
    [run] = tensorboard.read_group(f.parent, [f])
    assert run.index == "step" and run.warnings == []
    assert (run.train_loss, run.val_loss) == ("loss", "val_loss")
    assert run.original_names["loss"] == "train/loss"
    assert run.original_names["val_loss"] == "val/loss"
    train, val = run.series("loss"), run.series("val_loss")
    assert len(train) == 41 and len(val) == 82
    assert val.index.min() == 24 and val.index.max() == 2049
    assert train.index.max() == 2049
    assert run.learning_rate == "learning_rate"
    assert run.dropped["_hparams_/experiment"] == "hparams plugin data (not a scalar)"
    # the epoch counter Lightning logs is kept beside the metrics, not as one
    assert "epoch" not in run.metrics.columns and len(run.side_series["epoch"]) == 82


def test_real_keras_train_validation_pair():
    root = need(KERAS_REAL)
    result = read_paths([root])
    assert result.errors == []
    [run] = result.runs
    assert run.name == "20-08-19_13-26" and run.index == "epoch"
    assert (run.train_loss, run.val_loss) == ("loss", "val_loss")
    assert run.counts() == {"loss": 1, "accuracy": 1, "val_loss": 1, "val_accuracy": 1}
    assert run.metrics["val_loss"].iloc[0] == pytest.approx(2.90928793)
    assert "graph_def" in run.dropped and "keras" in run.dropped


def test_reading_never_imports_tensorflow(tmp_path):
    root = keras_run(tmp_path / "fit")
    code = (
        "import sys\n"
        "from loganalyzer.readers import read_paths\n"
        f"r = read_paths([{str(root)!r}])\n"
        "assert len(r.runs) == 1\n"
        "bad = [m for m in ('tensorflow', 'tensorboard', 'keras', 'google.protobuf')"
        " if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_sniff_recognises_event_files_by_content(tmp_path):
    f = _loss_file(tmp_path)
    assert tensorboard.sniff(f, f.read_bytes()[:65536])
    assert not tensorboard.sniff(f, b"epoch,loss,val_loss\n0,1.0,1.1\n")
    assert not tensorboard.sniff(f, b"")


def test_long_records_are_crc_checked_too(tmp_path):
    """A graph-sized record (checked in segments side by side, then chained)."""
    from loganalyzer.readers._tfrecord import _long_masked_crc, masked_crc32c

    blob = np.random.default_rng(5).bytes(300_001)
    b = np.frombuffer(blob, dtype=np.uint8)
    for start, length in [(0, 300_001), (1, 70_000), (7, 4097), (2, 16_383)]:
        assert _long_masked_crc(blob, b, start, length) == masked_crc32c(
            blob[start : start + length]
        )
    graph = b"\x09" + struct.pack("<d", 1.7e9) + tb.ld(4, blob)
    events = [graph, tb.event(1, 1.7e9, tb.simple_value("loss", 0.5))]
    f = tb.write(tmp_path / "r" / "events.out.tfevents.1", events)
    assert read_scalars(f).triples() == [("loss", 1, 0.5)]
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x01  # inside the graph
    f.write_bytes(bytes(data))
    sc = read_scalars(f)
    assert sc.triples() == [("loss", 1, 0.5)]
    assert "1 record(s) failed the data CRC check" in sc.warnings[0]


def _curves(i: int) -> tuple[float, float]:
    train = 1.0 * 0.9**i
    val = 1.1 * 0.9 ** min(i, 8) * (1 + 0.03 * max(0, i - 8))
    return train, val


def test_add_scalars_nested_folders_are_one_run(tmp_path):
    # tensorboardX's SummaryWriter.add_scalars("loss", {"training": .., "validation": ..})
    # writes RUN/loss/training and RUN/loss/validation beside RUN's own event file.
    from tensorboardX import SummaryWriter

    w = SummaryWriter(str(tmp_path / "run"))
    for i in range(20):
        train, val = _curves(i)
        w.add_scalars("loss", {"training": train, "validation": val}, i)
        w.add_scalar("lr", 0.01, i)
    w.close()
    read = read_paths([tmp_path / "run"])
    assert read.errors == []
    (run,) = read.runs
    assert (run.train_loss, run.val_loss) == ("loss", "val_loss")
    assert run.series("val_loss").iloc[-1] == pytest.approx(_curves(19)[1], rel=1e-6)
    assert run.learning_rate == "learning_rate"


def test_add_scalars_sibling_folders_pair_like_keras(tmp_path):
    # PyTorch's torch.utils.tensorboard writes the same call to RUN/loss_training and
    # RUN/loss_validation, each holding the main tag "loss" (written here with the
    # tensorboardX writer at those paths, as PyTorch's FileWriter does).
    from tensorboardX import SummaryWriter

    writers = {
        k: SummaryWriter(str(tmp_path / "run" / f"loss_{k}")) for k in ("training", "validation")
    }
    for i in range(20):
        train, val = _curves(i)
        writers["training"].add_scalar("loss", train, i)
        writers["validation"].add_scalar("loss", val, i)
    for w in writers.values():
        w.close()
    (run,) = read_paths([tmp_path / "run"]).runs
    assert run.name == "run"
    assert (run.train_loss, run.val_loss) == ("loss", "val_loss")
    assert run.series("loss").iloc[3] == pytest.approx(_curves(3)[0], rel=1e-6)
    # a lone "<tag>_val" folder without its sibling is a run of its own, not a split
    lone = SummaryWriter(str(tmp_path / "solo" / "acc_val"))
    lone.add_scalar("loss", 1.0, 0)
    lone.add_scalar("loss", 0.5, 1)
    lone.close()
    (solo,) = read_paths([tmp_path / "solo"]).runs
    assert solo.train_loss == "loss" and solo.val_loss is None

"""Differential tests: our event-file reader against TensorBoard's own loader.

Files are written by the real writers (the Keras TensorBoard callback during real
training, ``tf.summary``, tensorboardX, TensorBoard's own ``EventFileWriter`` with
``simple_value`` protos) and must read to exactly the same ``(tag, step, value)``
triples as ``tensorboard.backend.event_processing.event_file_loader.EventFileLoader``
(values compared exactly: float32 values widen to float64 without rounding).
"""

from __future__ import annotations

import importlib.util
import math
import os
from pathlib import Path

import numpy as np
import pytest

from loganalyzer.readers import read_paths, tensorboard
from loganalyzer.readers._tfrecord import read_scalars

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_file_loader import (  # noqa: E402
    EventFileLoader,
)
from tensorboard.util import tensor_util  # noqa: E402

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_tensorboard.py"


def reference_triples(path: Path) -> list[tuple[str, int, float]]:
    """What TensorBoard itself reads as scalars: EventFileLoader migrates legacy
    ``simple_value`` to scalar tensors of the ``scalars`` plugin, whose metadata
    comes with the first event of each tag."""
    out = []
    plugin: dict[str, str] = {}
    for ev in EventFileLoader(str(path)).Load():
        for v in ev.summary.value:
            if v.HasField("metadata"):
                plugin.setdefault(v.tag, v.metadata.plugin_data.plugin_name)
            if plugin.get(v.tag) == "scalars" and v.HasField("tensor"):
                arr = tensor_util.make_ndarray(v.tensor)
                assert arr.size == 1
                out.append((v.tag, int(ev.step), float(arr.reshape(-1)[0])))
    return out


def same(ours: list[tuple[str, int, float]], ref: list[tuple[str, int, float]]) -> bool:
    """Exact equality, NaN equal to NaN."""
    if len(ours) != len(ref):
        return False
    for (t1, s1, v1), (t2, s2, v2) in zip(ours, ref, strict=True):
        if t1 != t2 or s1 != s2:
            return False
        if not (v1 == v2 or (math.isnan(v1) and math.isnan(v2))):
            return False
    return True


def check_file(path: Path) -> list[tuple[str, int, float]]:
    ref = reference_triples(path)
    assert ref, f"reference read nothing from {path}"
    ours = read_scalars(path)
    assert ours.warnings == []
    assert same(ours.triples(), ref), path
    assert same(read_scalars(path, check_crc=False).triples(), ref)
    assert same(read_scalars(path, chunk_bytes=257).triples(), ref)
    return ref


# --------------------------------------------------------------------------- Keras


@pytest.fixture(scope="module")
def keras_logs(tmp_path_factory):
    """Train a tiny Keras model for 4 epochs with the TensorBoard callback (epoch and
    batch summaries) and a custom tf.summary writer. TensorFlow is imported once."""
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    root = tmp_path_factory.mktemp("keras_tb")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x @ rng.normal(size=(8, 1)) + 0.1 * rng.normal(size=(256, 1))).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    cb = keras.callbacks.TensorBoard(
        log_dir=str(root / "fit"), write_graph=False, profile_batch=0, update_freq="batch"
    )
    history = model.fit(
        x, y, validation_split=0.25, epochs=4, batch_size=32, callbacks=[cb], verbose=0
    )
    # tf.summary directly: several dtypes through the scalars plugin
    writer = tf.summary.create_file_writer(str(root / "tfsummary"))
    with writer.as_default():
        for step in range(5):
            tf.summary.scalar("train/loss", 1.0 / (step + 1), step=step)
            tf.summary.scalar("eval/loss", tf.constant(2.0 / (step + 1), tf.float64), step=step)
            tf.summary.scalar("weird", [float("nan"), float("inf"), -0.0, 1e-40, 3e38][step], step)
    writer.flush()
    return root, history.history


def test_keras_callback_files_match_tensorboard(keras_logs):
    root, _ = keras_logs
    files = sorted(root.glob("fit/*/events.out.tfevents*"))
    assert {f.parent.name for f in files} == {"train", "validation"}
    tags = set()
    for f in files:
        tags |= {t for t, _, _ in check_file(f)}
    assert {"epoch_loss", "epoch_mae", "batch_loss", "epoch_learning_rate"} <= tags


def test_keras_callback_run_matches_history(keras_logs):
    root, history = keras_logs
    [run] = read_paths([root / "fit"]).runs
    assert run.index == "epoch" and run.length == 4
    assert (run.train_loss, run.val_loss) == ("loss", "val_loss")
    for name in ("loss", "val_loss", "mae", "val_mae"):
        logged = np.float32(history[name])
        assert run.metrics[name].to_numpy().tolist() == logged.astype(float).tolist(), name
    assert run.learning_rate == "learning_rate"
    assert run.metrics["learning_rate"].iloc[0] == pytest.approx(0.01)
    # update_freq="batch": 6 batches per epoch on the batch step, beside the epochs
    assert len(run.side_series["batch_loss"]) == 24
    assert "evaluation_loss_vs_iterations" in run.side_series
    assert run.warnings == []


def test_tf_summary_scalars_match_tensorboard(keras_logs):
    root, _ = keras_logs
    [f] = sorted((root / "tfsummary").glob("events*"))
    ref = check_file(f)
    weird = [v for t, _, v in ref if t == "weird"]
    assert math.isnan(weird[0]) and weird[1] == math.inf and weird[3] != 0.0
    [run] = tensorboard.read_group(f.parent, [f])
    assert (run.train_loss, run.val_loss, run.index) == ("loss", "val_loss", "step")


# --------------------------------------------------------------------------- tensorboardX


def test_tensorboardx_add_scalar_matches_tensorboard(tmp_path):
    tbx = pytest.importorskip("tensorboardX")
    writer = tbx.SummaryWriter(str(tmp_path / "tbx"))
    rng = np.random.default_rng(3)
    for step in range(300):
        writer.add_scalar("train/loss", float(rng.normal()), step)
        if step % 10 == 0:
            writer.add_scalar("val/loss", float(rng.normal()), step)
            writer.add_histogram("weights", rng.normal(size=50), step)
    writer.add_scalar("huge_step", 1.5, 2**40)
    writer.add_scalar("nan", float("nan"), 1)
    writer.close()
    [f] = sorted((tmp_path / "tbx").glob("events*"))
    ref = check_file(f)
    assert len(ref) == 300 + 30 + 2
    [run] = tensorboard.read_group(f.parent, [f])
    assert run.counts()["loss"] == 300 and run.counts()["val_loss"] == 30
    assert "weights" in run.dropped


# --------------------------------------------------------------------------- simple_value


def test_simple_value_events_match_tensorboard(tmp_path):
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(tmp_path / "sv"))
    values = [0.0, -1.25, 3.4028234663852886e38, 1e-45, float("-inf"), 0.1]
    for step, v in enumerate(values):
        summ = summary_pb2.Summary(
            value=[
                summary_pb2.Summary.Value(tag="loss", simple_value=v),
                summary_pb2.Summary.Value(tag="val_loss", simple_value=-v),
            ]
        )
        writer.add_event(event_pb2.Event(wall_time=1.7e9 + step, step=step * 7, summary=summ))
    writer.close()
    [f] = sorted((tmp_path / "sv").glob("events*"))
    ref = check_file(f)
    assert len(ref) == 12
    [run] = tensorboard.read_group(f.parent, [f])
    assert run.metrics.index.tolist() == [0, 7, 14, 21, 28, 35]


# --------------------------------------------------------------------------- bench file


def test_bench_generator_writes_files_tensorboard_reads(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_tensorboard", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    for style in ("mixed", "tensor", "simple"):
        f = tmp_path / style / "events.out.tfevents.1.bench"
        bench.generate(f, 3000, style)
        assert len(check_file(f)) == 3000

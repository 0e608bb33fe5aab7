"""The TensorBoard reader builds its run from numpy columns: the same run as the
pandas frame of the tags' Series it replaced (rows the sorted union of the steps, NaN
where a tag has no point, two tags of one metric merged as ``Series.combine_first``).

pandas is the oracle here: each test builds the frame the old path built, from the
points the event files hold, and compares every column bit for bit."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tb_eventfiles import event, simple_value, tensor_value, write

from loganalyzer.readers import tensorboard
from loganalyzer.readers.tensorboard import Curve, _fill_gaps, _on, _union_steps

REAL = Path(__file__).resolve().parents[1] / "sample_logs"
REAL_LOGS = Path("/work/shared/real_logs")


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal dtype and bytes: NaN where NaN, -0.0 where -0.0."""
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _series(c: Curve) -> pd.Series:
    return pd.Series(c.value, index=c.step)


def _merged(columns: dict[str, list[Curve]]) -> dict[str, pd.Series]:
    """Each metric's tags combined with combine_first, in order (the pandas path)."""
    merged = {}
    for name, curves in columns.items():
        s = _series(curves[0])
        for c in curves[1:]:
            s = s.combine_first(_series(c))
        merged[name] = s
    return merged


def _frame(columns: dict[str, list[Curve]]) -> pd.DataFrame:
    """What the pandas path built: one DataFrame of the merged metrics."""
    return pd.DataFrame(_merged(columns))


def _columns(columns: dict[str, list[Curve]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    merged = {}
    for name, curves in columns.items():
        c = curves[0]
        for other in curves[1:]:
            c = _fill_gaps(c, other)
        merged[name] = c
    steps = _union_steps(merged.values())
    return steps, {name: _on(steps, c) for name, c in merged.items()}


_VALUES = st.one_of(
    st.floats(-10, 10, width=32),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), -0.0]),
)


@st.composite
def _curve(draw) -> Curve:
    steps = draw(st.sets(st.integers(-3, 60), min_size=1, max_size=30))
    step = np.array(sorted(steps), dtype=np.int64)
    value = np.array([draw(_VALUES) for _ in step], dtype=np.float64)
    return Curve(step, value)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_curve(), min_size=1, max_size=3), min_size=1, max_size=4))
def test_numpy_merge_equals_the_pandas_frame(metrics):
    columns = {f"m{i}": curves for i, curves in enumerate(metrics)}
    frame = _frame(columns)
    steps, data = _columns(columns)
    assert _same(steps, frame.index.to_numpy().astype(np.int64))
    assert list(data) == list(frame.columns)
    for name, values in data.items():
        assert _same(np.asarray(values, dtype=float), frame[name].to_numpy(dtype=float)), name


def test_same_steps_everywhere_is_not_copied():
    c = Curve(np.arange(5), np.ones(5))
    steps = _union_steps([c, Curve(np.arange(5), np.zeros(5))])
    assert steps is c.step and _on(steps, c) is c.value


def test_no_metric_column_gives_no_rows():
    assert _same(_union_steps([]), np.zeros(0, np.int64))


# ------------------------------------------------------------------ whole event folders
_STYLES = {
    "keras": (
        ["epoch_loss", "epoch_accuracy", "epoch_acc", "batch_loss", "epoch_learning_rate"],
        ["epoch_loss", "epoch_accuracy", "evaluation_loss_vs_iterations"],
    ),
    "lightning": (["train_loss_step", "train_loss_epoch", "val_loss", "epoch", "lr-Adam"], []),
    "hf": (["train/loss", "eval/loss", "train/epoch", "loss/train", "acc", "accuracy"], []),
}


def _value(rng: random.Random) -> float:
    return rng.choice([float("nan"), float("inf")]) if rng.random() < 0.05 else rng.random()


def _scalar(rng: random.Random, tag: str, v: float) -> bytes:
    return simple_value(tag, v) if rng.random() < 0.5 else tensor_value(tag, v)


def _write_folder(rng: random.Random, root: Path) -> list[Path]:
    """A run folder of a random writer: restarts (several files, steps going back and
    overlapping), steps logged twice in a file, tags logged at some steps only."""
    style = rng.choice(sorted(_STYLES))
    train, val = _STYLES[style]
    dirs = [(root / "train", train), (root / "validation", val)] if val else [(root, train)]
    if val and rng.random() < 0.2:
        dirs = dirs[:1]  # no validation folder
    for d, tags in dirs:
        tags = rng.sample(tags, rng.randint(1, len(tags)))
        start = 0
        for j in range(rng.choice([1, 1, 2, 3])):
            step = start if j == 0 else max(0, start - rng.randint(0, 10))
            wall = 1.7e9 + 1000 * j + rng.choice([0, -1500])
            events = []
            for _ in range(rng.randint(1, 15)):
                here = [t for t in tags if rng.random() < 0.8] or tags[:1]
                events.append(event(step, wall, *[_scalar(rng, t, _value(rng)) for t in here]))
                wall += 1
                step += rng.choice([0, 1, 1, 2])
            write(d / f"events.out.tfevents.{int(wall)}.h.{j}.v2", events)
            start = step
    return sorted(root.rglob("*tfevents*"))


def _expected(run_dir: Path, files: list[Path], run) -> dict[str, pd.Series]:
    """The metrics the pandas path built for ``run``: the merged points of each tag (the
    same ``_merge``), combined per metric in the reader's column order."""
    read = []
    for f in files:
        sc = tensorboard.read_scalars(f)
        first = float(sc.wall_time.min()) if len(sc.wall_time) else float("inf")
        read.append((first, str(f), f, tensorboard._split_of_file(f, run_dir), sc))
    read.sort(key=lambda r: r[:2])
    curves = tensorboard._merge(
        [(f, split, tensorboard._by_tag(sc)) for _, _, f, split, sc in read], run_dir, []
    )
    by_label = {tensorboard._prefixed(tag, split): c for (split, tag), c in curves.items()}
    columns = {}
    for name in run.data:
        same = [
            label
            for label, why in run.dropped.items()
            if why.startswith("same metric") and why.endswith(f"to {name!r})")
        ]
        columns[name] = [by_label[run.original_names[name]]] + [by_label[x] for x in same]
    return _merged(columns)


@pytest.mark.parametrize("seed", range(4))
def test_random_event_folders_read_as_the_pandas_frame(tmp_path, seed):
    rng = random.Random(seed)
    for i in range(40):
        root = tmp_path / f"run{i}"
        files = _write_folder(rng, root)
        [(run_dir, group)] = tensorboard.group(files)
        run = tensorboard.read_group(run_dir, group)[0]
        merged = _expected(run_dir, group, run)
        frame = pd.DataFrame(merged)
        assert _same(run.index_values, frame.index.to_numpy().astype(np.int64))
        for name in run.data:
            assert _same(run.data[name], frame[name].to_numpy(dtype=float)), (root, name)
        # a metric whose last step comes before the run's last row was not logged there
        last = frame.index.max()
        assert run.unlogged_tail == {n for n, s in merged.items() if s.index.max() < last}


# ------------------------------------------------------------------ hand-computed cases
def test_restart_overlap_two_spellings_and_unlogged_tail(tmp_path):
    run_dir = tmp_path / "fit"
    # train: epochs 0-3, then a restart from epoch 2 to 4 (later wall time: it wins)
    write(
        run_dir / "train" / "events.out.tfevents.1.a.v2",
        [event(e, 1.7e9 + e, tensor_value("epoch_loss", 1.0 - e / 10)) for e in range(4)],
    )
    write(
        run_dir / "train" / "events.out.tfevents.2.a.v2",
        [event(e, 1.7e9 + 100 + e, tensor_value("epoch_loss", 5.0 + e)) for e in (2, 3, 4)],
    )
    # validation: epoch_acc on 0, 1 (1 is NaN); epoch_accuracy on 1, 2: one column
    write(
        run_dir / "validation" / "events.out.tfevents.3.a.v2",
        [
            event(0, 1.7e9, tensor_value("epoch_acc", 0.5)),
            event(1, 1.7e9 + 1, tensor_value("epoch_acc", float("nan"))),
            event(1, 1.7e9 + 1, tensor_value("epoch_accuracy", 0.6)),
            event(2, 1.7e9 + 2, tensor_value("epoch_accuracy", 0.7)),
        ],
    )
    [(d, files)] = tensorboard.group(sorted(run_dir.rglob("*tfevents*")))
    run = tensorboard.read_group(d, files)[0]
    assert run.index == "epoch" and run.index_values.tolist() == [0, 1, 2, 3, 4]
    assert run.index_values.dtype == np.int64
    assert list(run.data) == ["loss", "val_accuracy"]
    assert run.data["loss"].tolist() == [1.0, pytest.approx(0.9), 7.0, 8.0, 9.0]
    acc = run.data["val_accuracy"]
    assert acc[:3].tolist() == [0.5, pytest.approx(0.6), pytest.approx(0.7)]
    assert np.isnan(acc[3:]).all()
    assert run.unlogged_tail == {"val_accuracy"}
    assert run.original_names == {"loss": "epoch_loss", "val_accuracy": "validation/epoch_acc"}
    assert run.dropped["validation/epoch_accuracy"].startswith("same metric as")
    assert any("steps go back from 3 to 2" in w for w in run.warnings)


def test_side_series_are_pandas_series_on_the_step(tmp_path):
    run_dir = tmp_path / "version_0"
    write(
        run_dir / "events.out.tfevents.1.h",
        [
            event(
                s,
                1.7e9 + s,
                simple_value("train_loss", 1.0 / (s + 1)),
                simple_value("epoch", s // 3),
            )
            for s in range(6)
        ],
    )
    run = tensorboard.read_group(run_dir, sorted(run_dir.glob("*tfevents*")))[0]
    epoch = run.side_series["epoch"]
    assert isinstance(epoch, pd.Series) and epoch.name == "epoch"
    assert epoch.index.name == "step" and epoch.index.dtype == np.int64
    assert epoch.tolist() == [0, 0, 0, 1, 1, 1]
    assert list(run.data) == ["loss"] and run.index == "step"


@pytest.mark.parametrize(
    "folder",
    [
        REAL / "healthy" / "tensorboard",
        REAL / "overfit" / "tensorboard",
        REAL_LOGS / "Mormolykos__trainproof" / "evidence" / "fish_lightning_feb2026",
    ],
)
def test_real_folders_read_as_the_pandas_frame(folder):
    if not folder.exists():
        pytest.skip(f"{folder} not available")
    [(run_dir, files)] = tensorboard.group(sorted(folder.rglob("*tfevents*")))
    run = tensorboard.read_group(run_dir, files)[0]
    frame = pd.DataFrame(_expected(run_dir, files, run))
    assert len(run.data) >= 2 and run.length > 1
    assert _same(run.index_values, frame.index.to_numpy().astype(np.int64))
    for name in run.data:
        assert _same(run.data[name], frame[name].to_numpy(dtype=float)), name

"""Every file of the real public logs in ``../shared/real_logs`` (see its SOURCES.md) is
read with the right training and validation series, and every file there that is not a
training log is reported as one skipped line."""

from __future__ import annotations

from pathlib import Path

import pytest

from loganalyzer.readers import read_paths

REAL = Path(__file__).resolve().parents[2] / "shared" / "real_logs"

pytestmark = pytest.mark.skipif(
    not REAL.is_dir(),
    reason=f"real public logs not found at {REAL} (CI clones them beside the repo; "
    "a fresh clone of loganalyzer alone does not have them)",
)

# Row counts as stated in SOURCES.md (no epoch column: one row per epoch).
AUTOTRAINER_ROWS = {
    "Gradient_Vanish_Case": 91,
    "Oscillating_Loss_Case": 61,
    "double_random_99fe3625": 100,
    "config_random_22eb8478": 127,
    "config_random_a8640f1a": 199,
    "double_random_54f7ba3b": 370,
    "double_random_a4d82733": 298,
    "model_random_953b07b0": 289,
    "config_random_b060fc17": 151,
    "model_random_0db8c740": 115,
    "model_random_41e9f616": 91,
    "model_random_46edd947": 91,
    "model_random_5057d0d1": 160,
    "model_random_84b9e92c": 97,
    "model_random_88f274c5": 91,
    "model_random_9a5b1683": 277,
    "model_random_c06b132f": 157,
    "model_random_fcaf2479": 91,
}

# CSVLogger(append=True) files: (segment lengths, last segment analysed).
APPENDED = {
    "convolution_layer.csv": ("10/10/1000", 1000),
    "optimized_convolution_layer.csv": ("2/2/200", 200),
    "single_hidden_layer.csv": ("100/400/400/10/10/10/10/10/10/10/10/400", 400),
}


@pytest.fixture(scope="module")
def read():
    result = read_paths([REAL])
    return result, {
        run.sources[0] if len(run.sources) == 1 else run.name: run for run in result.runs
    }


def _find(runs: dict, needle: str):
    hits = [run for key, run in runs.items() if needle in key]
    assert len(hits) == 1, f"{needle}: {len(hits)} runs"
    return hits[0]


def test_nothing_fails_and_only_non_logs_are_skipped(read):
    result, _ = read
    assert result.errors == []
    skipped = sorted(Path(s.source).name for s in result.skipped)
    assert skipped == ["monitor_detection.log"] * 18 + ["run_meta.json"] * 18
    assert all("not a training log" in s.error for s in result.skipped)
    # 18 trainer_state.json + 18 AutoTrainer log.csv + 3 CSVLogger + 2 TensorBoard runs
    assert len(result.runs) == 41


@pytest.mark.parametrize("key, rows", sorted(AUTOTRAINER_ROWS.items()))
def test_autotrainer_csv(read, key, rows):
    run = _find(read[1], key + ("" if key.endswith("Case") else "-"))
    assert run.format == "keras-csv" and run.index == "epoch"
    assert (run.train_loss, run.val_loss) == ("loss", "val_loss")
    counts = run.counts()
    assert counts == {"val_loss": rows, "val_accuracy": rows, "loss": rows, "accuracy": rows}
    assert run.metrics.index[0] == 0 and run.metrics.index[-1] == rows - 1
    assert run.warnings == []


@pytest.mark.parametrize("name", sorted(APPENDED))
def test_appended_csvlogger_files(read, name):
    lengths, last = APPENDED[name]
    run = _find(read[1], "/" + name)
    assert run.format == "keras-csv"
    assert (run.train_loss, run.val_loss) == ("loss", "val_loss")
    assert run.counts()["loss"] == last and run.counts()["val_loss"] == last
    n = lengths.count("/") + 1
    (w,) = run.warnings
    assert f"{n} segments" in w and f"lengths {lengths}" in w and "analysing the last" in w


@pytest.mark.parametrize(
    "scenario", ["bad_labels", "fp16_nan", "healthy", "lr_hot", "lr_zero", "overfit"]
)
@pytest.mark.parametrize("seed", ["", "seed43/", "seed44/"])
def test_hf_trainer_states(read, scenario, seed):
    run = _find(read[1], f"gallery/{scenario}/{seed}trainer_state.json")
    assert run.format == "hf-trainer" and run.index == "step"
    assert run.train_loss == "loss"
    assert run.counts()["loss"] == 60  # the summary row is not a point
    assert run.series("loss").index[0] == 5 and run.series("loss").index[-1] == 300
    if scenario == "overfit":
        assert run.val_loss == "val_loss" and run.counts()["val_loss"] == 20
        assert run.series("val_loss").index.tolist() == list(range(15, 301, 15))
    else:
        assert run.val_loss is None
    assert run.learning_rate == "learning_rate"


def test_hf_fp16_nan_keeps_the_infinite_grad_norm(read):
    run = _find(read[1], "gallery/fp16_nan/trainer_state.json")
    assert (run.metrics["grad_norm"] == float("inf")).sum() == 2


def test_tensorboard_runs(read):
    fish = _find(read[1], "fish_lightning_feb2026")
    assert (fish.train_loss, fish.val_loss) == ("loss", "val_loss")
    assert fish.counts()["loss"] == 41 and fish.counts()["val_loss"] == 82
    traffic = _find(read[1], "20-08-19_13-26")
    assert (traffic.train_loss, traffic.val_loss) == ("loss", "val_loss")
    assert traffic.counts()["loss"] == 1 and traffic.counts()["val_loss"] == 1

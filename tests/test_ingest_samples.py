"""The sample logs: each scenario written three ways (History JSON, CSVLogger,
TensorBoard) is read as the same run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from loganalyzer.readers import read_paths

SAMPLES = Path(__file__).resolve().parents[1] / "sample_logs"
# scenario -> (epochs, epochs with a finite loss, learning rate logged by a callback)
SCENARIOS = {
    "overfit": (50, 50, False),
    "healthy": (50, 50, True),
    "diverging": (30, 13, True),
    "underfitting": (40, 40, False),
    "noisy": (40, 40, False),
}
FORMATS = {"history.json": "keras-json", "training.csv": "keras-csv", "tensorboard": "tensorboard"}


@pytest.fixture(scope="module")
def runs():
    result = read_paths([SAMPLES])
    assert result.errors == [] and result.skipped == []
    # console/ holds the console-output examples (tests/test_reader_console.py)
    return {run.name: run for run in result.runs if not run.name.startswith("console/")}


def test_every_sample_is_read(runs):
    assert sorted(runs) == sorted(f"{s}/{f}" for s in SCENARIOS for f in FORMATS)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("filename", sorted(FORMATS))
def test_series_and_counts(runs, scenario, filename):
    epochs, finite, has_lr = SCENARIOS[scenario]
    run = runs[f"{scenario}/{filename}"]
    assert run.format == FORMATS[filename] and run.index == "epoch"
    assert (run.train_loss, run.val_loss) == ("loss", "val_loss")
    assert run.metrics.index.tolist() == list(range(epochs))
    counts = run.counts()
    assert counts["loss"] == finite and counts["val_loss"] == finite
    assert counts["mae"] == finite and counts["val_mae"] == finite
    if filename != "tensorboard":  # the Keras TensorBoard callback always logs the lr
        assert (run.learning_rate is not None) == has_lr
    assert run.warnings == []


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_three_formats_agree(runs, scenario):
    ref = runs[f"{scenario}/history.json"].metrics
    for other in ("training.csv", "tensorboard"):
        m = runs[f"{scenario}/{other}"].metrics
        for col in ("loss", "val_loss", "mae", "val_mae"):
            # TensorBoard stores float32; JSON and CSV the float64 repr of the same value
            np.testing.assert_allclose(
                m[col].to_numpy(), ref[col].to_numpy(), rtol=1e-6, equal_nan=True, err_msg=col
            )


def test_diverged_run_keeps_its_nan_tail(runs):
    for filename in ("history.json", "training.csv"):
        loss = runs[f"diverging/{filename}"].series("loss")
        assert len(loss) == 30 and np.isnan(loss.iloc[-1]) and np.isfinite(loss.iloc[12])


def test_every_reader_format_is_a_documented_format():
    """`format` in the JSON output is one of `Run.FORMATS` (the documented list) for
    every reader, the store and console readers included."""
    import importlib
    import pkgutil

    import loganalyzer.readers as readers
    from loganalyzer.run import FORMATS as DOCUMENTED

    found = set()
    for info in pkgutil.iter_modules(readers.__path__):
        module = importlib.import_module(f"loganalyzer.readers.{info.name}")
        if isinstance(getattr(module, "FORMAT", None), str):
            found.add(module.FORMAT)
    assert len(found) >= 9 and found <= set(DOCUMENTED)

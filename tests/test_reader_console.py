"""Console output read to the same series as the structured log the same run wrote
(the real examples in ``sample_logs/console/``, made by ``make_samples.py console``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from loganalyzer.errors import LogReadError
from loganalyzer.readers import console, read_file, read_paths

CONSOLE = Path(__file__).resolve().parents[1] / "sample_logs" / "console"


def _close(console_values, logged, rel, what):
    """Console values are the logged ones as printed: equal to the print's precision."""
    a, b = np.asarray(console_values, float), np.asarray(logged, float)
    assert a.shape == b.shape, what
    np.testing.assert_allclose(a, b, rtol=rel, atol=5e-5, err_msg=what)


@pytest.mark.parametrize("verbose", [1, 2])
def test_keras_fit_calls_read_as_their_histories(verbose):
    d = CONSOLE / f"keras-verbose{verbose}"
    runs = read_file(d / "train.out")
    assert [r.name for r in runs] == ["train.out#1", "train.out#2"]  # two fit calls
    for k, run in enumerate(runs, start=1):
        hist = json.loads((d / f"history_fit{k}.json").read_text())
        assert run.format == "console" and run.index == "epoch"
        assert run.metrics.index.tolist() == list(range(len(hist["loss"])))  # 0-based
        assert sorted(run.metrics.columns) == sorted(hist)
        for col, values in hist.items():
            _close(run.metrics[col], values, 1e-4, f"fit {k} {col}")
        assert run.warnings == []


def test_hf_trainer_console_reads_as_trainer_state():
    d = CONSOLE / "hf-trainer"
    run = read_file(d / "train.out")[0]
    history = json.loads((d / "trainer_state.json").read_text())["log_history"]
    train = {r["epoch"]: r["loss"] for r in history if "loss" in r}
    evals = {r["epoch"]: r["eval_loss"] for r in history if "eval_loss" in r}
    assert len(train) >= 10 and len(evals) == 6
    loss, val = run.series("loss"), run.series("val_loss")
    # transformers prints 4 significant digits (the epoch too)
    assert np.allclose(loss.index.to_numpy(float), list(train), rtol=5e-4)
    _close(loss, list(train.values()), 5e-4, "loss")
    _close(val, list(evals.values()), 5e-4, "eval_loss")
    assert run.train_loss == "loss" and run.val_loss == "val_loss"
    assert "train_runtime" in run.dropped and "eval_runtime" in run.dropped


def test_lightning_progress_bar_reads_as_metrics_csv():
    d = CONSOLE / "lightning"
    run = read_file(d / "train.out")[0]
    ref = read_file(d / "metrics.csv")[0]
    assert run.metrics.index.tolist() == ref.metrics.index.tolist() == list(range(12))
    for col in ("loss", "val_loss"):  # Lightning's bar shows 3 significant digits
        _close(run.metrics[col], ref.metrics[col], 5e-3, col)
    assert run.original_names["loss"] == "train_loss_epoch"
    assert "train_loss_step" in run.dropped and run.warnings == []


def test_the_console_samples_are_read_without_errors():
    result = read_paths([CONSOLE])
    assert result.errors == [] and result.skipped == []
    formats = {r.name: r.format for r in result.runs}
    assert formats["hf-trainer/train.out"] == formats["lightning/train.out"] == "console"


def test_an_epoch_still_being_written_is_not_read(tmp_path):
    text = (CONSOLE / "keras-verbose1" / "train.out").read_bytes()
    cut = text.index(b"Epoch 10/25")
    # inside epoch 9's progress line: the bar was drawn up to 25/25 without val_loss
    line_end = text.index(b"\n", cut + 12)
    partial = text[:line_end].rsplit(b"\x08", 1)[0]
    p = tmp_path / "running.out"
    p.write_bytes(partial)
    run = read_file(p)[0]
    assert run.metrics.index.tolist() == list(range(9))  # epochs 0-8, not the 10th
    assert any("ends inside epoch 9" in w for w in run.warnings)


def test_plain_logging_text_is_not_console_output(tmp_path):
    p = tmp_path / "training.log"
    p.write_text("2026-11-25 10:00:00,123 INFO epoch 1 loss=0.5\nINFO Epoch 2 done\n")
    assert not console.sniff(p, p.read_bytes())
    with pytest.raises(LogReadError, match="not a training log"):
        read_file(p)


def test_a_python_repr_history_is_still_keras_json(tmp_path):
    p = tmp_path / "h.txt"
    p.write_text("{'loss': [1.0, 0.5], 'val_loss': [1.1, 0.7]}\n")
    assert read_file(p)[0].format == "keras-json"


def test_series_explains_the_console_mappings():
    from typer.testing import CliRunner

    from loganalyzer.cli import app

    res = CliRunner().invoke(
        app,
        [
            "series",
            str(CONSOLE / "hf-trainer" / "train.out"),
            str(CONSOLE / "lightning" / "train.out"),
        ],
    )
    assert res.exit_code == 0
    lines = [" ".join(ln.split()) for ln in res.stdout.splitlines()]
    assert "eval_loss -> val_loss [val loss]" in lines
    assert "train_loss_epoch -> loss [train loss]" in lines
    assert (
        "train_runtime -- left out: final summary of the whole run, not a training point" in lines
    )
    assert any(
        ln.startswith("train_loss_step -- left out: the bar shows only the last batch")
        for ln in lines
    )

"""Keras History JSON in every shape users save it: each gives the same run."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from loganalyzer.errors import LogReadError
from loganalyzer.readers import keras_json, read_file

LOSS = [1.0, 0.5, 0.25]
VAL = [1.2, 0.8, 0.9]
HIST = {"loss": LOSS, "val_loss": VAL}
FRAME = pd.DataFrame(HIST)

VARIANTS = {
    "dict-of-lists": json.dumps(HIST),
    "orient-columns": FRAME.to_json(orient="columns"),
    "orient-index": FRAME.to_json(orient="index"),
    "orient-records": FRAME.to_json(orient="records"),
    "orient-split": FRAME.to_json(orient="split"),
    "history-params-epoch": json.dumps(
        {"history": HIST, "params": {"epochs": 3, "verbose": 1}, "epoch": [0, 1, 2]}
    ),
    "nested-run-key": json.dumps({"experiment_7": HIST}),
    "records-with-epoch": json.dumps(
        [
            {"epoch": i, "loss": a, "val_loss": b}
            for i, (a, b) in enumerate(zip(LOSS, VAL, strict=True))
        ]
    ),
    "plural-keys": json.dumps({"train_losses": LOSS, "val_losses": VAL}),
    "scalar-metadata": json.dumps({"model": "cnn", "lr": 0.001, "seed": 3, **HIST}),
    "python-repr-string": json.dumps(str(HIST)),
    "python-repr-file": str(HIST),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_shape_gives_the_same_run(tmp_path, variant):
    p = tmp_path / "history.json"
    p.write_text(VARIANTS[variant])
    assert keras_json.sniff(p, p.read_bytes())
    (run,) = read_file(p)
    assert run.format == "keras-json" and run.index == "epoch"
    assert (run.train_loss, run.val_loss) == ("loss", "val_loss")
    assert run.series("loss").tolist() == LOSS
    assert run.series("val_loss").tolist() == VAL
    assert run.metrics.index.tolist() == [0, 1, 2]


def test_original_plural_names_are_kept(tmp_path):
    p = tmp_path / "h.json"
    p.write_text(VARIANTS["plural-keys"])
    (run,) = read_file(p)
    assert run.original_names == {"loss": "train_losses", "val_loss": "val_losses"}


def test_scalar_metadata_is_left_out_with_a_reason(tmp_path):
    p = tmp_path / "h.json"
    p.write_text(VARIANTS["scalar-metadata"])
    (run,) = read_file(p)
    assert "learning_rate" not in run.metrics.columns
    assert set(run.dropped) == {"model", "lr", "seed"}
    assert "scalar metadata" in run.dropped["lr"]


def test_explicit_one_based_epochs_are_kept(tmp_path):
    p = tmp_path / "h.json"
    p.write_text(json.dumps({"epochs": [1, 2, 3], **HIST}))
    (run,) = read_file(p)
    assert run.metrics.index.tolist() == [1, 2, 3]
    assert run.series("val_loss").loc[3] == 0.9


def test_bare_nan_and_infinity_tokens(tmp_path):
    p = tmp_path / "h.json"
    p.write_text('{"loss": [1.0, Infinity, NaN], "val_loss": [1.1, -Infinity, NaN]}')
    (run,) = read_file(p)
    loss = run.metrics["loss"].tolist()
    assert loss[0] == 1.0 and loss[1] == math.inf and math.isnan(loss[2])
    assert run.metrics["val_loss"].tolist()[1] == -math.inf


def test_python_repr_with_nan_and_inf_is_parsed_without_eval(tmp_path):
    p = tmp_path / "h.json"
    p.write_text(json.dumps("{'loss': [1.0, inf, nan], 'val_loss': [2.0, 1.0, 0.5]}"))
    (run,) = read_file(p)
    assert run.metrics["loss"].tolist()[1] == math.inf
    assert math.isnan(run.metrics["loss"].tolist()[2])
    # an expression is not a literal: refused, not evaluated
    p.write_text(json.dumps("{'loss': [__import__('os').getpid()]}"))
    with pytest.raises(LogReadError, match="neither JSON nor a Python dict repr"):
        read_file(p)


def test_several_runs_under_run_keys(tmp_path):
    p = tmp_path / "runs.json"
    p.write_text(json.dumps({"a": HIST, "b": {"loss": [3.0, 2.0]}}))
    runs = read_file(p)
    assert [r.name for r in runs] == ["runs.json#a", "runs.json#b"]
    assert runs[1].series("loss").tolist() == [3.0, 2.0] and runs[1].val_loss is None


def test_lists_of_different_lengths_are_padded_with_a_warning(tmp_path):
    p = tmp_path / "h.json"
    p.write_text(json.dumps({"loss": LOSS, "val_loss": VAL[:2]}))
    (run,) = read_file(p)
    assert run.length == 3 and run.counts()["val_loss"] == 2
    assert any("different lengths" in w for w in run.warnings)


@pytest.mark.parametrize(
    "text, why",
    [
        ('{"config": "overfit", "seed": 42, "minutes": 6.3}', "not a training log"),
        ('{"layers": [{"units": 64}, {"units": 1}]}', "not a training log"),
        ("[1, 2, 3]", "not a training log"),
        ('"just a string"', "not a training log"),
        ('{"loss": [1.0, 0.5], ', "invalid JSON"),
    ],
)
def test_json_that_is_not_a_training_log_is_one_clear_error(tmp_path, text, why):
    p = tmp_path / "x.json"
    p.write_text(text)
    with pytest.raises(LogReadError, match=why) as exc:
        read_file(p)
    assert str(p) in exc.value.line()


def test_json_lines_with_a_truncated_last_record(tmp_path):
    p = tmp_path / "metrics.jsonl"
    lines = [
        json.dumps({"epoch": i, "loss": a, "val_loss": b})
        for i, (a, b) in enumerate(zip(LOSS, VAL, strict=True))
    ]
    p.write_text("\n".join(lines) + '\n{"epoch": 3, "lo')
    (run,) = read_file(p)
    assert run.series("loss").tolist() == LOSS and run.series("val_loss").tolist() == VAL
    assert run.warnings == ["last record truncated (line 4); kept the 3 complete ones"]


def test_numbers_written_as_strings(tmp_path):
    p = tmp_path / "h.json"
    p.write_text(json.dumps({"loss": ["1.0", "0.5"], "val_loss": ["1.2", "nan"]}))
    (run,) = read_file(p)
    assert run.series("loss").tolist() == [1.0, 0.5] and run.counts()["val_loss"] == 1


def test_trainer_state_with_a_late_log_history_is_still_hf(tmp_path):
    p = tmp_path / "trainer_state.json"
    padding = {f"key_{i:05d}": "x" * 10 for i in range(5000)}  # pushes log_history past 64 KiB
    history = [{"loss": 1.0, "step": 5}, {"loss": 0.5, "step": 10}]
    p.write_text(json.dumps({"a": padding, "log_history": history}))
    (run,) = read_file(p)
    assert run.format == "hf-trainer" and run.series("loss").index.tolist() == [5, 10]

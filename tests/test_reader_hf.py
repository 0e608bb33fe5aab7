"""Hugging Face ``trainer_state.json``: step-indexed training and evaluation series."""

from __future__ import annotations

import json
import math

import pytest

from loganalyzer.errors import LogReadError
from loganalyzer.readers import hf_trainer, read_file


def state(log_history) -> str:
    return json.dumps({"global_step": 40, "epoch": 2.0, "log_history": log_history})


def test_train_eval_and_summary(tmp_path):
    p = tmp_path / "trainer_state.json"
    p.write_text(
        state(
            [
                {"epoch": 0.5, "grad_norm": 1.5, "learning_rate": 5e-5, "loss": 2.0, "step": 10},
                {"epoch": 1.0, "learning_rate": 4e-5, "loss": 1.5, "step": 20},
                {"epoch": 1.0, "eval_loss": 1.7, "eval_runtime": 2.5, "step": 20},
                {"epoch": 1.5, "learning_rate": 3e-5, "loss": 1.2, "step": 30},
                {"epoch": 2.0, "learning_rate": 2e-5, "loss": 1.0, "step": 40},
                {"epoch": 2.0, "eval_loss": 1.6, "eval_runtime": 2.4, "step": 40},
                {
                    "epoch": 2.0,
                    "step": 40,
                    "total_flos": 1e12,
                    "train_loss": 1.4,
                    "train_runtime": 30.0,
                    "train_samples_per_second": 9.0,
                },
            ]
        )
    )
    assert hf_trainer.sniff(p, p.read_bytes())
    (run,) = read_file(p)
    assert (run.format, run.index) == ("hf-trainer", "step")
    assert run.series("loss").tolist() == [2.0, 1.5, 1.2, 1.0]  # the 1.4 summary is not a point
    assert run.series("val_loss").index.tolist() == [20, 40]
    assert (run.train_loss, run.val_loss, run.learning_rate) == (
        "loss",
        "val_loss",
        "learning_rate",
    )
    assert run.original_names["val_loss"] == "eval_loss"
    assert "final summary" in run.dropped["train_loss"]
    assert "timing" in run.dropped["eval_runtime"]
    assert "epoch" not in run.metrics.columns


def test_several_eval_sets(tmp_path):
    p = tmp_path / "trainer_state.json"
    p.write_text(
        state(
            [
                {"loss": 2.0, "step": 10, "epoch": 1.0},
                {"eval_squad_loss": 1.9, "step": 10, "epoch": 1.0},
                {"eval_trivia_loss": 2.4, "step": 10, "epoch": 1.0},
                {"loss": 1.5, "step": 20, "epoch": 2.0},
                {"eval_squad_loss": 1.7, "step": 20, "epoch": 2.0},
                {"eval_trivia_loss": 2.2, "step": 20, "epoch": 2.0},
            ]
        )
    )
    (run,) = read_file(p)
    assert {"val_squad_loss", "val_trivia_loss"} <= set(run.metrics.columns)
    assert run.val_loss == "val_squad_loss"
    assert run.series("val_trivia_loss").tolist() == [2.4, 2.2]


def test_epoch_reset_on_resume_keeps_the_step_index(tmp_path):
    p = tmp_path / "trainer_state.json"
    p.write_text(
        state(
            [
                {"loss": 2.0, "step": 10, "epoch": 1.0},
                {"loss": 1.8, "step": 20, "epoch": 2.0},
                {"loss": 1.6, "step": 30, "epoch": 0.5},
                {"loss": 1.4, "step": 40, "epoch": 1.0},
            ]
        )
    )
    (run,) = read_file(p)
    assert run.series("loss").index.tolist() == [10, 20, 30, 40]
    assert any("epoch went back from 2 to 0.5 at step 30" in w for w in run.warnings)


def test_bare_infinity_grad_norm(tmp_path):
    p = tmp_path / "trainer_state.json"
    p.write_text(
        '{"log_history": [{"loss": 1.0, "grad_norm": Infinity, "step": 5}, '
        '{"loss": NaN, "grad_norm": 1.0, "step": 10}]}'
    )
    (run,) = read_file(p)
    assert run.metrics["grad_norm"].tolist() == [math.inf, 1.0]
    assert math.isnan(run.metrics["loss"].tolist()[1])


@pytest.mark.parametrize(
    "text, why",
    [
        ('{"log_history": []}', "no training or evaluation records"),
        ('{"log_history": 3}', "without a log_history list"),
        ('{"log_history": [{"loss": 1.0, "step": 5}', "invalid JSON"),
    ],
)
def test_unusable_trainer_state_is_one_clear_error(tmp_path, text, why):
    p = tmp_path / "trainer_state.json"
    p.write_text(text)
    with pytest.raises(LogReadError, match=why):
        read_file(p)

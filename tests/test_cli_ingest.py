"""Ingestion as a user meets it on the command line: the ``--format json`` document,
``--train-loss/--val-loss``, ``loganalyzer series``, bad files among good ones, and no
tensorflow/keras/matplotlib import on the analyze path."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loganalyzer.cli import app

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_logs"
runner = CliRunner()

HF_STATE = {
    "global_step": 20,
    "log_history": [
        {"epoch": 1.0, "loss": 2.0, "learning_rate": 1e-4, "step": 10},
        {"epoch": 1.0, "eval_squad_loss": 1.9, "eval_trivia_loss": 2.4, "step": 10},
        {"epoch": 2.0, "loss": 1.5, "learning_rate": 5e-5, "step": 20},
        {"epoch": 2.0, "eval_squad_loss": 1.7, "eval_trivia_loss": 2.2, "step": 20},
        {"step": 20, "train_loss": 1.7, "train_runtime": 3.0},
    ],
}
LIGHTNING = (
    "epoch,step,train_loss_epoch,train_loss_step,val_loss\n"
    "0,9,,1.1,\n0,9,,,1.3\n0,9,1.2,,\n1,19,,0.7,\n1,19,,,1.0\n1,19,0.8,,\n"
)


@pytest.fixture
def logs(tmp_path) -> Path:
    """One folder with every format: the overfit sample (JSON, CSV, TensorBoard), an HF
    trainer_state.json, a Lightning metrics.csv and a plain Python logging file."""
    d = tmp_path / "logs"
    shutil.copytree(SAMPLES / "overfit", d / "overfit")
    (d / "hf").mkdir()
    (d / "hf" / "trainer_state.json").write_text(json.dumps(HF_STATE))
    (d / "lightning").mkdir()
    (d / "lightning" / "metrics.csv").write_text(LIGHTNING)
    (d / "training.log").write_text("2026-11-25 10:00:00,123 INFO epoch 1 loss=0.5\n")
    return d


def analyze(*args: str):
    res = runner.invoke(app, ["analyze", *args, "--format", "json"])
    return res, json.loads(res.stdout)


def test_json_document_fields(logs):
    res, doc = analyze(str(logs))
    assert doc["schema"] == "loganalyzer/1"
    runs = {r["run"]: r for r in doc["runs"]}
    assert set(runs) == {
        "overfit/history.json",
        "overfit/training.csv",
        "overfit/tensorboard",
        "hf/trainer_state.json",
        "lightning/metrics.csv",
    }
    expected = {
        "overfit/history.json": ("keras-json", "epoch", "loss", "val_loss", 50),
        "overfit/training.csv": ("keras-csv", "epoch", "loss", "val_loss", 50),
        "overfit/tensorboard": ("tensorboard", "epoch", "loss", "val_loss", 50),
        "hf/trainer_state.json": ("hf-trainer", "step", "loss", "val_squad_loss", 2),
        "lightning/metrics.csv": ("lightning-csv", "epoch", "loss", "val_loss", 2),
    }
    for name, (fmt, index, train, val, n) in expected.items():
        r = runs[name]
        assert (r["format"], r["index"], r["train_loss"], r["val_loss"]) == (fmt, index, train, val)
        assert r["series"][train] == n and r["series"][val] == n
        sources = r["source"] if isinstance(r["source"], list) else [r["source"]]
        assert all(Path(s).exists() for s in sources) and isinstance(r["warnings"], list)
    assert runs["lightning/metrics.csv"]["series"]["loss_step"] == 2  # kept aside, not the loss
    assert doc["errors"] == []
    assert [Path(s["source"]).name for s in doc["skipped"]] == ["training.log"]
    assert "not a training log" in doc["skipped"][0]["error"]


def test_loss_override(logs):
    hf = str(logs / "hf" / "trainer_state.json")
    _, doc = analyze(hf, "--val-loss", "eval_trivia_loss")  # the name as the log wrote it
    (run,) = doc["runs"]
    assert run["val_loss"] == "val_trivia_loss"
    _, doc = analyze(hf, "--val-loss", "val_squad_loss", "--train-loss", "learning_rate")
    (run,) = doc["runs"]
    assert (run["train_loss"], run["val_loss"]) == ("learning_rate", "val_squad_loss")
    res, doc = analyze(hf, "--val-loss", "no_such_metric")
    assert res.exit_code == 2 and doc["runs"] == []
    assert "no_such_metric" in doc["errors"][0]["error"]


def test_series_command_shows_mappings_and_left_out_metrics(logs):
    res = runner.invoke(app, ["series", str(logs / "hf"), str(logs / "lightning")])
    assert res.exit_code == 0
    out = res.stdout
    assert "hf-trainer, index: step" in out and "lightning-csv, index: epoch" in out
    lines = [ln.split() for ln in out.splitlines()]
    assert ["eval_squad_loss", "->", "val_squad_loss", "[val", "loss]"] in lines
    assert ["eval_trivia_loss", "->", "val_trivia_loss"] in lines
    assert ["train_loss_epoch", "->", "loss", "[train", "loss]"] in lines
    stripped = [ln.strip() for ln in out.splitlines()]
    assert any(ln.startswith("train_runtime") and "final summary" in ln for ln in stripped)


def test_unreadable_file_among_good_ones(logs, tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{"loss": [1.0, 0.5], "val_loss": [1.2')
    good = [str(logs / "overfit" / "history.json"), str(logs / "hf" / "trainer_state.json")]
    res, doc = analyze(good[0], str(bad), good[1])
    assert res.exit_code == 2
    assert [r["source"] for r in doc["runs"]] == good
    (err,) = doc["errors"]
    assert err["source"] == str(bad) and "invalid JSON" in err["error"] and "line 1" in err["error"]
    err_lines = res.stderr.strip().splitlines()
    assert len(err_lines) == 1 and str(bad) in err_lines[0]
    assert "Traceback" not in res.stderr + res.stdout


def test_analyze_imports_no_tensorflow_keras_or_matplotlib(logs):
    code = f"""
import contextlib, io, json, sys
from loganalyzer.cli import app
buf, exit_code = io.StringIO(), None
with contextlib.redirect_stdout(buf):
    try:
        app(["analyze", {str(SAMPLES)!r}, {str(logs)!r}, "--format", "json"], prog_name="loganalyzer")
    except SystemExit as exc:
        exit_code = exc.code
heavy = [m for m in ("tensorflow", "keras", "matplotlib", "torch", "mlflow", "wandb", "fsspec")
         if m in sys.modules]
print(json.dumps({{"exit": exit_code, "heavy": heavy, "doc": json.loads(buf.getvalue())}}))
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["heavy"] == []
    assert out["exit"] in (0, 1)
    formats = {r["format"] for r in out["doc"]["runs"]}
    assert formats == {
        "keras-json",
        "keras-csv",
        "tensorboard",
        "hf-trainer",
        "lightning-csv",
        "console",  # sample_logs/console/
    }
    assert len(out["doc"]["runs"]) == 15 + 12 + 5


def test_non_logs_are_one_clear_line_each(logs):
    gbk = logs / "notes.txt"
    gbk.write_bytes("训练损失，验证损失\n第1轮，0.5\n".encode("gbk"))
    # below a directory argument: skipped, each as one line, and the command still succeeds
    res, doc = analyze(str(logs))
    skipped = {Path(s["source"]).name: s["error"] for s in doc["skipped"]}
    assert set(skipped) == {"training.log", "notes.txt"}
    assert "not UTF-8" in skipped["notes.txt"] and "not a training log" in skipped["training.log"]
    assert len(doc["runs"]) == 5 and res.exit_code != 2
    # named on the command line: errors, one line each, exit 2, no traceback
    res = runner.invoke(app, ["analyze", str(logs / "training.log"), str(gbk)])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 2 and all(ln.startswith("error: ") for ln in lines)
    assert "Traceback" not in res.stderr + res.stdout

"""MLflow (file store and mlflow.db) and W&B run folders, written by the real
``mlflow`` and ``wandb`` packages, read to the same series as the values logged."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from loganalyzer.readers import read_paths

# One sweep of three runs; run 2 diverges to inf then NaN, run 1 logs a nested key.
STEPS = 8


def _values(k: int) -> dict[str, list[float]]:
    loss = [1.0 / (s + 1) + 0.01 * k for s in range(STEPS)]
    val = [1.1 / (s + 1) + 0.02 * k + (0.05 * s if k == 1 else 0.0) for s in range(STEPS)]
    if k == 2:
        loss[-2:] = [math.inf, math.nan]
    return {"loss": loss, "val_loss": val}


def _write(tmp_path: Path, script: str, env: dict | None = None) -> None:
    """Run the writer in a child process: mlflow and wandb start threads and services
    that have no place in the test process."""
    code = textwrap.dedent(script)
    full_env = {**os.environ, **(env or {})}
    subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=full_env, check=True, timeout=240
    )


MLFLOW_WRITER = """
import math, mlflow, sys
sys.path.insert(0, {tests!r})
from test_reader_stores import _values
for uri in ("file:./mlruns", "sqlite:///mlflow.db"):
  mlflow.set_tracking_uri(uri)
  mlflow.set_experiment("sweep")
  for k in range(3):
    with mlflow.start_run(run_name=f"lr{{k}}"):
        mlflow.log_param("lr", 10.0 ** -k)
        v = _values(k)
        for s in range(len(v["loss"])):
            mlflow.log_metrics({{"loss": v["loss"][s], "val_loss": v["val_loss"][s]}}, step=s)
        mlflow.log_metric("val_loss", 9.0, step=0)  # logged again later: the later value wins
  with mlflow.start_run(run_name="deleted") as r:
    mlflow.log_metric("loss", 1.0, step=0)
  mlflow.delete_run(r.info.run_id)
"""


def _check_sweep(runs, name_of):
    by_name = {name_of(r): r for r in runs}
    assert sorted(by_name) == ["lr0", "lr1", "lr2"]  # the deleted run is left out
    for k in range(3):
        run = by_name[f"lr{k}"]
        assert run.format == "mlflow" and run.index == "step"
        assert run.metrics.index.tolist() == list(range(STEPS))
        expected = _values(k)
        expected["val_loss"][0] = 9.0
        for col in ("loss", "val_loss"):
            np.testing.assert_array_equal(run.metrics[col].to_numpy(), expected[col], err_msg=col)
        assert "params/lr" in run.dropped or not run.dropped


@pytest.fixture(scope="module")
def mlflow_stores(tmp_path_factory):
    pytest.importorskip("mlflow", reason="the mlflow test extra is not installed")
    d = tmp_path_factory.mktemp("mlflow")
    tests = str(Path(__file__).parent)
    _write(d, MLFLOW_WRITER.format(tests=tests), {"MLFLOW_ALLOW_FILE_STORE": "true"})
    return d


def test_mlflow_file_store_reads_the_logged_values(mlflow_stores):
    result = read_paths([mlflow_stores / "mlruns"])
    assert result.errors == [] and result.skipped == []
    _check_sweep(result.runs, lambda r: r.name.rsplit("#", 1)[1])
    run = result.runs[0]
    assert run.name.count("/") == 1  # <experiment id>/<run id>#<run name>


def test_mlflow_db_reads_the_logged_values(mlflow_stores):
    result = read_paths([mlflow_stores / "mlflow.db"])
    assert result.errors == []
    _check_sweep(result.runs, lambda r: r.name.rsplit("/", 1)[1])
    assert all(r.name.startswith(str(mlflow_stores / "mlflow.db") + "#sweep/") for r in result.runs)


WANDB_WRITER = """
import math, sys, wandb
sys.path.insert(0, {tests!r})
from test_reader_stores import _values
for k in range(2):
    run = wandb.init(project="sweep", name=f"lr{{k}}", config={{"lr": 10.0 ** -k}})
    v = _values(k + 1)
    for s in range(len(v["loss"])):
        row = {{"loss": v["loss"][s], "val_loss": v["val_loss"][s], "epoch": s}}
        if k == 0:
            row["train"] = {{"acc": 0.5 + s / 100}}
            row["samples"] = wandb.Html("<b>not a number</b>")
        run.log(row)
    run.finish()
"""


def test_wandb_offline_run_folders_read_the_logged_values(tmp_path):
    pytest.importorskip("wandb", reason="the wandb test extra is not installed")
    env = {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DISABLE_GIT": "true"}
    _write(tmp_path, WANDB_WRITER.format(tests=str(Path(__file__).parent)), env)
    result = read_paths([tmp_path / "wandb"])
    assert result.errors == [] and result.skipped == []  # debug logs and files/ belong to runs
    by_name = {r.name.rsplit("#", 1)[1]: r for r in result.runs}
    assert sorted(by_name) == ["lr0", "lr1"]
    for k in range(2):
        run = by_name[f"lr{k}"]
        assert run.format == "wandb" and run.index == "step"
        assert run.name.startswith("offline-run-")
        expected = _values(k + 1)
        for col in ("loss", "val_loss"):
            np.testing.assert_array_equal(run.metrics[col].to_numpy(), expected[col], err_msg=col)
        assert run.side_series["epoch"].tolist() == list(range(STEPS))
    nested = by_name["lr0"]
    assert nested.original_names["accuracy"] == "train.acc"
    assert nested.dropped == {"samples": "a W&B html-file object, not a number"}


def test_wandb_panel_csv_export(tmp_path):
    """The CSV the W&B web app exports from a line plot: ``Step``, then per run
    ``<run> - <metric>`` with ``__MIN``/``__MAX``, every cell quoted, gaps empty."""
    header = ['"Step"']
    for run in ("lr0", "lr-1 - warm"):
        header += [f'"{run} - val_loss"', f'"{run} - val_loss__MIN"', f'"{run} - val_loss__MAX"']
    rows = [",".join(header)]
    for s in range(STEPS):
        cells = [f'"{s}"']
        for k in (1, 2):
            v = _values(k)["val_loss"][s]
            cell = "" if (k == 2 and s == 3) else repr(v)
            cells += [f'"{cell}"'] * 3
        rows.append(",".join(cells))
    p = tmp_path / "wandb_export_2026-11-30.csv"
    p.write_text("\n".join(rows) + "\n")
    result = read_paths([p])
    assert [r.name.rsplit("#", 1)[1] for r in result.runs] == ["lr0", "lr-1 - warm"]
    first, second = result.runs
    assert first.format == "wandb-csv" and first.index == "step"
    np.testing.assert_array_equal(first.series("val_loss").to_numpy(), _values(1)["val_loss"])
    assert second.series("val_loss").index.tolist() == [0, 1, 2, 4, 5, 6, 7]
    assert first.original_names["val_loss"] == "lr0 - val_loss"
    assert "lr0 - val_loss__MIN" in first.dropped

"""``loganalyzer verify`` end to end: tiny specs, 2 seeds, few epochs; and the demo."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

keras = pytest.importorskip("keras", reason="needs the verify extra (keras)")

from typer.testing import CliRunner  # noqa: E402

from loganalyzer.cli import app  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

TINY = """
import keras
import numpy as np

FIT = {"epochs": 3, "batch_size": 16}

def build_model():
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(12, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model

def load_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 6)).astype("float32")
    y = (x[:, :1] + 0.5 * rng.normal(size=(80, 1))).astype("float32")
    return (x[:60], y[:60]), (x[60:], y[60:])
"""


def invoke(args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    out = result.stdout + (getattr(result, "stderr", "") or "")
    return result, out


@pytest.fixture
def tiny_spec(tmp_path):
    path = tmp_path / "tiny.py"
    path.write_text(textwrap.dedent(TINY))
    return path


def test_verify_writes_logs_and_report(tiny_spec, tmp_path):
    out_dir = tmp_path / "out"
    result, out = invoke(
        ["verify", tiny_spec, "--fix", "dropout:rate=0.2", "--fix", "early-stopping:patience=1",
         "--seeds", "2", "--epochs", "3", "-o", out_dir]
    )  # fmt: skip
    assert result.exit_code == 0, out
    assert "dropout(rate=0.2)" in out and "95 % CI of the ratio [×" in out
    for variant in ("baseline", "dropout_rate_0.2", "early-stopping_patience_1"):
        for seed in (1, 2):
            run = out_dir / variant / f"seed{seed}"
            history = json.loads((run / "history.json").read_text())
            csv_lines = (run / "training.csv").read_text().strip().splitlines()
            assert csv_lines[0].startswith("epoch,")
            assert len(csv_lines) - 1 == len(history["loss"]) <= 3
            assert len(history["val_loss"]) == len(history["loss"])
    page = (out_dir / "verification.html").read_text()
    assert "Content-Security-Policy" in page and "data:image/png;base64," in page
    assert page.count("<figure") == 2  # one overlay per fix
    md = (out_dir / "verification.md").read_text()
    assert "| dropout(rate=0.2) |" in md.replace("\\", "")
    assert (out_dir / "verification_files" / "fix1.png").stat().st_size > 1000


def test_add_data_reports_a_learning_curve(tiny_spec, tmp_path):
    result, out = invoke(
        ["verify", tiny_spec, "--fix", "add-data:fractions=0.5", "--seeds", "2", "--epochs", "2",
         "-o", tmp_path / "o"]
    )  # fmt: skip
    assert result.exit_code == 0, out
    assert "add-data" in out and "Twice the data (120 samples)" in out
    assert list((tmp_path / "o").glob("add-data*@50pct/seed2/history.json"))


def test_from_log_verifies_advice_or_says_it_falls_back(tiny_spec, tmp_path):
    log = REPO / "sample_logs" / "overfit" / "tensorboard"  # the Keras TensorBoard callback
    result, out = invoke(
        ["verify", tiny_spec, "--from-log", log, "--seeds", "2", "--epochs", "2", "-o", tmp_path]
    )
    assert result.exit_code == 0, out
    assert "verifying advice #" in out or "verifying the default fixes" in out


def test_usage_errors_are_one_line(tiny_spec, tmp_path):
    result, out = invoke(["verify", tiny_spec, "--fix", "dropuot", "-o", tmp_path])
    assert result.exit_code == 2 and "unknown fix 'dropuot'" in out
    result, out = invoke(["verify", "-o", tmp_path])
    assert result.exit_code == 2 and "--demo" in out
    result, out = invoke(["verify", tiny_spec, "--cpus-per-run", "2", "-o", tmp_path])
    assert result.exit_code == 2 and "--cpus-per-run only apply with --backend ray" in out
    result, out = invoke(["verify", tiny_spec, "--backend", "slurm", "-o", tmp_path])
    assert result.exit_code == 2 and "--backend must be local or ray" in out
    bad = tmp_path / "bad.py"
    bad.write_text("def build_model():\n    pass\n")
    result, out = invoke(["verify", bad, "--fix", "dropout", "-o", tmp_path])
    assert result.exit_code == 2 and "must define load_data()" in out
    assert "Traceback" not in out
    linear = tmp_path / "linear.py"
    linear.write_text(
        textwrap.dedent(TINY).replace('keras.layers.Dense(12, activation="relu"),', "")
    )
    result, out = invoke(["verify", linear, "--fix", "dropout", "-o", tmp_path / "lin"])
    assert result.exit_code == 2 and "dropout: the model has no hidden Dense/Conv layer" in out
    assert not (tmp_path / "lin" / "baseline").exists()  # refused before any training


def test_without_keras_says_which_extra_to_install(tiny_spec):
    code = (
        "import sys; sys.modules['keras'] = None; sys.modules['tensorflow'] = None\n"
        "from loganalyzer.cli import main\n"
        f"sys.argv = ['loganalyzer', 'verify', {str(tiny_spec)!r}, '--fix', 'dropout']\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "pip install 'loganalyzer[verify]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_interrupt_keeps_finished_seeds(tiny_spec, tmp_path):
    from loganalyzer.verify.experiment import Progress, verify
    from loganalyzer.verify.fixes import parse_fix
    from loganalyzer.verify.spec import load_spec

    class StopInSeed2(Progress):
        seed = None

        def run_started(self, label, seed):
            self.seed = seed

        def epoch_done(self):
            if self.seed == 2:
                raise KeyboardInterrupt

    result = verify(
        load_spec(tiny_spec), [parse_fix("dropout")], seeds=3, epochs=2,
        out_dir=tmp_path, progress=StopInSeed2(),
    )  # fmt: skip
    assert result.interrupted
    assert result.seeds == [1]
    assert {(r.label, r.seed) for r in result.runs} == {("baseline", 1), ("dropout", 1)}
    assert result.variants[0].comparisons["best_val_loss"].n == 1
    assert any("interrupted" in n for n in result.notes)


@pytest.mark.slow
def test_demo_loop_finds_the_overfitting_and_a_fix_that_helped(tmp_path):
    # 3 seeds instead of the loop's 5 (a fast test): one fix needs no Holm correction,
    # and the demo's rise after epoch ~8 is large enough for 3 pairs.
    args = ["--rounds", "1", "--top", "1", "--seeds", "3"]
    result, out = invoke(["verify", "--demo", *args, "-o", tmp_path])
    assert result.exit_code == 0, out
    assert "Round 1 — the model as given" in out and "overfitting" in out
    helped = [line for line in out.splitlines() if ": helped — " in line]
    assert helped, out
    assert "95 % CI of the ratio [×" in out and "applied " in out
    assert (tmp_path / "verification.html").exists()


def test_from_log_uses_the_advice_params(monkeypatch, tmp_path):
    """The top testable advice becomes the fix, with the numbers the advice computed."""
    import pandas as pd

    import loganalyzer.analysis as analysis
    from loganalyzer.commands.verify import requests_from_log
    from loganalyzer.findings import Advice
    from loganalyzer.run import Run

    run = Run.from_frame(
        "r", pd.DataFrame({"loss": [1.0, 0.5], "val_loss": [1.0, 1.2]}),
        format="keras-json", index="epoch",
    )  # fmt: skip
    advice = [
        Advice("check-data", 1, ["LA108"], "", "", {}),
        Advice("early-stopping", 2, ["LA101"], "", "",
               {"monitor": "val_loss", "patience": 4, "min_delta": 0.002, "mode": "min",
                "restore_best_weights": True, "would_stop_at": 12, "best_index": 8,
                "epochs_saved": 37}),
        Advice("regularize", 3, ["LA101"], "", "", {"kind": "l2", "factor": 1e-4}),
    ]  # fmt: skip
    fake = analysis.Analysis(runs=[analysis.RunResult(run=run, advice=advice)])
    monkeypatch.setattr(analysis, "analyze", lambda *a, **k: fake)
    requests, motivating, notes = requests_from_log(tmp_path / "log.json", top=2)
    assert [r.action for r in requests] == ["early-stopping", "regularize"]
    assert requests[0].resolved()["patience"] == 4
    assert requests[0].resolved()["min_delta"] == 0.002
    assert "would_stop_at" not in requests[0].resolved()
    assert requests[1].resolved() == {"kind": "l2", "factor": 1e-4}
    assert motivating[requests[0].label] == ["LA101"]
    assert any("#1 check-data is not verified: it asks you to inspect" in n for n in notes)
    advice[0] = Advice("train-longer", 1, ["LA107"], "", "", {"extra_epochs": 10})
    requests, _, _ = requests_from_log(tmp_path / "log.json", top=1)
    assert requests[0].label == "train-longer(extra_epochs=10)"  # a longer budget: testable
    # No advice at all: fall back to defaults and say so.
    monkeypatch.setattr(
        analysis, "analyze", lambda *a, **k: analysis.Analysis(runs=[analysis.RunResult(run=run)])
    )
    requests, _, notes = requests_from_log(tmp_path / "log.json", top=1)
    assert [r.action for r in requests] == ["early-stopping", "regularize"]
    assert any("default fixes" in n for n in notes)


def test_tf_data_datasets_and_add_data(tmp_path):
    import numpy as np
    import tensorflow as tf

    from loganalyzer.verify.experiment import verify
    from loganalyzer.verify.fixes import parse_fix
    from loganalyzer.verify.spec import spec_from_functions

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = x[:, :1]

    def build_model():
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4), keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        return model

    def load_data():
        train = tf.data.Dataset.from_tensor_slices((x[:48], y[:48])).batch(8)
        val = tf.data.Dataset.from_tensor_slices((x[48:], y[48:])).batch(8)
        return train, val

    spec = spec_from_functions("ds", build_model, load_data)
    assert spec.data.is_dataset and spec.data.n_train() == 6  # batches
    result = verify(
        spec, [parse_fix("add-data:fractions=0.5")], seeds=2, epochs=2, out_dir=tmp_path
    )
    curve = result.variants[0].curve
    assert curve.fractions == [0.5, 1.0] and curve.sizes == [3.0, 6.0]
    assert len(curve.per_seed[0.5]) == 2 and curve.fit is not None


def test_registering_verify_imports_no_tensorflow():
    """The verify command lives in the CLI, but only running it imports TensorFlow/Keras."""
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from loganalyzer.cli import app\n"
        "res = CliRunner().invoke(app, ['verify', '--help'])\n"
        "assert res.exit_code == 0, res.output\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'matplotlib', 'ray') if m in sys.modules]\n"
        "print(','.join(heavy) or 'none')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "none"


def test_analyze_never_imports_tensorflow_keras_or_ray():
    """Reading and analysing logs stays light even with the verify and ray extras installed."""
    code = (
        "import contextlib, io, sys\n"
        "from loganalyzer.cli import app\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        app(['analyze', {str(REPO / 'sample_logs')!r}, '--format', 'json'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "import loganalyzer.verify.backends, loganalyzer.verify.loop\n"  # importable, still light
        "heavy = [m for m in ('tensorflow', 'keras', 'ray') if m in sys.modules]\n"
        "print(','.join(heavy) or 'none')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "none"

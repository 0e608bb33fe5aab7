"""``plateau``: which stalls are warnings and which are context.

- a stall after real learning that a large fall ended on its own (no learning-rate
  drop) is a warning: the run lost that stretch;
- the same shape ended by a learning-rate drop is info;
- a slow start at chance level (loss ln 2, accuracy ~0.5) is a slow start, not a stall;
- a noisy curve that still falls significantly is not "never improved".
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from loganalyzer import analyze
from loganalyzer.analysis import to_run
from loganalyzer.detectors.plateau import detect
from loganalyzer.rulepack import rule_by_code

RULE = rule_by_code("LA104")


def _stall(n: int = 50) -> np.ndarray:
    t = np.arange(n, dtype=float)
    a, b, c = int(0.2 * n), int(0.6 * n), int(0.75 * n)
    y = np.empty(n)
    y[: a + 1] = 1.0 + 1.0 * np.exp(-t[: a + 1] / (a / 3))
    level = y[a]
    y[a : b + 1] = level
    y[b : c + 1] = np.linspace(level, 0.5 * level, c - b + 1)
    y[c:] = 0.5 * level
    return y * (1 + 0.003 * np.random.default_rng(0).standard_normal(n))


def _warnings(run):
    return [f for f in detect(run, RULE, {}) if f.severity != "info"]


def test_a_mid_run_stall_that_ends_on_its_own_is_a_warning():
    y = _stall()
    (f,) = _warnings(to_run({"loss": y.tolist()}))
    assert f.metric == "loss"
    assert 8 <= f.start <= 12 and 26 <= f.end <= 32
    assert f.evidence["lr_drop_index"] is None


def test_the_same_stall_ended_by_a_learning_rate_drop_is_info():
    y = _stall()
    lr = [1e-3] * 30 + [1e-4] * 20
    found = detect(to_run({"loss": y.tolist(), "learning_rate": lr}), RULE, {})
    assert found and all(f.severity == "info" for f in found)
    assert any(f.evidence["lr_drop_index"] == 30 for f in found)


def test_a_slow_start_at_the_binary_chance_level_is_not_a_warning():
    n = 60
    y = _stall(n)
    a, b = int(0.2 * n), int(0.6 * n)
    y[:a] = np.linspace(1.1, math.log(2), a)
    y[a : b + 1] = math.log(2) * (1 + 0.002 * np.sin(np.arange(b - a + 1)))
    acc = np.where(np.arange(n) <= b, 0.5, 0.8).tolist()
    assert _warnings(to_run({"loss": y.tolist(), "accuracy": acc})) == []


def test_a_noisy_curve_that_still_falls_is_not_never_improved():
    rng = np.random.default_rng(3)
    t = np.arange(30)
    y = (1.6 - 0.5 * t / 29) * (1 + 0.15 * rng.standard_normal(30))
    found = detect(to_run({"loss": y.tolist()}), RULE, {})
    assert not any("never improved" in f.message and f.severity == "warning" for f in found)


def test_a_loss_that_never_moves_is_still_a_warning():
    rng = np.random.default_rng(4)
    y = 1.5 * (1 + 0.01 * rng.standard_normal(30))
    (f,) = _warnings(to_run({"loss": y.tolist()}))
    assert "never improved" in f.message


def test_a_flat_tail_from_mid_run_is_a_converged_tail_not_never_improved():
    rng = np.random.default_rng(5)
    t = np.arange(100)
    y = (1.0 + np.exp(-t / 8)) * (1 + 0.1 * rng.standard_normal(100))
    found = detect(to_run({"loss": y.tolist()}), RULE, {})
    assert all(f.severity == "info" for f in found)
    assert not any("never improved" in f.message for f in found)


REAL = Path(__file__).resolve().parents[2] / "shared" / "real_logs"
CREEP = (
    REAL
    / "DeepDiagnosis__ICSE2022"
    / "difference threshold"
    / "Circle"
    / "model_random_0db8c740-c4e4-478a-be86-eec69fe6023e"
    / "tmp"
    / "log_dir"
    / "log.csv"
)


@pytest.mark.skipif(not CREEP.is_file(), reason="real logs not found beside the repo")
def test_a_slow_creep_is_one_stretch_not_back_to_back_stalls():
    # This real run's validation loss creeps from 0.697 at epoch 6 to 0.684 at 56 (under
    # 1 % per 25 epochs, at ln 2) and then learns: one slow stretch of the monitored
    # curve, not "stalled, then improved again on its own" twice in a row.
    (run,) = analyze(str(CREEP)).runs
    found = [f for f in run.findings if f.kind == "plateau"]
    assert {f.metric for f in found} == {"val_loss"}  # the monitored loss only
    spans = sorted((f.start, f.end) for f in found)
    assert len(spans) == 1, spans
    assert spans[0][0] <= 6 and spans[0][1] >= 50

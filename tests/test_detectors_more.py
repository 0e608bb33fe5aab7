"""Detectors LA106-LA109: underfitting, undertrained, val-below-train, metric-disagreement.

Crafted curves with a known truth (positive, healthy/converged negatives, edge cases),
the sample logs, and the real logs labelled healthy.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import loganalyzer
from loganalyzer.analysis import to_run
from loganalyzer.detectors import detector_for
from loganalyzer.rulepack import rule_by_code
from loganalyzer.run import Run

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_logs"
REAL = Path(__file__).resolve().parents[2] / "shared" / "real_logs"

CODES = {
    "underfitting": "LA106",
    "undertrained": "LA107",
    "val-below-train": "LA108",
    "metric-disagreement": "LA109",
}
MINE = set(CODES)


def run_kind(kind: str, run: Run, **params) -> list:
    rule = rule_by_code(CODES[kind])
    assert rule.kind == kind
    return detector_for(kind)(run, rule, params)


def exp_curve(n: int, floor: float, tau: float, amp: float = 1.0) -> np.ndarray:
    return floor + amp * np.exp(-np.arange(n) / tau)


def noisy(y: np.ndarray, sd: float, seed: int = 0) -> list[float]:
    return list(y + np.random.default_rng(seed).normal(0, sd, len(y)))


def step_run(frame: dict, every: int = 10) -> Run:
    n = len(next(iter(frame.values())))
    df = pd.DataFrame(frame, index=pd.Index(np.arange(n) * every, name="step"))
    return Run.from_frame("steps", df, format="python", index="step")


# ---------------------------------------------------------------- rule pack wiring
def test_rules_exist_with_defaults_matching_the_detectors():
    from importlib import import_module

    for kind, code in CODES.items():
        rule = rule_by_code(code)
        module = import_module(f"loganalyzer.detectors.{kind.replace('-', '_')}")
        assert module.KIND == kind
        assert rule.params == module.DEFAULTS, code
        assert rule.docs.keys() >= {"what", "why", "fix", "example"}
    assert rule_by_code("LA108").severity == "info"
    assert [a.action for a in rule_by_code("LA107").advice][0] == "train-longer"
    assert "shrink" not in {a.action for a in rule_by_code("LA106").advice}


# ---------------------------------------------------------------- underfitting
def underfit_curves(n: int = 40) -> dict:
    # A linear model on a nonlinear target: fast drop, then flat high; val right beside.
    loss = np.r_[[1.67, 0.41], np.full(n - 2, 0.316) + 0.0001 * np.arange(n - 2)]
    val = np.r_[[0.6, 0.333], np.full(n - 2, 0.33)]
    return {"loss": noisy(loss, 0.0005), "val_loss": noisy(val, 0.0005, 1)}


def test_underfitting_flags_an_early_high_plateau_with_val_beside_it():
    (f,) = run_kind("underfitting", to_run(underfit_curves()))
    assert f.severity == "warning" and f.metric == "loss"
    assert 1 <= f.start <= 3 and f.end == 39
    ev = f.evidence
    assert set(ev) == {
        "final_train_loss",
        "best_train_loss",
        "chance_level",
        "gap_at_end",
        "start_train_loss",
    }
    assert ev["chance_level"] is None
    assert ev["final_train_loss"] == pytest.approx(0.32, abs=0.01)
    assert ev["gap_at_end"] == pytest.approx(0.01, abs=0.006)
    assert "capacity" in f.message


def test_underfitting_at_chance_level_needs_the_accuracy_to_agree():
    loss = noisy(np.r_[2.4, np.full(29, math.log(10))], 0.002)
    with_acc = to_run({"loss": loss, "accuracy": noisy(np.full(30, 0.1), 0.005)})
    (f,) = run_kind("underfitting", with_acc)
    assert f.evidence["chance_level"] == pytest.approx(math.log(10))
    assert "ln(10)" in f.message
    # A loss of 2.30 alone is no evidence of chance (and there is no val to compare).
    assert run_kind("underfitting", to_run({"loss": loss})) == []
    # An accuracy well above 1/k says the model learned something.
    good_acc = to_run({"loss": loss, "accuracy": noisy(np.full(30, 0.6), 0.005)})
    assert run_kind("underfitting", good_acc) == []


def test_underfitting_silent_on_healthy_converged_runs():
    t = np.arange(50)
    # A stable generalisation gap: the model fits training data better than validation.
    healthy = {
        "loss": noisy(exp_curve(50, 0.03, 4, 0.35), 0.0005),
        "val_loss": noisy(exp_curve(50, 0.055, 4, 0.2), 0.0005, 1),
    }
    assert run_kind("underfitting", to_run(healthy)) == []
    # Val right beside train, but training accuracy says the model fits (99.5 %).
    fitted = dict(underfit_curves())
    fitted["accuracy"] = list(0.995 - 0.3 * np.exp(-t[:40] / 2))
    assert run_kind("underfitting", to_run(fitted)) == []
    # Still improving steadily: not flat for most of the run.
    improving = {"loss": list(exp_curve(40, 0.1, 30)), "val_loss": list(exp_curve(40, 0.11, 30))}
    assert run_kind("underfitting", to_run(improving)) == []
    # Fell by 99 %: flat late in a run, but not "high".
    deep = {"loss": list(exp_curve(40, 0.005, 2)), "val_loss": list(exp_curve(40, 0.0052, 2))}
    assert run_kind("underfitting", to_run(deep)) == []


def test_underfitting_edge_cases():
    curves = underfit_curves()
    # No validation loss: only the chance-level branch could speak.
    assert run_kind("underfitting", to_run({"loss": curves["loss"]})) == []
    # A loss that never moved, with validation beside it, learned nothing: both losses
    # "flatten high and close together" (the real-log rubric; N-BEATS run 222 went from
    # 1.348 to 1.343 with val_loss 1.375 -> 1.374 and is labelled under-fitting).
    (f,) = run_kind("underfitting", to_run({"loss": [1.0] * 20, "val_loss": [1.0] * 20}))
    assert f.evidence["reason"] == "no-learning"
    # Negative losses have no "high".
    neg = {k: [-v for v in vals] for k, vals in curves.items()}
    assert run_kind("underfitting", to_run(neg)) == []
    # A diverged run (NaN at the end) is for the divergence rule.
    nan_tail = {k: list(v[:-3]) + [float("nan")] * 3 for k, v in curves.items()}
    assert run_kind("underfitting", to_run(nan_tail)) == []
    # A zero learning rate throughout: "not learning".
    zero_lr = dict(curves, learning_rate=[0.0] * 40)
    assert run_kind("underfitting", to_run(zero_lr)) == []


# ---------------------------------------------------------------- undertrained
def test_undertrained_flags_a_val_loss_still_falling_at_the_end():
    val = exp_curve(30, 0.3, 40)
    run = to_run({"loss": noisy(val - 0.05, 0.002), "val_loss": noisy(val, 0.002, 1)})
    (f,) = run_kind("undertrained", run)
    assert f.severity == rule_by_code("LA107").severity and f.metric == "val_loss" and f.end == 29
    assert 22 <= f.start <= 24  # the last fifth
    ev = f.evidence
    assert set(ev) == {
        "metric",
        "best_index",
        "best_value",
        "window_start",
        "window_start_value",
        "recent_improvement_pct",
        "slope",
    }
    assert ev["metric"] == "val_loss" and ev["best_index"] == 29 and ev["slope"] < 0
    assert ev["recent_improvement_pct"] > 5
    # the numbers quoted are the log's own: the best and the value 20 % before the end
    assert ev["best_value"] == run.metrics["val_loss"].iloc[-1]
    assert ev["window_start_value"] == run.metrics["val_loss"].loc[ev["window_start"]]
    json.dumps(f.to_dict(), allow_nan=False)


def test_undertrained_monitors_training_loss_without_validation():
    (f,) = run_kind("undertrained", to_run({"loss": noisy(exp_curve(20, 0.2, 30), 0.003)}))
    assert f.metric == "loss" and f.evidence["metric"] == "loss"


def test_undertrained_silent_when_converged_flat_noisy_or_overfitting():
    # Converged: an exponential approach long finished (tiny improvement per epoch).
    conv = exp_curve(40, 0.15, 5)
    run = to_run({"loss": list(conv - 0.05), "val_loss": list(conv)})
    assert run_kind("undertrained", run) == []
    # Flat noise around a level.
    flat = noisy(np.full(40, 0.5), 0.02)
    assert run_kind("undertrained", to_run({"loss": flat, "val_loss": flat})) == []
    # Training still falls but validation turned up: overfitting, not undertrained.
    t = np.arange(40)
    val = 0.5 + 0.5 * np.exp(-t / 4) + 0.01 * np.maximum(t - 12, 0)
    run = to_run({"loss": list(np.exp(-t / 10)), "val_loss": noisy(val, 0.003)})
    assert run_kind("undertrained", run) == []
    # Creeping down by 0.2 % over the last third: significant but not worth more epochs.
    creep = 1.0 - 0.0001 * t
    assert run_kind("undertrained", to_run({"loss": list(creep), "val_loss": list(creep)})) == []


def test_undertrained_on_long_step_logs_and_edge_cases():
    n = 100_000
    x = np.arange(n)
    rng = np.random.default_rng(3)
    frame = {
        "loss": 1 + np.exp(-x / 50_000) + rng.normal(0, 0.05, n),
        "val_loss": 1.1 + np.exp(-x / 50_000) + rng.normal(0, 0.05, n),
    }
    (f,) = run_kind("undertrained", step_run(frame))
    assert f.end == (n - 1) * 10  # the log's own step numbering
    assert 780_000 <= f.start <= 820_000  # the last fifth
    # Same length, converged long ago.
    frame = {k: v - np.exp(-x / 50_000) + np.exp(-x / 2_000) for k, v in frame.items()}
    assert run_kind("undertrained", step_run(frame)) == []
    # Three points: too short to claim a trend.
    assert (
        run_kind("undertrained", to_run({"loss": [1, 0.8, 0.6], "val_loss": [1, 0.9, 0.8]})) == []
    )
    # A run that ends in NaN diverged; it is not undertrained.
    val = list(exp_curve(20, 0.3, 40)) + [float("nan")]
    assert run_kind("undertrained", to_run({"val_loss": val, "loss": val})) == []
    # Negative losses (SI-SNR style) still falling.
    neg = -10 - 5 * (1 - np.exp(-np.arange(40) / 60))
    (f,) = run_kind("undertrained", to_run({"loss": noisy(neg, 0.01)}))
    assert f.evidence["slope"] < 0


# ---------------------------------------------------------------- val-below-train
def test_val_below_train_is_an_info_note_with_a_visible_gap():
    loss = exp_curve(30, 0.3, 8)
    run = to_run({"loss": list(loss), "val_loss": list(0.8 * loss)})
    (f,) = run_kind("val-below-train", run)
    assert f.severity == "info"
    assert f.evidence == {"fraction_below": 1.0, "median_ratio": 0.8, "near_identical": False}
    assert "dropout" in f.message and "averaged" in f.message and "augmentation" in f.message
    assert (f.start, f.end) == (0, 29)


def test_val_below_train_near_identical_is_a_leakage_warning():
    loss = exp_curve(30, 0.3, 8)
    run = to_run({"loss": list(loss), "val_loss": list(0.997 * loss)})
    (f,) = run_kind("val-below-train", run)
    assert f.severity == "warning" and f.evidence["near_identical"] is True
    assert "leakage" in f.message


def test_val_below_train_not_leakage_when_both_sit_at_chance():
    k = math.log(3)
    loss = noisy(np.full(40, k + 0.001), 0.0005)
    run = to_run({"loss": loss, "val_loss": [v - 0.002 for v in loss], "accuracy": [0.34] * 40})
    (f,) = run_kind("val-below-train", run)
    assert f.severity == "info" and f.evidence["near_identical"] is False


def test_val_below_train_silent_when_val_is_above_or_mostly_above():
    loss = exp_curve(30, 0.3, 8)
    assert (
        run_kind("val-below-train", to_run({"loss": list(loss), "val_loss": list(1.2 * loss)}))
        == []
    )
    # Below for only the first 60 % of the run (train averaged over early epochs).
    val = np.where(np.arange(30) < 18, 0.9 * loss, 1.1 * loss)
    assert run_kind("val-below-train", to_run({"loss": list(loss), "val_loss": list(val)})) == []


def test_val_below_train_edge_cases():
    # Identical zero losses: nothing is below anything.
    assert run_kind("val-below-train", to_run({"loss": [0.0] * 10, "val_loss": [0.0] * 10})) == []
    # Negative losses: compared by value, no ratio.
    neg = -5 - np.arange(20) * 0.1
    (f,) = run_kind("val-below-train", to_run({"loss": list(neg), "val_loss": list(neg - 1)}))
    assert f.evidence["median_ratio"] is None and f.evidence["fraction_below"] == 1.0
    # Three points, NaN-only validation, no validation: silent.
    short = to_run({"loss": [1, 0.8, 0.7], "val_loss": [0.5, 0.4, 0.3]})
    assert run_kind("val-below-train", short) == []
    assert (
        run_kind("val-below-train", to_run({"loss": [1.0] * 8, "val_loss": [math.nan] * 8})) == []
    )
    assert run_kind("val-below-train", to_run({"loss": [1.0] * 8})) == []


def test_val_below_train_pairs_step_logs_with_different_cadences():
    # Training logged every 10 steps, evaluation every 100 (HF/Lightning style).
    n = 1000
    x = np.arange(n) * 10
    loss = 0.5 + np.exp(-x / 3000)
    val = np.full(n, np.nan)
    val[::10] = 0.85 * loss[::10]
    (f,) = run_kind("val-below-train", step_run({"loss": loss, "val_loss": val}))
    assert f.evidence["fraction_below"] == 1.0 and f.evidence["median_ratio"] == pytest.approx(
        0.85, abs=0.01
    )


# ---------------------------------------------------------------- metric-disagreement
def overconfident(n: int = 40, seed: int = 0) -> dict:
    t = np.arange(n)
    val = 0.5 + 0.5 * np.exp(-t / 4) + 0.01 * np.maximum(t - 10, 0)
    acc = 0.9 - 0.4 * np.exp(-t / 8)
    return {
        "loss": list(np.exp(-t / 10)),
        "val_loss": noisy(val, 0.005, seed),
        "val_accuracy": noisy(acc, 0.003, seed + 1),
    }


def test_metric_disagreement_flags_accuracy_rising_while_val_loss_rises():
    (f,) = run_kind("metric-disagreement", to_run(overconfident()))
    ev = f.evidence
    assert set(ev) == {
        "metric",
        "loss_best_index",
        "metric_best_index",
        "metric_trend_p",
        "suggested_monitor",
    }
    assert ev["metric"] == ev["suggested_monitor"] == "val_accuracy"
    assert 8 <= ev["loss_best_index"] <= 14
    assert ev["metric_best_index"] >= 30
    assert ev["metric_trend_p"] < 0.001
    assert f.start == ev["loss_best_index"] and f.end == 39
    assert 'mode "max"' in f.message


def test_metric_disagreement_drives_the_early_stopping_monitor():
    result = loganalyzer.analyze(overconfident())
    kinds = {f.kind for f in result.findings}
    assert "metric-disagreement" in kinds
    stop = [a for a in result.advice if a.action == "early-stopping"]
    assert stop and stop[0].params["monitor"] == "val_accuracy"
    assert stop[0].params["mode"] == "max"


def test_metric_disagreement_silent_without_disagreement():
    data = overconfident()
    t = np.arange(40)
    # Accuracy saturates with the loss's best: they agree.
    agree = dict(data, val_accuracy=noisy(0.8 - 0.3 * np.exp(-t / 3), 0.003))
    assert run_kind("metric-disagreement", to_run(agree)) == []
    # Val loss not rising: nothing to disagree with.
    fine = dict(data, val_loss=list(0.5 + 0.5 * np.exp(-t / 4)))
    assert run_kind("metric-disagreement", to_run(fine)) == []
    # An error metric (lower is better) that grows is not an "improving" metric.
    err = {k: v for k, v in data.items() if k != "val_accuracy"}
    err["val_mae"] = list(0.1 + 0.01 * t)
    assert run_kind("metric-disagreement", to_run(err)) == []
    # No validation metric at all, three points, all NaN.
    assert run_kind("metric-disagreement", to_run({k: data[k] for k in ("loss", "val_loss")})) == []
    short = to_run(
        {"loss": [1, 0.5, 0.4], "val_loss": [1, 0.9, 1.1], "val_accuracy": [0.5, 0.6, 0.7]}
    )
    assert run_kind("metric-disagreement", short) == []
    nan = to_run({"val_loss": [math.nan] * 10, "val_accuracy": [0.5] * 10})
    assert run_kind("metric-disagreement", nan) == []


def test_metric_disagreement_other_higher_is_better_metrics_and_preference():
    data = overconfident()
    auc = {k: v for k, v in data.items() if k != "val_accuracy"}
    auc["val_auc"] = data["val_accuracy"]
    (f,) = run_kind("metric-disagreement", to_run(auc))
    assert f.evidence["suggested_monitor"] == "val_auc"
    both = dict(auc, val_accuracy=data["val_accuracy"])
    (f,) = run_kind("metric-disagreement", to_run(both))
    assert f.evidence["suggested_monitor"] == "val_accuracy"


# ---------------------------------------------------------------- all four: edge cases
@pytest.mark.parametrize(
    "data",
    [
        {"loss": [1.0, 0.7, 0.6], "val_loss": [1.1, 0.8, 0.9], "val_accuracy": [0.5, 0.6, 0.7]},
        {"loss": [math.nan] * 12, "val_loss": [math.nan] * 12},
        {"loss": [0.0] * 12, "val_loss": [0.0] * 12, "val_accuracy": [1.0] * 12},
        {"loss": [2.0] * 12, "val_loss": [2.0] * 12, "accuracy": [0.5] * 12},
        {
            "loss": [1e30, 1.0, 0.9, math.inf, 0.8, 0.7, 0.7],
            "val_loss": [5.0, 1.0, 0.9, 0.9, 0.8, 0.8, 0.8],
        },
    ],
    ids=["3-points", "all-nan", "zeros", "constant", "huge-first-and-inf"],
)
def test_edge_cases_never_raise_and_make_no_claims(data):
    run = to_run(data)
    for kind in MINE:
        for f in run_kind(kind, run):
            json.dumps(f.to_dict(), allow_nan=False)
            assert f.severity in ("info", "warning")
            assert kind != "metric-disagreement", f.message
            # A loss that never moves with accuracy stuck at 0.5 learned nothing: the
            # rubric's under-fitting (both losses flat high and close), no other data.
            assert kind != "underfitting" or data["loss"] == [2.0] * 12, f.message


# ---------------------------------------------------------------- files
def mine_above_info(path: Path) -> list[str]:
    out = []
    for r in loganalyzer.analyze(path).runs:
        out += [
            f"{f.kind}: {f.message}" for f in r.findings if f.kind in MINE and f.severity != "info"
        ]
    return out


def test_sample_healthy_has_none_of_these_above_info():
    for name in ("history.json", "training.csv"):
        assert mine_above_info(SAMPLES / "healthy" / name) == []
        # Converged: not even the (info) undertrained note.
        (r,) = loganalyzer.analyze(SAMPLES / "healthy" / name).runs
        assert not [f for f in r.findings if f.kind == "undertrained"]


def test_sample_underfitting_is_flagged_underfitting():
    for name in ("history.json", "training.csv"):
        (r,) = loganalyzer.analyze(SAMPLES / "underfitting" / name).runs
        under = [f for f in r.findings if f.kind == "underfitting"]
        assert len(under) == 1 and under[0].severity == "warning"
        assert under[0].start <= 3  # flat from the first epochs
        assert not [f for f in r.findings if f.kind == "undertrained"]


def test_sample_overfit_is_not_undertrained_nor_underfitting():
    (r,) = loganalyzer.analyze(SAMPLES / "overfit" / "history.json").runs
    assert not {f.kind for f in r.findings} & {"undertrained", "underfitting", "val-below-train"}


def test_real_healthy_logs_have_no_warning_of_these_kinds():
    gallery = REAL / "Mormolykos__trainproof" / "examples" / "gallery" / "healthy"
    if not gallery.is_dir():
        pytest.skip(f"real logs not present at {REAL} (clone shared/ beside the repo)")
    paths = sorted(gallery.rglob("trainer_state.json"))
    assert len(paths) == 3
    for path in paths:
        assert mine_above_info(path) == [], path
        (r,) = loganalyzer.analyze(path).runs
        assert not [f.message for f in r.findings if f.kind in MINE], path


def test_underfitting_not_claimed_for_a_bouncing_optimiser():
    # Flat on average but swinging by ~6 % of its level: noisy, not a weak model.
    loss = noisy(np.r_[1.5, np.full(39, 0.93)], 0.06, 5)
    val = noisy(np.r_[1.0, np.full(39, 0.9)], 0.06, 6)
    assert run_kind("underfitting", to_run({"loss": loss, "val_loss": val})) == []
    # The same plateau, calm: under-fitting.
    calm = {
        "loss": list(np.r_[1.5, np.full(39, 0.93)]),
        "val_loss": list(np.r_[1.0, np.full(39, 0.94)]),
    }
    assert len(run_kind("underfitting", to_run(calm))) == 1


def test_underfitting_survives_a_huge_first_epoch_but_not_a_jump_up():
    curves = underfit_curves()
    huge = dict(curves, loss=[150.0] + curves["loss"][1:])
    (f,) = run_kind("underfitting", to_run(huge))
    assert f.evidence["final_train_loss"] == pytest.approx(0.32, abs=0.01)
    # Learned down to 0.43, then jumped to ln(10) and stayed: that is divergence.
    loss = list(exp_curve(13, 0.4, 3, 1.5)) + [math.log(10)] * 17
    dead = {"loss": loss, "val_loss": [v * 1.01 for v in loss], "accuracy": [0.1] * 30}
    assert run_kind("underfitting", to_run(dead)) == []


def test_metric_disagreement_on_a_twelve_epoch_log():
    val = [2.38, 1.54, 1.05, 0.80, 0.66, 0.59, 0.584, 0.581, 0.62, 0.66, 0.67, 0.70]
    acc = [0.55, 0.69, 0.76, 0.80, 0.82, 0.838, 0.837, 0.848, 0.85, 0.857, 0.865, 0.869]
    loss = [2.3, 1.7, 1.2, 0.88, 0.64, 0.48, 0.37, 0.28, 0.21, 0.16, 0.13, 0.11]
    run = to_run({"loss": loss, "val_loss": val, "val_accuracy": acc})
    (f,) = run_kind("metric-disagreement", run)
    assert f.evidence["loss_best_index"] == 7 and f.evidence["metric_best_index"] == 11


# ---------------------------------------------------------------- divergence
def test_a_loss_nan_from_the_first_epoch_is_a_divergence_error(tmp_path):
    # SGD with lr=5: Keras logs loss and val_loss as NaN for every epoch while the
    # accuracy columns keep their (chance) values.
    n = 30
    hist = {
        "accuracy": [0.24] * n,
        "loss": [float("nan")] * n,
        "val_accuracy": [0.26] * n,
        "val_loss": [float("nan")] * n,
    }
    path = tmp_path / "history.json"
    path.write_text(json.dumps(hist))  # writes bare NaN tokens, as Keras users do
    result = loganalyzer.analyze(str(path))
    (run,) = result.runs
    (f,) = [f for f in run.findings if f.kind == "divergence"]
    assert f.severity == "error" and f.start == 0
    assert "non-finite from the first logged point" in f.message
    assert result.exit_code("error") == 1


def test_an_empty_column_is_still_not_logged(tmp_path):
    # A CSVLogger column that exists but was never written (empty or NA everywhere):
    # not a diverged run, and the reader says why it left the column out.
    path = tmp_path / "log.csv"
    path.write_text("epoch,loss,val_loss\n0,1.0,\n1,0.8,NA\n2,0.7,\n3,0.6,\n4,0.55,\n")
    result = loganalyzer.analyze(str(path))
    (rr,) = result.runs
    assert rr.run.val_loss is None and "val_loss" not in rr.run.metrics.columns
    assert "never logged" in rr.run.dropped["val_loss"]
    assert not [f for f in rr.findings if f.kind == "divergence"]


def test_a_validation_loss_nan_at_every_point_is_a_broken_pipeline(tmp_path):
    # Keras writes "nan" when the validation loss was computed and is NaN: that is a
    # finding (an error), never a column dropped without a word.
    path = tmp_path / "log.csv"
    rows = "".join(f"{i},{1.0 - 0.1 * i},nan\n" for i in range(6))
    path.write_text("epoch,loss,val_loss\n" + rows)
    (rr,) = loganalyzer.analyze(str(path)).runs
    (f,) = [f for f in rr.findings if f.kind == "divergence"]
    assert f.severity == "error" and f.evidence["broken_validation"]
    assert "validation pipeline is broken" in f.message
    # The same from a DataFrame of NaN (the Python API): a computed NaN, kept.
    frame = pd.DataFrame({"loss": [1.0, 0.8, 0.7, 0.6, 0.55], "val_loss": [np.nan] * 5})
    run = Run.from_frame("nan-val", frame, format="python", index="epoch")
    assert run.val_loss == "val_loss"


def test_a_loss_hovering_9_percent_above_an_early_best_is_no_blow_up():
    # Real Keras run (SGD, batch 2, XOR): best 0.459 at epoch 2, then ~0.50 with one
    # bump to 0.545. Flat and weak, not diverged.
    loss = [0.529, 0.468, 0.459, 0.475, 0.494, 0.503, 0.494, 0.498, 0.5, 0.496, 0.504, 0.504]
    loss += [0.5, 0.496, 0.493, 0.487, 0.504, 0.482, 0.508, 0.495, 0.5, 0.496, 0.499, 0.508]
    loss += [0.498, 0.496, 0.5, 0.545, 0.504, 0.503]
    result = loganalyzer.analyze({"loss": loss})
    assert "divergence" not in {f.kind for f in result.runs[0].findings}
    # ...while a real blow-up of the same run still is one
    blown = loss[:20] + [2.5, 3.1, 2.8, 3.3, 3.0, 2.9, 3.2, 3.1, 3.0, 3.4]
    found = loganalyzer.analyze({"loss": blown}).runs[0].findings
    (f,) = [f for f in found if f.kind == "divergence"]
    assert f.start == 20 and f.severity == "error"


def test_a_training_loss_drifting_up_through_noise_is_a_divergence():
    # Real Keras run (SGD, batch 4, learning rate too high): no clean jump, but the
    # training loss ends 3x its best and validation 5x.
    loss = [0.33, 0.42, 0.42, 0.39, 0.27, 0.38, 0.53, 0.55, 0.67, 0.99, 0.37, 0.46, 0.96, 0.53]
    val = [0.27, 0.38, 0.41, 0.48, 0.37, 0.57, 0.68, 0.79, 0.63, 0.92, 0.67, 1.26, 0.67, 1.19]
    result = loganalyzer.analyze({"loss": loss + [0.82], "val_loss": val + [1.29]})
    (f,) = [f for f in result.runs[0].findings if f.kind == "divergence"]
    assert f.severity == "error" and f.start == 4 and f.evidence["drift_index"] == 4
    assert "climbed back up" in f.message
    # the same swings scaled down by a falling factor end no higher: noisy, not diverging
    falling = [v * (1.5 - 0.06 * i) for i, v in enumerate(loss + [0.82])]
    assert "divergence" not in {
        f.kind for f in loganalyzer.analyze({"loss": falling}).runs[0].findings
    }


def test_a_loss_that_falls_through_zero_keeps_its_advice():
    # A likelihood loss that starts positive, sits at 0 and goes negative: the crawl
    # check (under-fitting, raise-lr) divided by its first tenth's level, 0, and the
    # whole advice of the run was lost to an internal error.
    from loganalyzer.analysis import analyze_run

    y = np.r_[1.0, 0.0, 0.0, -np.linspace(0.1, 2.7, 27)]
    result = analyze_run(to_run({"loss": y.tolist()}, name="nll"))
    assert result.failures == []
    assert result.advice, "the run's findings are advised on"

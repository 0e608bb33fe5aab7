"""The advice engine: which actions, in which order, with which numbers.

Most tests use a small in-test rule pack (``rules=PACK.get``) so they pin the engine's
behaviour independently of the shipped priorities; ``test_advice_pack.py`` checks the
real pack.
"""

from __future__ import annotations

import ast
import math

import numpy as np
import pytest

from loganalyzer.advice import AdviceContext, advise, build_action
from loganalyzer.analysis import to_run
from loganalyzer.findings import Finding
from loganalyzer.rulepack import ADVICE_ACTIONS, AdviceLink, Rule


def rule(code, kind, *links):
    return Rule(code, kind, "warning", kind, advice=tuple(AdviceLink(a, p) for a, p in links))


PACK = {
    "LA101": rule(
        "LA101",
        "overfitting",
        ("early-stopping", 1),
        ("regularize", 2),
        ("dropout", 2),
        ("augment", 3),
        ("shrink", 3),
        ("add-data", 4),
    ),
    "LA102": rule("LA102", "divergence", ("lower-lr", 1), ("clip-gradients", 2), ("check-data", 3)),
    "LA103": rule("LA103", "loss-spike", ("clip-gradients", 1), ("lower-lr", 2)),
    "LA104": rule("LA104", "plateau", ("lr-schedule", 1)),
    "LA105": rule("LA105", "noisy", ("lower-lr", 1), ("batch-norm", 3)),
    "LA107": rule("LA107", "undertrained", ("train-longer", 1)),
    "LA108": rule("LA108", "val-below-train", ("check-data", 1)),
}

VAL = [1.0, 0.8, 0.65, 0.6, 0.58, 0.6, 0.64, 0.7, 0.75, 0.8, 0.86, 0.9]
TRAIN = [1.0 - 0.07 * i for i in range(12)]


def overfit_finding(severity="error", gl=55.0):
    return Finding(
        "LA101",
        "overfitting",
        severity,
        "val_loss",
        4,
        11,
        "val_loss rose 55% after epoch 4",
        {"best_index": 4, "best_value": 0.58, "gl": gl, "grade": "clear"},
    )


def numbers_in(code: str) -> list[float]:
    """Every numeric literal in a snippet (which must be valid Python)."""
    tree = ast.parse(code)
    return [
        float(n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, (int, float))
    ]


def test_healthy_run_gets_nothing_to_fix():
    run = to_run({"loss": TRAIN, "val_loss": [v + 0.05 for v in TRAIN]})
    info = [
        Finding("LA100", "too-short", "info", "val_loss", None, None, "short"),
        Finding("LA108", "val-below-train", "info", "val_loss", 0, 11, "benign", {}),
        Finding("LA104", "plateau", "info", "val_loss", 8, 11, "converged"),
    ]
    assert advise(run, [], rules=PACK.get) == []
    assert advise(run, info, rules=PACK.get) == []


def test_overfit_run_ranked_by_priority_with_this_runs_numbers():
    run = to_run({"loss": TRAIN, "val_loss": VAL})
    advice = advise(run, [overfit_finding()], rules=PACK.get)
    actions = [a.action for a in advice]
    assert actions[0] == "early-stopping"
    assert set(actions) == {
        "early-stopping",
        "regularize",
        "dropout",
        "augment",
        "shrink",
        "add-data",
    }
    assert [a.rank for a in advice] == list(range(1, len(advice) + 1))
    # ties on priority keep the pack's action order
    assert actions.index("regularize") < actions.index("dropout")
    by = {a.action: a for a in advice}
    assert by["early-stopping"].params["would_stop_at"] == 6
    # GL 55 % -> L2 1e-4 * 10**0.55 = 3.5e-4 -> 4e-4 (one digit); dropout 0.1 + 0.4*0.55
    assert by["regularize"].params == {"kind": "l2", "factor": 0.0004}
    assert by["dropout"].params == {"rate": 0.3}
    assert by["shrink"].params == {"factor": 0.5}
    for a in advice:
        assert a.rules == ["LA101"]
        assert "LA101" in a.summary
        nums = numbers_in(a.code)  # valid Python
        for key, value in a.params.items():
            if isinstance(value, float) and key not in ("epochs_saved",):
                assert value in nums, (a.action, key, value, a.code)


def test_gap_scales_regularization():
    run = to_run({"loss": TRAIN, "val_loss": VAL})
    mild = {a.action: a for a in advise(run, [overfit_finding("warning", 5.0)], rules=PACK.get)}
    clear = {a.action: a for a in advise(run, [overfit_finding("error", 120.0)], rules=PACK.get)}
    assert mild["regularize"].params["factor"] < clear["regularize"].params["factor"] == 0.001
    assert mild["dropout"].params["rate"] < clear["dropout"].params["rate"] == 0.5
    assert mild["shrink"].params["factor"] == 0.75


def test_actions_deduped_and_rules_merged_and_severity_breaks_ties():
    t = np.arange(40)
    loss = 1 / (t + 1) + 0.05 * np.sin(t)
    loss[20] = 8.0
    run = to_run({"loss": loss, "val_loss": loss + 0.1, "learning_rate": np.full(40, 1e-3)})
    spike = Finding("LA103", "loss-spike", "warning", "loss", 20, 20, "spike", {"spikes": []})
    noisy = Finding("LA105", "noisy", "warning", "loss", 0, 39, "noisy", {"noise_to_trend": 5.0})
    div = Finding(
        "LA102",
        "divergence",
        "error",
        "loss",
        20,
        20,
        "blew up",
        {"explosion_index": 20, "learning_rate": 1e-3},
    )
    advice = advise(run, [spike, noisy, div], rules=PACK.get)
    actions = [a.action for a in advice]
    assert len(actions) == len(set(actions))
    by = {a.action: a for a in advice}
    assert by["lower-lr"].rules == ["LA102", "LA103", "LA105"]
    assert by["clip-gradients"].rules == ["LA102", "LA103"]
    # lower-lr and clip-gradients both have priority 1 somewhere; lower-lr is called
    # for by the error finding and by more findings -> first.
    assert actions[:2] == ["lower-lr", "clip-gradients"]
    # divergence dominates the factor: an order of magnitude
    assert by["lower-lr"].params == {"factor": 0.1, "learning_rate": 0.0001}
    assert "0.0001" in by["lower-lr"].code
    assert by["clip-gradients"].params == {"clipnorm": 1.0}


def test_noisy_lowers_lr_by_noise_to_trend():
    run = to_run({"loss": np.linspace(1, 0.5, 30), "learning_rate": np.full(30, 3e-3)})
    noisy = Finding("LA105", "noisy", "warning", "loss", 0, 29, "noisy", {"noise_to_trend": 4.0})
    (a,) = [a for a in advise(run, [noisy], rules=PACK.get) if a.action == "lower-lr"]
    assert a.params == {"factor": 0.25, "learning_rate": 0.00075}


def test_lower_lr_without_logged_rate_gives_factor_only():
    run = to_run({"loss": np.linspace(1, 0.5, 30)})
    noisy = Finding("LA105", "noisy", "warning", "loss", 0, 29, "noisy", {"noise_to_trend": 2.0})
    (a,) = [a for a in advise(run, [noisy], rules=PACK.get) if a.action == "lower-lr"]
    assert a.params == {"factor": 0.5}
    assert "old_lr * 0.5" in a.code
    compile(a.code, "<snippet>", "exec")


def test_reduce_lr_on_plateau_patience_from_plateau_length():
    t = np.arange(60)
    val = np.where(t < 20, 1 - 0.02 * t, 0.6)
    run = to_run({"loss": val - 0.05, "val_loss": val, "learning_rate": np.full(60, 1e-3)})
    plateau = Finding(
        "LA104",
        "plateau",
        "warning",
        "val_loss",
        20,
        59,
        "flat",
        {"metric": "val_loss", "start": 20, "end": 59, "length": 40},
    )
    (a,) = advise(run, [plateau], rules=PACK.get)
    assert a.action == "lr-schedule"
    assert a.params == {"monitor": "val_loss", "factor": 0.5, "patience": 10, "min_lr": 1e-6}
    assert "40 points" in a.summary
    assert {0.5, 10.0, 1e-6} <= set(numbers_in(a.code))
    short = Finding(
        "LA104", "plateau", "warning", "val_loss", 50, 59, "flat", {"metric": "val_loss"}
    )
    (b,) = advise(run, [short], rules=PACK.get)
    assert b.params["patience"] == 3  # 10 points / 3


def test_clipnorm_from_logged_gradient_norm():
    g = np.full(30, 2.0)
    g[10] = 400.0
    run = to_run({"loss": np.linspace(1, 0.5, 30), "grad_norm": g})
    spike = Finding("LA103", "loss-spike", "warning", "loss", 10, 10, "spike", {})
    by = {a.action: a for a in advise(run, [spike], rules=PACK.get)}
    assert by["clip-gradients"].params == {"clipnorm": 2.0}
    code = by["clip-gradients"].code
    assert "clipnorm" in code and 2.0 in numbers_in(code)


def test_train_longer_from_the_slowing_slope():
    t = np.arange(20.0)
    val = 0.3 + np.exp(-t / 10)  # tau = 10 epochs: ~3 tau = 30 more
    run = to_run({"loss": val - 0.02, "val_loss": val})
    f = Finding(
        "LA107",
        "undertrained",
        "warning",
        "val_loss",
        10,
        19,
        "still improving",
        {"metric": "val_loss", "slope": -0.02},
    )
    (a,) = advise(run, [f], rules=PACK.get)
    assert a.action == "train-longer"
    assert 25 <= a.params["extra_epochs"] <= 35
    tree = ast.parse(a.code)
    kw = {
        k.arg: ast.literal_eval(k.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "fit"
        for k in n.keywords
        if k.arg in ("initial_epoch", "epochs")
    }
    assert kw == {"initial_epoch": 20, "epochs": 20 + a.params["extra_epochs"]}
    linear = to_run({"loss": 1 - 0.02 * t, "val_loss": 1.05 - 0.02 * t})
    (b,) = advise(linear, [f], rules=PACK.get)
    assert b.params["extra_epochs"] == 38  # no floor in sight: double the 19-epoch span


def test_check_data_names_leakage():
    run = to_run({"loss": TRAIN, "val_loss": [v - 0.001 for v in TRAIN]})
    f = Finding(
        "LA108",
        "val-below-train",
        "warning",
        "val_loss",
        0,
        11,
        "near identical",
        {"fraction_below": 1.0, "median_ratio": 0.998, "near_identical": True},
    )
    (a,) = advise(run, [f], rules=PACK.get)
    assert a.action == "check-data" and "leakage" in a.summary
    compile(a.code, "<snippet>", "exec")


@pytest.mark.parametrize("action", ADVICE_ACTIONS)
def test_every_action_builds_valid_python_on_a_minimal_run(action):
    """Even with no evidence at all, every action gives a snippet that compiles and
    params that are plain JSON-able numbers/strings."""
    run = to_run({"loss": TRAIN, "val_loss": VAL})
    f = Finding("LA999", "whatever", "warning", "val_loss", 4, 11, "x")
    a = build_action(AdviceContext(run, action, [f], [f]))
    assert a is not None and a.action == action
    compile(a.code, f"<{action}>", "exec")
    for v in a.params.values():
        assert v is None or isinstance(v, (bool, int, str)) or math.isfinite(v)


def test_unknown_rule_codes_contribute_nothing():
    run = to_run({"loss": TRAIN, "val_loss": VAL})
    f = Finding("LA999", "overfitting", "error", "val_loss", 4, 11, "x")
    assert advise(run, [f], rules=PACK.get) == []


def test_untrusted_metric_name_stays_a_string_literal():
    name = 'val_"); import os; os.system("x'
    run = to_run({"loss": TRAIN, "val_loss": VAL, "val_acc_x": VAL})
    run.metrics = run.metrics.rename(columns={"val_acc_x": name})
    dis = Finding(
        "LA109", "metric-disagreement", "warning", name, 4, 11, "x", {"suggested_monitor": name}
    )
    a = build_action(AdviceContext(run, "early-stopping", [dis], [dis]))
    tree = ast.parse(a.code)
    assert not any(isinstance(n, ast.Import) and n.names[0].name == "os" for n in ast.walk(tree))
    assert name in [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]


def test_worse_finding_actions_come_first_then_priority():
    """An error's actions rank before a warning's even when the warning's rule gives
    its action a better priority: fix the overfit before a one-off spike."""
    run = to_run({"loss": TRAIN, "val_loss": VAL, "learning_rate": [1e-3] * 12})
    spike = Finding("LA103", "loss-spike", "warning", "loss", 1, 1, "spike", {})
    advice = advise(run, [spike, overfit_finding("error")], rules=PACK.get)
    actions = [a.action for a in advice]
    overfit_actions = ["early-stopping", "regularize", "dropout", "shrink", "augment", "add-data"]
    assert actions == overfit_actions + ["clip-gradients", "lower-lr"]
    # same severity: the pack's priority decides
    advice = advise(run, [spike, overfit_finding("warning")], rules=PACK.get)
    assert [a.action for a in advice][:2] == ["early-stopping", "clip-gradients"]

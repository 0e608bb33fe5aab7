"""EarlyStopping advice: the chosen patience/min_delta, replayed by Keras itself on the
curve they were chosen for, stop after the best point, within a few points of it, and
restore the best point."""

from __future__ import annotations

import ast

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loganalyzer.advice import AdviceContext, build_action
from loganalyzer.advice.early_stopping import choose, simulate, window_for
from loganalyzer.analysis import to_run
from loganalyzer.findings import Finding


def overfit_curve(n: int, onset: int, noise: float, seed: int) -> np.ndarray:
    """Validation loss falling to a minimum at ``onset`` and rising after it, plus noise.

    The fall is exponential, the rise linear; the noise-free minimum is at ``onset``.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=float)
    fall = 0.5 + 0.8 * np.exp(-t / max(onset / 3, 1.0))
    rise = np.where(t > onset, 0.03 * (t - onset), 0.0)
    return fall + rise + rng.normal(0.0, noise, n)


GRID = [
    (n, onset, noise, seed)
    for n, onset in ((12, 4), (30, 10), (60, 25), (100, 40))
    for noise in (0.0, 0.003, 0.01, 0.03)
    for seed in (0, 1)
]


class FakeModel:
    """What EarlyStopping touches on a model: weights and the stop flag."""

    def __init__(self) -> None:
        self.stop_training = False
        self.epoch = -1

    def get_weights(self):
        return [self.epoch]

    def set_weights(self, weights):
        self.restored = weights[0]


def keras_replay(values, patience: int, min_delta: float, mode: str):
    """Drive keras.callbacks.EarlyStopping over ``values`` as model.fit would."""
    keras = pytest.importorskip("keras")
    cb = keras.callbacks.EarlyStopping(
        monitor="val_loss" if mode == "min" else "val_accuracy",
        mode=mode,
        patience=patience,
        min_delta=min_delta,
        restore_best_weights=True,
    )
    model = FakeModel()
    cb.set_model(model)
    cb.on_train_begin()
    stopped = None
    for epoch, value in enumerate(values):
        model.epoch = epoch
        logs = {"val_loss" if mode == "min" else "val_accuracy": float(value)}
        cb.on_epoch_end(epoch, logs)
        if model.stop_training:
            stopped = epoch
            break
    cb.on_train_end()
    return stopped, getattr(model, "restored", None)


@pytest.mark.parametrize("n,onset,noise,seed", GRID)
def test_keras_earlystopping_stops_soon_after_the_best(n, onset, noise, seed):
    y = overfit_curve(n, onset, noise, seed)
    choice = choose(y, "min")
    best = int(np.argmin(y))
    assert choice.best_pos == best
    stopped, restored = keras_replay(y, choice.patience, choice.min_delta, "min")
    assert stopped == choice.stop_pos, "our replay disagrees with Keras"
    assert stopped is not None and best < stopped <= best + window_for(n)
    assert restored == best


@pytest.mark.parametrize("seed", range(6))
def test_val_accuracy_mode_max_with_keras(seed):
    y = 1.0 - overfit_curve(40, 15, 0.004, seed)  # accuracy-like: rises then falls
    choice = choose(y, "max")
    best = int(np.argmax(y))
    stopped, restored = keras_replay(y, choice.patience, choice.min_delta, "max")
    assert stopped == choice.stop_pos
    assert best < stopped <= best + window_for(40)
    assert restored == best


def test_simulate_matches_keras_on_random_settings():
    """Differential test of the replay itself, far from the chosen settings too:
    random walks with NaN, plateaus and ties, random patience and min_delta."""
    rng = np.random.default_rng(7)
    for _ in range(40):
        n = int(rng.integers(3, 30))
        y = np.round(np.cumsum(rng.normal(0, 0.05, n)) + 1.0, 2)  # ties on purpose
        if rng.random() < 0.3:
            y[rng.integers(0, n)] = np.nan
        patience = int(rng.integers(1, 6))
        min_delta = float(rng.choice([0.0, 0.01, 0.05]))
        mode = str(rng.choice(["min", "max"]))
        sim = simulate(y, patience, min_delta, mode)
        stopped, restored = keras_replay(y, patience, min_delta, mode)
        assert (sim.stop_pos, sim.restored_pos) == (stopped, restored), (y, patience, min_delta)


def test_smooth_curve_gets_short_patience_noisy_curve_longer():
    smooth = overfit_curve(60, 25, 0.0, 0)
    noisy = overfit_curve(60, 25, 0.03, 0)
    a, b = choose(smooth, "min"), choose(noisy, "min")
    assert a.patience == 2
    assert b.patience > a.patience
    assert b.min_delta > 0  # noise-sized: changes inside the noise are not improvements


def _advice_for(run, findings):
    ctx = AdviceContext(run, "early-stopping", findings[:1], findings)
    return build_action(ctx)


def test_advice_params_summary_and_snippet_from_this_run():
    val = [1.0, 0.8, 0.65, 0.6, 0.58, 0.6, 0.64, 0.7, 0.75, 0.8, 0.86, 0.9]
    run = to_run({"loss": [1.0 - 0.07 * i for i in range(12)], "val_loss": val})
    f = Finding("LA101", "overfitting", "error", "val_loss", 4, 11, "overfit")
    a = _advice_for(run, [f])
    p = a.params
    assert p["monitor"] == "val_loss" and p["mode"] == "min"
    assert p["best_index"] == 4
    assert p["would_stop_at"] == 6 and p["epochs_saved"] == 5
    assert p["restore_best_weights"] is True
    assert "stopped at epoch 6" in a.summary and "saving 5 epochs" in a.summary
    tree = ast.parse(a.code)
    call = next(
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "EarlyStopping"
    )
    kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    assert kwargs["patience"] == p["patience"]
    assert kwargs["min_delta"] == p["min_delta"]
    assert kwargs["monitor"] == "val_loss" and kwargs["restore_best_weights"] is True


def test_log_numbering_is_kept():
    """A 1-based log (epochs 1..12) reports 1-based positions."""
    import pandas as pd

    val = [1.0, 0.8, 0.65, 0.6, 0.58, 0.6, 0.64, 0.7, 0.75, 0.8, 0.86, 0.9]
    frame = pd.DataFrame({"loss": np.linspace(1, 0.2, 12), "val_loss": val}, index=range(1, 13))
    run = to_run(frame)
    f = Finding("LA101", "overfitting", "error", "val_loss", 5, 12, "overfit")
    p = _advice_for(run, [f]).params
    assert (p["best_index"], p["would_stop_at"], p["epochs_saved"]) == (5, 7, 5)


def test_metric_disagreement_monitors_val_accuracy_in_max_mode():
    n = 30
    t = np.arange(n)
    val_loss = 0.5 + 0.6 * np.exp(-t / 4) + np.where(t > 12, 0.02 * (t - 12), 0)
    val_acc = np.minimum(0.6 + 0.02 * t, 0.6 + 0.02 * 20) - np.where(t > 20, 0.01 * (t - 20), 0)
    run = to_run({"loss": 1 / (t + 1), "val_loss": val_loss, "val_accuracy": val_acc})
    over = Finding("LA101", "overfitting", "warning", "val_loss", 12, 29, "overfit")
    dis = Finding(
        "LA109",
        "metric-disagreement",
        "warning",
        "val_accuracy",
        12,
        29,
        "val_accuracy still improves",
        {"suggested_monitor": "val_accuracy", "metric": "val_accuracy"},
    )
    a = _advice_for(run, [over, dis])
    assert a.params["monitor"] == "val_accuracy" and a.params["mode"] == "max"
    assert a.params["best_index"] == 20
    assert 20 < a.params["would_stop_at"] <= 23
    assert 'monitor="val_accuracy"' in a.code and 'mode="max"' in a.code
    stopped, restored = keras_replay(val_acc, a.params["patience"], a.params["min_delta"], "max")
    assert (stopped, restored) == (a.params["would_stop_at"], 20)


def test_still_improving_curve_does_not_claim_a_stop():
    y = np.linspace(1.0, 0.2, 20)
    run = to_run({"loss": y * 0.9, "val_loss": y})
    f = Finding("LA104", "plateau", "warning", "val_loss", 0, 19, "x")
    a = _advice_for(run, [f])
    assert a.params["would_stop_at"] is None and a.params["epochs_saved"] == 0
    assert "would not have stopped" in a.summary


def test_long_stall_before_the_best_is_explained_not_hidden():
    """A curve that stalls for 12 points, then improves again and overfits: any patience
    short enough to stop soon after the best would have stopped in the stall."""
    y = np.concatenate([np.linspace(1.0, 0.6, 8), np.full(12, 0.6), np.linspace(0.58, 0.4, 6)])
    y = np.concatenate([y, 0.4 + 0.02 * np.arange(1, 15)])
    run = to_run({"loss": np.linspace(1, 0.1, len(y)), "val_loss": y})
    f = Finding("LA101", "overfitting", "warning", "val_loss", 25, len(y) - 1, "x")
    a = _advice_for(run, [f])
    best = int(np.argmin(y))
    assert a.params["best_index"] == best
    assert a.params["would_stop_at"] > best  # never before the best
    assert a.params["patience"] >= 12
    assert "cannot stop sooner" in a.summary
    stopped, restored = keras_replay(y, a.params["patience"], a.params["min_delta"], "min")
    assert (stopped, restored) == (a.params["would_stop_at"], best)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False), min_size=3, max_size=60),
    st.sampled_from(["min", "max"]),
)
def test_never_stops_before_the_best_and_restores_it(values, mode):
    """On any finite curve (negative, zero, flat, ties, jumps) the chosen setting never
    stops at or before the best point and restores exactly that point."""
    choice = choose(values, mode)
    sim = simulate(values, choice.patience, choice.min_delta, mode)
    assert (sim.stop_pos, sim.restored_pos) == (choice.stop_pos, choice.restored_pos)
    assert sim.stop_pos is None or sim.stop_pos > choice.best_pos
    assert sim.restored_pos == choice.best_pos
    assert choice.patience >= 1 and choice.min_delta >= 0

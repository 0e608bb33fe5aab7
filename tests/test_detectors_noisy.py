"""Detector LA105 (``noisy``) on long curves: noise is judged at the logged resolution."""

from __future__ import annotations

import numpy as np
import pandas as pd

from loganalyzer.detectors import noisy
from loganalyzer.rulepack import rule_by_code
from loganalyzer.run import Run

RULE = rule_by_code("LA105")


def long_run(noise: float, n: int = 1000, seed: int = 0, index: str = "epoch") -> Run:
    """A run whose losses fall by 30 % and carry multiplicative noise of ``noise``."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    trend = 1.4 + 0.6 * np.exp(-t / (n / 8))
    frame = pd.DataFrame(
        {
            "loss": trend * (1 + noise * rng.standard_normal(n)),
            "val_loss": 1.05 * trend * (1 + noise * rng.standard_normal(n)),
        },
        index=pd.Index(t, name=index),
    )
    return Run.from_frame("long", frame, format="python", index=index)


def test_ten_percent_swings_on_a_1000_point_curve_are_noisy_at_their_full_size():
    found = noisy.detect(long_run(0.10), RULE, {})
    assert {f.metric for f in found} == {"loss", "val_loss"}
    val = next(f for f in found if f.metric == "val_loss")
    # The swings a user sees (10 % of a level near 1.5), not a binned, calmer copy.
    assert 0.12 < val.evidence["noise_sigma"] < 0.18
    assert val.evidence["direction_changes"] > 0.45


def test_the_same_run_with_one_percent_noise_is_quiet():
    assert noisy.detect(long_run(0.01), RULE, {}) == []


def test_minibatch_noise_on_a_per_step_training_loss_is_expected():
    # Per-step training loss: 5 % swings around a falling trend are minibatch noise.
    found = noisy.detect(long_run(0.05, index="step"), RULE, {})
    assert "loss" not in {f.metric for f in found}

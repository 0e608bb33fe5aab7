"""``overfitting`` must not claim a run whose *training* loss jumped up and stayed up.

When a run collapses (training loss jumps to the chance level ln(10) and stays there),
validation loss rises too. That is divergence, not overfitting: the advice for
overfitting (early stopping, regularization) would be wrong. The jump is too short a
stretch for a trend test, and a huge first epoch must not hide it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from loganalyzer.analysis import to_run
from loganalyzer.detectors.overfitting import detect
from loganalyzer.rulepack import rule_by_code


def _collapse(n: int, k: int, huge_first: bool) -> dict[str, list[float]]:
    t = np.arange(n)
    train = 0.3 + 1.2 * np.exp(-t / (n / 8))
    val = train * 1.05
    train[k:] = math.log(10)
    val[k:] = math.log(10) * 1.01
    if huge_first:
        train[0] *= 60
    return {"loss": train.tolist(), "val_loss": val.tolist()}


@pytest.mark.parametrize("n,k", [(12, 7), (30, 13), (100, 66)])
@pytest.mark.parametrize("huge_first", [False, True])
def test_a_collapse_to_chance_level_is_not_overfitting(n, k, huge_first):
    run = to_run(_collapse(n, k, huge_first))
    assert detect(run, rule_by_code("LA101"), {}) == []


def test_a_real_overfit_with_a_huge_first_epoch_is_still_found():
    n = 30
    t = np.arange(n)
    train = 0.2 + 1.0 * np.exp(-t / 8)
    train[0] *= 60
    val = 0.5 + 0.8 * np.exp(-t / 3) + 0.02 * np.maximum(t - 10, 0)
    run = to_run({"loss": train.tolist(), "val_loss": val.tolist()})
    (f,) = detect(run, rule_by_code("LA101"), {})
    assert abs(f.start - int(np.argmin(val))) <= 1
    assert f.evidence["rise_pct"] > 10


def test_a_smooth_rise_on_a_12_epoch_log_counts_despite_the_steep_start():
    # suite run overfitting/n12/noise0.005/zero: the first epochs' curvature inflates
    # the whole curve's noise; the rise is judged in the noise after the best.
    val = [2.5187, 1.7012, 1.2131, 0.919, 0.7514, 0.6284, 0.5672]
    val += [0.5893, 0.6176, 0.6337, 0.6464, 0.6698]
    train = [2.4 * 0.7**i for i in range(12)]
    run = to_run({"loss": train, "val_loss": val})
    (f,) = detect(run, rule_by_code("LA101"), {})
    assert f.start == 6
    assert f.evidence["rise_pct"] > 15


def test_the_tail_early_stopping_leaves_is_info_not_a_warning():
    # Real Keras run with EarlyStopping(patience=5, restore_best_weights=True): val_loss
    # best at epoch 5, then +3 % over the 5 patience epochs.
    loss = [0.7254, 0.1341, 0.0746, 0.054, 0.0403, 0.0312, 0.0247, 0.0197, 0.0159, 0.0131, 0.0109]
    val = [0.2218, 0.1376, 0.1178, 0.1133, 0.1111, 0.1096, 0.11, 0.1104, 0.1111, 0.112, 0.1129]
    (f,) = detect(to_run({"loss": loss, "val_loss": val}), rule_by_code("LA101"), {})
    assert f.severity == "info" and f.evidence["caught"] and f.start == 5
    assert "EarlyStopping(patience=5)" in f.message
    # the same run kept going for 10 more epochs while val_loss climbs: a warning again
    more = [0.1138, 0.1147, 0.1158, 0.1166, 0.1177, 0.1188, 0.1196, 0.1205, 0.1217, 0.1226]
    train_more = [0.0095 - 0.0004 * i for i in range(10)]
    (g,) = detect(
        to_run({"loss": loss + train_more, "val_loss": val + more}), rule_by_code("LA101"), {}
    )
    assert g.severity in ("warning", "error") and not g.evidence["caught"]

"""The first advice on real Keras runs whose cause is known (the remedy bench's baselines).

``tests/remedy_runs/<scenario>_seed<k>.json`` is the ``History`` (loss, val_loss) of one
seed of a scenario of ``bench/bench_remedies.py``, trained with real Keras: an Adam
rate of 0.5 that wrecks the network in its first epoch (``lr-collapse``), SGD at 3 with
momentum on unscaled inputs (``b-lr-diverge``), rates so low the loss crawls
(``lr-crawl``, ``b-lr-crawl``), batches of 2 (``tiny-noisy-batches``), over-sized
models (``memorise-regression``, ``overfit-cnn``, ``b-overfit-wide``), a 2-unit model
(``b-too-small``) and two healthy controls. The bench verifies the advice by
retraining; these tests pin what the analysis of one log says first, so a ranking
change that would send the loop after the wrong fix fails here in seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import loganalyzer

RUNS = Path(__file__).resolve().parent / "remedy_runs"


def analysed(name: str):
    result = loganalyzer.analyze(str(RUNS / f"{name}.json"))
    assert not result.errors
    return result


def actions(result) -> list[str]:
    return [a.action for a in result.advice]


@pytest.mark.parametrize(
    "name", ["lr-collapse_seed1", "lr-collapse_seed3", "b-lr-diverge_seed1", "b-lr-diverge_seed4"]
)
def test_a_blow_up_in_the_first_epoch_is_a_rate_problem_first(name):
    # lr-collapse: epoch 0 averages 23.8, then the loss sits at 2.1-2.3 (ln 10 = 2.30);
    # b-lr-diverge: epoch 0 averages 3.4e7, then 1.4-1.5 above ln 3. What the findings
    # read on what followed (a flat loss, a rising validation loss) has one cause.
    result = analysed(name)
    assert actions(result)[0] == "lower-lr"
    assert result.advice[0].params["factor"] == 0.1
    assert "blew up" in result.advice[0].summary
    assert "grow" not in actions(result)  # a wrecked model is not a small one
    assert "raise-lr" not in actions(result)


def test_a_collapse_with_an_overfitting_reading_still_lowers_the_rate_before_early_stopping():
    result = analysed("lr-collapse_seed1")
    kinds = {f.kind for f in result.findings if f.severity != "info"}
    assert "overfitting" in kinds  # val 1.99 -> 2.07 at chance, read as a rise
    order = actions(result)
    assert order.index("lower-lr") < order.index("early-stopping")


@pytest.mark.parametrize(
    "name, reason", [("lr-crawl_seed1", "crawl"), ("b-lr-crawl_seed2", "no-learning")]
)
def test_a_crawling_loss_is_under_fitting_and_raises_the_rate_before_growing(name, reason):
    # lr-crawl: 2.37 -> 2.23 (-5.5 %) in a straight line over 25 epochs, val beside it;
    # b-lr-crawl: 0.705 -> 0.685 (-2.8 %), under the 5 % that is "learned almost nothing".
    result = analysed(name)
    under = [f for f in result.findings if f.kind == "underfitting"]
    assert under and under[0].severity == "warning"
    assert under[0].evidence["reason"] == reason
    if reason == "crawl":
        assert "barely started" in under[0].message
    order = actions(result)
    assert order[0] == "raise-lr"
    assert order.index("raise-lr") < order.index("grow")


def test_a_too_small_model_stuck_high_is_told_to_grow():
    result = analysed("b-too-small_seed3")  # 2 tanh units on two spirals: flat at 0.52
    assert actions(result)[0] == "grow"


def test_a_noisy_run_fixes_the_noise_before_what_was_read_on_it():
    # batch 2, SGD 0.3: val jumps 0.28 -> 0.74 -> 2.99 -> 0.43; the "gap" is read on it.
    result = analysed("tiny-noisy-batches_seed1")
    kinds = {f.kind for f in result.findings if f.severity != "info"}
    assert {"noisy", "generalization-gap"} <= kinds
    order = actions(result)
    assert order[0] == "lower-lr"
    for remedy in ("early-stopping", "regularize", "dropout"):
        if remedy in order:
            assert order.index(remedy) > order.index("larger-batch")


def test_early_stopping_that_cannot_stop_ranks_after_the_fixes_that_can():
    # memorise-regression: a stalled val (best 1.09 at epoch 30 of 50, one spike before
    # it) needs patience 22, which never stops within the log.
    result = analysed("memorise-regression_seed1")
    order = actions(result)
    assert order[:2] == ["regularize", "dropout"]
    es = next((a for a in result.advice if a.action == "early-stopping"), None)
    if es is not None:
        assert es.params["would_stop_at"] is None or order.index("early-stopping") > 1


@pytest.mark.parametrize("name", ["overfit-cnn_seed1", "b-overfit-wide_seed1"])
def test_a_validation_loss_that_rises_is_still_stopped_early_first(name):
    result = analysed(name)
    assert actions(result)[0] == "early-stopping"
    assert result.advice[0].params["would_stop_at"] is not None


@pytest.mark.parametrize("name", ["healthy_seed1", "b-healthy_seed11"])
def test_the_healthy_controls_get_no_warning(name):
    result = analysed(name)
    assert all(f.severity == "info" for f in result.findings)
    assert "lower-lr" not in actions(result) and "grow" not in actions(result)


def test_a_memorising_run_with_a_mild_rise_is_regularised_by_its_gap():
    # overfit-mlp: training loss 0.0007 against validation 0.28 (a generalization gap);
    # the validation loss is only 5 % above its best (a mild, info-level overfitting),
    # which must not size the remedy down to the weakest setting.
    result = analysed("overfit-mlp_seed4")
    mild = [f for f in result.findings if f.kind == "overfitting"]
    assert mild and all(f.severity == "info" for f in mild)
    advice = {a.action: a for a in result.advice}
    assert [a.action for a in result.advice][:2] == ["regularize", "dropout"]
    assert advice["regularize"].params["factor"] == 1e-3
    assert advice["dropout"].params["rate"] == 0.5

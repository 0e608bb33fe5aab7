"""What the loop reads from the model: facts from real (untrained) Keras models, and the
advice they re-rank on hand-made tallies of the seeds' re-analyses."""

from __future__ import annotations

import numpy as np
import pytest

from loganalyzer.verify.fixes import FixRequest
from loganalyzer.verify.loop import diagnose
from loganalyzer.verify.model_facts import ModelFacts, read_facts, refine
from loganalyzer.verify.training import RunRecord

keras = pytest.importorskip("keras")


def spec_of(build, x, y, **fit):
    from loganalyzer.verify.spec import spec_from_functions

    rng = np.random.default_rng(0)
    xv = x[rng.permutation(len(x))[:20]]
    return spec_from_functions("t", build, lambda: ((x, y), (xv, y[:20])), fit=fit)


def mlp(inputs, hidden, outputs, optimizer, loss, first=None):
    layers = [keras.Input((inputs,))] + ([first] if first is not None else [])
    layers += [keras.layers.Dense(u, activation="relu") for u in hidden]
    act = "softmax" if loss.endswith("crossentropy") and outputs > 1 else None
    model = keras.Sequential(layers + [keras.layers.Dense(outputs, activation=act)])
    model.compile(optimizer=optimizer, loss=loss)
    return model


def test_facts_read_from_the_model_its_optimizer_fit_and_data():
    rng = np.random.default_rng(1)
    raw = np.column_stack([rng.normal(size=60), 800 + 300 * rng.normal(size=60)])
    labels = rng.integers(0, 10, size=60)
    facts = read_facts(
        spec_of(lambda: mlp(2, [64, 2], 10, "adam", "sparse_categorical_crossentropy"), raw,
                labels, batch_size=4)
    )  # fmt: skip
    assert (facts.optimizer, facts.adaptive, facts.batch_size) == ("Adam", True, 4)
    assert (facts.narrowest, facts.classes) == (2, 10)
    assert facts.bottleneck and facts.grow_factor(2.0) == 8.0
    assert facts.input_rms == pytest.approx(np.sqrt((raw[:, 1] ** 2).mean()))
    assert facts.unscaled_inputs
    # the model scales its own inputs: the raw array is not a problem
    norm = keras.layers.Normalization()
    norm.adapt(raw)
    inside = read_facts(
        spec_of(lambda: mlp(2, [64], 10, "adam", "sparse_categorical_crossentropy", norm), raw,
                labels)
    )  # fmt: skip
    assert inside.scales_inputs and not inside.unscaled_inputs
    # decoupled weight decay and plain SGD are not "adaptive"; a regression has no classes
    scaled = rng.normal(size=(60, 2))
    for opt in (keras.optimizers.AdamW(1e-3), keras.optimizers.SGD(0.1)):
        f = read_facts(spec_of(lambda o=opt: mlp(2, [32], 1, o.__class__.from_config(
            o.get_config()), "mse"), scaled, rng.normal(size=(60, 1))))  # fmt: skip
        assert not f.adaptive and f.classes is None and not f.bottleneck
        assert not f.unscaled_inputs and f.batch_size == 32
    # the facts are read from the model with the loop's fixes applied
    grown = read_facts(
        spec_of(lambda: mlp(2, [64, 2], 10, "adam", "sparse_categorical_crossentropy"), raw,
                labels),
        applied=(FixRequest("grow", {"factor": 8.0}), FixRequest("normalize-inputs")),
    )  # fmt: skip
    assert grown.narrowest == 16 and not grown.bottleneck
    assert grown.scales_inputs and not grown.unscaled_inputs


def record(seed, findings, advice):
    r = RunRecord("baseline", None, seed, 1.0, {"loss": [1.0], "val_loss": [1.0]}, 1, 0, "x")
    r.findings = [{"rule": "LA1", "kind": k, "severity": s, "message": k} for k, s in findings]
    r.advice = [
        {"action": a, "rank": i, "rules": ["LA1"], "params": p, "summary": a}
        for i, (a, p) in enumerate(advice, 1)
    ]
    return r


def test_refine_reranks_the_advice_and_says_why():
    over = [("overfitting", "warning")]
    advice = [("early-stopping", {"patience": 3}), ("regularize", {"factor": 1e-3}),
              ("dropout", {"rate": 0.3})]  # fmt: skip
    diag = diagnose([record(s, over, advice) for s in (1, 2, 3)])
    adam = ModelFacts(optimizer="Adam", adaptive=True, narrowest=256, classes=10, input_rms=1.0)
    refined, notes = refine(diag, adam)
    assert [a.action for a in refined.advice] == ["early-stopping", "dropout", "regularize"]
    assert len(notes) == 1 and "Loshchilov" in notes[0]
    assert [a.action for a in diag.advice][1] == "regularize"  # the input is not changed
    sgd = ModelFacts(optimizer="SGD", adaptive=False, narrowest=256, input_rms=1.0)
    assert refine(diag, sgd) == (diag, [])
    assert refine(diag, None) == (diag, [])
    # raw inputs matter for an optimisation problem, not for over-fitting
    raw = ModelFacts(optimizer="SGD", narrowest=32, input_rms=786.0)
    assert refine(diag, raw) == (diag, [])
    flat = diagnose([record(s, [("plateau", "warning")], [("lower-lr", {"factor": 0.1})])
                     for s in (1, 2)])  # fmt: skip
    refined, notes = refine(flat, raw)
    assert [a.action for a in refined.advice] == ["normalize-inputs", "lower-lr"]
    assert "RMS 786" in notes[0] and refined.advice[0].rules == ["model"]
    # batches of two: the batch is what is unusual, so it is changed first
    noisy = diagnose(
        [record(s, [("noisy", "warning")], [("lower-lr", {"factor": 0.5}),
                                             ("larger-batch", {"factor": 8.0})])
         for s in (1, 2)]
    )  # fmt: skip
    tiny = ModelFacts(optimizer="SGD", batch_size=2, narrowest=64, input_rms=0.8)
    refined, notes = refine(noisy, tiny)
    assert [a.request().label for a in refined.advice] == [
        "larger-batch(factor=8)",
        "lower-lr(factor=0.5)",
    ]
    assert "Smith & Le" in notes[0]
    assert refine(noisy, ModelFacts(optimizer="SGD", batch_size=32, input_rms=0.8)) == (noisy, [])
    # ... when the noise is what most seeds show: over-fitting in more seeds comes first
    mixed = diagnose(
        [record(1, [("noisy", "warning"), ("overfitting", "warning")],
                [("lower-lr", {"factor": 0.5}), ("early-stopping", {"patience": 3})]),
         record(2, [("overfitting", "warning")], [("early-stopping", {"patience": 3})])]
    )  # fmt: skip
    assert refine(mixed, tiny) == (mixed, [])
    # raw inputs come before everything else
    both = ModelFacts(optimizer="SGD", batch_size=2, narrowest=64, input_rms=300.0)
    assert [a.action for a in refine(noisy, both)[0].advice] == [
        "normalize-inputs", "larger-batch", "lower-lr"
    ]  # fmt: skip


def test_a_softmax_bottleneck_is_a_problem_in_every_seed_and_grow_is_sized_to_it():
    clean = diagnose([record(s, [], []) for s in (1, 2, 3)])
    assert clean.healthy
    tiny = ModelFacts(optimizer="Adam", adaptive=True, narrowest=2, classes=10, input_rms=0.8)
    refined, notes = refine(clean, tiny)
    assert not refined.healthy
    assert [(f.kind, f.rule, f.runs) for f in refined.problems] == [("underfitting", "model", 3)]
    assert [a.request().label for a in refined.advice] == ["grow(factor=8)"]
    assert any("softmax bottleneck" in n for n in notes)
    # a narrow model's own grow advice is raised to reach 16 units; a wide one's is kept
    under = diagnose([record(s, [("underfitting", "warning")], [("grow", {"factor": 4.0})])
                      for s in (1, 2)])  # fmt: skip
    two_classes = ModelFacts(narrowest=2, classes=2, input_rms=0.5)
    assert refine(under, two_classes)[0].advice[0].request().label == "grow(factor=8)"
    wide = ModelFacts(narrowest=64, classes=2, input_rms=0.5)
    assert refine(under, wide) == (under, [])

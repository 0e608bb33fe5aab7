"""The closed loop: diagnose the model's own runs, try the advice, apply what helped.

The tally and choice functions are checked on hand-made run records (what each seed's
re-analysis said); one real loop trains a tiny, blatantly over-fitting Keras model
end to end through the command line.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from loganalyzer.verify.experiment import VariantResult, Verification, correct_for_multiplicity
from loganalyzer.verify.fixes import FixRequest
from loganalyzer.verify.loop import best_fix, choose_fixes, diagnose
from loganalyzer.verify.stats import paired
from loganalyzer.verify.training import RunRecord


def record(seed, findings=(), advice=()):
    r = RunRecord("baseline", None, seed, 1.0, {"loss": [1.0], "val_loss": [1.0]}, 1, 0, "x")
    r.findings = [
        {"rule": rule, "kind": kind, "severity": sev, "message": f"{kind} in seed {seed}"}
        for rule, kind, sev in findings
    ]
    r.advice = [
        {"action": a, "rank": i, "rules": ["LA101"], "params": p, "summary": a}
        for i, (a, p) in enumerate(advice, 1)
    ]
    return r


def test_diagnosis_keeps_what_most_seeds_agree_on():
    over = ("LA101", "overfitting", "warning")
    mild = ("LA101", "overfitting", "info")
    runs = [
        record(1, [over], [("early-stopping", {"patience": 3}), ("dropout", {"rate": 0.2})]),
        record(2, [over], [("early-stopping", {"patience": 5}), ("dropout", {"rate": 0.3})]),
        record(3, [("LA105", "noisy", "warning"), mild], [("lower-lr", {"factor": 0.5})]),
    ]
    diag = diagnose(runs)
    assert [(f.kind, f.runs, f.n) for f in diag.findings] == [
        ("overfitting", 2, 3),
        ("noisy", 1, 3),
    ]
    assert [(f.kind, f.runs) for f in diag.notes] == [("overfitting", 1)]  # info in seed 3
    # every seed warned: the problems are every kind found, each with its seed count
    assert [(f.kind, f.runs) for f in diag.problems] == [("overfitting", 2), ("noisy", 1)]
    # a warning in one seed and info in the others is a problem in one seed, not in all
    split = diagnose([record(1, [over]), record(2, [mild]), record(3, [mild])])
    assert [(f.kind, f.runs) for f in split.findings] == [("overfitting", 1)]
    assert split.healthy
    # advice one seed of three gives is that run's noise, not the model's problem
    assert [a.action for a in diag.advice] == ["early-stopping", "dropout"]
    assert diag.advice[0].params == {"patience": 4}  # the median over the seeds
    assert diag.advice[1].request() == FixRequest("dropout", {"rate": 0.25})
    assert not diag.healthy
    assert diagnose([record(1), record(2)]).healthy
    # a run still improving is clean for `analyze`; its train-longer advice is shown, not tried
    info = diagnose(
        [record(s, [("LA107", "undertrained", "info")], [("train-longer", {"extra_epochs": 9})])
         for s in (1, 2)]
    )  # fmt: skip
    assert info.healthy and [a.request().label for a in info.advice] == [
        "train-longer(extra_epochs=9)"
    ]


def test_a_model_that_warns_in_most_seeds_is_not_healthy_whatever_the_kinds():
    # b-lr-diverge in the remedy bench: broken in every seed, read as overfitting in
    # two, a plateau in two and under-fitting in one; no kind has a majority.
    over, flat = ("LA101", "overfitting", "warning"), ("LA104", "plateau", "warning")
    under = ("LA106", "underfitting", "warning")
    lower = [("lower-lr", {"factor": 0.1})]
    runs = [record(1, [over], lower), record(2, [over], lower), record(3, [flat], lower),
            record(4, [flat], lower), record(5, [under])]  # fmt: skip
    diag = diagnose(runs)
    assert diag.warned == 5 and not diag.healthy
    assert [(f.kind, f.runs) for f in diag.problems] == [
        ("overfitting", 2),
        ("plateau", 2),
        ("underfitting", 1),
    ]
    assert [(a.action, a.runs, a.params) for a in diag.advice] == [("lower-lr", 4, {"factor": 0.1})]
    # two seeds of five with a warning: most seeds are clean
    mostly_clean = diagnose([record(1, [over]), record(2, [flat]), record(3), record(4), record(5)])
    assert mostly_clean.warned == 2 and mostly_clean.healthy and not mostly_clean.problems


def test_advice_is_ranked_over_every_seed_not_only_the_seeds_that_gave_it():
    # b-noisy-batches in the remedy bench: noise in three seeds of five (lower-lr first
    # there), over-fitting in four (early stopping first in two of them). Averaged over
    # only the seeds that gave it, lower-lr ranks 1.0 and goes first; counted over every
    # seed (a seed that did not advise it ranks it after its last advice), early
    # stopping, which four seeds of five ask for, goes first.
    over, noisy = ("LA101", "overfitting", "warning"), ("LA105", "noisy", "warning")
    under = ("LA106", "underfitting", "warning")
    regularise = ["regularize", "dropout", "shrink", "augment", "add-data"]
    seeds = [  # each seed's advice, in its order, as `analyze` gave it on the bench's logs
        ([over, under, noisy], ["lower-lr", "lr-schedule", "check-data", "batch-norm",
                                "larger-batch", "early-stopping", *regularise[:2], *regularise[3:]]),
        ([noisy], ["lower-lr", "batch-norm", "larger-batch"]),
        ([over], ["early-stopping", *regularise]),
        ([over], ["early-stopping", *regularise]),
        ([over, noisy], ["lower-lr", "batch-norm", "larger-batch", "early-stopping", *regularise]),
    ]  # fmt: skip
    diag = diagnose([record(s, f, [(a, {}) for a in acts]) for s, (f, acts) in enumerate(seeds, 1)])
    ranks = {a.action: a.mean_rank for a in diag.advice}
    assert ranks["early-stopping"] == pytest.approx((6 + 4 + 1 + 1 + 4) / 5)
    assert ranks["lower-lr"] == pytest.approx((1 + 1 + 7 + 7 + 1) / 5)
    assert [a.action for a in diag.advice][0] == "early-stopping"


def test_fixes_tried_are_the_top_testable_advice_and_skips_say_why():
    runs = [
        record(s, [("LA102", "divergence", "error")],
               [("check-data", {}), ("lower-lr", {"factor": 0.1}),
                ("terminate-on-nan", {}), ("clip-gradients", {"clipnorm": 2.0}),
                ("normalize-inputs", {})])
        for s in (1, 2)
    ]  # fmt: skip
    diag = diagnose(runs)
    tried, skipped = choose_fixes(diag, applied=(), top=2)
    assert [r.label for r in tried] == ["lower-lr", "clip-gradients(clipnorm=2)"]
    assert [a for a, _ in skipped] == ["check-data", "terminate-on-nan"]
    assert "cannot lower the loss" in dict(skipped)["terminate-on-nan"]
    tried, skipped = choose_fixes(diag, applied=(FixRequest("lower-lr"),), top=2)
    assert [r.action for r in tried] == ["clip-gradients", "normalize-inputs"]
    assert ("lower-lr", "already applied in an earlier round") in skipped


def variant(action, base, fixed, primary="best_val_loss"):
    comps = {primary: paired(base, fixed)}
    return VariantResult(FixRequest(action), primary, comps)


def test_holm_correction_can_take_back_a_verdict_and_the_best_fix_is_the_lowest_loss():
    base = [1.0, 1.1, 0.9, 1.05]
    strong = variant("dropout", base, [0.80, 0.92, 0.71, 0.86])  # every seed ~0.19 lower
    weak = variant("regularize", base, [0.96, 1.08, 0.89, 1.03])  # alone: p = 0.037
    null = variant("shrink", base, [1.02, 1.06, 0.93, 1.04])  # p ~ 0.9
    stop = variant("early-stopping", [1.3, 1.4, 1.2, 1.35], [0.95, 1.05, 0.85, 1.0],
                   primary="kept_val_loss")  # fmt: skip
    assert weak.verdict == "helped" and 0.01 < weak.p_primary < 0.05
    variants = [strong, weak, null, stop]
    correct_for_multiplicity(variants)
    assert all(v.family == 4 for v in variants)
    assert weak.p_holm == pytest.approx(2 * weak.p_primary)  # second largest of four p's
    assert weak.verdict == "no significant change"
    assert weak.uncorrected_verdict == "helped"
    assert strong.verdict == "helped" and stop.verdict == "helped"
    ver = Verification("s", [1, 2, 3, 4], 5, [], [], variants, "o", 1.0)
    # early-stopping keeps weights at 0.96 on average; dropout reaches 0.82: dropout wins
    assert best_fix(ver) is strong
    single = [variant("dropout", base, [0.80, 0.92, 0.71, 0.86])]
    correct_for_multiplicity(single)
    assert single[0].p_holm is None  # one fix: nothing to correct


OVERFIT = """
import keras
import numpy as np

FIT = {"epochs": 14, "batch_size": 8}


def build_model():
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return model


def load_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 6)).astype("float32")
    y = (x[:, :1] + rng.normal(size=(90, 1))).astype("float32")
    return (x[:30], y[:30]), (x[30:], y[30:])
"""


@pytest.mark.slow
def test_the_loop_tells_what_was_wrong_tried_helped_and_left(tmp_path):
    pytest.importorskip("keras", reason="needs the verify extra (keras)")
    from typer.testing import CliRunner

    from loganalyzer.cli import app

    spec = tmp_path / "overfit.py"
    spec.write_text(textwrap.dedent(OVERFIT))
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app, ["verify", str(spec), "--rounds", "2", "--top", "2", "--seeds", "3", "-o", str(out)]
    )
    text = res.stdout + (getattr(res, "stderr", "") or "")
    assert res.exit_code == 0, text
    order = ["Round 1 — the model as given", "What was wrong", "overfitting", "What was tried",
             "Holm correction: 2 fixes", "What helped", "What is left", "stopped:"]  # fmt: skip
    positions = [text.find(s) for s in order]
    assert -1 not in positions and positions == sorted(positions), text

    doc = json.loads((out / "verification.json").read_text())
    assert doc["schema"] == "loganalyzer-verify-loop/1"
    first = doc["rounds"][0]
    found = {f["kind"] for f in first["diagnosis"]["findings"] if 2 * f["runs"] >= f["n"]}
    assert found & {"overfitting", "generalization-gap"}, found
    assert len(first["tried"]) == 2
    # what the model showed (Adam: dropout before L2, when both are advised) is said
    for note in first["model_notes"]:
        assert note.startswith("from the model: ")
        assert note.split(":", 1)[1].strip()[:30] in " ".join(text.split())
    fixes = first["verification"]["fixes"]
    assert all(f["metrics"]["best_val_loss"]["n"] == 3 for f in fixes)  # shown for every fix
    assert {(out / "round1" / "baseline" / f"seed{s}").is_dir() for s in (1, 2, 3)} == {True}
    if first["chosen"]:  # the fix applied is the next round's model: its runs are reused
        assert doc["applied"][0] == first["chosen"]
        assert f"with {first['chosen']}" in text
        assert not (out / "round2" / "baseline").exists()
        assert doc["overall"]["best_val_loss"]["n"] == 3
    else:
        assert doc["stop"] == "nothing-helped"
    assert (out / "verification.html").read_text().count("<h2>Round") == len(doc["rounds"])
    assert "## What is left" in (out / "verification.md").read_text()


def test_ctrl_c_in_the_loop_keeps_what_finished(tmp_path):
    pytest.importorskip("keras", reason="needs the verify extra (keras)")
    import keras
    import numpy as np

    from loganalyzer.renderers.verification import loop_to_dict, render_loop_markdown
    from loganalyzer.verify.experiment import Progress
    from loganalyzer.verify.loop import close_loop
    from loganalyzer.verify.spec import spec_from_functions

    def build():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4), keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        return model

    x = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
    spec = spec_from_functions("tiny", build, lambda: ((x[:20], x[:20, :1]), (x[20:], x[20:, :1])))

    class CtrlCInSeed2(Progress):
        def __init__(self):
            self.rounds = []

        def round_started(self, number, total, what):
            self.rounds.append((number, total, what))

        def run_started(self, label, seed):
            if seed == 2:
                raise KeyboardInterrupt

    progress = CtrlCInSeed2()
    result = close_loop(spec, rounds=3, seeds=3, epochs=2, out_dir=tmp_path, progress=progress)
    assert progress.rounds == [(1, 3, "training the model as given")]
    assert result.interrupted and result.stop == "interrupted"
    assert result.seeds == [1] and [r.seed for r in result.runs] == [1]
    assert (tmp_path / "round1" / "baseline" / "seed1" / "history.json").exists()
    assert loop_to_dict(result)["stop"] == "interrupted"
    text, _ = render_loop_markdown(result, "files")
    assert "stopped: interrupted (Ctrl-C)" in text

"""The advice a careful engineer gives for each case of issue 11, on real or committed
logs, and a walk over every real log that no advice contradicts a finding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import real_corpus as rc

from loganalyzer.advice import advise
from loganalyzer.advice.early_stopping import _min_patience
from loganalyzer.analysis import analyze, to_run
from loganalyzer.detectors.gradient_norm import grad_norms
from loganalyzer.findings import Finding, severity_rank

SEEDS = ("", "seed43", "seed44")


def gallery(config: str, seed: str = ""):
    return rc.result_for(rc.GALLERY / config / seed / "trainer_state.json")


def actions(rr) -> list[str]:
    return [a.action for a in rr.advice]


def advice(rr, action: str):
    return next(a for a in rr.advice if a.action == action)


def problems(rr) -> list:
    return [f for f in rr.findings if severity_rank(f.severity) >= 1]


# ----------------------------------------------------------------- learning rate 0


@pytest.mark.parametrize("seed", SEEDS)
def test_rate_zero_gets_fix_lr_and_no_other_rate_advice(seed):
    rr = gallery("lr_zero", seed)
    assert actions(rr) == ["fix-lr"]
    fix = rr.advice[0]
    assert fix.params == {"learning_rate": 5e-05}  # the Trainer's default
    assert "TrainingArguments" in fix.code and "learning_rate=5e-05" in fix.code
    assert "0 at every logged point (steps 5–300)" in fix.summary


# ----------------------------------------------------------------- chance level


@pytest.mark.parametrize(
    "path,classes",
    [
        (rc.BLOB / "config_random_22eb8478-2f48-45e5-8657-c29d7a9a9765/tmp/log_dir/log.csv", 3),
        (
            rc.REAL
            / "DeepDiagnosis__ICSE2022/MNIST_Normal/double_random_99fe3625-3c58-4766-968e-7d40401237fe"
            / "tmp/log_dir/log.csv",
            10,
        ),
        (
            rc.REAL
            / "shiningrain__AUTOTRAINER/AutoTrainer/demo_case/Gradient_Vanish_Case"
            / "tmp/log_dir/log.csv",
            2,
        ),
    ],
)
def test_chance_level_checks_the_data_first_and_never_trains_longer(path, classes):
    rr = rc.result_for(path)
    assert rr.advice[0].action == "check-data"
    assert f"ln({classes})" in rr.advice[0].summary
    assert "over-fit one small batch" in rr.advice[0].summary
    assert "model.fit(x_train[:32], y_train[:32]" in rr.advice[0].code
    assert not {"train-longer", "lr-schedule", "grow", "lower-lr"} & set(actions(rr))


# ----------------------------------------------------------------- warm-up schedule


def test_warmup_peak_is_lowered_the_same_way_for_every_seed():
    lowered = set()
    for seed in SEEDS:
        rr = gallery("lr_hot", seed)
        first = rr.advice[0]
        assert first.action == "lower-lr"
        assert first.params["learning_rate"] == 0.002  # the peak 2e-2 x 0.1
        assert first.params["warmup_steps"] == 50  # the warm-up (25 steps), doubled
        assert "peak 0.02" in first.summary
        assert "learning_rate=0.002" in first.code and "warmup_steps=50" in first.code
        lowered.add(first.params["learning_rate"])
    assert lowered == {0.002}


# ----------------------------------------------------------------- gradient norms


def test_fp16_overflow_grad_norm_inf_is_a_finding():
    rr = gallery("fp16_nan")
    (f,) = [f for f in rr.findings if f.rule == "LA111"]
    assert f.severity == "warning" and f.evidence["nonfinite_at"] == [20, 30]
    assert "non-finite at steps 20, 30" in f.message and "fp16" in f.message
    assert "bf16" in advice(rr, "clip-gradients").summary
    assert "terminate-on-nan" not in actions(rr)  # the loss itself never went NaN


@pytest.mark.parametrize("seed", SEEDS)
def test_exploding_norms_are_evidence_and_the_cap_leaves_ordinary_steps_alone(seed):
    rr = gallery("lr_hot", seed)
    (f,) = [f for f in rr.findings if f.rule == "LA111"]
    assert f.evidence["max_finite"] > 500 and f.evidence["exploding_at"]
    clip = advice(rr, "clip-gradients")
    g = grad_norms(rr.run)
    share = g.share_above(clip.params["clipnorm"])
    assert clip.params["clipnorm"] > float(np.median(g.finite))  # not the median
    assert share <= 0.35, share  # ordinary steps pass untouched
    assert f"{share:.0%} of the 60 logged steps" in clip.summary
    assert "max_grad_norm=" in clip.code


# ----------------------------------------------------------------- columns vs header


def test_header_that_no_longer_matches_is_a_warning_not_a_divergence():
    rr = rc.result_for(rc.FACIAL / "results/logs/single_hidden_layer.csv")
    mismatch = [f for f in rr.findings if f.rule == "LA112"]
    assert mismatch and mismatch[0].metric == "loss" and mismatch[0].severity == "warning"
    assert mismatch[0].evidence["behaves_like"] == "mse"
    assert "0.81" in mismatch[0].message
    div = [f for f in rr.findings if f.kind == "divergence"]
    assert div and all(f.severity == "info" for f in div)
    assert rr.findings[0].rule == "LA112"
    assert actions(rr)[0] == "check-data" and "lower-lr" not in actions(rr)
    assert "--train-loss mean_squared_error" in rr.advice[0].summary


def test_a_real_divergence_is_not_mistaken_for_swapped_columns():
    t = np.arange(30.0)
    loss = np.r_[1.0 - 0.02 * t[:15], 0.7 * 1.4 ** (t[15:] - 14)]
    acc = np.r_[0.5 + 0.01 * t[:15], 0.6 - 0.03 * (t[15:] - 14)]
    rr = analyze({"loss": loss, "accuracy": acc, "val_loss": loss * 1.1}).runs[0]
    assert not any(f.rule == "LA112" for f in rr.findings)
    assert any(f.kind == "divergence" and f.severity == "error" for f in rr.findings)


# ----------------------------------------------------------------- new actions


@pytest.mark.parametrize(
    "path",
    [
        # a real run the labelled corpus calls noisy (the "noisy" sample is not noisy
        # by the real-log rubric: its validation turns at 21 % of its points)
        rc.REAL.parent / "real_logs_labeled" / "keras" / "117_lung-cancer-lr.csv",
        rc.REAL
        / "shiningrain__AUTOTRAINER/AutoTrainer/demo_case/Oscillating_Loss_Case/tmp/log_dir/log.csv",
    ],
)
def test_noisy_run_gets_a_larger_batch(path):
    rr = rc.result_for(path)
    big = advice(rr, "larger-batch")
    assert big.params["factor"] in (2, 4) and "batch_size=" in big.code


def test_diverging_run_gets_normalised_inputs_terminate_on_nan_and_keeps_its_optimizer():
    rr = rc.result_for(rc.SAMPLES / "diverging" / "history.json")
    got = actions(rr)
    assert {"normalize-inputs", "terminate-on-nan", "lower-lr"} <= set(got)
    assert "TerminateOnNaN()" in advice(rr, "terminate-on-nan").code
    assert "the run went on to epoch 29" in advice(rr, "terminate-on-nan").summary
    low = advice(rr, "lower-lr")
    # an SGD run whose optimizer the log does not name: no keras.optimizers.Adam(...)
    assert "optimizers." not in low.code and "model.optimizer.learning_rate" in low.code
    assert "no ceiling" in low.summary  # the sample's warm-up x1.6 per epoch never stops


def test_a_named_optimizer_is_kept_in_the_snippet():
    t = np.arange(20.0)
    run = to_run({"loss": np.r_[1 - 0.03 * t[:10], [5.0] * 10], "lr-SGD": np.full(20, 0.1)})
    div = Finding("LA102", "divergence", "error", "loss", 10, 19, "x", {"learning_rate": 0.1})
    by = {a.action: a for a in advise(run, [div], framework="lightning")}
    assert "torch.optim.SGD(self.parameters(), lr=0.01)" in by["lower-lr"].code
    by = {a.action: a for a in advise(run, [div], framework="keras")}
    assert "keras.optimizers.SGD(learning_rate=0.01)" in by["lower-lr"].code


def test_steady_but_far_too_slow_fall_raises_the_rate():
    t = np.arange(40.0)
    loss = 2.0 - 0.008 * t + 0.002 * np.sin(t)
    rr = analyze({"loss": loss, "val_loss": loss + 0.05, "learning_rate": np.full(40, 1e-5)})
    rr = rr.runs[0]
    up = advice(rr, "raise-lr")
    assert up.params == {"factor": 3.0, "learning_rate": 3e-05}
    assert "lower-lr" not in actions(rr)


# ----------------------------------------------------------------- EarlyStopping margin


def test_early_stopping_keeps_a_margin_on_every_real_curve():
    rc.need_real()
    checked = 0
    for rr in rc.analysis().runs:
        for a in rr.advice:
            if a.action != "early-stopping":
                continue
            name = a.params["monitor"]
            canon = {v: k for k, v in rr.run.original_names.items()}.get(name, name)
            if canon not in rr.run.metrics.columns:
                canon = rr.run.val_loss
            y = rr.run.series(canon).to_numpy(dtype=float)
            mode = a.params["mode"]
            best = int(np.argmin(y) if mode == "min" else np.argmax(y))
            fitted = _min_patience(y, best, a.params["min_delta"], mode)
            assert a.params["patience"] > fitted, (rr.run.name, a.params, fitted)
            checked += 1
    assert checked >= 10
    cats = rc.result_for(rc.LABELED / "keras" / "107_cats-dogs-small1.json")
    es = advice(cats, "early-stopping")
    assert es.params["patience"] >= 5 and "resampled reruns" in es.summary


# ----------------------------------------------------------------- the user's framework


def test_trainer_run_gets_trainer_code_and_lora_not_keras_layers():
    rr = gallery("overfit")
    assert rr.framework == "hf"
    es = advice(rr, "early-stopping")
    for part in (
        "load_best_model_at_end=True",
        'metric_for_best_model="eval_loss"',
        "eval_steps=15",
        "EarlyStoppingCallback(",
        f"early_stopping_patience={es.params['patience']}",
    ):
        assert part in es.code, part
    assert "counts evaluations (one every 15 steps here)" in es.summary
    assert es.params["monitor"] == "eval_loss"
    assert "LoraConfig(r=8" in advice(rr, "shrink").code
    assert "lora_dropout=" in advice(rr, "dropout").code
    assert "weight_decay=" in advice(rr, "regularize").code
    for a in rr.advice:
        assert "keras" not in a.code and "GaussianNoise" not in a.code, a.action


def test_lightning_run_monitors_its_own_metric_name():
    fish = rc.REAL / "Mormolykos__trainproof" / "evidence" / "fish_lightning_feb2026"
    rr = rc.result_for(fish)
    es = advice(rr, "early-stopping")
    assert es.params["monitor"] == "val/loss"
    assert 'monitor="val/loss"' in es.code and "ModelCheckpoint(" in es.code
    assert "torch.optim.AdamW" in advice(rr, "regularize").code  # lr-AdamW/pg1 in the log


# ----------------------------------------------------------------- sweeps


@pytest.mark.parametrize("seed", SEEDS)
def test_shuffled_labels_run_is_flagged_against_its_sweep(seed):
    rr = gallery("bad_labels", seed)
    (f,) = [f for f in rr.findings if f.rule == "LA113"]
    assert f.severity == "warning" and f.evidence["ratio"] >= 3
    assert 5.5 < f.evidence["final_level"] < 6.0 and f.evidence["reference"] < 1.7
    assert rr.advice[0].action == "check-data" and "sweep siblings" in rr.advice[0].summary


def test_sweep_outliers_only_where_siblings_exist():
    rc.need_real()
    flagged = {
        rr.run.sources[0]
        for rr in rc.analysis().runs
        if any(f.rule == "LA113" for f in rr.findings)
    }
    assert all("/examples/gallery/" in s for s in flagged), flagged
    for config in ("healthy", "lr_zero"):
        assert not any(f.rule == "LA113" for f in gallery(config).findings)
    for config in ("lr_hot", "fp16_nan"):  # worse than siblings, but their error explains it
        assert all(f.severity == "info" for f in gallery(config).findings if f.rule == "LA113")


# ----------------------------------------------------------------- contradictions


def contradictions(rr) -> list[str]:
    """Advice that contradicts the run's findings or its context."""
    from loganalyzer.advice.context import RunContext

    ctx = RunContext.of(rr.run, rr.findings, rr.framework)
    got = {a.action: a for a in rr.advice}
    bad = []
    kinds = {f.kind for f in problems(rr)}
    if ctx.lr_zero:
        bad += [
            f"{a} at rate 0"
            for a in ("lower-lr", "lr-schedule", "raise-lr", "train-longer", "grow")
            if a in got
        ]
    elif "fix-lr" in got:
        bad.append("fix-lr with a non-zero rate")
    if ctx.chance is not None:
        bad += [f"{a} at chance level" for a in ("train-longer", "lr-schedule", "grow") if a in got]
    if {"lower-lr", "raise-lr"} <= set(got):
        bad.append("lower and raise the rate")
    if {"grow", "shrink"} <= set(got):
        bad.append("grow and shrink")
    if "train-longer" in got and kinds & {
        "overfitting",
        "divergence",
        "column-mismatch",
        "sweep-outlier",
    }:
        bad.append(f"train-longer with {kinds}")
    if not kinds - {"undertrained"} and set(got) - {"train-longer", "lr-schedule", "raise-lr"}:
        bad.append(f"fixes for a clean run: {sorted(got)}")
    peak = ctx.schedule.peak
    if peak and "lower-lr" in got and got["lower-lr"].params.get("learning_rate", 0) >= peak:
        if ctx.schedule.kind != "rising":
            bad.append("lower-lr does not lower the configured rate")
    if peak and "raise-lr" in got and got["raise-lr"].params.get("learning_rate", 1) <= peak:
        bad.append("raise-lr does not raise the rate")
    if "clip-gradients" in got and ctx.grads is not None:
        share = ctx.grads.share_above(got["clip-gradients"].params["clipnorm"])
        if share > 0.5:
            bad.append(f"clipping would touch {share:.0%} of steps")
    if "terminate-on-nan" in got:
        series = [rr.run.series(n) for n in (rr.run.train_loss, rr.run.val_loss)]
        if all(s is None or np.isfinite(s.to_numpy(dtype=float)).all() for s in series):
            bad.append("terminate-on-nan without a non-finite loss")
    if ctx.suspect and "lower-lr" in got:
        bad.append("lower-lr on a column that may not hold a loss")
    es = got.get("early-stopping")
    if es is not None and es.params["monitor"] not in set(rr.run.original_names.values()) | set(
        rr.run.metrics.columns
    ) | {"eval_loss"}:
        bad.append(f"early-stopping monitors {es.params['monitor']!r}, not in the log")
    return bad


def test_no_advice_contradicts_a_finding_on_any_real_log():
    rc.need_real()
    found = {rr.run.sources[0]: contradictions(rr) for rr in rc.analysis().runs}
    found = {k: v for k, v in found.items() if v}
    assert not found, found
    assert len(rc.analysis().runs) > 100


def test_the_contradiction_check_catches_the_old_advice():
    """The walk above is not vacuous: the advice this issue started from fails it."""
    rr = gallery("lr_zero")
    old = advise(rr.run, rr.findings, framework="hf")
    from loganalyzer.findings import Advice

    stale = type(rr)(
        rr.run, rr.findings, old + [Advice("lr-schedule", 2, ["LA104"], "", "", {})], "hf"
    )
    assert "lr-schedule at rate 0" in contradictions(stale)


# ----------------------------------------------------------------- verify --from-log


def test_verify_from_log_needs_a_keras_spec_for_other_frameworks():
    from loganalyzer.commands.verify import requests_from_log

    reqs, _, notes = requests_from_log(rc.GALLERY / "overfit" / "trainer_state.json", 3)
    assert any("needs a Keras spec" in n and "Hugging Face Trainer" in n for n in notes)
    assert reqs[0].action == "early-stopping" and "monitor" not in reqs[0].params
    assert any("no Keras equivalent" in n and "shrink" in n for n in notes)
    reqs, _, notes = requests_from_log(Path(rc.SAMPLES / "overfit" / "history.json"), 1)
    assert not any("Keras spec" in n for n in notes)
    assert reqs[0].params["monitor"] == "val_loss" and reqs[0].params["patience"] == 3


def test_noise_in_a_warm_up_is_not_called_a_blow_up():
    """An HF run whose loss is noisy from its first logged step under a warm-up: the
    lower-lr advice says the training is noisy from the warm-up on, with the step the
    noise starts (the training loss's, not the later validation's), never that the loss
    'blew up', which no finding says."""
    rr = rc.result_for(rc.LABELED / "other" / "213_vislung-vit" / "trainer_state.json")
    assert "noisy" in {f.kind for f in rr.findings}
    assert not {"divergence", "loss-spike"} & {f.kind for f in rr.findings}
    lower = advice(rr, "lower-lr")
    assert lower.summary.startswith("Training is noisy from the warm-up on (step 10;")
    assert "blew up" not in lower.summary

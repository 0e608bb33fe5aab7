"""The labelled synthetic suite: precision and recall per kind, overfitting onset.

Every run of ``tests/synthetic_curves.py`` (about 400: each kind and the healthy
negatives over lengths 12/30/100/1000, noise 0/0.5/2 % and plain, negative, zero and
huge-first offsets) is analysed with ``loganalyzer.analysis.analyze_run``.

How it is scored:

- A *detection* of kind K is a finding of kind K with severity warning or error.
  Kinds whose rule is info by design in the pack (``val-below-train``,
  ``undertrained``) count at any severity. ``too-short`` notes and info findings
  of other kinds (a plateau ended by a learning-rate drop, a converged tail) are
  not detections.
- A run is a positive for K when K is one of its labels; healthy runs are
  negatives for every kind. ``metric-disagreement`` runs are also ``overfitting``
  positives (their validation loss does rise after the onset).
- Precision counts every K detection on a run not labelled K as a false positive,
  except the physically implied co-labels of ``synthetic_curves.IMPLIED``:
  divergence runs may also show ``loss-spike`` (the jump) and ``plateau`` (a loss
  stuck up); underfitting runs may show ``plateau`` (the flat high training loss).
  Those are neither true nor false positives.
- Onset accuracy: over all overfitting positives, the share whose overfitting
  finding starts within max(1, 5 % of the length) logged points of the true onset
  (a missed overfit is a miss).

The bar (issue 3): precision and recall >= 0.95 per kind, onset >= 90 %. A kind
that falls short is marked ``xfail`` below with the numbers measured when this file
was last committed; ``bench/bench_detectors.py`` prints the current table and the
misclassified runs.
"""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_curves import KINDS, build_suite, detected_kinds, evaluate, make_run, onset_ok

from loganalyzer.findings import Finding

BAR = 0.95
ONSET_BAR = 0.90

# Kinds measured below the bar with seed 0 when this file was committed, as
# kind -> "measured P=..., R=..." (each becomes an xfail). Every kind meets it now.
SHORT_OF_BAR: dict[str, str] = {}


@pytest.fixture(scope="module")
def scored():
    runs = build_suite(seed=0)
    scores, outcomes = evaluate(runs)
    return runs, scores, outcomes


# ------------------------------------------------------------- the truth itself


def test_suite_covers_the_grid():
    runs = build_suite(seed=0)
    assert 300 <= len(runs) <= 600
    assert {r.kind for r in runs} == {"healthy", *KINDS}
    assert {r.length for r in runs} == {12, 30, 100, 1000}
    assert {r.params["offset"] for r in runs} == {"plain", "negative", "zero", "huge-first"}
    negative = [r for r in runs if r.params["offset"] == "negative" and r.kind != "divergence"]
    assert all(r.data["loss"][-1] < 0 and np.median(r.data["loss"]) < 0 for r in negative)
    zero = [r for r in runs if r.params["offset"] == "zero"]
    assert zero and all(0.0 in r.data["loss"] for r in zero)
    steps = [r for r in runs if r.length == 1000]
    assert all(r.index_name == "step" and r.index[0] == 100 for r in steps)
    # same seed, same suite; another seed, other noise
    assert build_suite(seed=0)[5].data == runs[5].data
    assert build_suite(seed=1)[5].data != runs[5].data


@pytest.mark.parametrize("n", [12, 30, 100, 1000])
@pytest.mark.parametrize("offset", ["plain", "negative", "zero"])
def test_noiseless_overfit_has_its_best_validation_at_the_true_onset(n, offset):
    for kind in ("overfitting", "metric-disagreement"):
        run = make_run(kind, n, 0.0, offset, 0, seed=0)
        val = np.asarray(run.data["val_loss"])
        assert run.index[int(np.argmin(val))] == run.onset
        train = np.asarray(run.data["loss"])
        assert np.all(np.diff(train) <= 0)  # training keeps falling (or stays at 0)
        # a real rise, not a wiggle: >= 15 % of the best value (in the unshifted units)
        base = (val + 25) / 10 if offset == "negative" else val
        assert base[-1] >= 1.15 * base.min()


@pytest.mark.parametrize("n", [12, 30, 100, 1000])
def test_noiseless_truth_of_the_other_kinds(n):
    healthy = make_run("healthy", n, 0.0, "plain", 0, seed=0)
    tr, va = np.asarray(healthy.data["loss"]), np.asarray(healthy.data["val_loss"])
    tail = int(0.8 * n)
    assert (tr[tail] - tr[-1]) / tr[-1] < 0.05  # converged
    assert np.all(va >= tr)

    spike = make_run("loss-spike", n, 0.0, "plain", 0, seed=0)
    k, w = spike.params["spike_index"], spike.params["spike_width"]
    loss = np.asarray(spike.data["loss"])
    assert loss[k] >= 3 * loss[k - 1] * 0.9 and loss[k + w] < loss[k - 1]

    div = make_run("divergence", n, 0.0, "plain", 0, seed=0)
    k = div.params["divergence_index"]
    dl = np.asarray(div.data["loss"])
    assert np.all(np.isnan(dl[k:])) or np.all(dl[k:] >= 3 * dl[k - 1])

    under = make_run("underfitting", n, 0.0, "plain", 0, seed=0)
    ul, uv = np.asarray(under.data["loss"]), np.asarray(under.data["val_loss"])
    assert ul[-1] >= 0.75 * ul[0] and np.all(np.abs(uv / ul - 1) <= 0.03)

    under_t = make_run("undertrained", n, 0.0, "plain", 0, seed=0)
    ut = np.asarray(under_t.data["val_loss"])
    assert (ut[int(0.8 * n)] - ut[-1]) / ut[-1] >= 0.10

    vbt = make_run("val-below-train", n, 0.0, "plain", 0, seed=0)
    ratio = np.asarray(vbt.data["val_loss"]) / np.asarray(vbt.data["loss"])
    assert np.all((ratio >= 0.8) & (ratio <= 0.9))

    md = make_run("metric-disagreement", n, 0.0, "plain", 0, seed=0)
    acc = np.asarray(md.data["val_accuracy"])
    onset = md.index.index(md.onset)
    assert acc[-1] > acc[onset] + 0.02


# ------------------------------------------------------------- the scoring


def _finding(kind, severity, start=None):
    return Finding(
        rule="LA1xx",
        kind=kind,
        severity=severity,
        metric="val_loss",
        start=start,
        end=None,
        message="",
    )


def test_only_warnings_and_errors_are_detections_except_info_kinds():
    findings = [
        _finding("too-short", "info"),
        _finding("plateau", "info"),
        _finding("noisy", "warning"),
        _finding("divergence", "error"),
        _finding("val-below-train", "info"),
    ]
    assert detected_kinds(findings) == {"noisy", "divergence"}
    assert detected_kinds(findings, frozenset({"val-below-train", "too-short"})) == {
        "noisy",
        "divergence",
        "val-below-train",
    }


def test_onset_tolerance_is_five_percent_of_the_points_in_the_logs_numbering():
    steps = make_run("overfitting", 1000, 0.0, "plain", 0, seed=0)  # steps of 100
    i = steps.index.index(steps.onset)
    assert onset_ok(steps, steps.index[i + 50]) and onset_ok(steps, steps.index[i - 50])
    assert not onset_ok(steps, steps.index[i + 51])
    assert not onset_ok(steps, steps.onset + 1)  # not a logged step
    short = make_run("overfitting", 12, 0.0, "plain", 0, seed=0)
    assert onset_ok(short, short.onset + 1) and not onset_ok(short, short.onset + 2)
    assert not onset_ok(short, None)


# ------------------------------------------------------------- the bars


def _kind_params():
    out = []
    for kind in KINDS:
        marks = []
        if kind in SHORT_OF_BAR:
            marks.append(pytest.mark.xfail(strict=False, reason=SHORT_OF_BAR[kind]))
        out.append(pytest.param(kind, marks=marks, id=kind))
    return out


@pytest.mark.parametrize("kind", _kind_params())
def test_precision_and_recall_reach_the_bar(scored, kind):
    _, scores, outcomes = scored
    s = scores[kind]
    assert s.tp + s.fn > 0, f"no {kind} positives in the suite"
    missed = [o.run.id for o in outcomes if kind in o.false_negatives][:5]
    false = [o.run.id for o in outcomes if kind in o.false_positives][:5]
    assert s.precision >= BAR and s.recall >= BAR, (
        f"{kind}: P={s.precision:.3f} R={s.recall:.3f} (TP={s.tp} FP={s.fp} FN={s.fn}); "
        f"missed e.g. {missed}; false e.g. {false}"
    )


ONSET_REASON: str | None = None


@pytest.mark.xfail(ONSET_REASON is not None, strict=False, reason=ONSET_REASON or "meets the bar")
def test_overfitting_onset_within_five_percent(scored):
    _, scores, _ = scored
    s = scores["overfitting"]
    assert s.onset_total >= 50
    assert s.onset_accuracy >= ONSET_BAR, (
        f"onset within max(1, 5 %) in {s.onset_hits}/{s.onset_total} overfitting runs"
    )


def test_keras_lag_option_moves_only_the_training_curve():
    plain = make_run("overfitting", 30, 0.0, "plain", 0, seed=0)
    lagged = make_run("overfitting", 30, 0.0, "plain", 0, seed=0, keras_lag=True)
    assert lagged.data["val_loss"] == plain.data["val_loss"] and lagged.onset == plain.onset
    assert np.all(np.asarray(lagged.data["loss"]) > np.asarray(plain.data["loss"]))
    healthy = make_run("healthy", 30, 0.0, "plain", 0, seed=0, keras_lag=True)
    assert healthy.data["val_loss"][0] < healthy.data["loss"][0]  # epoch mean vs end of epoch
    steps = make_run("healthy", 1000, 0.0, "plain", 0, seed=0, keras_lag=True)
    assert steps.data == make_run("healthy", 1000, 0.0, "plain", 0, seed=0).data

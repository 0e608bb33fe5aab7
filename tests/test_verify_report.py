"""The verification report renders what the experiment measured, escaped and self-contained."""

from __future__ import annotations

import re

from loganalyzer.renderers.verification import render_html, render_markdown, rows, to_dict
from loganalyzer.verify.experiment import FindingStatus, RunRecord, VariantResult, Verification
from loganalyzer.verify.fixes import FixRequest
from loganalyzer.verify.stats import paired

EVIL = "<script>alert(1)</script>"


def fake_verification() -> Verification:
    runs = []
    base_vals = {1: [1.0, 0.8, 0.9, 1.0], 2: [1.1, 0.85, 0.95, 1.05]}
    for seed, val in base_vals.items():
        runs.append(RunRecord("baseline", None, seed, 1.0,
                              {"loss": [1.0, 0.6, 0.4, 0.3], "val_loss": val}, 4, 3, "x"))  # fmt: skip
        runs.append(RunRecord("dropout", "dropout", seed, 1.0,
                              {"loss": [1.0, 0.7, 0.6, 0.55], "val_loss": [v - 0.1 for v in val]},
                              4, 3, "x"))  # fmt: skip
    metrics = {}
    for m in ("best_val_loss", "kept_val_loss", "final_gap", "best_epoch"):
        b = [r.metrics()[m] for r in runs if r.label == "baseline"]
        f = [r.metrics()[m] for r in runs if r.label == "dropout"]
        metrics[m] = paired(b, f)
    variant = VariantResult(FixRequest("dropout"), "best_val_loss", metrics,
                            findings=[FindingStatus("overfitting", 2, 0, 2)])  # fmt: skip
    return Verification(EVIL, [1, 2], 4, [FixRequest("dropout")], runs, [variant],
                        f"out/{EVIL}", 1.0, notes=[EVIL])  # fmt: skip


def test_rows_carry_the_paired_statistics():
    table = rows(fake_verification())
    best = next(r for r in table if r["metric"] == "best val loss")
    assert best["primary"] == "yes"
    assert best["baseline"] == "0.825" and best["fixed"] == "0.725"
    assert best["diff"] == "-0.1 [-0.1, -0.1]" and best["verdict"] == "helped"
    epoch = next(r for r in table if r["metric"] == "epoch of best")
    assert epoch["verdict"] == "no significant change"


def test_html_is_self_contained_and_escaped():
    page = render_html(fake_verification())
    assert EVIL not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Content-Security-Policy" in page
    assert not re.search(r"""(src|href)=["'](?!data:)""", page)  # nothing loads from anywhere
    assert page.count("data:image/png;base64,") == 1
    assert "overfitting: gone (baseline 2/2 runs, fixed 0/2)" in page


def test_markdown_links_its_overlay_and_escapes_names():
    text, images = render_markdown(fake_verification(), "files")
    assert "<script>" not in text
    assert list(images) == ["fix1.png"] and images["fix1.png"][:4] == b"\x89PNG"
    assert "![Validation loss: dropout vs baseline](files/fix1.png)" in text


def test_json_summary_is_strict_json():
    import json

    doc = json.loads(json.dumps(to_dict(fake_verification()), allow_nan=False))
    (fix,) = doc["fixes"]
    assert fix["verdict"] == "helped" and fix["params"] == {"rate": 0.3}
    best = fix["metrics"]["best_val_loss"]
    assert abs(best["mean_diff"] + 0.1) < 1e-12 and best["ci_high"] < 0
    assert fix["findings"][0]["status"] == "gone"


def test_diverged_runs_are_counted_not_hidden():
    from loganalyzer.verify.experiment import _summarise

    nan = float("nan")
    runs = []
    for seed in (1, 2, 3):
        runs.append(
            RunRecord(
                "baseline",
                None,
                seed,
                1.0,
                {"loss": [5.0, 50.0, nan], "val_loss": [4.0, 60.0, nan]},
                3,
                2,
                "x",
            )
        )
        runs.append(RunRecord("clip-gradients", "clip-gradients", seed, 1.0,
                              {"loss": [5.0, 2.0, 1.0], "val_loss": [4.0, 2.5 + seed / 10, 1.5]},
                              3, 2, "x"))  # fmt: skip
    result = Verification("s", [1, 2, 3], 3, [], runs, [], "o", 1.0)
    v = _summarise(result, FixRequest("clip-gradients"), ["divergence"], spec=None)
    assert v.diverged == (3, 0, 3)
    assert any("baseline 3/3, fixed 0/3" in n for n in v.notes)
    assert v.comparisons["best_val_loss"].verdict == "helped"  # 4.0 -> 1.5 in every pair
    assert v.comparisons["kept_val_loss"].n == 0  # NaN at the end: no pair to compare


def test_reanalysis_says_whether_the_motivating_finding_is_gone(tmp_path, monkeypatch):
    """Each run's own log is analysed again; the fix's target finding is counted per side."""
    import json

    import loganalyzer.analysis as analysis
    from loganalyzer.findings import Finding
    from loganalyzer.verify.experiment import _summarise
    from loganalyzer.verify.training import reanalyse

    def fake_analyze(path):  # stands in for the detectors: overfitting = val rises >5 %
        hist = json.loads(open(path).read())
        val = hist["val_loss"]
        rr = analysis.RunResult(run=analysis.to_run(hist))
        if val[-1] > 1.05 * min(val):
            rr.findings.append(Finding("LA101", "overfitting", "warning", "val_loss", 1, 3, "m"))
        return analysis.Analysis(runs=[rr])

    monkeypatch.setattr(analysis, "analyze", fake_analyze)
    runs = []
    for seed in (1, 2):
        for label, val in (("baseline", [1.0, 0.8, 0.9, 1.0]), ("dropout", [1.0, 0.8, 0.78, 0.77])):
            d = tmp_path / label / f"seed{seed}"
            d.mkdir(parents=True)
            hist = {"loss": [1.0, 0.7, 0.5, 0.4], "val_loss": [v + seed / 100 for v in val]}
            (d / "history.json").write_text(json.dumps(hist))
            rec = RunRecord(label, None if label == "baseline" else "dropout", seed, 1.0, hist, 4,
                            3, str(d))  # fmt: skip
            reanalyse(rec)
            runs.append(rec)
    assert [r.findings[0]["rule"] for r in runs if r.label == "baseline"] == ["LA101", "LA101"]
    result = Verification("s", [1, 2], 4, [], runs, [], str(tmp_path), 1.0)
    v = _summarise(result, FixRequest("dropout"), ["LA101"], spec=None)
    (status,) = v.findings
    assert (status.baseline_runs, status.fixed_runs, status.status) == (2, 0, "gone")


def test_a_baseline_that_never_gives_a_finite_loss_is_judged_by_divergence():
    from loganalyzer.renderers.verification import headline
    from loganalyzer.verify.experiment import _summarise

    nan = float("nan")

    def summary(n_seeds):
        runs = []
        for seed in range(1, n_seeds + 1):
            runs.append(
                RunRecord(
                    "baseline",
                    None,
                    seed,
                    1.0,
                    {"loss": [nan, nan], "val_loss": [nan, nan]},
                    2,
                    1,
                    "x",
                )
            )
            runs.append(
                RunRecord(
                    "lower-lr",
                    "lower-lr",
                    seed,
                    1.0,
                    {"loss": [3.0, 2.0], "val_loss": [3.1, 2.2]},
                    2,
                    1,
                    "x",
                )
            )
        # fmt: skip
        result = Verification("s", list(range(1, n_seeds + 1)), 2, [], runs, [], "o", 1.0)
        return _summarise(result, FixRequest("lower-lr"), [], spec=None)

    three = summary(3)
    assert three.comparisons["best_val_loss"].n == 0
    assert three.verdict == "no significant change"  # 3 of 3 is p = 0.25: not enough seeds
    text = headline(three)
    assert "baseline 3/3, fixed 0/3" in text and "p = 0.250" in text and "6 or more" in text
    six = summary(6)
    assert six.verdict == "helped" and six.divergence_test.p == 0.03125


def test_the_ratio_note_is_said_only_where_a_loss_was_judged_as_a_ratio():
    plain = fake_verification()  # compared on differences
    assert "judged as ratios" not in render_markdown(plain, "files")[0]
    ver = fake_verification()
    v = ver.variants[0]
    b, f = [0.452, 0.076, 0.484], [0.040, 0.036, 0.035]
    v.comparisons["best_val_loss"] = paired(b, f, ratio=True)
    text = render_markdown(ver, "files")[0]
    assert "Losses are judged as ratios per seed" in text
    best = next(r for r in rows(ver) if r["metric"] == "best val loss")
    assert best["rel"].endswith("%]") and best["rel"].startswith("-")

"""``loganalyzer compare``: the runs' validation curves overlaid and their differences."""

from __future__ import annotations

import math
import re

import pytest
from markdown_it import MarkdownIt
from report_fixtures import EVIL, SAMPLES, diverging_result, healthy_result, overfit_result
from test_report_html import Page, _svg
from typer.testing import CliRunner

from loganalyzer.analysis import Analysis
from loganalyzer.cli import app
from loganalyzer.comparison import compare
from loganalyzer.renderers import html, markdown
from loganalyzer.renderers.plots import compare_plot


def three() -> Analysis:
    return Analysis(runs=[overfit_result(), healthy_result(), diverging_result()])


def test_comparison_rows():
    rows = compare(three()).rows
    over, healthy, div = rows
    assert (over.best_index, round(over.best_value, 4)) == (18, 0.1891)
    assert healthy.best_index == 29 and healthy.delta_best == 0.0
    assert math.isclose(over.delta_best, over.best_value - healthy.best_value)
    # Final gap: val - train at the last index both are finite (epoch 39 / 29 / 13).
    run = over_run = overfit_result().run
    assert math.isclose(
        over.final_gap, run.metrics["val_loss"].iloc[-1] - over_run.metrics["loss"].iloc[-1]
    )
    assert math.isclose(div.final_gap, 3e9 * 1.1 - 3e9)  # epoch 15, the last finite row
    assert math.isnan(div.final_value)  # the monitor ended NaN, shown as such
    assert over.findings == ["LA101 overfitting", "LA103 loss-spike"]  # info left out
    assert compare(three()).best.name == healthy.name


def test_overlay_plot_marks_each_run():
    plot = compare_plot(three().runs)
    runs = [a for a in plot.annotations if a.kind == "run"]
    bests = [a for a in plot.annotations if a.kind == "best"]
    assert len(runs) == 3 and len(bests) == 3
    assert [b.x for b in bests] == [18, 29, 11]
    assert plot.scale == "log"  # the diverging run spans 1.6 .. 3e9


def test_compare_reports_html_and_markdown(tmp_path):
    analysis = three()
    page = Page(html.render_compare(analysis, compare(analysis)))
    figs = page.all("figure", "plot-compare")
    assert len(figs) == 1
    svg = _svg(page.all("img")[0])
    assert "overfit/history.json" in svg and "diverging/training.csv" in svg
    assert len(page.all("table", "compare")) == 1
    assert len(page.all("section", "run")) == 3
    report = markdown.render_compare(analysis, compare(analysis), files_dir="c_files")
    toks = MarkdownIt("commonmark").enable("table").parse(report.text)
    assert sum(t.type == "table_open" for t in toks) >= 1
    assert "c_files/00-compare.png" in report.images
    row = next(line for line in report.text.splitlines() if "| overfit" in line)
    assert "| 0.1891 | 18 |" in row and "LA101 overfitting" in row


def test_compare_terminal_table_escapes_names(tmp_path, monkeypatch):
    from loganalyzer.commands import report as cmd

    analysis = Analysis(runs=[overfit_result(name=f"[bold red]{EVIL}"), healthy_result()])
    monkeypatch.setattr(cmd, "_analyse", lambda paths, t, v, **kw: analysis)
    res = CliRunner().invoke(app, ["compare", "a", "b"], env={"COLUMNS": "300"})
    assert res.exit_code == 0, res.output
    assert f"[bold red]{EVIL}" in res.output  # shown literally: rich markup not applied
    assert re.search(r"★\s+healthy/history.json", res.output)
    assert "Validation loss compared" in res.output
    out = tmp_path / "c.html"
    res = CliRunner().invoke(app, ["compare", "a", "b", "-o", str(out)])
    assert res.exit_code == 0 and out.read_text().startswith("<!DOCTYPE html>")
    res = CliRunner().invoke(app, ["compare", "a", "b", "-o", str(out)])
    assert res.exit_code == 2 and "already exists" in res.output


def test_compare_needs_two_runs(monkeypatch):
    from loganalyzer.commands import report as cmd

    monkeypatch.setattr(
        cmd, "_analyse", lambda paths, t, v, **kw: Analysis(runs=[healthy_result()])
    )
    res = CliRunner().invoke(app, ["compare", "a"])
    assert res.exit_code == 2
    assert "compare needs at least two runs with the same loss on the same index" in res.output
    assert "found 1 of 1" in res.output


def test_compare_sample_logs(tmp_path):
    if not SAMPLES.is_dir():
        pytest.skip("sample_logs/ is not there")
    dirs = [str(SAMPLES / s) for s in ("overfit", "healthy", "diverging")]
    out = tmp_path / "cmp.md"
    res = CliRunner().invoke(app, ["compare", *dirs, "-o", str(out)], env={"COLUMNS": "300"})
    if "found 0" in res.output or "found 1" in res.output:
        pytest.skip("no reader reads sample_logs/ yet")
    assert res.exit_code == 0, res.output
    for name in ("overfit/", "healthy/", "diverging/"):
        assert name in res.output and name in out.read_text()
    assert (tmp_path / "cmp_files" / "00-compare.png").is_file()


# ------------------------------------------------------------------ like with like
def _run(name: str, columns: dict, index: str = "epoch"):
    import pandas as pd

    from loganalyzer.analysis import analyze_run
    from loganalyzer.run import Run

    n = len(next(iter(columns.values())))
    frame = pd.DataFrame(columns, index=pd.Index(range(n), name=index))
    return analyze_run(Run.from_frame(name, frame, format="keras-csv", index=index, sources=[name]))


def test_compare_leaves_out_a_train_only_run_and_says_why():
    train_only = _run("lucky/train.csv", {"loss": [1.0, 0.3, 0.05, 0.01]})
    analysis = Analysis(runs=[overfit_result(), healthy_result(), train_only])
    cmp = compare(analysis)
    assert cmp.what == "Validation loss"
    assert [r.name for r in cmp.rows] == ["overfit/history.json", "healthy/history.json"]
    assert [(x.name, x.reason) for x in cmp.left_out] == [
        ("lucky/train.csv", "no validation loss logged")
    ]
    # Its training loss of 0.01 is not starred as the best validation loss.
    assert cmp.best.name == "healthy/history.json"
    assert all(r.monitor == "val_loss" for r in cmp.rows)
    page = Page(html.render_compare(analysis, cmp, with_plots=False))
    assert "Left out of the comparison" in page.plain
    assert "lucky/train.csv: no validation loss logged" in page.plain
    svg = _svg(page.all("img")[0])
    assert "Validation loss of each run" in svg and "lucky/train.csv" not in svg
    report = markdown.render_compare(analysis, cmp, with_plots=False)
    assert "- lucky/train.csv: no validation loss logged" in report.text


def test_compare_runs_without_validation_on_their_training_loss():
    a = _run("a.csv", {"loss": [1.0, 0.5, 0.4]})
    b = _run("b.csv", {"loss": [1.0, 0.6, 0.2]})
    cmp = compare(Analysis(runs=[a, b]))
    assert cmp.what == "Training loss" and not cmp.left_out
    assert [round(r.delta_best, 3) for r in cmp.rows] == [0.2, 0.0]
    plot = compare_plot([a, b], ["a.csv", "b.csv"], columns=["loss", "loss"], what=cmp.what)
    assert plot.title == "Training loss compared"
    assert "Training loss of each run" in plot.data.decode()


def test_compare_leaves_out_a_run_on_another_index():
    steps = _run("hf/trainer_state.json", {"loss": [1.0, 0.5], "val_loss": [1.1, 0.6]}, "step")
    cmp = compare(Analysis(runs=[overfit_result(), healthy_result(), steps]))
    assert [x.reason for x in cmp.left_out] == ["logged per step, the others per epoch"]


def test_compare_cli_prints_left_out_runs(tmp_path):
    (tmp_path / "a.csv").write_text("epoch,loss,val_loss\n0,1.0,1.1\n1,0.5,0.7\n2,0.4,0.6\n")
    (tmp_path / "b.csv").write_text("epoch,loss,val_loss\n0,1.0,1.2\n1,0.6,0.8\n2,0.3,0.5\n")
    (tmp_path / "c.csv").write_text("epoch,loss\n0,1.0\n1,0.1\n2,0.01\n")
    res = CliRunner().invoke(app, ["compare", str(tmp_path)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "Validation loss compared" in res.stdout
    assert "left out: c.csv: no validation loss logged" in res.stdout


def test_compare_legend_keeps_the_distinctive_end_of_long_names():
    names = [f"experiments/2024-11-24/imagenet/resnet50/lr_sweep/seed_{i}" for i in range(2)]
    runs = [overfit_result(name=n) for n in names]
    svg = compare_plot(runs, names).data.decode()
    assert "seed_0" in svg and "seed_1" in svg  # the tail, which tells them apart

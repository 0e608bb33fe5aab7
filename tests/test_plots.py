"""The report figures as a reader sees them: no text runs into another text or into a
marked point (checked on matplotlib's rendered bounding boxes), the leading finding of
every kind is drawn, a huge first epoch does not squash the curve, learning-rate axes
are sane, a million-row run makes a small figure that keeps its extremes, and hostile
values (1e308, lone surrogates) never cost the report."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text
from report_fixtures import SAMPLES, overfit_result

from loganalyzer.analysis import Analysis, RunResult, analyze, analyze_run
from loganalyzer.findings import Finding
from loganalyzer.renderers import html
from loganalyzer.renderers.plots import (
    Drawn,
    decimate,
    draw_compare,
    draw_gap,
    draw_loss,
    draw_metrics,
    run_plots,
)
from loganalyzer.renderers.view import DRAWN_KINDS, kind_title
from loganalyzer.rulepack import load_rules
from loganalyzer.run import Run


# ------------------------------------------------------------------ the overlap check
def drawn_texts(fig) -> list[tuple[str, object]]:
    """Every text matplotlib draws (tick labels only where a tick is drawn), with its
    rendered bounding box in display pixels."""
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    all_ticks, shown = set(), set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                all_ticks.update({id(tick.label1), id(tick.label2)})
            if axis.get_visible():
                for tick in axis._update_ticks():  # the ticks draw() draws
                    shown.update({id(tick.label1), id(tick.label2)})
    out = []
    for text in fig.findobj(Text):
        if not text.get_visible() or not text.get_text().strip():
            continue
        if id(text) in all_ticks and id(text) not in shown:
            continue
        box = text.get_window_extent(renderer)
        if box.width > 0 and box.height > 0:
            out.append((text.get_text(), box))
    return out


def collisions(drawn: Drawn) -> list[tuple]:
    texts = drawn_texts(drawn.figure)
    found = [(a, b) for (a, ba), (b, bb) in itertools.combinations(texts, 2) if ba.overlaps(bb)]
    for coll in drawn.points:
        for x, y in coll.get_offset_transform().transform(coll.get_offsets()):
            found += [("marked point", text) for text, box in texts if box.contains(x, y)]
    return found


def test_the_overlap_check_can_fail():
    drawn = draw_loss(overfit_result())
    ax = drawn.figure.axes[0]
    ax.text(0.5, 0.5, "label one", transform=ax.transAxes)
    ax.text(0.5, 0.5, "label two", transform=ax.transAxes)
    star = drawn.points[-1].get_offsets()[0]
    ax.annotate("on the star", tuple(star), ha="center", va="center")
    found = collisions(drawn)
    assert ("label one", "label two") in found
    assert ("marked point", "on the star") in found


def _sample_results():
    if not SAMPLES.is_dir():
        pytest.skip("sample_logs/ is not there")
    # the five training scenarios, each written three ways (console/ holds the same
    # runs printed to a terminal: the same figures again)
    scenarios = ("overfit", "healthy", "diverging", "underfitting", "noisy")
    result = analyze([str(SAMPLES / s) for s in scenarios])
    assert len(result.runs) == 15 and not result.errors
    return result.runs


def test_no_text_overlaps_another_or_a_marked_point_on_any_sample_plot():
    results = _sample_results()
    checked, seen = 0, set()
    for rr in results:
        # history.json and training.csv of a scenario hold the same numbers: the same
        # figures (drawing each once keeps the test fast).
        key = (rr.run.metrics.to_json(), repr(rr.findings), repr(rr.advice))
        if key in seen:
            continue
        seen.add(key)
        for draw in (draw_loss, draw_gap, draw_metrics):
            drawn = draw(rr)
            if drawn is None:
                continue
            assert collisions(drawn) == [], (rr.run.name, draw.__name__)
            checked += 1
    assert len(seen) >= 10 and checked >= 2 * len(seen)
    scenarios = [rr for rr in results if rr.run.name.endswith("history.json")]
    drawn = draw_compare(scenarios)
    assert collisions(drawn) == []


def test_no_overlap_with_every_mark_and_long_names_at_once():
    rr = overfit_result(name="x" * 300, val_name="val_" + "a_very_long_metric_name_" * 4)
    rr.findings.append(Finding("LA105", "noisy", "warning", "loss", 0, 39, "noisy"))
    rr.findings.append(Finding("LA110", "generalization-gap", "warning", None, 5, 30, "gap"))
    for draw in (draw_loss, draw_gap, draw_metrics):
        assert collisions(draw(rr)) == [], draw.__name__


# ------------------------------------------------------------------ every kind is drawn
def _with_leading(kind: str, start=10, end=30) -> RunResult:
    rr = overfit_result()
    rr.findings = [
        Finding("LA999", kind, "error", "val_loss", start, end, f"{kind} here", {}),
        *[f for f in rr.findings if f.severity != "error"],
    ]
    return rr


@pytest.mark.parametrize(
    "kind",
    sorted(
        ({r.kind for r in load_rules()} | {"generalization-gap", "a-kind-added-later"})
        - DRAWN_KINDS
    ),
)
def test_the_leading_finding_is_drawn_for_every_kind(kind):
    """Kinds with a drawing of their own are checked in test_report_html; every other
    kind, today's and tomorrow's, is a labelled band over the stretch it covers."""
    drawn = draw_loss(_with_leading(kind))
    bands = [a for a in drawn.annotations if a.kind == "finding"]
    assert [(a.x, a.label) for a in bands][:1] == [(10, f"{kind_title(kind)} (epoch 10–30)")]


def test_a_whole_run_finding_is_drawn_over_the_whole_run():
    drawn = draw_loss(_with_leading("noisy", None, None))
    assert ("finding", 0, "Noisy training (whole run)") in {
        (a.kind, a.x, a.label) for a in drawn.annotations
    }


def test_a_chance_level_is_drawn_as_a_line():
    rr = _with_leading("underfitting")
    rr.findings[0].evidence["chance_level"] = 0.6931
    drawn = draw_loss(rr)
    assert any(a.kind == "level" and "0.6931" in a.label for a in drawn.annotations)


# ------------------------------------------------------------------ axes
def _rr(columns: dict, index_name: str = "epoch") -> RunResult:
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame(columns, index=pd.Index(np.arange(n), name=index_name))
    return analyze_run(Run.from_frame("r", frame, format="python", index=index_name))


def test_a_huge_first_epoch_does_not_squash_the_curve():
    epochs = np.arange(40)
    loss = 0.5 + 0.3 * np.exp(-epochs / 10)
    loss[0] = 250.0  # an unnormalised first epoch
    rr = _rr({"loss": loss, "val_loss": loss + 0.05})
    drawn = draw_loss(rr)
    main = drawn.figure.axes[0]
    low, high = main.get_ylim()
    assert high < 1.0 and low > 0.4  # the part that matters fills the plot
    assert main.get_yscale() == "linear"
    assert {"off-scale", "overview"} <= {a.kind for a in drawn.annotations}
    overview = drawn.figure.axes[1]
    assert overview.get_ylim()[1] >= 250  # the whole run, first epoch included
    assert collisions(drawn) == []


@pytest.mark.parametrize(
    ("rate", "expect"),
    [(1e-4, (0.0, 2e-4)), (0.0, (0.0, 1.0))],
)
def test_learning_rate_axis_for_constant_and_zero_rates(rate, expect):
    epochs = np.arange(20)
    rr = _rr({"loss": 1 / (1 + epochs), "val_loss": 1.1 / (1 + epochs), "lr": np.full(20, rate)})
    drawn = draw_loss(rr)
    lr_axis = drawn.figure.axes[-1]
    assert lr_axis.get_ylabel() == "learning rate"
    assert lr_axis.get_ylim() == pytest.approx(expect)
    assert lr_axis.yaxis.get_offset_text().get_text() == ""  # no "1e-4 + ..." offset
    assert collisions(drawn) == []


# ------------------------------------------------------------------ size and extremes
def test_a_million_row_run_makes_a_small_report_with_every_extreme():
    n = 1_000_000
    steps = np.arange(n)
    loss = 2.0 * np.exp(-steps / 200_000) + 0.1 + 0.01 * np.sin(steps / 50)
    loss[654_321] = 9.5  # one spike must survive downsampling
    loss[800_000] = np.nan
    frame = pd.DataFrame({"loss": loss}, index=pd.Index(steps, name="step"))
    rr = RunResult(Run.from_frame("big", frame, format="python", index="step"))
    page = html.render(Analysis([rr]), jobs=1)
    assert len(page) < 1_000_000, len(page)  # was 68 MB
    dx, dy = decimate(steps.astype(float), loss)
    assert len(dx) <= 4000 and 9.5 in dy and np.isnan(dy).any()
    assert dy[np.isfinite(dy)].min() == np.nanmin(loss)


def test_extreme_values_are_drawn_not_fatal():
    epochs = np.arange(12)
    loss = 1 / (1 + epochs)
    val = 1.2 / (1 + epochs)
    loss[3], val[5], val[7] = 1e308, -1.7976931348623157e308, 1e308
    rr = _rr({"loss": loss, "val_loss": val, "lr": np.where(epochs < 4, 1e308, 1e-3)})
    plots = run_plots(rr)
    assert [p.name for p in plots][:2] == ["loss", "gap"]
    assert all("could not be drawn" not in p.alt for p in plots)
    assert "off-scale" in plots[0].kinds()
    assert collisions(draw_loss(rr)) == []


def test_lone_surrogates_in_names_are_drawn():
    epochs = np.arange(10)
    rr = _rr({"loss\ud800": 1 / (1 + epochs), "val_loss": 1.1 / (1 + epochs), "acc\udfff": epochs})
    rr.run.name = "run\ud800"
    plots = run_plots(rr)
    assert all("could not be drawn" not in p.alt for p in plots)
    page = html.render(Analysis([rr]))
    page.encode("utf-8")  # no surrogate left to break the file


def test_compare_legend_sits_beside_the_curves():
    names = [f"sweeps/2024/resnet50/lr_{i}e-3/seed_{i}" for i in range(12)]
    drawn = draw_compare([overfit_result(name=n) for n in names], names)
    fig = drawn.figure
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = fig.legends[0].get_window_extent(renderer)
    axes = fig.axes[0].get_window_extent(renderer)
    assert not legend.overlaps(axes)
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == [f"lr_{i}e-3/seed_{i}" for i in range(12)]
    assert fig.legends[0].get_title().get_text() == "sweeps/2024/resnet50/"

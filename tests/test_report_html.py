"""The HTML report: one self-contained file whose structure, plots and annotations say
what the findings and advice say."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import pytest
from report_fixtures import (
    SAMPLES,
    SCENARIOS,
    diverging_result,
    healthy_result,
    negative_result,
    overfit_result,
    synthetic_analysis,
)

from loganalyzer.analysis import Analysis, analyze
from loganalyzer.renderers import html
from loganalyzer.renderers.plots import gap_plot, loss_plot, metrics_plot


class Page(HTMLParser):
    """Collects elements (tag, attrs, class), text and the <script>/<style> bodies."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._raw: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._raw = tag

    def handle_endtag(self, tag):
        self._raw = None

    def handle_data(self, data):
        if self._raw == "script":
            self.scripts.append(data)
        elif self._raw == "style":
            self.styles.append(data)
        else:
            self.text.append(data)

    def all(self, tag: str, cls: str | None = None) -> list[dict]:
        return [
            a
            for t, a in self.tags
            if t == tag and (cls is None or cls in (a.get("class") or "").split())
        ]

    @property
    def plain(self) -> str:
        return " ".join(" ".join(self.text).split())


def _svg(img: dict) -> str:
    src = img["src"]
    assert src.startswith("data:image/svg+xml;base64,"), src[:40]
    svg = base64.b64decode(src.split(",", 1)[1], validate=True).decode("utf-8")
    assert "<svg" in svg
    return svg


def _svg_text(svg: str) -> str:
    return " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg))


def test_single_overfit_report_leads_with_onset_and_what_to_do():
    page_text = html.render(Analysis(runs=[overfit_result()]))
    page = Page(page_text)
    # The verdict box comes before any figure or table, and says both things.
    body = page_text[page_text.index("<body>") :]
    verdict_at = body.index('class="verdict')
    assert verdict_at < body.index("<figure") < body.index("<table")
    verdict = body[verdict_at : body.index("</div>", verdict_at)]
    assert "Overfitting from epoch 18" in verdict
    assert "Stop at epoch ~22 with EarlyStopping(" in verdict
    assert "patience=4" in verdict and "restore_best_weights=True" in verdict
    # Header facts.
    for fact in ("overfit/history.json", "keras-json", "40 epochs", "val_loss 0.1891 at epoch 18"):
        assert fact in page.plain
    # No sortable table and no script for one run.
    assert page.all("script") == [] and page.all("table", "summary") == []


def test_loss_figure_carries_every_annotation():
    img = Page(html.render(Analysis(runs=[overfit_result()]))).all("img")[0]
    text = _svg_text(_svg(img))
    assert "overfitting onset (epoch 18)" in text
    assert "best 0.1891 @ 18" in text
    assert "EarlyStopping stop (patience=4) at epoch 22" in text
    assert "plateau 30–38" in text
    assert "spike" in text and "learning rate" in text


def test_plot_metadata_positions_come_from_findings_and_advice():
    rr = overfit_result()
    plot = loss_plot(rr)
    where = {a.kind: a.x for a in plot.annotations}
    assert where["onset"] == 18 and where["overfit-region"] == 18
    assert where["best"] == 18
    assert where["early-stop"] == 22
    assert where["spike"] == 25
    assert where["plateau"] == 30
    assert "learning-rate" in where
    assert plot.scale == "log"  # val 0.19..1.0 and train down to 0.03
    # Move the finding: the drawing follows it (nothing is re-detected in the renderer).
    rr.findings[0].start = 10
    rr.advice[0].params["would_stop_at"] = 33
    where = {a.kind: a.x for a in loss_plot(rr).annotations}
    assert where["onset"] == 10 and where["early-stop"] == 33
    gap = gap_plot(rr)
    assert gap is not None and {"onset", "overfit-region", "early-stop"} <= gap.kinds()
    metrics = metrics_plot(rr)
    assert metrics is not None and "accuracy" in metrics.alt and "val_accuracy" in metrics.alt


def test_nonfinite_and_negative_losses_are_drawn():
    plot = loss_plot(diverging_result())
    kinds = [a.kind for a in plot.annotations]
    assert "diverged" in kinds and "non-finite" in kinds
    assert plot.scale in ("log", "symlog")
    neg = loss_plot(negative_result())
    assert neg.scale == "linear"
    assert "best" in neg.kinds()
    svg = neg.data.decode()
    assert "−4" in _svg_text(svg) or "-4" in _svg_text(svg)  # the negative axis is there


def test_many_runs_summary_table_then_sections():
    analysis = synthetic_analysis()
    text = html.render(analysis)
    page = Page(text)
    tables = page.all("table", "summary")
    assert len(tables) == 1
    # Each run's section is collapsed below the summary, worst runs first.
    details = page.all("details", "run-details")
    assert [d["id"] for d in details] == ["run-1", "run-2", "run-3", "run-4"]
    assert all("open" not in d for d in details)
    assert text.index('class="sortable summary"') < text.index('class="run-details"')
    assert len(page.all("section", "run")) == 4
    # Summary rows link to the sections.
    links = [a["href"] for a in page.all("a")]
    assert links[:4] == ["#run-1", "#run-2", "#run-3", "#run-4"]
    # One sorting script, allowed by its hash in the CSP.
    assert page.scripts == [html.SORT_SCRIPT]
    assert len(page.all("button")) == 7
    # Every image is inline and decodes; each run has a loss figure.
    imgs = page.all("img")
    assert len(imgs) >= 4
    for img in imgs:
        _svg(img)
    figs = page.all("figure", "plot-loss")
    assert len(figs) == 4
    assert "onset" in figs[0]["data-annotations"].split()  # overfit (error)
    assert "diverged" in figs[1]["data-annotations"].split()  # diverging (error)


def test_page_is_self_contained_with_strict_csp():
    text = html.render(synthetic_analysis())
    page = Page(text)
    metas = [a for a in page.all("meta") if a.get("http-equiv") == "Content-Security-Policy"]
    assert len(metas) == 1
    csp = metas[0]["content"]
    assert "default-src 'none'" in csp and "img-src data:" in csp
    assert "unsafe-inline" not in csp and "http" not in csp
    assert html._sha256(page.styles[0]) in csp
    assert html._sha256(page.scripts[0]) in csp
    # No element pulls anything from elsewhere.
    for tag, attrs in page.tags:
        for key in ("src", "href"):
            value = attrs.get(key)
            if value is not None:
                assert value.startswith(("data:", "#")), (tag, value[:60])
        assert tag not in ("link", "iframe", "object", "embed", "base")
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        assert "style" not in attrs  # would be blocked by the hashed style-src
    assert "@media print" in page.styles[0]
    assert "@import" not in page.styles[0] and "url(" not in page.styles[0]


def test_fragment_for_jupyter():
    analysis = Analysis(runs=[overfit_result()])
    frag = analysis._repr_html_()
    assert "<html" not in frag and "<script" not in frag
    assert frag.startswith("<style>") and 'class="la-report"' in frag
    assert "Overfitting from epoch 18" in frag


def test_analyze_path_does_not_import_matplotlib():
    import subprocess
    import sys

    code = (
        "import sys, loganalyzer, loganalyzer.cli; "
        "loganalyzer.analyze({'loss': [1.0, 0.5], 'val_loss': [1.0, 0.6]}); "
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------ real sample logs
def _sample_runs():
    if not SAMPLES.is_dir():
        pytest.skip("sample_logs/ is not there")
    result = analyze(str(SAMPLES))
    if not result.runs:
        pytest.skip("no reader reads sample_logs/ yet")
    return result


def test_every_sample_log_renders_with_structure():
    result = _sample_runs()
    scenarios = {rr.run.name.split("/")[0] for rr in result.runs}
    assert set(SCENARIOS) <= scenarios
    page = Page(html.render(result))
    assert len(page.all("section", "run")) == len(result.runs)
    assert len(page.all("figure", "plot-loss")) == len(result.runs)
    for img in page.all("img"):
        _svg(img)
    assert not result.errors, result.errors


def test_overfit_sample_report_first_screen():
    result = _sample_runs()
    overfit = [rr for rr in result.runs if rr.run.name.startswith("overfit/")]
    assert overfit
    for rr in overfit:
        kinds = [f.kind for f in rr.findings]
        if "overfitting" not in kinds:
            pytest.skip("the overfitting detector does not flag the sample yet")
        text = html.render(Analysis(runs=[rr]))
        body = text[text.index("<body>") :]
        verdict = body[body.index('class="verdict') : body.index("<figure")]
        onset = next(f for f in rr.findings if f.kind == "overfitting").start
        assert f"Overfitting from {rr.run.index} {onset}" in verdict
        assert "What to do:" in verdict
        es = [a for a in rr.advice if a.action == "early-stopping"]
        if es and "would_stop_at" in es[0].params:
            assert f"~{es[0].params['would_stop_at']}" in verdict
            kinds = loss_plot(rr).kinds()
            assert {"onset", "best", "early-stop"} <= kinds


@pytest.mark.parametrize(
    "columns",
    [
        {"loss": [0.5]},  # one point
        {"loss": [0.3] * 10, "val_loss": [0.3] * 10},  # constant
        {"loss": [1.0, 0.5, 0.2], "val_loss": [float("nan")] * 3},  # val never finite
        {"val_loss": [1.0, 0.8, 0.9, 1.2]},  # validation only
        {"loss": [float("inf"), float("nan"), 1.0, 0.5], "val_loss": [0.0, -0.5, 2.0, -1e6]},
        {"loss": [0.0, 0.0, 0.0], "val_loss": [1e-12, 1e12, 1.0]},
    ],
)
def test_awkward_runs_render(columns):
    from loganalyzer.findings import Finding

    result = analyze(columns)
    rr = result.runs[0]
    # A finding with missing positions and string evidence must not break the report.
    rr.findings.append(
        Finding(rule="LA105", kind="noisy", severity="warning", metric=None, start=None,
                end=None, message="noisy", evidence={"noise_sigma": "NaN", "x": [1, None]})
    )  # fmt: skip
    page = Page(html.render(result))
    assert len(page.all("section", "run")) == 1
    for img in page.all("img"):
        _svg(img)
    assert "whole run" in page.plain


# ------------------------------------------------------------------ a sweep that scans
def _sweep_with_everything() -> Analysis:
    from loganalyzer.errors import ReadError
    from loganalyzer.findings import Finding

    healthy = healthy_result("healthy/history.json")
    healthy.findings.append(
        Finding("LA104", "plateau", "info", "loss", 20, 29, "loss settled", {"metric": "loss"})
    )
    train_only = healthy_result("train-only/metrics.csv")
    train_only.run.val_loss = None
    over = overfit_result()
    over.advice[1].summary += " Why: LA101 overfitting at epoch 18–39."
    return Analysis(
        runs=[healthy, over, train_only, diverging_result()],
        errors=[ReadError("broken.csv", "truncated (line 3)")],
        skipped=[ReadError(f"notes{i}.txt", "not a training log") for i in range(18)],
    )


def test_sweep_report_summary_first_worst_first_details_and_skipped_collapsed():
    text = html.render(_sweep_with_everything(), with_plots=False)
    page = Page(text)
    order = [
        text.index('class="sortable summary"'),
        text.index("Could not be read"),
        text.index('class="run-details"'),
        text.index('class="skipped"'),
    ]
    assert order == sorted(order)
    rows = re.findall(r"<tr><td class=\"num\" data-sort=\"\d+\">.*?</tr>", text)
    names = [re.search(r'title="([^"]*)"', row).group(1) for row in rows]
    assert names == [
        "overfit/history.json",
        "diverging/training.csv",
        "healthy/history.json",
        "train-only/metrics.csv",
    ]
    # One short line per cell: a word or a number, the sentences are in the sections.
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", rows[0])]
    assert cells == [
        "1", "overfit/history.json", "error", "0.1891", "18", "LA101 Overfitting @ 18",
        "early-stopping (stop at 22)",
    ]  # fmt: skip
    assert all(
        len(re.sub(r"<[^>]+>", "", c)) <= 48
        for r in rows
        for c in re.findall(r"<td[^>]*>(.*?)</td>", r)
    )
    # Skipped files: last, collapsed, one summary line.
    skipped = page.all("details", "skipped")
    assert len(skipped) == 1 and "open" not in skipped[0]
    assert "18 files skipped (not training logs)" in page.plain
    assert "18 files skipped" in page.plain.split("Summary")[0]  # counted in the header


def test_one_verdict_word_and_best_val_loss_only_for_a_validation_loss():
    text = html.render(_sweep_with_everything(), with_plots=False)
    rows = re.findall(r"<tr><td class=\"num\" data-sort=\"\d+\">.*?</tr>", text)
    healthy = next(r for r in rows if "healthy/history.json" in r)
    assert ">ok</span>" in healthy and "info" not in healthy
    box = text[text.index('id="run-3"') :]
    box = box[box.index('class="verdict') : box.index("</div>", box.index('class="verdict'))]
    assert ">OK</span>" in box  # the same word in the summary and in the box
    train_only = next(r for r in rows if "train-only/metrics.csv" in r)
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", train_only)]
    assert cells[3:5] == ["–", "–"]  # no training loss under "Best val loss"


def test_evidence_is_collapsed_and_advice_says_why_once():
    text = html.render(Analysis(runs=[_sweep_with_everything().runs[1]]), with_plots=False)
    page = Page(text)
    assert len(page.all("details", "evidence")) == 3
    assert "trend_p" in text and "Why:" not in text
    assert "What to do, in order for LA101 overfitting, epoch 18–39" in page.plain


def test_markdown_sweep_has_the_same_order_and_words():
    from loganalyzer.renderers import markdown

    report = markdown.render(_sweep_with_everything(), files_dir="f")
    text = report.text  # with its figures: their file names keep the run name's end
    assert text.index("## Summary") < text.index("## Could not be read") < text.index("## 1. ")
    assert text.index("## 4. ") < text.index("### Skipped (not training logs)")
    assert "| 3 | healthy/history.json | **OK** | " in text
    assert "| 4 | train-only/metrics.csv | **OK** | – | – |" in text
    assert "Why:" not in text and "trend\\_p" not in text
    assert "f/01-overfit-history-json-loss.png" in report.images

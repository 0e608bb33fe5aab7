"""Untrusted names (runs, paths, metrics, tags) come out of reports only as text, and
reports never overwrite a file without --force."""

from __future__ import annotations

import os
import stat

import numpy as np
import pandas as pd
import pytest
from markdown_it import MarkdownIt
from report_fixtures import EVIL, EVIL_LINK, overfit_result
from test_report_html import Page
from typer.testing import CliRunner

from loganalyzer.analysis import Analysis, RunResult
from loganalyzer.cli import app
from loganalyzer.findings import Advice, Finding
from loganalyzer.renderers import html, markdown
from loganalyzer.renderers.plots import loss_plot, metrics_plot
from loganalyzer.run import Run

ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "script", "body", "div", "header", "h1", "h2",
    "h3", "p", "span", "strong", "section", "dl", "dt", "dd", "figure", "img", "figcaption",
    "table", "thead", "tbody", "tr", "th", "td", "button", "ul", "ol", "li", "code", "pre", "a",
    "details", "summary",
}  # fmt: skip

EVIL_TAG = '<img src=x onerror="alert(1)">'
EVIL_MD = "![x](javascript:alert(1)) <b>bold</b> [y](javascript:alert(2)) <javascript:alert(3)>"


def evil_result() -> RunResult:
    """Every place a name from a log reaches: run name, source path, metric names,
    finding message and evidence, advice summary and snippet."""
    epochs = np.arange(12)
    frame = pd.DataFrame(
        {
            "loss": np.linspace(1, 0.2, 12),
            "val_loss": np.linspace(1.1, 0.5, 12),
            EVIL: np.linspace(0, 1, 12),
            EVIL_LINK: np.linspace(1, 0, 12),
            "$\\alpha_{x}$ _hidden": np.linspace(0.5, 0.6, 12),
        },
        index=pd.Index(epochs, name="epoch"),
    )
    name = f"{EVIL}/{EVIL_LINK}/{EVIL_TAG}"
    run = Run.from_frame(
        name, frame, format="keras-csv", index="epoch", sources=[f"logs/{EVIL_LINK}.csv"]
    )
    run.warnings.append(f"column {EVIL} had text {EVIL_MD}")
    finding = Finding(
        rule="LA109", kind="metric-disagreement", severity="warning", metric=EVIL,
        start=3, end=9, message=f"{EVIL} disagrees {EVIL_LINK} {EVIL_MD}",
        evidence={"metric": EVIL, "suggested_monitor": EVIL_LINK, "loss_best_index": 11,
                  "metric_best_index": 3, "metric_trend_p": 0.01},
    )  # fmt: skip
    advice = Advice(
        action="early-stopping", rank=1, rules=["LA109"], summary=f"monitor {EVIL_LINK} {EVIL_MD}",
        code=f"EarlyStopping(monitor={EVIL!r})\n```\n</code></pre>{EVIL}\n````",
        params={"monitor": EVIL_LINK, "patience": 3, "would_stop_at": 6},
    )  # fmt: skip
    return RunResult(run=run, findings=[finding], advice=[advice])


def evil_analysis() -> Analysis:
    from loganalyzer.errors import ReadError

    return Analysis(
        runs=[evil_result(), overfit_result(name=EVIL_LINK)],
        errors=[ReadError(f"{EVIL}.csv", f"not a log {EVIL_LINK}")],
        skipped=[ReadError(f"{EVIL_TAG}.json", EVIL_MD)],
    )


def test_html_shows_hostile_names_only_as_text():
    text = html.render(evil_analysis())
    page = Page(text)
    tags = [t for t, _ in page.tags]
    assert set(tags) <= ALLOWED_TAGS, set(tags) - ALLOWED_TAGS
    assert page.scripts == [html.SORT_SCRIPT]  # the only script is ours
    assert tags.count("img") == len(page.all("img"))
    for tag, attrs in page.tags:
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        for key in ("src", "href", "action", "formaction", "data", "poster"):
            value = (attrs.get(key) or "").lower()
            assert value.startswith(("data:image/", "#", "")) and "javascript:" not in value
        if tag == "img":
            assert attrs["src"].startswith("data:image/")
    plain = " ".join(page.text)
    # The names are all there, as text.
    for needle in (EVIL, EVIL_LINK, EVIL_TAG, EVIL_MD):
        assert needle in plain
    assert "</code></pre>" in plain  # the snippet stayed inside its <pre>


def test_jupyter_fragment_escapes_too():
    frag = evil_analysis()._repr_html_()
    page = Page(frag)
    assert {t for t, _ in page.tags} <= ALLOWED_TAGS - {"script"}
    assert EVIL in " ".join(page.text)


def test_markdown_shows_hostile_names_only_as_text():
    report = markdown.render(evil_analysis(), files_dir="r_files")
    md = MarkdownIt("commonmark").enable("table")
    toks = []
    for tok in md.parse(report.text):
        toks.append(tok)
        toks.extend(tok.children or [])
    types = {t.type for t in toks}
    assert "html_block" not in types and "html_inline" not in types
    links = [t.attrGet("href") for t in toks if t.type == "link_open"]
    assert links == []  # the report makes no links at all
    images = [t.attrGet("src") for t in toks if t.type == "image"]
    assert images and all(src.startswith("r_files/") for src in images), images
    # No heading, list or table got broken by a name: the evil run (a warning) is
    # section 2, after the overfit run (an error): worst first.
    h2 = [
        "".join(c.content for c in toks[i + 1].children if c.type in ("text", "code_inline"))
        for i, t in enumerate(toks)
        if t.type == "heading_open"
    ]
    assert any(EVIL in h and h.startswith("2. ") for h in h2)
    rendered = md.render(report.text)
    assert "<script>" not in rendered and "<b>" not in rendered and "<img src=x" not in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    # The snippet with backtick fences inside stays one code block.
    fences = [t for t in toks if t.type == "fence"]
    assert any("</code></pre>" in f.content and "````" in f.content for f in fences)
    # Image files are named from a slug, never from the raw name.
    for rel in report.images:
        assert all(c.isalnum() or c in "-_./" for c in rel), rel


def test_plots_draw_hostile_metric_names_literally():
    rr = evil_result()
    plot = metrics_plot(rr)
    svg = plot.data.decode("utf-8")
    assert "&lt;script&gt;" in svg and "<script>" not in svg
    assert "_hidden" in svg  # mathtext not interpreted, "_" label not hidden
    loss_plot(rr)  # must not raise


# ------------------------------------------------------------------ overwrite, usage
def _run(args):
    return CliRunner().invoke(app, args)


@pytest.fixture
def csv_log(tmp_path):
    path = tmp_path / "logs" / "training.csv"
    path.parent.mkdir()
    rows = ["epoch,loss,val_loss"] + [
        f"{i},{1 / (i + 1):.4f},{1 / (i + 1) + 0.01 * i:.4f}" for i in range(20)
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


def _needs_csv_reader(csv_log):
    from loganalyzer.analysis import analyze

    if not analyze(str(csv_log)).runs:
        pytest.skip("the Keras CSV reader is not built yet")


def test_never_overwrites_without_force(tmp_path, csv_log):
    _needs_csv_reader(csv_log)
    out = tmp_path / "report.html"
    out.write_text("precious")
    res = _run(["report", str(csv_log), "-o", str(out)])
    assert res.exit_code == 2
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert lines == [f"error: {out} already exists; pass --force to overwrite it"]
    assert out.read_text() == "precious"
    res = _run(["report", str(csv_log), "-o", str(out), "--force"])
    assert res.exit_code == 0, res.output
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_markdown_images_folder_is_protected(tmp_path, csv_log):
    _needs_csv_reader(csv_log)
    out = tmp_path / "r.md"
    (tmp_path / "r_files").mkdir()
    (tmp_path / "r_files" / "keep.png").write_bytes(b"x")
    res = _run(["report", str(csv_log), "-o", str(out)])
    assert res.exit_code == 2 and "--force" in res.output and not out.exists()
    res = _run(["report", str(csv_log), "-o", str(out), "--force"])
    assert res.exit_code == 0, res.output
    assert out.exists() and (tmp_path / "r_files" / "keep.png").exists()


def test_unreadable_input_exit_2_and_report_still_written(tmp_path, csv_log):
    _needs_csv_reader(csv_log)
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    out = tmp_path / "r.html"
    res = _run(["report", str(csv_log), str(bad), "-o", str(out)])
    assert res.exit_code == 2
    assert f"error: {bad}" in res.output
    text = out.read_text()
    assert "Could not be read" in text and "broken.json" in text and "training.csv" in text


def test_fail_on(tmp_path, csv_log):
    _needs_csv_reader(csv_log)
    out = tmp_path / "r.html"
    res = _run(["report", str(csv_log), "-o", str(out), "--fail-on", "info"])
    from loganalyzer.analysis import analyze

    has_findings = bool(analyze(str(csv_log)).findings)
    assert res.exit_code == (1 if has_findings else 0)
    res = _run(["report", str(csv_log), "-o", str(out), "--force"])
    assert res.exit_code == 0  # default --fail-on never


def test_hostile_csv_headers_and_file_names_end_to_end(tmp_path):
    folder = tmp_path / EVIL_LINK
    folder.mkdir()
    path = folder / f"{EVIL_TAG.replace('/', '')}.csv"
    rows = [f'epoch,loss,val_loss,"{EVIL}","{EVIL_LINK}"'] + [
        f"{i},{1 / (i + 1):.4f},{1 / (i + 1) + 0.01 * i:.4f},{i / 20:.3f},{1 - i / 20:.3f}"
        for i in range(20)
    ]
    path.write_text("\n".join(rows) + "\n")
    from loganalyzer.analysis import analyze

    result = analyze(str(tmp_path))
    if not result.runs:
        pytest.skip("the Keras CSV reader is not built yet")
    names = set(result.runs[0].run.original_names.values())
    assert EVIL in names
    out = tmp_path / "out" / "r.html"
    assert _run(["report", str(tmp_path), "-o", str(out)]).exit_code in (0, 1)
    page = Page(out.read_text())
    assert {t for t, _ in page.tags} <= ALLOWED_TAGS
    assert page.scripts in ([], [html.SORT_SCRIPT])
    md_out = tmp_path / "out" / "r.md"
    assert _run(["report", str(tmp_path / EVIL_LINK), "-o", str(md_out)]).exit_code in (0, 1)
    toks = MarkdownIt("commonmark").enable("table").parse(md_out.read_text())
    flat = [t for tok in toks for t in [tok, *(tok.children or [])]]
    assert not [t for t in flat if t.type in ("html_block", "html_inline", "link_open")]
    assert EVIL_LINK in md_out.read_text().replace("\\", "")


# ------------------------------------------------------------------ how files are written
@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def test_reports_are_written_with_the_users_umask(tmp_path, csv_log, umask_027):
    html_out, md_out = tmp_path / "r.html", tmp_path / "r.md"
    for out in (html_out, md_out):
        assert _run(["report", str(csv_log), "-o", str(out), "-j", "1"]).exit_code == 0
    # The images are written the --force way (temporary file, rename): never mkstemp's 0600.
    files = [html_out, md_out, *sorted((tmp_path / "r_files").iterdir())]
    assert len(files) >= 3
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path
    html_out.chmod(0o604)  # a mode the user chose survives --force
    _run(["report", str(csv_log), "-o", str(html_out), "--force", "-j", "1"])
    assert stat.S_IMODE(html_out.stat().st_mode) == 0o604
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_force_writes_through_a_symlink(tmp_path, csv_log):
    published = tmp_path / "www" / "latest.html"
    published.parent.mkdir()
    published.write_text("old report")
    link = tmp_path / "report.html"
    link.symlink_to(published)
    res = _run(["report", str(csv_log), "-o", str(link), "--force", "-j", "1"])
    assert res.exit_code == 0, res.output
    assert link.is_symlink() and os.readlink(link) == str(published)
    assert published.read_text().startswith("<!DOCTYPE html>")


def test_extreme_values_still_make_a_report(tmp_path):
    log = tmp_path / "extreme.csv"
    rows = ["epoch,loss,val_loss,lr"]
    for i in range(12):
        loss = 1e308 if i == 3 else 1 / (i + 1)
        val = -1.7976931348623157e308 if i == 5 else 1.2 / (i + 1)
        rows.append(f"{i},{loss!r},{val!r},{1e308 if i < 2 else 0.001}")
    log.write_text("\n".join(rows) + "\n")
    out = tmp_path / "extreme.html"
    res = _run(["report", str(log), "-o", str(out), "-j", "1"])
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert "could not be drawn" not in text and text.count("<figure") >= 2

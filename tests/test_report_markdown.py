"""The Markdown report: GFM that renders on GitHub/GitLab, PNGs beside it, written by
``loganalyzer report -o report.md``."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest
from markdown_it import MarkdownIt
from report_fixtures import SAMPLES, SCENARIOS, overfit_result, synthetic_analysis
from typer.testing import CliRunner

from loganalyzer.analysis import Analysis
from loganalyzer.cli import app
from loganalyzer.renderers import markdown

PNG = b"\x89PNG\r\n\x1a\n"


def gfm() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table").enable("strikethrough")


def tokens(text: str) -> list:
    """Block and inline tokens flattened."""
    out = []
    for tok in gfm().parse(text):
        out.append(tok)
        out.extend(tok.children or [])
    return out


def write(report: markdown.MarkdownReport, path: Path) -> None:
    path.write_text(report.text, encoding="utf-8")
    for rel, data in report.images.items():
        (path.parent / rel).parent.mkdir(parents=True, exist_ok=True)
        (path.parent / rel).write_bytes(data)


def check_structure(md_path: Path, n_runs: int) -> list:
    toks = tokens(md_path.read_text(encoding="utf-8"))
    types = {t.type for t in toks}
    assert "html_block" not in types and "html_inline" not in types
    h2 = [
        toks[i + 1].content
        for i, t in enumerate(toks)
        if t.type == "heading_open" and t.tag == "h2"
    ]
    assert len([h for h in h2 if h[:1].isdigit()]) == n_runs
    if n_runs > 1:
        assert h2[0] == "Summary"
    images = [t for t in toks if t.type == "image"]
    assert len(images) >= n_runs
    for img in images:
        src = img.attrGet("src")
        assert not src.startswith(("/", "http", "data:")), src
        target = md_path.parent / unquote(src)
        assert target.is_file(), src
        assert target.read_bytes()[:8] == PNG
        assert img.content  # alt text
    return toks


def test_markdown_report_structure(tmp_path):
    analysis = synthetic_analysis()
    out = tmp_path / "sweep.md"
    write(markdown.render(analysis, files_dir="sweep_files"), out)
    toks = check_structure(out, 4)
    assert sum(t.type == "table_open" for t in toks) >= 1 + 4  # summary + facts per run
    text = out.read_text()
    # Summary table row for the overfit run (worst first), one short cell each.
    row = next(line for line in text.splitlines() if line.startswith("| 1 |"))
    assert row == (
        "| 1 | overfit/history.json | **ERROR** | 0.1891 | 18 | LA101 Overfitting @ 18 "
        "| early-stopping (stop at 22) |"
    )
    assert text.index("## Summary") < text.index("## 1. overfit/history.json")
    # The advice snippet is a fenced python block inside the list item.
    fences = [t for t in toks if t.type == "fence"]
    assert any("EarlyStopping(" in f.content and f.info == "python" for f in fences)
    # Loss plot alt text names the annotations.
    alts = [t.content for t in toks if t.type == "image"]
    assert any("overfitting onset (epoch 18)" in a and "EarlyStopping stop" in a for a in alts)


def test_single_run_verdict_comes_first(tmp_path):
    report = markdown.render(Analysis(runs=[overfit_result()]))
    text = report.text
    quote = text.index("> **ERROR** · Overfitting from epoch 18")
    assert quote < text.index("![") < text.index("### Findings")
    assert "> **What to do:** Stop at epoch \\~22 with EarlyStopping(" in text
    # Rendered, the quote reads as plain text with the tilde.
    rendered = gfm().render(text)
    assert "Stop at epoch ~22 with EarlyStopping(monitor=" in rendered


def _cli_report(args: list[str]):
    return CliRunner().invoke(app, ["report", *args])


def _samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip("sample_logs/ is not there")
    return SAMPLES


def test_cli_markdown_report_for_every_sample(tmp_path):
    """Every scenario and every console log of sample_logs/ (one file format per
    scenario: the HTML test renders all of them; the three formats share their curves)."""
    samples = _samples()
    out = tmp_path / "report.md"
    inputs = [samples / scenario / "training.csv" for scenario in SCENARIOS]
    res = _cli_report([*map(str, inputs), str(samples / "console"), "-o", str(out)])
    assert res.exit_code in (0, 2), res.output
    if "0 runs" in res.output:
        pytest.skip("no reader reads sample_logs/ yet")
    text = out.read_text()
    n = sum(1 for line in text.splitlines() if line.startswith("## ") and line[3:4].isdigit())
    assert n >= len(SCENARIOS)
    check_structure(out, n)
    for scenario in SCENARIOS:
        assert f"{scenario}/" in text
    assert (tmp_path / "report_files").is_dir()


def test_cli_format_flag_and_suffix(tmp_path):
    samples = _samples()
    src = samples / "overfit"
    out = tmp_path / "notes.txt"
    res = _cli_report([str(src), "-o", str(out)])
    assert res.exit_code == 2 and "--format" in res.output and not out.exists()
    res = _cli_report([str(src), "-o", str(out), "--format", "markdown"])
    assert res.exit_code in (0, 2), res.output
    assert out.read_text().startswith("# ")
    assert (tmp_path / "notes_files").is_dir()


def test_markdown_copy_renders_from_elsewhere(tmp_path):
    """Relative links: the report and its folder can be moved together."""
    out = tmp_path / "a" / "r.md"
    out.parent.mkdir()
    write(markdown.render(Analysis(runs=[overfit_result()]), files_dir="r_files"), out)
    moved = tmp_path / "b"
    shutil.copytree(out.parent, moved)
    check_structure(moved / "r.md", 1)


def test_sections_drawn_in_worker_processes_are_identical(monkeypatch):
    """Big sweeps draw on every core; the report must not change by a byte."""
    from loganalyzer.renderers import _pool, html

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    analysis = Analysis(runs=synthetic_analysis().runs[:2])
    serial_md = markdown.render(analysis, jobs=1)
    serial_html = html.render(analysis, jobs=1)
    monkeypatch.setattr(_pool, "MIN_PARALLEL", 2)
    parallel_md = markdown.render(analysis, jobs=2)
    assert parallel_md.text == serial_md.text
    assert parallel_md.images == serial_md.images
    seen = []
    assert html.render(analysis, jobs=2, progress=seen.append) == serial_html
    assert seen == [rr.run.name for rr in analysis.runs]

"""A Markdown report that renders on GitHub and GitLab.

A sweep report reads top-down: the summary table (one short cell each, worst runs
first), unreadable inputs, each run's section in the same order, skipped files last.

Plots are PNG files written beside the report (``<stem>_files/…png``) and linked with
relative, URL-quoted paths; tables are GitHub-flavoured; there is no raw HTML (those
sites strip it). Every name from a log is escaped so it shows as text: no link, image,
HTML or table break can come out of a run name, path or metric name.

Example:
    >>> from loganalyzer.analysis import analyze
    >>> report = render(analyze({"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.7, 0.8]}))
    >>> report.text.startswith("# Training log report"), list(report.images)[0]
    (True, 'report_files/01-run-loss.png')
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from loganalyzer.renderers._escape import md_code, md_fence, md_text, shorten
from loganalyzer.renderers.view import (
    RunView,
    advice_text,
    compare_view,
    error_groups,
    finding_where,
    fmt_num,
    generated_line,
    kind_title,
    tally_line,
    worst_first,
)
from loganalyzer.renderers.view import run_view as make_view

Progress = Callable[[str], None]


@dataclass
class MarkdownReport:
    """The report text and the images it links to (relative path -> PNG bytes)."""

    text: str
    images: dict[str, bytes] = field(default_factory=dict)


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe form of an untrusted name; a long one keeps its end (the
    distinctive part of a path: ``seed_3/history.json``, not ``sweeps/2024/...``).

    Example:
        >>> slug("overfit/history.json"), slug("<script>"), slug("")
        ('overfit-history-json', 'script', 'run')
        >>> slug("sweeps/2024-11/learning_rate_sweep/lr_1e-3/seed_3/history.json")
        'g-rate-sweep-lr-1e-3-seed-3-history-json'
    """
    s = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")[-limit:].strip("-")
    return s or "run"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(heads: list[str], rows: list[list[str]], align: list[str] | None = None) -> str:
    align = align or ["---"] * len(heads)
    return "\n".join([_row(heads), _row(align)] + [_row(r) for r in rows])


def _image(plot: Any, path: str) -> str:
    return f"![{md_text(plot.alt)}]({quote(path)})"


def _verdict(view: RunView) -> str:
    sev = view.verdict.upper()
    lines = [f"> **{sev}** · {md_text(view.headline)}"]
    if view.action:
        lines += [">", f"> **What to do:** {md_text(view.action)}"]
    return "\n".join(lines)


def _facts(view: RunView) -> str:
    return _table(
        ["Source", "Format", "Length", "Best"],
        [
            [
                md_text(view.source_text),
                md_text(view.format),
                md_text(view.length_text),
                md_text(view.best_text),
            ]
        ],
    )


def _findings(view: RunView) -> str:
    if not view.findings:
        return "### Findings\n\nNo findings."
    rows = []
    for f in view.findings:
        rows.append(
            [
                f"**{md_text(f.severity)}**",
                md_code(f.rule),
                md_text(kind_title(f.kind)),
                md_text(finding_where(f, view.index)),
                md_text(f.message),
            ]
        )
    # The statistics behind each finding are in `loganalyzer analyze -f json`; the
    # message carries the numbers a reviewer needs.
    return "### Findings\n\n" + _table(["Severity", "Rule", "Kind", "Where", "Finding"], rows)


def _advice(view: RunView) -> str:
    if not view.advice:
        return ""
    items = []
    for i, a in enumerate(view.advice, 1):
        rules = f" ({md_text(', '.join(a.rules))})" if a.rules else ""
        item = f"{i}. **{md_text(a.action)}**{rules}: {md_text(advice_text(a))}"
        if a.code:
            fence = md_fence(a.code, "python")
            item += "\n\n" + "\n".join(("   " + line) if line else "" for line in fence.split("\n"))
        items.append(item)
    why = f" (for {md_text(view.why)})" if view.why else ""
    return f"### What to do, in order{why}\n\n" + "\n\n".join(items)


def run_section(
    rr: Any,
    number: int,
    files_dir: str,
    images: dict[str, bytes],
    label: str | None = None,
    with_plots: bool = True,
) -> str:
    """One run's section; its PNG plots are added to ``images``. ``label`` replaces the
    run's name in the heading (a comparison's label)."""
    from loganalyzer.renderers.plots import run_plots

    view = make_view(rr)
    if label is not None:
        view.name = label
    plots = run_plots(rr, view.marks, fmt="png") if with_plots else []
    links = []
    for plot in plots:
        path = f"{files_dir}/{number:02d}-{slug(view.name)}-{plot.name}.png"
        images[path] = plot.data
        links.append(_image(plot, path))
    parts = [f"## {number}. {md_text(view.name)}", _verdict(view), _facts(view)]
    if links:
        parts.append(links[0])
    parts += [_findings(view), _advice(view)]
    if len(links) > 1:
        parts.append("\n".join(links[1:]))
    if view.warnings:
        parts.append(
            "### Reader warnings\n\n" + "\n".join(f"- {md_text(w)}" for w in view.warnings)
        )
    return "\n\n".join(p for p in parts if p)


def _section_with_images(
    rr: Any,
    number: int,
    files_dir: str,
    labels: list[str] | None = None,
    with_plots: bool = True,
) -> tuple[str, dict[str, bytes]]:
    """``run_section`` returning its images (picklable for worker processes)."""
    images: dict[str, bytes] = {}
    label = labels[number - 1] if labels else None
    text = run_section(rr, number, files_dir, images, label=label, with_plots=with_plots)
    return text, images


def sections(
    results: list[Any],
    files_dir: str,
    images: dict[str, bytes],
    progress: Progress | None = None,
    *,
    labels: list[str] | None = None,
    jobs: int | None = None,
    with_plots: bool = True,
) -> list[str]:
    """Every run's section, in order (drawn on ``jobs`` processes for big sweeps); the
    PNGs are added to ``images``."""
    from functools import partial

    from loganalyzer.renderers._pool import map_runs

    fn = partial(_section_with_images, files_dir=files_dir, labels=labels, with_plots=with_plots)
    out = []
    for text, section_images in map_runs(fn, results, progress, jobs=jobs if with_plots else 1):
        out.append(text)
        images.update(section_images)
    return out


def summary_table(results: list[Any]) -> str:
    """One row per run, in the given order (worst first as :func:`render` passes them),
    one short cell each; the run's section has the sentences."""
    rows = []
    for i, rr in enumerate(results, 1):
        view = make_view(rr)
        best = view.best if view.has_val_best else None
        rows.append(
            [
                str(i),
                md_text(shorten(view.name, 48)),
                f"**{view.verdict.upper()}**",
                md_text(view.best_value_text),
                fmt_num(best["index"]) if best else "–",
                md_text(view.finding_cell(titled=True)),
                md_text(view.advice_cell),
            ]
        )
    return "## Summary\n\nWorst runs first.\n\n" + _table(
        ["#", "Run", "Verdict", "Best val loss", "At", "Top finding", "Top advice"],
        rows,
        ["--:", "---", "---", "--:", "--:", "---", "---"],
    )


def _errors(analysis: Any) -> str:
    return "\n\n".join(
        f"## {title}\n\n" + "\n".join(f"- {md_text(e.source)}: {md_text(e.error)}" for e in errors)
        for title, errors in error_groups(analysis)
    )


def _skipped(analysis: Any) -> str:
    if not analysis.skipped:
        return ""
    return "### Skipped (not training logs)\n\n" + "\n".join(
        f"- {md_text(e.source)}: {md_text(e.error)}" for e in analysis.skipped
    )


def _header(title: str, analysis: Any) -> str:
    return f"# {md_text(title)}\n\n_{md_text(tally_line(analysis, verbose=True))} · {md_text(generated_line())}_"


def render(
    analysis: Any,
    *,
    files_dir: str = "report_files",
    title: str | None = None,
    progress: Progress | None = None,
    jobs: int | None = None,
    with_plots: bool = True,
) -> MarkdownReport:
    """The Markdown report for ``analysis``.

    Args:
        analysis: An :class:`~loganalyzer.analysis.Analysis`.
        files_dir: Folder (relative to the report) the PNG plots are linked from;
            ``report`` writes ``<stem>_files``.
        title: Heading (default "Training log report").
        progress: Called with each run's name once its section is rendered.
        jobs: Processes drawing plots for big sweeps (default every core; 1: none).
        with_plots: Draw the figures (``False``: the text only, no images).
    """
    title = title or "Training log report"
    images: dict[str, bytes] = {}
    n = len(analysis.runs)
    results = worst_first(analysis.runs)
    parts = [_header(title, analysis)]
    if n > 1:
        parts.append(summary_table(results))
    parts.append(_errors(analysis))
    if n == 0:
        parts.append("No training runs were found.")
    parts += sections(results, files_dir, images, progress, jobs=jobs, with_plots=with_plots)
    parts.append(_skipped(analysis))
    return MarkdownReport("\n\n".join(p for p in parts if p) + "\n", images)


def render_compare(
    analysis: Any,
    comparison: Any,
    *,
    files_dir: str = "report_files",
    title: str = "Run comparison",
    progress: Progress | None = None,
    jobs: int | None = None,
    with_plots: bool = True,
) -> MarkdownReport:
    """One loss of every comparable run overlaid, a table of differences, the runs left
    out and why, then each run (``with_plots``: with each run's own figures; the
    comparison figure is always drawn)."""
    from loganalyzer.renderers.plots import compare_plot

    images: dict[str, bytes] = {}
    cv = compare_view(analysis, comparison)
    plot = compare_plot(
        cv.results, cv.labels, fmt="png", columns=cv.columns, bests=cv.bests, what=cv.what
    )
    path = f"{files_dir}/00-compare.png"
    images[path] = plot.data
    best = comparison.best
    rows = [
        [
            "★" if r is best else "",
            md_text(r.name),
            md_text(r.format),
            md_code(r.monitor),
            fmt_num(r.best_value),
            fmt_num(r.best_index),
            fmt_num(r.delta_best),
            fmt_num(r.final_value),
            fmt_num(r.final_gap),
            md_text(", ".join(r.findings) or "none"),
        ]
        for r in comparison.rows
    ]
    table = _table(
        ["", "Run", "Format", "Series", "Best", "At", "Δ best", "Final", "Final gap", "Findings"],
        rows,
        ["---", "---", "---", "---", "--:", "--:", "--:", "--:", "--:", "---"],
    )
    left = ""
    if cv.left_labels:
        left = "## Left out of the comparison\n\n" + "\n".join(
            f"- {md_text(name)}: {md_text(why)}"
            for name, why in zip(cv.left_labels, cv.left_reasons, strict=True)
        )
    parts = [
        _header(title, analysis),
        _errors(analysis),
        _image(plot, path),
        f"## Differences\n\nEvery run compared on its {md_text(cv.what.lower())}. Δ best: best "
        "value minus the best of all runs (★). Final gap: validation minus training loss at "
        "the last index both were logged.\n\n" + table,
        left,
    ]
    parts += sections(
        cv.all_results,
        files_dir,
        images,
        progress,
        labels=cv.all_labels,
        jobs=jobs,
        with_plots=with_plots,
    )
    parts.append(_skipped(analysis))
    return MarkdownReport("\n\n".join(p for p in parts if p) + "\n", images)

"""A self-contained HTML report: one file, plots inlined, opens offline, prints well.

A sweep report reads top-down: the summary table first (one line per cell, worst runs
first, sortable by any column), unreadable inputs right after it, then each run's
section, collapsed (``<details>``; the summary links open them, printing opens all), and
the skipped files last, collapsed too.

Every name from a log (run, path, metric, tag) is escaped; the page carries a strict
Content-Security-Policy (nothing may load from anywhere; images only from ``data:``
URIs; the one stylesheet and the one small table-sorting script are allowed by their
SHA-256 hashes, so no injected style or script could run even if escaping failed).

Example:
    >>> from loganalyzer.analysis import analyze
    >>> page = render(analyze({"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.7, 0.8]}))
    >>> "Content-Security-Policy" in page and "data:image/svg+xml;base64," in page
    True
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

from loganalyzer.renderers._escape import html_text as esc
from loganalyzer.renderers._escape import shorten
from loganalyzer.renderers.view import (
    RunView,
    advice_text,
    compare_view,
    error_groups,
    finding_where,
    fmt_evidence,
    fmt_num,
    generated_line,
    kind_title,
    tally_line,
    worst_first,
)
from loganalyzer.renderers.view import run_view as make_view

#: With more runs than this, each run's section starts collapsed (the summary leads).
COLLAPSE_AFTER = 1
#: Run names in the summary are cut (from the front) to this many characters.
NAME_CELL = 48

STYLE = """
.la-report{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
color:#1d232a;max-width:1100px;margin:0 auto;padding:12px 20px 40px}
.la-report h1{font-size:1.35em;margin:.2em 0}
.la-report h2{font-size:1.2em;margin:1.6em 0 .4em;padding-top:.6em;border-top:2px solid #dde3ea;
overflow-wrap:anywhere}
.la-report h3{font-size:1em;margin:1.1em 0 .3em}
.la-report .meta{color:#5b6670;margin:0 0 .6em;font-size:.9em}
.la-report .verdict{border-left:6px solid #2e8b57;background:#eef8f1;padding:.55em .9em;
margin:.5em 0 .7em;border-radius:4px}
.la-report .verdict-warning{border-color:#d68910;background:#fdf5e6}
.la-report .verdict-error{border-color:#c0392b;background:#fdecea}
.la-report .verdict p{margin:.15em 0}
.la-report .headline{font-size:1.12em;font-weight:650}
.la-report .action{font-size:1.02em}
.la-report .facts{display:flex;flex-wrap:wrap;gap:.2em 1.6em;margin:.3em 0;font-size:.92em;
color:#38424c}
.la-report .facts div{overflow-wrap:anywhere}
.la-report .facts dt{display:inline;font-weight:600}
.la-report .facts dd{display:inline;margin:0 0 0 .3em}
.la-report table{border-collapse:collapse;width:100%;font-size:.9em;margin:.4em 0}
.la-report th,.la-report td{border:1px solid #d5dbe1;padding:.3em .45em;text-align:left;
vertical-align:top;overflow-wrap:break-word}
.la-report td.name{overflow-wrap:anywhere;min-width:8em}
.la-report th{background:#f1f4f7;white-space:nowrap}
.la-report td.num{white-space:nowrap}
.la-report th button{all:unset;cursor:pointer;font-weight:600}
.la-report th button::after{content:" \\2195";color:#8a949e;font-weight:400}
.la-report th[aria-sort=ascending] button::after{content:" \\2191"}
.la-report th[aria-sort=descending] button::after{content:" \\2193"}
.la-report .num{text-align:right;font-variant-numeric:tabular-nums}
.la-report .sev{font-weight:700;text-transform:uppercase;font-size:.78em;letter-spacing:.03em}
.la-report .sev-error{color:#b03a2e}.la-report .sev-warning{color:#b9770e}
.la-report .sev-info{color:#2e6da4}.la-report .sev-ok{color:#1e8449}
.la-report ul.evidence{margin:0;padding-left:1.1em;font-size:.88em;color:#444}
.la-report ol.advice>li{margin:.3em 0 .8em}
.la-report pre{background:#f6f8fa;border:1px solid #e1e4e8;border-radius:4px;padding:.6em .8em;
overflow-x:auto;font:12.5px/1.4 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;
white-space:pre-wrap}
.la-report code{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}
.la-report figure{margin:.4em 0}
.la-report figure img{max-width:100%;height:auto;display:block}
.la-report figure.plot-loss img,.la-report figure.plot-compare img{width:100%}
.la-report figcaption{font-size:.82em;color:#5b6670}
.la-report .plots-row{display:flex;flex-wrap:wrap;gap:10px}
.la-report .plots-row figure{flex:1 1 420px;min-width:0}
.la-report .errors li{color:#b03a2e;overflow-wrap:anywhere}
.la-report .hint{font-size:.8em;color:#6b7680}
.la-report table.summary td{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:18em}
.la-report table.summary td.name{max-width:none;overflow:visible}
.la-report details.run-details>summary{cursor:pointer;font-size:1.05em;font-weight:600;
padding:.35em 0;border-top:1px solid #dde3ea;overflow-wrap:anywhere}
.la-report details.run-details>summary .sev{margin-right:.5em}
.la-report details.evidence>summary{cursor:pointer;font-size:.85em;color:#5b6670}
.la-report details.skipped>summary{cursor:pointer;color:#5b6670}
.la-report .tok-k{color:#8e44ad}.la-report .tok-s{color:#1e8449}.la-report .tok-n{color:#2e6da4}
.la-report .tok-c{color:#7f8c8d;font-style:italic}
@media print{
.la-report{max-width:none;padding:0;font-size:11pt}
.la-report details.run-details{break-before:page}
.la-report section.run{break-before:page}
.la-report section.run:first-of-type{break-before:auto}
.la-report .verdict,.la-report figure,.la-report tr,.la-report pre{break-inside:avoid}
.la-report th button::after,.la-report .hint{display:none}
.la-report a{color:inherit;text-decoration:none}
}
"""

PAGE_STYLE = "body{margin:0;background:#fff}" + STYLE

SORT_SCRIPT = """
(function () {
  function key(row, col) {
    var cell = row.cells[col];
    var k = cell.getAttribute("data-sort");
    return k === null ? cell.textContent.trim() : k;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var numeric = rows.every(function (r) {
          var k = key(r, col);
          return k !== "" && !isNaN(Number(k));
        });
        rows.sort(function (a, b) {
          var x = key(a, col), y = key(b, col);
          var d = numeric ? Number(x) - Number(y) : x.localeCompare(y);
          return asc ? d : -d;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  function openAll() {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  }
  window.addEventListener("beforeprint", openAll);
  if (window.matchMedia) {
    window.matchMedia("print").addEventListener("change", function (e) {
      if (e.matches) { openAll(); }
    });
  }
  function openTarget() {
    var el = document.getElementById(location.hash.slice(1));
    if (el && el.tagName === "DETAILS") { el.open = true; }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
})();
"""


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


#: Nothing loads from anywhere; images only from data: URIs; the stylesheet and the
#: sorting script are allowed by hash (no 'unsafe-inline' of any kind).
CSP = (
    "default-src 'none'; img-src data:; "
    f"style-src {_sha256(PAGE_STYLE)}; script-src {_sha256(SORT_SCRIPT)}; "
    "base-uri 'none'; form-action 'none'"
)

Progress = Callable[[str], None]


# ---------------------------------------------------------------------------- pieces
def _facts(view: RunView) -> str:
    items = [
        ("Source", view.source_text),
        ("Format", view.format),
        ("Length", view.length_text),
        ("Best", view.best_text),
    ]
    cells = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in items)
    return f'<dl class="facts">{cells}</dl>'


def _verdict(view: RunView) -> str:
    sev = view.verdict
    label = sev.upper() if sev != "ok" else "OK"
    action = (
        f'<p class="action"><strong>What to do:</strong> {esc(view.action)}</p>'
        if view.action
        else ""
    )
    return (
        f'<div class="verdict verdict-{esc(view.verdict_class)}">'
        f'<p class="headline"><span class="sev sev-{esc(sev)}">{label}</span> '
        f"{esc(view.headline)}</p>{action}</div>"
    )


def _findings(view: RunView) -> str:
    if not view.findings:
        return "<h3>Findings</h3><p>No findings.</p>"
    rows = []
    for f in view.findings:
        evidence = "".join(
            f"<li><code>{esc(k)}</code> {esc(v)}</li>" for k, v in fmt_evidence(f.evidence)
        )
        rows.append(
            "<tr>"
            f'<td class="sev sev-{esc(f.severity)}">{esc(f.severity)}</td>'
            f"<td><code>{esc(f.rule)}</code></td>"
            f"<td>{esc(kind_title(f.kind))}</td>"
            f"<td>{esc(finding_where(f, view.index))}</td>"
            f"<td>{esc(f.message)}"
            + (
                '<details class="evidence"><summary>evidence</summary>'
                f'<ul class="evidence">{evidence}</ul></details>'
                if evidence
                else ""
            )
            + "</td></tr>"
        )
    return (
        '<h3>Findings</h3><table class="findings"><thead><tr><th>Severity</th><th>Rule</th>'
        "<th>Kind</th><th>Where</th><th>Finding</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def highlight(code: str) -> str:
    """Escaped Python with a few token classes (Pygments when available, else plain)."""
    try:
        from pygments.lexers import PythonLexer
        from pygments.token import Comment, Keyword, Name, Number, String
    except ImportError:  # pragma: no cover - pygments comes with rich
        return esc(code)
    classes = [
        (Comment, "tok-c"),
        (String, "tok-s"),
        (Keyword, "tok-k"),
        (Number, "tok-s"),
        (Name.Builtin, "tok-n"),
        (Name.Class, "tok-n"),
    ]
    out = []
    for token, text in PythonLexer().get_tokens(code):
        cls = next((c for t, c in classes if token in t), None)
        out.append(f'<span class="{cls}">{esc(text)}</span>' if cls else esc(text))
    return "".join(out).rstrip("\n")


def _advice(view: RunView) -> str:
    if not view.advice:
        return ""
    items = []
    for a in view.advice:
        rules = ", ".join(a.rules)
        code = f"<pre><code>{highlight(a.code)}</code></pre>" if a.code else ""
        items.append(
            f"<li><p><strong>{esc(a.action)}</strong>"
            + (f' <span class="hint">({esc(rules)})</span>' if rules else "")
            + f" — {esc(advice_text(a))}</p>{code}</li>"
        )
    why = f' <span class="hint">for {esc(view.why)}</span>' if view.why else ""
    return f'<h3>What to do, in order{why}</h3><ol class="advice">' + "".join(items) + "</ol>"


def _figure(plot: Any, css: str = "") -> str:
    return (
        f'<figure class="plot plot-{esc(plot.name)}{css}" data-annotations="'
        f'{esc(" ".join(sorted(plot.kinds())))}">'
        f'<img src="{plot.data_uri()}" alt="{esc(plot.alt)}">'
        f"<figcaption>{esc(plot.alt)}</figcaption></figure>"
    )


def run_section(
    rr: Any,
    number: int,
    *,
    with_plots: bool = True,
    label: str | None = None,
    collapsed: bool = False,
) -> str:
    """One run's section: verdict, facts, annotated loss plot, findings, advice, more plots.

    Args:
        rr: The :class:`~loganalyzer.analysis.RunResult`.
        number: Its position in the report (section id ``run-<number>``).
        with_plots: Draw the figures (matplotlib).
        label: Heading to show instead of the run's name (a comparison's label).
        collapsed: Wrap it in a closed ``<details>`` whose summary line is the verdict
            word and the run's name (sweep reports).
    """
    view = make_view(rr)
    if label is not None:
        view.name = label
    plots = []
    if with_plots:
        from loganalyzer.renderers.plots import run_plots

        plots = run_plots(rr, view.marks, fmt="svg")
    first = _figure(plots[0]) if plots else ""
    rest = "".join(_figure(p) for p in plots[1:])
    warnings = (
        "<h3>Reader warnings</h3><ul>"
        + "".join(f"<li>{esc(w)}</li>" for w in view.warnings)
        + "</ul>"
        if view.warnings
        else ""
    )
    content = (
        _verdict(view)
        + _facts(view)
        + first
        + _findings(view)
        + _advice(view)
        + (f'<div class="plots-row">{rest}</div>' if rest else "")
        + warnings
    )
    if collapsed:
        sev = view.verdict
        return (
            f'<details class="run-details" id="run-{number}"><summary>'
            f'<span class="sev sev-{esc(sev)}">{esc(sev)}</span>{number}. {esc(view.name)}'
            f'</summary><section class="run">{content}</section></details>'
        )
    return (
        f'<section class="run" id="run-{number}"><h2>{number}. {esc(view.name)}</h2>'
        + content
        + "</section>"
    )


def _labelled_section(
    rr: Any,
    number: int,
    labels: list[str] | None = None,
    with_plots: bool = True,
    collapsed: bool = False,
) -> str:
    """``run_section`` with the label for this number (picklable for worker processes)."""
    label = labels[number - 1] if labels else None
    return run_section(rr, number, with_plots=with_plots, label=label, collapsed=collapsed)


def sections(
    results: list[Any],
    progress: Progress | None = None,
    *,
    labels: list[str] | None = None,
    with_plots: bool = True,
    jobs: int | None = None,
    collapsed: bool = False,
) -> list[str]:
    """Every run's section, in order, drawn on ``jobs`` processes for big sweeps."""
    from functools import partial

    from loganalyzer.renderers._pool import map_runs

    fn = partial(_labelled_section, labels=labels, with_plots=with_plots, collapsed=collapsed)
    return map_runs(fn, results, progress, jobs=jobs if with_plots else 1)


def summary_table(results: list[Any]) -> str:
    """The sweep overview: one line per run, in the given order (worst first, as
    :func:`body` passes them), sortable by clicking a column heading. Cells hold a word
    or a number each; the run's section has the sentences."""
    rows = []
    for i, rr in enumerate(results, 1):
        view = make_view(rr)
        best = view.best if view.has_val_best else None
        sev = view.verdict
        finding, advice = view.finding_cell(titled=True), view.advice_cell
        rank = {"error": 0, "warning": 1, "ok": 2}[sev]
        rows.append(
            "<tr>"
            f'<td class="num" data-sort="{i}">{i}</td>'
            f'<td class="name" title="{esc(view.name)}" data-sort="{esc(view.name)}">'
            f'<a href="#run-{i}">{esc(shorten(view.name, NAME_CELL))}</a></td>'
            f'<td data-sort="{rank}"><span class="sev sev-{esc(sev)}">{esc(sev)}</span></td>'
            f'<td class="num" data-sort="{esc(best["value"]) if best else "1e308"}">'
            f"{esc(view.best_value_text)}</td>"
            f'<td class="num" data-sort="{esc(best["index"]) if best else "1e308"}">'
            f"{esc(fmt_num(best['index'])) if best else '–'}</td>"
            f'<td title="{esc(view.headline)}">{esc(finding)}</td>'
            f'<td title="{esc(view.action or "")}" data-sort="{esc(advice)}">{esc(advice)}</td>'
            "</tr>"
        )
    heads = ["#", "Run", "Verdict", "Best val loss", "At", "Top finding", "Top advice"]
    head = "".join(f'<th scope="col"><button type="button">{h}</button></th>' for h in heads)
    return (
        '<section class="summary"><h2>Summary</h2>'
        '<p class="hint">Worst runs first. Click a column heading to sort; a run\'s name '
        "opens its section.</p>"
        f'<table class="sortable summary"><thead><tr>{head}</tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table></section>"
    )


def _errors(analysis: Any) -> str:
    return "".join(
        f'<section class="errors"><h2>{title}</h2><ul class="errors">'
        + "".join(f"<li>{esc(e.line())}</li>" for e in errors)
        + "</ul></section>"
        for title, errors in error_groups(analysis)
    )


def _skipped(analysis: Any) -> str:
    """Skipped files last, collapsed: they are not training logs."""
    if not analysis.skipped:
        return ""
    n = len(analysis.skipped)
    return (
        f'<details class="skipped"><summary>{n} file{"s" if n != 1 else ""} skipped '
        "(not training logs)</summary><ul>"
        + "".join(f"<li>{esc(e.line())}</li>" for e in analysis.skipped)
        + "</ul></details>"
    )


def body(
    analysis: Any,
    *,
    title: str,
    progress: Progress | None = None,
    with_plots: bool = True,
    jobs: int | None = None,
) -> str:
    """The report's content (inside ``<div class="la-report">``), shared by the page
    and the Jupyter fragment."""
    n = len(analysis.runs)
    results = worst_first(analysis.runs)
    parts = [
        f"<header><h1>{esc(title)}</h1>"
        f'<p class="meta">{esc(tally(analysis))} · {esc(generated_line())}</p></header>'
    ]
    if n > 1:
        parts.append(summary_table(results))
    parts.append(_errors(analysis))
    if n == 0:
        parts.append("<p>No training runs were found.</p>")
    parts += sections(
        results, progress, with_plots=with_plots, jobs=jobs, collapsed=n > COLLAPSE_AFTER
    )
    parts.append(_skipped(analysis))
    return '<div class="la-report">' + "".join(parts) + "</div>"


def tally(analysis: Any) -> str:
    """``15 runs: 6 errors, 6 warnings, 3 ok; 12 files skipped`` (as the terminal's)."""
    return tally_line(analysis, verbose=True)


def page(content: str, title: str, *, script: bool = False) -> str:
    """Wrap report content in a complete HTML document with the CSP and stylesheet."""
    js = f"<script>{SORT_SCRIPT}</script>" if script else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{esc(title)}</title><style>{PAGE_STYLE}</style></head>"
        f"<body>{content}{js}</body></html>\n"
    )


# ---------------------------------------------------------------------------- API
def render(
    analysis: Any,
    *,
    title: str | None = None,
    progress: Progress | None = None,
    jobs: int | None = None,
    with_plots: bool = True,
) -> str:
    """A complete, self-contained HTML page for ``analysis``.

    Args:
        analysis: An :class:`~loganalyzer.analysis.Analysis`.
        title: Page heading (default: the run's name, or "Training log report").
        progress: Called with each run's name once its section is rendered.
        jobs: Processes drawing plots for big sweeps (default every core; 1: none).
        with_plots: Draw the figures (``False``: the text of the report only, fast).

    Returns:
        The HTML text (UTF-8), one file with every plot inlined as an SVG data URI.
    """
    if title is None:
        title = (
            f"Training log report: {analysis.runs[0].run.name}"
            if len(analysis.runs) == 1
            else "Training log report"
        )
    content = body(analysis, title=title, progress=progress, jobs=jobs, with_plots=with_plots)
    return page(content, title, script=len(analysis.runs) > 1)


def render_fragment(analysis: Any) -> str:
    """The report as an HTML fragment for Jupyter (``Analysis._repr_html_``): the same
    content and stylesheet (scoped to ``.la-report``), no script, no page wrapper."""
    title = "loganalyzer"
    return f"<style>{STYLE}</style>" + body(analysis, title=title)


def render_compare(
    analysis: Any,
    comparison: Any,
    *,
    title: str = "Run comparison",
    progress: Progress | None = None,
    jobs: int | None = None,
    with_plots: bool = True,
) -> str:
    """A comparison page: one loss of every comparable run overlaid, a table of their
    differences, the runs left out and why, then each run's section (collapsed).

    Args:
        analysis: The :class:`~loganalyzer.analysis.Analysis` holding the runs.
        comparison: A :class:`~loganalyzer.comparison.Comparison` of those runs.
        title: Page heading.
        progress: Called with each run's name once its section is rendered.
        jobs: Processes drawing plots for big sweeps (default every core; 1: none).
        with_plots: Draw each run's own figures (the comparison figure always is).
    """
    from loganalyzer.renderers.plots import compare_plot

    cv = compare_view(analysis, comparison)
    plot = compare_plot(
        cv.results, cv.labels, fmt="svg", columns=cv.columns, bests=cv.bests, what=cv.what
    )
    heads = ["", "Run", "Format", "Series", "Best", "At", "Δ best", "Final", "Final gap"]
    heads.append("Findings")
    head = "".join(f'<th scope="col"><button type="button">{h}</button></th>' for h in heads)
    best = comparison.best
    rows = []
    for i, row in enumerate(comparison.rows, 1):
        rows.append(
            "<tr>"
            f'<td data-sort="{0 if row is best else 1}">{"★" if row is best else ""}</td>'
            f'<td class="name"><a href="#run-{i}">{esc(row.name)}</a></td>'
            f"<td>{esc(row.format)}</td><td><code>{esc(row.monitor)}</code></td>"
            + "".join(
                f'<td class="num" data-sort="{_sort_key(v)}">{esc(fmt_num(v))}</td>'
                for v in (
                    row.best_value,
                    row.best_index,
                    row.delta_best,
                    row.final_value,
                    row.final_gap,
                )
            )
            + f"<td>{esc(', '.join(row.findings) or 'none')}</td></tr>"
        )
    left = ""
    if cv.left_labels:
        left = (
            '<section class="left-out"><h2>Left out of the comparison</h2><ul>'
            + "".join(
                f"<li>{esc(name)}: {esc(why)}</li>"
                for name, why in zip(cv.left_labels, cv.left_reasons, strict=True)
            )
            + "</ul></section>"
        )
    content = (
        f'<div class="la-report"><header><h1>{esc(title)}</h1>'
        f'<p class="meta">{esc(tally(analysis))} · {esc(generated_line())}</p></header>'
        + _errors(analysis)
        + _figure(plot)
        + "<h2>Differences</h2>"
        f'<p class="hint">Every run compared on its {esc(cv.what.lower())}. Δ best: best value '
        "minus the best of all runs (★). Final gap: validation minus training loss at the "
        "last index both were logged. Click a heading to sort.</p>"
        f'<table class="sortable compare"><thead><tr>{head}</tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
        + left
    )
    content += "".join(
        sections(
            cv.all_results,
            progress,
            labels=cv.all_labels,
            jobs=jobs,
            collapsed=True,
            with_plots=with_plots,
        )
    )
    content += _skipped(analysis)
    return page(content + "</div>", title, script=True)


def _sort_key(value: Any) -> str:
    if isinstance(value, (int, float)) and value == value and abs(value) != float("inf"):
        return esc(repr(float(value)))
    return "1e308"

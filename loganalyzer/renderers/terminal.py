"""Terminal output (rich): per run a header, a findings table and the ranked advice.

What a user sees for each run:

- a rule with the run's name, then ``source``, ``format`` and length, and the best
  point of the monitored metric (``val_loss 0.58 at epoch 4``);
- the verdict (one sentence, from :func:`loganalyzer.renderers.view.run_view`);
- a findings table: severity, rule code, kind, where (``epoch 4–11``), the finding's
  one-sentence message with its numbers;
- "What to do, in order": each advice with its rank, action, rules and summary, and
  its Keras snippet syntax-highlighted; a run with no warning or error finding
  shows **Nothing to fix** (the advice engine returns no advice for it).

With more than :data:`SUMMARY_AFTER` runs a one-screen summary table comes first (run,
best, verdict, top finding, top advice; problem runs first, at most
:data:`SUMMARY_ROWS` rows) and, by default, details follow only for runs with a
warning or an error. Unreadable inputs and skipped files are one line each, at the end.

Every number is read from the :class:`~loganalyzer.analysis.Analysis` (findings,
advice, ``RunResult.best``); nothing is computed here. Untrusted text (run names,
paths, metric names, messages) is passed to rich as :class:`rich.text.Text`, never as
markup, so ``[red]x[/red]`` prints literally. Colour is the console's business:
``Console(no_color=True)`` (``--no-color``, ``NO_COLOR``) prints the same text plain.

Example:
    >>> import io
    >>> from rich.console import Console
    >>> from loganalyzer.analysis import analyze
    >>> console = Console(file=io.StringIO(), record=True, width=100, no_color=True)
    >>> render(analyze({"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.7, 0.6]}), console)
    >>> "Nothing to fix" in console.export_text()
    True
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console, Group
from rich.padding import Padding
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from loganalyzer.findings import severity_rank
from loganalyzer.renderers._escape import one_line
from loganalyzer.renderers.view import RunView, finding_where, fmt_num, run_view

__all__ = ["render", "SUMMARY_AFTER", "SUMMARY_ROWS"]

#: More runs than this and a summary table comes first.
SUMMARY_AFTER = 3
#: At most this many rows in the summary table (problem runs first).
SUMMARY_ROWS = 30

_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan", "ok": "green"}
_SEVERITY_MARK = {"error": "✗", "warning": "!", "info": "i", "ok": "✓"}


def render(
    analysis: Any,
    console: Console,
    *,
    quiet: bool = False,
    details: bool | None = None,
) -> None:
    """Print an analysis to a rich console.

    Args:
        analysis: A :class:`loganalyzer.analysis.Analysis`.
        console: Where to print (its ``no_color``/``width`` settings are respected).
        quiet: Only problems: runs with a warning or an error (their warning/error
            findings and one line per advice, no snippets), the summary table when
            many runs, and unreadable inputs. Healthy runs and skipped files print
            nothing.
        details: Which runs get a full section. ``None`` (default): every run when
            there are at most :data:`SUMMARY_AFTER`, else only runs with a warning or
            an error, after the summary table. ``True``: every run. ``False``: none
            (the summary table only, even for one run).

    Example:
        >>> import io
        >>> from rich.console import Console
        >>> from loganalyzer.analysis import analyze
        >>> c = Console(file=io.StringIO(), record=True, width=100, no_color=True)
        >>> render(analyze({"loss": [1.0, 0.6, 0.4]}), c, details=False)
        >>> "top advice" in c.export_text()
        True
    """
    views = [run_view(rr) for rr in analysis.runs]
    problems = [v for v in views if _is_problem(v)]
    many = len(views) > SUMMARY_AFTER
    if views and (details is False or many):
        shown = problems if quiet else views
        if shown or not quiet:
            console.print(summary_table(shown, total=len(views)))
    if details is None:
        sections = problems if many or quiet else views
    elif details:
        sections = problems if quiet else views
    else:
        sections = []
    for view in sections:
        if quiet:
            console.print(_quiet_section(view))
        else:
            console.print(run_section(view))
    for err in analysis.errors:
        console.print(Text.assemble(("error: ", "bold red"), one_line(err.line())))
    if not quiet:
        for skip in analysis.skipped:
            console.print(Text.assemble(("skipped: ", "dim"), one_line(skip.line())))


def _is_problem(view: RunView) -> bool:
    return view.severity is not None and severity_rank(view.severity) >= 1


def _verdict_key(view: RunView) -> str:
    return view.verdict_class if view.severity != "info" else "ok"


def run_section(view: RunView) -> Group:
    """One run's full section: header, verdict, findings table, ranked advice."""
    parts: list[Any] = [_title(view), _facts(view), _verdict(view)]
    for warning in view.warnings:
        parts.append(Text.assemble(("  note: ", "dim"), one_line(warning)))
    if view.findings:
        parts.append(Text(""))
        parts.append(findings_table(view, view.findings))
    parts.append(Text(""))
    parts.append(advice_block(view, snippets=True))
    parts.append(Text(""))
    return Group(*parts)


def _quiet_section(view: RunView) -> Group:
    problems = [f for f in view.findings if severity_rank(f.severity) >= 1]
    parts: list[Any] = [_verdict(view, with_name=True), findings_table(view, problems)]
    parts.append(advice_block(view, snippets=False))
    parts.append(Text(""))
    return Group(*parts)


def _title(view: RunView) -> Any:
    from rich.rule import Rule

    return Rule(Text(one_line(view.name), style="bold"), align="left")


def _facts(view: RunView) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("source", Text(one_line(view.source_text)))
    grid.add_row("log", Text(f"{one_line(view.format)}, {view.length} {one_line(view.index)}s"))
    grid.add_row("best", Text(one_line(view.best_text)))
    return grid


def _verdict(view: RunView, *, with_name: bool = False) -> Text:
    key = _verdict_key(view)
    text = Text()
    text.append(f"{_SEVERITY_MARK[key]} ", style=_SEVERITY_STYLE[key])
    if with_name:
        text.append(one_line(view.name), style="bold")
        text.append(": ")
    text.append(one_line(view.headline), style=_SEVERITY_STYLE[key] if key != "ok" else "")
    return text


def findings_table(view: RunView, findings: list) -> Table:
    """Severity, code, kind, where, and the finding's one-sentence message."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, expand=False, show_edge=False)
    table.add_column("severity", no_wrap=True)
    table.add_column("code", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("where", no_wrap=True)
    table.add_column("evidence", overflow="fold")
    for f in findings:
        sev = f.severity if f.severity in _SEVERITY_STYLE else "info"
        table.add_row(
            Text(f.severity, style=_SEVERITY_STYLE[sev]),
            Text(one_line(f.rule)),
            Text(one_line(f.kind)),
            Text(one_line(finding_where(f, view.index))),
            Text(one_line(f.message)),
        )
    return table


def advice_block(view: RunView, *, snippets: bool = True) -> Group:
    """The ranked advice (or "Nothing to fix" for a run without problems)."""
    if not view.advice:
        if _is_problem(view):
            return Group(Text("No advice for these findings.", style="dim"))
        return Group(Text("✓ Nothing to fix.", style="green"))
    parts: list[Any] = [Text("What to do, in order", style="bold")]
    for a in view.advice:
        head = Text()
        head.append(f"{a.rank}. ", style="bold")
        head.append(one_line(a.action), style="bold magenta")
        if a.rules:
            head.append(f" ({one_line(', '.join(a.rules))})", style="dim")
        if snippets:
            head.append(" — ")
            head.append(one_line(a.summary))
        else:
            head.append(" — ")
            head.append(one_line(_one_liner(a, view)))
        parts.append(head)
        if snippets and a.code:
            parts.append(
                Padding(
                    Syntax(
                        a.code.rstrip("\n"),
                        "python",
                        theme="ansi_dark",
                        background_color="default",
                        word_wrap=True,
                    ),
                    (0, 0, 0, 3),
                )
            )
    return Group(*parts)


def _one_liner(advice: Any, view: RunView) -> str:
    """An advice's summary without its "Why: ..." tail (the rules column says why)."""
    if advice is view.top_advice and view.action:
        return view.action
    return advice.summary.split(" Why: ")[0]


def summary_table(views: list[RunView], *, total: int | None = None) -> Table:
    """One row per run (problem runs first, at most :data:`SUMMARY_ROWS`)."""
    ordered = sorted(
        range(len(views)),
        key=lambda i: (-(severity_rank(views[i].severity) if views[i].severity else -1), i),
    )
    total = len(views) if total is None else total
    counts = {"error": 0, "warning": 0}
    for v in views:
        if v.severity in counts:
            counts[v.severity] += 1
    caption = f"{total} runs: {counts['error']} with errors, {counts['warning']} with warnings"
    if len(views) > SUMMARY_ROWS:
        hidden = ordered[SUMMARY_ROWS:]
        hidden_problems = sum(1 for i in hidden if _is_problem(views[i]))
        caption += f"; {len(hidden)} more not shown ({hidden_problems} with problems)"
    table = Table(box=box.SIMPLE_HEAD, caption=caption, caption_justify="left", show_edge=False)
    table.add_column("run", overflow="fold", ratio=3, min_width=12)
    table.add_column("best", overflow="fold", ratio=1, min_width=6)
    table.add_column("verdict", overflow="fold", ratio=1, min_width=7)
    table.add_column("top finding", overflow="fold", ratio=2, min_width=10)
    table.add_column("top advice", overflow="fold", ratio=2, min_width=10)
    for i in ordered[:SUMMARY_ROWS]:
        v = views[i]
        key = _verdict_key(v)
        best = f"{fmt_num(v.best['value'])} @ {fmt_num(v.best['index'])}" if v.best else "–"
        top_f = v.top_finding
        finding = (
            f"{top_f.rule} {top_f.kind}"
            + (f" @ {fmt_num(top_f.start)}" if top_f.start is not None else "")
            if top_f is not None and _is_problem(v)
            else "–"
        )
        advice = "–"
        if v.top_advice is not None:
            advice = v.top_advice.action
            stop = v.top_advice.params.get("would_stop_at")
            if v.top_advice.action == "early-stopping" and stop is not None:
                advice += f" (stop at {fmt_num(stop)})"
        table.add_row(
            Text(one_line(v.name)),
            Text(best),
            Text(f"{_SEVERITY_MARK[key]} {key}", style=_SEVERITY_STYLE[key]),
            Text(one_line(finding)),
            Text(one_line(advice)),
        )
    return table

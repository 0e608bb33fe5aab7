"""Terminal output (rich): one screen per run, verdict and top action first, a tally last.

What a user sees for one run (at 100 columns it fits in about 35 lines):

- a rule with the run's source path (cut from the front when too long: the end of a
  path is its distinctive part), then the verdict (one sentence, from
  :func:`loganalyzer.renderers.view.run_view`) and one line of facts (format, length,
  best point of the monitored metric);
- ``→`` the top action (``Stop at epoch ~11 with EarlyStopping(...)``) and its Keras
  snippet, never wrapped, so it pastes as valid Python;
- the findings, one per line with a hanging indent (info notes cut to one line);
- the other actions, one line each.

``--verbose`` shows every action with its summary and snippet, every finding in full and
the skipped files; ``--quiet`` shows only runs with a warning or an error, without
snippets. With more than :data:`SUMMARY_AFTER` runs a summary table comes first (one line
per run, worst first, names cut from the front, never mid-word wrapped) and details follow
for runs with a warning or an error, in the same order. The last line is the tally:
``15 runs: 6 errors, 6 warnings, 3 ok; 12 files skipped (-v to list)``.

Every line is built here and printed unwrapped (``soft_wrap``), so nothing is padded with
trailing spaces and piped output (``wrap=False``) keeps each paragraph on one line.
Every number is read from the :class:`~loganalyzer.analysis.Analysis`; nothing is
computed here. Untrusted text (run names, paths, metric names, messages) goes through
:func:`~loganalyzer.renderers._escape.term_text` (control characters, C1 codes and bidi
overrides shown escaped) and is handed to rich as :class:`rich.text.Text`, never as
markup, so ``[red]x[/red]`` prints literally.

Example:
    >>> import io
    >>> from rich.console import Console
    >>> from loganalyzer.analysis import analyze
    >>> console = Console(file=io.StringIO(), record=True, width=100, no_color=True)
    >>> render(analyze({"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.7, 0.6]}), console)
    >>> console.export_text().splitlines()[-1]
    '1 run: 0 errors, 0 warnings, 1 ok'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text

from loganalyzer.findings import severity_rank
from loganalyzer.renderers._escape import shorten, term_text
from loganalyzer.renderers.view import (
    RunView,
    advice_text,
    finding_where,
    first_sentence,
    fmt_num,
    run_view,
    sort_worst_first,
    tally_line,
)

__all__ = ["render", "tally_line", "SUMMARY_AFTER", "SUMMARY_ROWS"]

#: More runs than this and a summary table comes first.
SUMMARY_AFTER = 3
#: At most this many rows in the summary table (worst runs first).
SUMMARY_ROWS = 30

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan", "ok": "green"}
_MARK = {"error": "✗", "warning": "!", "ok": "✓"}


class _Out:
    """Collects lines and prints them unwrapped; wraps prose itself (hanging indents).

    Lines are kept until :meth:`flush` and printed as one text: rich's ``print`` costs
    about as much per call as rendering a short line, and a sweep's report is tens of
    thousands of lines (printing each took most of the report's time)."""

    def __init__(self, console: Console, width: int | None):
        self.console = console
        self.width = width
        self.pending: list[Text] = []

    def line(self, *parts: Any) -> None:
        text = Text.assemble(*parts) if parts else Text("")
        text.rstrip()
        self.pending.append(text)

    def flush(self) -> None:
        """Print the lines collected so far (before anything printed another way)."""
        if self.pending:
            self.console.print(Text("\n").join(self.pending), soft_wrap=True)
            self.pending = []

    def para(self, lead: Text | str, body: Text, indent: int, *, one_line: bool = False) -> None:
        """``lead`` then ``body`` wrapped at the width with a hanging ``indent``
        (``one_line``: cut with ``…`` instead of wrapping)."""
        lead = lead if isinstance(lead, Text) else Text(lead)
        if self.width is None:
            self.line(lead, body)
            return
        if one_line:
            body = body.copy()
            body.truncate(max(self.width - lead.cell_len, 10), overflow="ellipsis")
            self.line(lead, body)
            return
        first = max(self.width - lead.cell_len, 10)
        rest = max(self.width - indent, 10)
        for i, piece in enumerate(body.divide(_breaks(body.plain, first, rest))):
            self.line(lead if i == 0 else " " * indent, piece)

    def code(self, code: str, indent: int) -> None:
        """Syntax-highlighted Python, one printed line per source line, never wrapped."""
        source = "\n".join(term_text(line) for line in code.rstrip("\n").split("\n"))
        syntax = Syntax(source, "python", theme="ansi_dark", background_color="default")
        pieces = list(syntax.highlight(source).split("\n", allow_blank=True))
        while pieces and not pieces[-1].plain.strip():
            pieces.pop()
        for piece in pieces:
            self.line(" " * indent if piece.plain else "", piece)


def _breaks(plain: str, first: int, rest: int) -> list[int]:
    """Offsets where ``plain`` wraps: at spaces, the first line ``first`` cells wide and
    the others ``rest``; a word longer than a line is cut (the only mid-word break).
    Each line starts at a word (the space before it stays at the end of the previous
    line, where it is stripped)."""
    offsets: list[int] = []
    width, used = first, len(plain) - len(plain.lstrip())
    for m in re.finditer(r"\S+\s*", plain):
        word = cell_len(m.group().rstrip())
        if used and used + word > width:
            offsets.append(m.start())
            width, used = rest, 0
        start = m.start()
        while word > width:  # fold a word longer than a whole line
            start += width
            offsets.append(start)
            word -= width
            width = rest
        used += cell_len(m.group()) if word == cell_len(m.group().rstrip()) else word + 1
    return offsets


def render(
    analysis: Any,
    console: Console,
    *,
    quiet: bool = False,
    verbose: bool = False,
    details: bool | None = None,
    wrap: bool = True,
    tally: bool = True,
) -> None:
    """Print an analysis to a rich console.

    Args:
        analysis: A :class:`loganalyzer.analysis.Analysis`.
        console: Where to print (its ``no_color``/``width`` settings are respected).
        quiet: Only problems: runs with a warning or an error (verdict, their
            warning/error findings one line each, the top action, no snippet), the
            summary table when many runs, unreadable inputs and the tally. Prints
            nothing when every run is OK and every input was read.
        verbose: Every action with its snippet, every finding in full, every run's
            section and the skipped files listed.
        details: Which runs get a section. ``None`` (default): every run when there
            are at most :data:`SUMMARY_AFTER` (or with ``verbose``), else only runs
            with a warning or an error, after the summary table. ``True``: every run.
            ``False``: none (the summary table only, even for one run).
        wrap: Wrap prose at the console's width (a terminal); ``False`` for piped
            output: one line per paragraph, so nothing is cut or padded.
        tally: End with :func:`tally_line`.

    Example:
        >>> import io
        >>> from rich.console import Console
        >>> from loganalyzer.analysis import analyze
        >>> c = Console(file=io.StringIO(), record=True, width=100, no_color=True)
        >>> render(analyze({"loss": [1.0, 0.6, 0.4]}), c, details=False)
        >>> "top advice" in c.export_text()
        True
    """
    out = _Out(console, console.width if wrap else None)
    views = sort_worst_first([run_view(rr) for rr in analysis.runs])
    problems = [v for v in views if _is_problem(v)]
    many = len(views) > SUMMARY_AFTER
    if views and (details is False or many):
        shown = problems if quiet else views
        if shown:
            summary_table(out, shown, total=len(views))
            out.line()
    if details is None:
        sections = views if verbose or not many else problems
    else:
        sections = views if details else []
    if quiet:
        sections = [v for v in sections if _is_problem(v)]
    for view in sections:
        if quiet:
            _quiet_section(out, view)
        else:
            run_section(out, view, verbose=verbose)
    for err in analysis.errors:
        out.line(("error: ", "bold red"), term_text(err.line()))
    if verbose:
        for skip in analysis.skipped:
            out.line(("skipped: ", "dim"), term_text(skip.line()))
    if tally and (not quiet or problems or analysis.errors):
        out.line(tally_text(analysis, verbose=verbose))
    out.flush()


def tally_text(analysis: Any, *, verbose: bool = False) -> Text:
    """:func:`tally_line`, coloured by the worst verdict."""
    worst = max(
        (severity_rank(rr.worst_severity) for rr in analysis.runs if rr.worst_severity),
        default=0,
    )
    style = "bold red" if worst == 2 or analysis.errors else "yellow" if worst == 1 else "green"
    return Text(tally_line(analysis, verbose=verbose), style=style)


def _is_problem(view: RunView) -> bool:
    return view.verdict != "ok"


# ---------------------------------------------------------------------------- one run
def run_section(out: _Out, view: RunView, *, verbose: bool = False) -> None:
    """One run: rule, verdict, facts, top action and its snippet, findings, more actions."""
    from rich.rule import Rule

    width = out.width or 100
    title = Text(shorten(term_text(view.title), max(width - 6, 10)), style="bold")
    out.flush()
    out.console.print(Rule(title, align="left", characters="─"), width=width)
    _verdict(out, view)
    out.para("  ", Text(_facts(view), style="dim"), 2)
    for warning in view.warnings:
        out.para(Text("  note: ", style="dim"), Text(term_text(warning)), 8)
    top = view.top_advice
    if top is not None:
        out.para(Text("→ ", style="bold magenta"), Text(term_text(view.action or "")), 2)
        if top.code and not verbose:  # verbose: with every action's, below
            out.code(top.code, 4)
    elif _is_problem(view):
        out.line(("  No advice for these findings.", "dim"))
    else:
        out.line(("✓ Nothing to fix.", "green"))
    if view.findings:
        out.line()
        _findings(out, view, view.findings, full=verbose)
    rest = view.advice[1:]
    if verbose and view.advice:
        out.line()
        why = f" (for {view.why})" if view.why else ""
        out.para(Text("What to do, in order", style="bold"), Text(term_text(why)), 2)
        for a in view.advice:
            head = Text.assemble((f"{a.rank}. ", "bold"), (term_text(a.action), "bold magenta"))
            out.para(Text("  ").append_text(head), Text(" — " + term_text(advice_text(a))), 5)
            if a.code:
                out.code(a.code, 5)
    elif rest:
        out.line()
        out.line(("If that is not enough:", "bold"))
        for a in rest:
            lead = Text.assemble(
                (f"  {a.rank}. ", "bold"),
                (term_text(a.action), "magenta"),
                (f" ({term_text(', '.join(a.rules))})" if a.rules else "", "dim"),
                " — ",
            )
            body = Text(term_text(first_sentence(advice_text(a))))
            out.para(lead, body, 5, one_line=True)
    out.line()


def _quiet_section(out: _Out, view: RunView) -> None:
    _verdict(out, view, with_name=True)
    problems = [f for f in view.findings if severity_rank(f.severity) >= 1]
    _findings(out, view, problems, full=False)
    if view.action:
        out.para(Text("→ ", style="bold magenta"), Text(term_text(view.action)), 2)


def _verdict(out: _Out, view: RunView, *, with_name: bool = False) -> None:
    key = view.verdict
    lead = Text(f"{_MARK[key]} ", style=_STYLE[key])
    body = Text()
    if with_name:
        body.append(term_text(view.title), style="bold")
        body.append(": ")
    body.append(term_text(view.headline), style=_STYLE[key] if key != "ok" else "")
    out.para(lead, body, 2)


def _facts(view: RunView) -> str:
    facts = [f"{term_text(view.format)}, {term_text(view.length_text)}"]
    facts.append(f"best {term_text(view.best_text)}" if view.best else view.best_text)
    if view.title != view.source_text and view.sources:
        facts.append(f"source {term_text(view.source_text)}")
    return " · ".join(facts)


def _findings(out: _Out, view: RunView, findings: Iterable, *, full: bool) -> None:
    rows = [
        (f.severity, term_text(f"{f.rule} {f.kind}"), term_text(finding_where(f, view.index)), f)
        for f in findings
    ]
    if not rows:
        return
    w_sev = max(len(r[0]) for r in rows)
    w_kind = max(cell_len(r[1]) for r in rows)
    w_where = max(cell_len(r[2]) for r in rows)
    indent = 2 + w_sev + 2 + w_kind + 2 + w_where + 2
    if out.width is not None and indent > out.width // 2:  # narrow: message on its own line
        indent = 6
    for sev, kind, where, f in rows:
        style = _STYLE.get(sev, "")
        lead = Text.assemble(
            "  ",
            (sev.ljust(w_sev), style),
            "  ",
            kind.ljust(w_kind + (cell_len(kind) - len(kind))),
            "  ",
            (where.ljust(w_where), "dim"),
            "  ",
        )
        body = Text(term_text(f.message))
        # Info notes, and the message the verdict line already says, take one line.
        short = not full and (sev == "info" or f.message == view.headline)
        if indent == 6:
            out.line(lead)
            out.para(" " * indent, body, indent, one_line=short)
        else:
            out.para(lead, body, indent, one_line=short)


# ---------------------------------------------------------------------------- many runs
def summary_table(out: _Out, views: list[RunView], *, total: int | None = None) -> None:
    """One line per run (worst first, at most :data:`SUMMARY_ROWS`): run (cut from the
    front), best, verdict, top finding, top advice."""
    total = len(views) if total is None else total
    rows = []
    for v in views[:SUMMARY_ROWS]:
        best = "–"
        if v.best:
            best = f"{fmt_num(v.best['value'])} @ {fmt_num(v.best['index'])}"
            if not v.has_val_best:
                best += f" ({term_text(v.monitor)})"
        rows.append(
            [
                term_text(v.name),
                best,
                f"{_MARK[v.verdict]} {v.verdict}",
                term_text(v.finding_cell()),
                term_text(v.advice_cell),
            ]
        )
    heads = ["run", "best", "verdict", "top finding", "top advice"]
    widths = [max(cell_len(r[i]) for r in rows + [heads]) for i in range(5)]
    if out.width is not None:
        widths = _fit(widths, out.width - 2 * 4)
    keep = [i for i in range(5) if widths[i] > 0]

    def cells(row: list[str], styles: list[str]) -> Text:
        text = Text()
        for n, i in enumerate(keep):
            value = row[i]
            if cell_len(value) > widths[i]:
                value = shorten(value, widths[i]) if i == 0 else _cut(value, widths[i])
            if n:
                text.append("  ")
            pad = widths[i] - cell_len(value) if n < len(keep) - 1 else 0
            text.append(value + " " * pad, styles[i])
        return text

    out.line(cells(heads, ["bold"] * 5))
    for v, row in zip(views, rows, strict=False):
        out.line(cells(row, ["", "", _STYLE[v.verdict], "", ""]))
    if len(views) > SUMMARY_ROWS:
        hidden = views[SUMMARY_ROWS:]
        n_bad = sum(_is_problem(v) for v in hidden)
        out.line((f"… {len(hidden)} more not shown ({n_bad} with problems)", "dim"))


def _cut(text: str, width: int) -> str:
    t = Text(text)
    t.truncate(width, overflow="ellipsis")
    return t.plain


def _fit(widths: list[int], room: int) -> list[int]:
    """Column widths that fit in ``room``: the run column keeps up to 40 % of it, the
    finding and advice columns shrink (down to 12 cells) before the advice column is
    dropped; the run column then takes whatever is left."""
    w = list(widths)
    name_room = min(w[0], max(16, int(room * 0.4)))
    spare = room - w[1] - w[2] - name_room
    excess = w[3] + w[4] - spare
    if excess > 0 and spare >= 24:
        for i in (4, 3):
            cut = min(excess, max(0, w[i] - 12))
            w[i] -= cut
            excess -= cut
    elif excess > 0:
        w[4] = 0
        w[3] = max(8, min(w[3], spare + 2))
    left = room - w[1] - w[2] - w[3] - w[4] + (2 if w[4] == 0 else 0)
    w[0] = max(8, min(w[0], left))
    return w

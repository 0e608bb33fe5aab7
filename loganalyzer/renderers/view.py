"""What a report says about one run: header facts, the verdict, and the marks to draw.

Everything here is *read* from a :class:`~loganalyzer.analysis.RunResult`: positions
come from findings (``Finding.start``/``end`` and evidence keys), from advice params
(``would_stop_at``) and from the run (``RunResult.best``). Nothing is re-detected, so
the plot, the HTML and the Markdown always agree with ``--format json``.

Example:
    >>> from loganalyzer.analysis import analyze
    >>> rr = analyze({"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.7, 0.6]}).runs[0]
    >>> view = run_view(rr)
    >>> view.best_text
    'val_loss 0.6 at epoch 2'
"""

from __future__ import annotations

import math
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

from loganalyzer.findings import Advice, Finding, severity_rank

#: How a finding's position is named for each kind (used in "where" columns).
_KIND_TITLES = {
    "overfitting": "Overfitting",
    "divergence": "Divergence",
    "loss-spike": "Loss spikes",
    "plateau": "Plateau",
    "noisy": "Noisy training",
    "underfitting": "Under-fitting",
    "undertrained": "Stopped while improving",
    "val-below-train": "Validation below training",
    "metric-disagreement": "Metric disagreement",
    "too-short": "Too short to judge",
}


def fmt_num(value: Any) -> str:
    """A number as a reader wants it: 4 significant digits, ints as ints, NaN/inf named.

    Example:
        >>> fmt_num(0.123456), fmt_num(14), fmt_num(float("nan")), fmt_num("Infinity")
        ('0.1235', '14', 'NaN', 'Infinity')
    """
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4g}"
    if value is None:
        return "–"
    return str(value)


def fmt_evidence(evidence: dict[str, Any], limit: int = 4) -> list[tuple[str, str]]:
    """Evidence as ``(key, text)`` pairs; lists of records (spikes) are summarised.

    Example:
        >>> fmt_evidence({"rise_pct": 41.234, "spikes": [{"index": 3, "value": 2.0}]})
        [('rise_pct', '41.23'), ('spikes', '1: index 3, value 2')]
    """
    out = []
    for key, value in evidence.items():
        if isinstance(value, list):
            items = []
            for item in value[:limit]:
                if isinstance(item, dict):
                    items.append(", ".join(f"{k} {fmt_num(v)}" for k, v in item.items()))
                else:
                    items.append(fmt_num(item))
            more = f"; … {len(value) - limit} more" if len(value) > limit else ""
            out.append((str(key), f"{len(value)}: " + "; ".join(items) + more))
        elif isinstance(value, dict):
            out.append((str(key), ", ".join(f"{k} {fmt_num(v)}" for k, v in value.items())))
        else:
            out.append((str(key), fmt_num(value)))
    return out


def _as_index(value: Any) -> float | None:
    """A position from findings/advice as a float (``None`` for missing or "NaN")."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


#: What a reader calls each verdict, the same word in the terminal, HTML and Markdown
#: (a run whose only findings are info notes is OK).
VERDICT_LABELS = {"error": "error", "warning": "warning", "ok": "ok"}

_WHY = re.compile(r"\s*\bWhy: .*$", re.DOTALL)


def verdict_key(severity: str | None) -> str:
    """``error``, ``warning`` or ``ok`` (info notes do not make a run less than OK).

    Example:
        >>> verdict_key("info"), verdict_key(None), verdict_key("error")
        ('ok', 'ok', 'error')
    """
    return severity if severity in ("warning", "error") else "ok"


def advice_text(advice: Advice) -> str:
    """An advice's summary without its "Why: ..." tail: the findings it answers are
    shown once per run, not after every action.

    Example:
        >>> a = Advice("dropout", 2, ["LA101"], "Add Dropout(0.25). Why: LA101 overfitting.", "")
        >>> advice_text(a)
        'Add Dropout(0.25).'
    """
    return _WHY.sub("", advice.summary).strip()


def first_sentence(text: str) -> str:
    """The text up to its first sentence end (``". "`` outside brackets), for one-line
    lists.

    Example:
        >>> first_sentence("Add Dropout(0.25) after each block. The rate grows with the gap.")
        'Add Dropout(0.25) after each block.'
    """
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch == "." and depth == 0 and text[i + 1 : i + 2] == " ":
            return text[: i + 1]
    return text


@dataclass
class Span:
    """A finding drawn as a band over the stretch it covers (every kind without a
    drawing of its own; ``start``/``end`` ``None`` means the whole run)."""

    kind: str
    start: float | None
    end: float | None
    label: str
    severity: str


@dataclass
class Marks:
    """Positions to draw on a run's plots, all in the log's own index numbering."""

    best: tuple[float, float] | None = None  # (index, value) of the monitored metric
    monitor: str | None = None
    onset: float | None = None  # overfitting onset (Finding.start)
    overfit_end: float | None = None  # Finding.end
    spikes: list[tuple[float, float, str | None]] = field(default_factory=list)  # index, value
    plateaus: list[tuple[float, float, str | None]] = field(default_factory=list)  # start, end
    stop_at: float | None = None  # where the advised EarlyStopping would have stopped
    stop_label: str | None = None
    diverged_at: float | None = None
    levels: list[tuple[float, str]] = field(default_factory=list)  # horizontal lines
    spans: list[Span] = field(default_factory=list)  # findings drawn generically
    leading: str | None = None  # kind of the run's leading finding


@dataclass
class RunView:
    """The facts and verdict shown at the top of a run's section."""

    name: str
    sources: list[str]
    format: str
    index: str
    length: int
    length_text: str
    monitor: str | None
    best: dict[str, Any] | None
    severity: str | None  # worst severity of a finding, None when there is none
    headline: str  # the verdict, one sentence
    action: str | None  # what to do, one sentence (from the top advice)
    top_finding: Finding | None
    top_advice: Advice | None
    findings: list[Finding]
    advice: list[Advice]
    warnings: list[str]
    marks: Marks
    val_loss: str | None = None

    @property
    def verdict(self) -> str:
        """``error``, ``warning`` or ``ok``: the one word every output uses."""
        return verdict_key(self.severity)

    @property
    def title(self) -> str:
        """The heading: the source path when it spells out the name (it says more), else
        the name."""
        src = self.source_text
        base = self.name.split("#")[0]
        if self.sources and (src == base or src.endswith("/" + base)) and "#" not in self.name:
            return src
        return self.name

    @property
    def why(self) -> str:
        """The findings the advice answers, once: ``LA101 overfitting, epoch 8–49``."""
        codes = {c for a in self.advice for c in a.rules}
        parts: list[str] = []
        for f in self.findings:
            if f.rule in codes and severity_rank(f.severity) >= 1:
                text = f"{f.rule} {f.kind}, {finding_where(f, self.index)}"
                if text not in parts:
                    parts.append(text)
        return "; ".join(parts)

    @property
    def best_text(self) -> str:
        if not self.best:
            return "no finite value logged"
        return f"{self.monitor} {fmt_num(self.best['value'])} at {self.index} {fmt_num(self.best['index'])}"

    @property
    def source_text(self) -> str:
        """The source file, or for a run read from several files (TensorBoard event
        files) their folder and how many there are."""
        if not self.sources:
            return "(in memory)"
        if len(self.sources) == 1:
            return self.sources[0]
        try:
            folder = os.path.commonpath(self.sources)
        except ValueError:
            return ", ".join(self.sources)
        return f"{folder} ({len(self.sources)} files)"

    def finding_cell(self, *, titled: bool = False) -> str:
        """The top problem for a summary cell: ``LA101 overfitting @ 8`` (``–`` for an
        OK run); ``titled`` names the kind as the report headings do (``Overfitting``)."""
        f = self.top_finding
        if f is None or self.verdict == "ok":
            return "–"
        text = f"{f.rule} {kind_title(f.kind) if titled else f.kind}"
        return text + (f" @ {fmt_num(f.start)}" if f.start is not None else "")

    @property
    def advice_cell(self) -> str:
        """The top action for a summary cell: ``early-stopping (stop at 11)``."""
        a = self.top_advice
        if a is None:
            return "–"
        stop = a.params.get("would_stop_at")
        if a.action == "early-stopping" and stop is not None:
            return f"{a.action} (stop at {fmt_num(stop)})"
        return a.action

    @property
    def has_val_best(self) -> bool:
        """The best point is a validation loss's (a "best val loss" column holds only those)."""
        return bool(self.best) and self.monitor is not None and self.monitor == self.val_loss

    @property
    def best_value_text(self) -> str:
        """The best value for a "best val loss" column: ``–`` when the run logged no
        validation loss (a training loss is not shown under that heading)."""
        if not self.has_val_best:
            return "–"
        return fmt_num(self.best["value"])

    @property
    def verdict_class(self) -> str:
        """``ok``, ``info``, ``warning`` or ``error`` (for styling)."""
        return self.severity if self.severity in ("warning", "error") else "ok"


def finding_where(finding: Finding, index: str) -> str:
    """``"epoch 14–40"`` / ``"epoch 14"`` / ``"whole run"`` for a finding's span."""
    start, end = finding.start, finding.end
    if start is None and end is None:
        return "whole run"
    if end is None or end == start:
        return f"{index} {fmt_num(start)}"
    if start is None:
        return f"to {index} {fmt_num(end)}"
    return f"{index} {fmt_num(start)}–{fmt_num(end)}"


def kind_title(kind: str) -> str:
    return _KIND_TITLES.get(kind, kind.replace("-", " ").capitalize())


def _headline(f: Finding, index: str) -> str:
    ev = f.evidence
    if f.kind == "overfitting" and f.start is not None:
        metric = f.metric or "val_loss"
        text = f"Overfitting from {index} {fmt_num(f.start)}"
        parts = []
        if "best_value" in ev:
            parts.append(f"{metric} best {fmt_num(ev['best_value'])}")
        # One number per fact: Prechelt's GL is the mean of the last points against the
        # best, so it is quoted beside that mean, never beside the last value alone.
        gl = _as_index(ev.get("gl"))
        if gl is not None and ev.get("end_mean") is not None:
            k = int(ev.get("end_points") or 1)
            end = "the last point" if k == 1 else f"the last {k} points average"
            parts.append(f"{end} {fmt_num(ev['end_mean'])}, {gl:+.0f}%")
        elif "last_value" in ev and "last_index" in ev:
            parts.append(f"{fmt_num(ev['last_value'])} at {index} {fmt_num(ev['last_index'])}")
        return text + (f" ({'; '.join(parts)})" if parts else "")
    return f.message


def length_text(index_values: Any, index: str) -> str:
    """How much of training the log covers: ``"40 epochs"`` (epochs 0-39),
    ``"steps 10–300 (60 points)"`` for a step log, whose span is not its row count.

    Example:
        >>> length_text([0, 1, 2, 3], "epoch"), length_text([10, 20, 300], "step")
        ('4 epochs', 'steps 10–300 (3 points)')
    """
    values = [float(v) for v in index_values]
    if not values:
        return f"0 {index}s"
    first, last, n = values[0], values[-1], len(values)
    whole = all(v.is_integer() for v in values)
    if index == "epoch" and whole and last - first + 1 == n:
        return f"{n} epochs"
    return f"{index}s {fmt_num(first)}–{fmt_num(last)} ({n} points)"


def _action(a: Advice, index: str) -> str:
    p = a.params
    if a.action == "early-stopping" and _as_index(p.get("would_stop_at")) is not None:
        args = []
        if p.get("monitor"):
            args.append(f"monitor={p['monitor']!r}")
        for key in ("patience", "min_delta"):
            if key in p:
                args.append(f"{key}={fmt_num(p[key])}")
        if p.get("restore_best_weights"):
            args.append("restore_best_weights=True")
        saved = p.get("epochs_saved")
        saved_text = f", saving {fmt_num(saved)} {index}s" if _as_index(saved) else ""
        return (
            f"Stop at {index} ~{fmt_num(p['would_stop_at'])} with "
            f"EarlyStopping({', '.join(args)}){saved_text}."
        )
    return advice_text(a)


def run_view(rr: Any) -> RunView:
    """Read a :class:`~loganalyzer.analysis.RunResult` into what a report shows."""
    run = rr.run
    findings = list(rr.findings)
    advice = sorted(rr.advice, key=lambda a: a.rank)
    # Findings arrive most severe first; keep that order, but never lead with an info note
    # when a warning exists (diagnose() already guarantees it; sorting again is cheap).
    ordered = sorted(findings, key=lambda f: -severity_rank(f.severity))
    top = ordered[0] if ordered else None
    severity = top.severity if top else None
    best = rr.best
    index = run.index
    if top is not None and top.severity == "info" and advice:
        # Nothing is wrong, yet something is worth doing (a run stopped while still
        # improving): say that, not "No problems found" beside "train 40 more epochs".
        headline = top.message
    elif top is None or top.severity == "info":
        headline = "No problems found"
        if best:
            headline += (
                f"; best {rr.monitor} {fmt_num(best['value'])} at {index} {fmt_num(best['index'])}"
            )
        headline += f". Note: {top.message}" if top is not None else "."
    else:
        headline = _headline(top, index)
    top_advice = advice[0] if advice else None
    return RunView(
        name=run.name,
        sources=list(run.sources),
        format=run.format,
        index=index,
        length=run.length,
        length_text=length_text(run.index_values, index),
        monitor=rr.monitor,
        best=best,
        severity=severity,
        headline=headline,
        action=_action(top_advice, index) if top_advice else None,
        top_finding=top,
        top_advice=top_advice,
        findings=ordered,
        advice=advice,
        warnings=list(run.warnings),
        marks=marks_for(rr),
        val_loss=run.val_loss,
    )


_VERDICT_ORDER = {"error": 0, "warning": 1, "ok": 2}


def sort_worst_first(views: list[RunView]) -> list[RunView]:
    """Errors, then warnings, then OK runs; the given (discovery) order within each."""
    return sorted(views, key=lambda v: _VERDICT_ORDER[v.verdict])


def worst_first(results: list[Any]) -> list[Any]:
    """:class:`~loganalyzer.analysis.RunResult` objects in the order of
    :func:`sort_worst_first` (every output lists runs in this order)."""
    return sorted(results, key=lambda rr: _VERDICT_ORDER[verdict_key(rr.worst_severity)])


def tally_line(analysis: Any, *, verbose: bool = False) -> str:
    """The closing line: ``15 runs: 6 errors, 6 warnings, 3 ok; 12 files skipped
    (-v to list)``, plus how many inputs could not be read.

    Example:
        >>> from loganalyzer.analysis import Analysis
        >>> tally_line(Analysis())
        '0 runs: 0 errors, 0 warnings, 0 ok'
    """

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'s' if n != 1 else ''}"

    counts = {"error": 0, "warning": 0, "ok": 0}
    for rr in analysis.runs:
        counts[verdict_key(rr.worst_severity)] += 1
    text = (
        f"{plural(len(analysis.runs), 'run')}: {plural(counts['error'], 'error')}, "
        f"{plural(counts['warning'], 'warning')}, {counts['ok']} ok"
    )
    internal = sum(e.internal for e in analysis.errors)
    if len(analysis.errors) > internal:
        text += f"; {len(analysis.errors) - internal} unreadable"
    if internal:
        text += f"; {plural(internal, 'internal error')} (a bug in loganalyzer)"
    if analysis.skipped:
        text += f"; {plural(len(analysis.skipped), 'file')} skipped"
        text += "" if verbose else " (-v to list)"
    return text


#: Kinds with a drawing of their own in the plots; every other kind is drawn as a
#: :class:`Span` (so a new detector's findings are drawn without a change here).
DRAWN_KINDS = frozenset({"overfitting", "loss-spike", "plateau", "divergence"})


def error_groups(analysis: Any) -> list[tuple[str, list]]:
    """The errors of an analysis as report sections: ``[(title, errors)]``, inputs that
    could not be read first, then bugs met while analysing a readable run."""
    groups = []
    for title, internal in (("Could not be read", False), ("Internal errors", True)):
        errors = [e for e in analysis.errors if e.internal == internal]
        if errors:
            groups.append((title, errors))
    return groups


def marks_for(rr: Any) -> Marks:
    """The positions findings and advice name, for the plots."""
    marks = Marks(monitor=rr.monitor)
    best = rr.best
    if best:
        marks.best = (float(best["index"]), float(best["value"]))
    ordered = sorted(rr.findings, key=lambda f: -severity_rank(f.severity))
    marks.leading = ordered[0].kind if ordered else None
    for n, f in enumerate(ordered):
        ev = f.evidence
        level = _as_index(ev.get("chance_level"))
        if level is not None:
            marks.levels.append((level, f"chance level {fmt_num(level)}"))
        if f.kind not in DRAWN_KINDS and (severity_rank(f.severity) >= 1 or n == 0):
            marks.spans.append(
                Span(
                    f.kind,
                    _as_index(f.start),
                    _as_index(f.end),
                    f"{kind_title(f.kind)} ({finding_where(f, rr.run.index)})",
                    f.severity,
                )
            )
        if f.kind == "overfitting" and marks.onset is None:
            marks.onset = _as_index(f.start)
            marks.overfit_end = _as_index(f.end)
        elif f.kind == "loss-spike":
            for spike in ev.get("spikes", []) or []:
                if not isinstance(spike, dict):
                    continue
                x, y = _as_index(spike.get("index")), _as_index(spike.get("value"))
                if x is not None:
                    marks.spikes.append((x, y if y is not None else math.nan, f.metric))
        elif f.kind == "plateau":
            start = _as_index(ev.get("start", f.start))
            end = _as_index(ev.get("end", f.end))
            if start is not None and end is not None:
                marks.plateaus.append((start, end, ev.get("metric", f.metric)))
        elif f.kind == "divergence" and marks.diverged_at is None:
            for key in ("first_nonfinite_index", "explosion_index"):
                x = _as_index(ev.get(key))
                if x is not None:
                    marks.diverged_at = x
                    break
            if marks.diverged_at is None:
                marks.diverged_at = _as_index(f.start)
    for a in sorted(rr.advice, key=lambda a: a.rank):
        if a.action == "early-stopping":
            stop = _as_index(a.params.get("would_stop_at"))
            if stop is not None:
                marks.stop_at = stop
                patience = a.params.get("patience")
                marks.stop_label = "EarlyStopping stop" + (
                    f" (patience={fmt_num(patience)})" if patience is not None else ""
                )
            break
    return marks


def generated_line() -> str:
    """``loganalyzer 0.1.0 · 2026-11-24 21:00 UTC`` (``SOURCE_DATE_EPOCH`` is honoured,
    for reproducible reports)."""
    from loganalyzer import __version__

    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    when = time.gmtime(int(epoch)) if epoch.isdigit() else time.gmtime()
    return f"loganalyzer {__version__} · {time.strftime('%Y-%m-%d %H:%M UTC', when)}"


@dataclass
class CompareView:
    """What a comparison report draws, read from a
    :class:`~loganalyzer.comparison.Comparison`: the compared runs with their labels,
    the series drawn and its best points, then the runs left out (and why)."""

    results: list[Any]
    labels: list[str]
    columns: list[str | None]
    bests: list[dict[str, Any] | None]
    left_results: list[Any]
    left_labels: list[str]
    left_reasons: list[str]
    what: str

    @property
    def all_results(self) -> list[Any]:
        return self.results + self.left_results

    @property
    def all_labels(self) -> list[str]:
        return self.labels + self.left_labels


def compare_view(analysis: Any, comparison: Any) -> CompareView:
    rows, left = comparison.rows, comparison.left_out
    return CompareView(
        results=[analysis.runs[r.position] for r in rows],
        labels=[r.name for r in rows],
        columns=[r.monitor for r in rows],
        bests=[
            {"index": r.best_index, "value": r.best_value} if r.best_value is not None else None
            for r in rows
        ],
        left_results=[analysis.runs[x.position] for x in left],
        left_labels=[x.name for x in left],
        left_reasons=[x.reason for x in left],
        what=comparison.what,
    )

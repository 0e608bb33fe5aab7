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


@dataclass
class RunView:
    """The facts and verdict shown at the top of a run's section."""

    name: str
    sources: list[str]
    format: str
    index: str
    length: int
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

    @property
    def best_value_text(self) -> str:
        """The best value for a "best val loss" column, naming the metric when the run
        had no validation loss and the training loss stands in."""
        if not self.best:
            return "–"
        note = "" if self.monitor and self.monitor.startswith("val_") else f" ({self.monitor})"
        return fmt_num(self.best["value"]) + note

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
        if "last_value" in ev and "last_index" in ev:
            # GL (Prechelt) is exactly last vs best, the two numbers shown here;
            # rise_pct measures the robust end level instead.
            rise = _as_index(ev.get("gl") if ev.get("gl") is not None else ev.get("rise_pct"))
            rise_text = f", {rise:+.0f}%" if rise is not None else ""
            parts.append(
                f"{fmt_num(ev['last_value'])} at {index} {fmt_num(ev['last_index'])}{rise_text}"
            )
        return text + (f" ({'; '.join(parts)})" if parts else "")
    return f.message


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
    return a.summary


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
    if top is None or top.severity == "info":
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
    )


def marks_for(rr: Any) -> Marks:
    """The positions findings and advice name, for the plots."""
    marks = Marks(monitor=rr.monitor)
    best = rr.best
    if best:
        marks.best = (float(best["index"]), float(best["value"]))
    for f in rr.findings:
        ev = f.evidence
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

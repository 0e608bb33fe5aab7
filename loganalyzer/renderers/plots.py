"""The figures of a report, drawn with matplotlib (object API, Agg canvas, no pyplot).

Plotting is only drawing: the series come from the :class:`~loganalyzer.run.Run`, every
position marked (best validation point, overfitting onset and the region after it,
spikes, plateaus, where the advised ``EarlyStopping`` would have stopped, divergence, a
chance level, and a band for every other finding) comes from
:class:`~loganalyzer.renderers.view.Marks`, i.e. from findings and advice. The choices
made here are visual ones:

- **No label on the data.** Every mark is explained in one legend above the plot, so no
  text can run into another, into a curve or into a marked point (the tests check the
  rendered bounding boxes of every text on every sample log's plots).
- **Every finding is drawn.** Kinds with a drawing of their own get it; any other kind
  (noise, under-fitting, a kind added later) is a coloured band along the bottom over
  the stretch it covers, named in the legend.
- **A y-range for the part that matters.** A first epoch far above the rest (and any
  value beyond ±1e100) would squash the curve; it is left off the scale, marked ▲ at
  the top edge, and a small "whole run" panel beside the plot shows the full range. A
  log or symlog axis is used when the visible values span orders of magnitude.
- **Sane learning-rate axes:** from 0, no offset notation; a constant rate is a flat line
  at mid-height, a zero rate a line on an axis from 0.
- **Downsampled, extremes kept.** A curve with more than :data:`MAX_POINTS` points is
  drawn from the first, last, lowest and highest point of each of ``MAX_POINTS / 4``
  buckets, so a million-row log makes a small figure in which no spike disappears.
- Non-finite values (NaN/inf losses) are drawn as ✕ along the top edge instead of being
  silently dropped.

This module imports matplotlib; it is imported lazily by the renderers, never on the
``analyze`` path, and it never touches pyplot or the global backend (a Jupyter user's
inline plots stay as they were).

Example:
    >>> from loganalyzer.analysis import analyze
    >>> rr = analyze({"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.7, 0.8]}).runs[0]
    >>> plot = loss_plot(rr)
    >>> plot.mime, [a.label for a in plot.annotations]
    ('image/svg+xml', ['Too short to judge (epoch 0–2)', 'best 0.7 @ 1'])
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import matplotlib
import numpy as np
from matplotlib import transforms
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from loganalyzer.renderers._escape import mpl_text
from loganalyzer.renderers.view import Marks, fmt_num, marks_for

TRAIN_COLOR = "#3b6fb6"
VAL_COLOR = "#e0782b"
ONSET_COLOR = "#c0392b"
STOP_COLOR = "#1e8449"
SPIKE_COLOR = "#8e44ad"
PLATEAU_COLOR = "#7f8c8d"
LR_COLOR = "#95a5a6"
LEVEL_COLOR = "#2c3e50"
#: Bands of findings drawn generically, by severity.
SPAN_COLORS = {"error": "#c0392b", "warning": "#d68910", "info": "#5d6d7e"}

#: Above this many points a curve is downsampled (extremes kept).
MAX_POINTS = 4000
#: Values beyond this magnitude are off any sensible scale (1e308 breaks the tickers).
HUGE = 1e100

_RC = {
    "svg.fonttype": "none",  # real <text> in the SVG: searchable, selectable, small
    "svg.hashsalt": "loganalyzer",  # deterministic ids
    "font.size": 9,
    "axes.spines.top": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
}


@dataclass
class Annotation:
    """One thing marked on a figure: ``kind`` is ``best``, ``onset``, ``overfit-region``,
    ``spike``, ``plateau``, ``early-stop``, ``diverged``, ``non-finite``, ``off-scale``,
    ``level``, ``finding`` (a band for any other kind), ``learning-rate``, ``overview``
    (the whole-run panel) or ``run`` (a curve in a comparison); ``x`` is the index it
    marks."""

    kind: str
    x: float | None
    label: str


@dataclass
class Plot:
    """A rendered figure and what was drawn on it."""

    name: str
    title: str
    alt: str
    mime: str
    data: bytes
    annotations: list[Annotation] = field(default_factory=list)
    scale: str = "linear"

    def kinds(self) -> set[str]:
        return {a.kind for a in self.annotations}

    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"

    @property
    def suffix(self) -> str:
        return ".svg" if self.mime == "image/svg+xml" else ".png"


@dataclass
class Drawn:
    """A figure before it is saved (tests inspect its artists), and what it marks."""

    figure: Figure
    annotations: list[Annotation]
    scale: str = "linear"
    alt: str = ""
    points: list[Any] = field(default_factory=list)  # collections of marked points


# ---------------------------------------------------------------------------- data
def _xy(run: Any, name: str | None) -> tuple[np.ndarray, np.ndarray]:
    s = run.series(name)
    if s is None or s.empty:
        return np.array([]), np.array([])
    x = np.asarray(s.index, dtype=float)
    y = s.to_numpy(dtype=float)
    return x, y


def decimate(x: np.ndarray, y: np.ndarray, limit: int = MAX_POINTS) -> tuple:
    """At most about ``limit`` points of a curve: per bucket its first, last, lowest
    and highest point and its first non-finite one, so every extreme and every
    NaN stretch survives.

    Example:
        >>> import numpy as np
        >>> x = np.arange(1_000_000.0)
        >>> y = np.sin(x / 1000); y[123_457] = 50.0
        >>> dx, dy = decimate(x, y)
        >>> len(dx) <= 4000, 50.0 in dy, float(dx[0]), float(dx[-1])
        (True, True, 0.0, 999999.0)
    """
    n = x.size
    if n <= limit:
        return x, y
    buckets = max(limit // 4, 1)
    edges = np.linspace(0, n, buckets + 1).astype(int)
    finite = np.isfinite(y)
    low = np.where(finite, y, np.inf)
    high = np.where(finite, y, -np.inf)
    keep = [edges[:-1], edges[1:] - 1]
    starts = edges[:-1]
    keep.append(starts + _reduce_arg(low, edges, np.argmin))
    keep.append(starts + _reduce_arg(high, edges, np.argmax))
    bad = np.nonzero(~finite)[0]
    if bad.size:
        bucket = np.searchsorted(edges, bad, side="right") - 1
        _, first = np.unique(bucket, return_index=True)
        keep.append(bad[first])
    idx = np.unique(np.concatenate(keep))
    return x[idx], y[idx]


def _reduce_arg(values: np.ndarray, edges: np.ndarray, fn: Callable) -> np.ndarray:
    """``fn`` (argmin/argmax) within each bucket, vectorised over equal-sized blocks."""
    sizes = np.diff(edges)
    if sizes.min() == sizes.max():
        return fn(values[: edges[-1]].reshape(len(sizes), sizes[0]), axis=1)
    return np.array([fn(values[a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)])


def _sane(y: np.ndarray) -> np.ndarray:
    """Finite values within ±:data:`HUGE` (others are not drawn on the axis)."""
    return y[np.isfinite(y) & (np.abs(y) < HUGE)]


def choose_scale(*arrays: np.ndarray) -> str:
    """``log`` when positive values span more than ~1.5 decades, ``symlog`` when values
    of both signs span more than 3, else ``linear``."""
    values = np.concatenate([_sane(a) for a in arrays if a.size] or [np.array([])])
    if values.size < 2:
        return "linear"
    if values.min() > 0:
        return "log" if values.max() / values.min() > 30 else "linear"
    mags = np.abs(values[values != 0])
    if mags.size and mags.max() / max(np.median(mags), 1e-300) > 1e3:
        return "symlog"
    return "linear"


def _apply_scale(ax: Any, scale: str, *arrays: np.ndarray) -> None:
    if scale == "symlog":
        values = np.concatenate([np.abs(_sane(a)) for a in arrays])
        values = values[values > 0]
        linthresh = float(np.quantile(values, 0.1)) if values.size else 1.0
        ax.set_yscale("symlog", linthresh=max(linthresh, 1e-12))
    elif scale == "log":
        ax.set_yscale("log")


@dataclass
class YRange:
    """The y-range drawn: ``limits`` (``None``: matplotlib's own), ``head`` True when
    the first points were left off the top of the scale."""

    limits: tuple[float, float] | None
    head: bool
    scale: str


def robust_range(arrays: list[np.ndarray]) -> YRange:
    """The y-range of the part that matters: without a first epoch (or first few)
    far above everything after it, and without values beyond ±:data:`HUGE`.

    Example:
        >>> import numpy as np
        >>> r = robust_range([np.array([90.0, 2.0, 1.5, 1.2, 1.1, 1.0, 0.95, 0.9])])
        >>> r.head, r.scale, r.limits[1] < 3
        (True, 'linear', True)
    """
    head = False
    visible = []
    for y in arrays:
        y = np.where(np.isfinite(y) & (np.abs(y) < HUGE), y, np.nan)
        n = int(np.isfinite(y).sum())
        k = max(1, min(3, n // 10))
        finite = y[np.isfinite(y)]
        if n >= 6:
            first, rest = finite[:k], finite[k:]
            lo, hi = float(rest.min()), float(rest.max())
            span = hi - lo if hi > lo else abs(hi) or 1.0
            if first.max() > hi + 3 * span:
                head = True
                finite = np.concatenate([first[first <= hi + 3 * span], rest])
        visible.append(finite)
    values = np.concatenate(visible or [np.array([])])
    scale = choose_scale(values) if values.size else "linear"
    clipped = head or any(np.any(np.isfinite(y) & (np.abs(y) >= HUGE)) for y in arrays)
    if not clipped or values.size == 0:
        return YRange(None, head, scale)
    lo, hi = float(values.min()), float(values.max())
    if scale == "log":
        pad = (hi / lo) ** 0.05
        return YRange((lo / pad, hi * pad), head, scale)
    pad = (hi - lo) * 0.06 or abs(hi) * 0.1 or 1.0
    return YRange((lo - pad, hi + pad), head, scale)


def _finite(y: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(y) & (np.abs(y) < HUGE), y, np.nan)


def _top(ax: Any) -> Any:
    """x in data units, y in axes fraction (for marks along the top edge)."""
    return transforms.blended_transform_factory(ax.transData, ax.transAxes)


# ---------------------------------------------------------------------------- legend
class _Legend:
    """Handles and labels for the one legend that explains every mark."""

    def __init__(self) -> None:
        self.handles: list[Any] = []
        self.labels: list[str] = []

    def add(self, handle: Any, label: str, *, keep_end: bool = False) -> None:
        self.handles.append(handle)
        self.labels.append(mpl_text(label, 56, keep_end=keep_end))

    def line(self, color: str, label: str, style: str = "-", lw: float = 1.5) -> None:
        self.add(Line2D([], [], color=color, ls=style, lw=lw), label)

    def marker(self, marker: str, color: str, label: str, size: float = 8, ec: str = "none"):
        self.add(Line2D([], [], ls="none", marker=marker, color=color, ms=size, mec=ec), label)

    def patch(self, color: str, alpha: float, label: str) -> None:
        self.add(Patch(facecolor=color, alpha=alpha, edgecolor="none"), label)

    def place(
        self, fig: Figure, *, where: str = "outside upper left", width: float = 9, title: str = ""
    ) -> None:
        if not self.handles:
            return
        longest = max(len(label) for label in self.labels)
        # About 5.2 points per character at 8 pt, plus the handle; 72 points per inch.
        per_column = (longest * 5.2 + 40) / 72
        ncols = max(1, min(len(self.handles), int(width * 0.95 // per_column), 4))
        fig.legend(
            self.handles,
            self.labels,
            loc=where,
            ncols=ncols if "right" not in where.split()[1:2] else 1,
            fontsize=8,
            frameon=False,
            handlelength=1.8,
            columnspacing=1.4,
            title=mpl_text(title, 48, keep_end=True) if title else None,
            title_fontsize=8,
            alignment="left",
        )


def _vline(ax: Any, x: float, color: str, style: str = "-") -> None:
    ax.axvline(x, color=color, linestyle=style, linewidth=1.3, alpha=0.9)


def _mark_edge(
    ax: Any,
    x: np.ndarray,
    color: str,
    row: int,
    marker: str,
    *,
    top: bool = True,
    points: list | None = None,
) -> None:
    """Markers along the top (or bottom) edge, one row per series so two series' marks
    do not hide each other; at most one per pixel-sized bucket."""
    if x.size > MAX_POINTS // 4:
        x, _ = decimate(x, np.zeros_like(x), MAX_POINTS // 4)
    y = (0.97 - 0.045 * row) if top else (0.03 + 0.045 * row)
    coll = ax.scatter(
        x,
        np.full(x.size, y),
        transform=_top(ax),
        marker=marker,
        s=34,
        color=color,
        zorder=5,
        clip_on=False,
    )
    if points is not None:
        points.append(coll)


def _off_scale(
    ax: Any,
    legend: _Legend,
    x: np.ndarray,
    y: np.ndarray,
    name: str,
    color: str,
    row: int,
    yrange: YRange,
    index: str,
    points: list,
) -> list[Annotation]:
    """Non-finite values as ✕ and values beyond the drawn range as ▲/▼, on the edges."""
    notes = []
    bad = ~np.isfinite(y)
    if bad.any():
        _mark_edge(ax, x[bad], color, row, "X", points=points)
        legend.marker("X", color, f"{name}: {int(bad.sum())} NaN/inf")
        notes.append(
            Annotation("non-finite", float(x[bad][0]), f"{name}: {int(bad.sum())} non-finite")
        )
    lo, hi = yrange.limits if yrange.limits else (-HUGE, HUGE)
    fin = np.isfinite(y)
    above = fin & (y > hi)
    below = fin & (y < lo)
    for mask, marker, top in ((above, "^", True), (below, "v", False)):
        if mask.any():
            _mark_edge(ax, x[mask], color, row, marker, top=top, points=points)
            first = int(np.nonzero(mask)[0][0])
            count = int(mask.sum())
            more = f" (+{count - 1} more)" if count > 1 else ""
            label = f"{name} {fmt_num(float(y[first]))} at {index} {fmt_num(float(x[first]))}{more}, off the scale"
            legend.marker(marker, color, label)
            notes.append(Annotation("off-scale", float(x[first]), label))
    return notes


def _ranges(spans: list[tuple[float, float, Any]], limit: int = 3) -> str:
    parts = [f"{fmt_num(a)}–{fmt_num(b)}" for a, b, _ in spans[:limit]]
    more = f" +{len(spans) - limit}" if len(spans) > limit else ""
    return ", ".join(parts) + more


def _save(fig: Figure, fmt: str) -> tuple[str, bytes]:
    buf = io.BytesIO()
    if fmt == "svg":
        fig.savefig(buf, format="svg", metadata={"Date": None})
        return "image/svg+xml", buf.getvalue()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    return "image/png", buf.getvalue()


def _as_plot(drawn: Drawn | None, name: str, title: str, fmt: str) -> Plot | None:
    """Save a drawn figure (``None`` stays ``None``: nothing to draw)."""
    if drawn is None:
        return None
    with matplotlib.rc_context(_RC):
        mime, data = _save(drawn.figure, fmt)
    return Plot(name, title, drawn.alt, mime, data, drawn.annotations, drawn.scale)


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#666")
    ax.set_xticks([])
    ax.set_yticks([])


def _number_axis(axis: Any) -> None:
    """Ticks as plain numbers (4 significant digits), never an offset like ``1e-4+…``."""
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_num(float(v))))


def _lr_axis(ax: Any, x: np.ndarray, lr: np.ndarray, legend: _Legend) -> None:
    """The learning rate on a right-hand axis: log when it spans decades, else linear
    from 0 (a constant rate is a flat line at mid-height, a zero rate sits on 0)."""
    ax2 = ax.twinx()
    ax2.grid(False)
    x, lr = decimate(x, lr)
    ax2.step(x, _finite(lr), where="post", color=LR_COLOR, lw=1.1, ls="-.")
    values = _sane(lr)
    hi = float(values.max())
    lo = float(values.min())
    if lo > 0 and hi / lo > 30:
        ax2.set_yscale("log")
    elif lo == hi == 0:  # a zero rate: a line on an axis from 0, not a negative axis
        ax2.set_ylim(0.0, 1.0)
        ax2.set_yticks([0.0])
    elif hi > 0:  # from 0; a constant rate sits at mid-height, not on a zoomed axis
        ax2.set_ylim(min(lo, 0.0) * 1.1, hi * (2.0 if lo == hi else 1.1))
    if ax2.get_yscale() == "linear":
        _number_axis(ax2.yaxis)
    ax2.set_ylabel("learning rate", color="#666")
    ax2.tick_params(axis="y", colors="#666", labelsize=7)
    legend.line(LR_COLOR, "learning rate (right axis)", style="-.", lw=1.1)


# ---------------------------------------------------------------------------- figures
def draw_loss(rr: Any, marks: Marks | None = None) -> Drawn:
    """The loss figure, not yet saved (see :func:`loss_plot`)."""
    run = rr.run
    marks = marks or marks_for(rr)
    notes: list[Annotation] = []
    points: list[Any] = []
    legend = _Legend()
    index = mpl_text(run.index, 20)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(9, 4.4), layout="constrained")
        xt, yt = _xy(run, run.train_loss)
        xv, yv = _xy(run, run.val_loss)
        yrange = robust_range([y for y in (yt, yv) if y.size])
        if yrange.head:
            grid = fig.add_gridspec(1, 2, width_ratios=[5, 1])
            ax = fig.add_subplot(grid[0])
            overview = fig.add_subplot(grid[1])
        else:
            ax = fig.add_subplot()
            overview = None
        scale = yrange.scale
        if xt.size == 0 and xv.size == 0:
            _empty(ax, "no loss was logged")
        row = 0
        for x, y, name, color, lw in (
            (xt, yt, run.train_loss, TRAIN_COLOR, 1.6),
            (xv, yv, run.val_loss, VAL_COLOR, 1.8),
        ):
            if not x.size:
                continue
            dx, dy = decimate(x, y)
            ax.plot(dx, _finite(dy), color=color, lw=lw)
            legend.line(color, mpl_text(name), lw=lw)
            notes += _off_scale(ax, legend, dx, dy, name, color, row, yrange, index, points)
            row += 1
            if overview is not None:
                overview.plot(dx, _finite(dy), color=color, lw=1)
        if scale != "linear":
            _apply_scale(ax, scale, yt, yv)
        if yrange.limits:
            ax.set_ylim(*yrange.limits)
        _number_axis(ax.xaxis)
        if overview is not None:
            _draw_overview(overview, yt, yv, index)
            notes.append(Annotation("overview", None, "whole run, first epochs included"))
        notes += _draw_marks(ax, marks, legend, index, xt, xv, points)

        xl, lr = _xy(run, run.learning_rate)
        if xl.size and _sane(lr).size:
            _lr_axis(ax, xl, lr, legend)
            notes.append(Annotation("learning-rate", None, "learning rate on the right axis"))
        ax.set_xlabel(index)
        ax.set_ylabel("loss" + ("" if scale == "linear" else f" ({scale} scale)"))
        ax.set_title("Loss curves", loc="left", fontsize=10, weight="bold")
        legend.place(fig)
    alt = "Loss curves: " + "; ".join(a.label for a in notes if a.kind not in ("spike",))
    if any(a.kind == "spike" for a in notes):
        alt += f"; spikes marked: {sum(a.kind == 'spike' for a in notes)}"
    return Drawn(fig, notes, scale, alt, points)


def _draw_overview(ax: Any, yt: np.ndarray, yv: np.ndarray, index: str) -> None:
    scale = choose_scale(yt, yv)
    if scale != "linear":
        _apply_scale(ax, scale, yt, yv)
    ax.set_title("whole run", loc="left", fontsize=8, color="#555")
    ax.tick_params(labelsize=7)
    ax.set_xlabel(index, fontsize=7)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(3))
    ax.yaxis.set_major_locator(
        matplotlib.ticker.LogLocator(numticks=4)
        if scale == "log"
        else matplotlib.ticker.MaxNLocator(4)
    )
    if scale == "linear":
        _number_axis(ax.yaxis)
    _number_axis(ax.xaxis)


def _draw_marks(
    ax: Any,
    marks: Marks,
    legend: _Legend,
    index: str,
    xt: np.ndarray,
    xv: np.ndarray,
    points: list,
) -> list[Annotation]:
    """Every mark read from findings and advice, each explained once in the legend."""
    notes: list[Annotation] = []
    if marks.plateaus:
        for start, end, _metric in marks.plateaus:
            ax.axvspan(start, end, color=PLATEAU_COLOR, alpha=0.13, lw=0)
        for start, end, metric in marks.plateaus:
            label = f"plateau {fmt_num(start)}–{fmt_num(end)}"
            notes.append(Annotation("plateau", start, f"{label} ({metric})"))
        n = len(marks.plateaus)
        legend.patch(
            PLATEAU_COLOR, 0.25, f"plateau{'s' if n > 1 else ''} {_ranges(marks.plateaus)}"
        )
    if marks.onset is not None:
        end = marks.overfit_end if marks.overfit_end is not None else _last(xv, xt)
        if end is not None and end > marks.onset:
            ax.axvspan(marks.onset, end, color=ONSET_COLOR, alpha=0.08, lw=0)
            notes.append(Annotation("overfit-region", marks.onset, "overfitting region"))
        _vline(ax, marks.onset, ONSET_COLOR)
        label = f"overfitting onset ({index} {fmt_num(marks.onset)})"
        legend.line(ONSET_COLOR, label)
        notes.append(Annotation("onset", marks.onset, label))
    if marks.stop_at is not None:
        _vline(ax, marks.stop_at, STOP_COLOR, style="--")
        label = f"{marks.stop_label or 'EarlyStopping stop'} at {index} {fmt_num(marks.stop_at)}"
        legend.line(STOP_COLOR, label, style="--")
        notes.append(Annotation("early-stop", marks.stop_at, label))
    if marks.diverged_at is not None:
        _vline(ax, marks.diverged_at, ONSET_COLOR, style=":")
        label = f"diverged ({index} {fmt_num(marks.diverged_at)})"
        legend.line(ONSET_COLOR, label, style=":")
        notes.append(Annotation("diverged", marks.diverged_at, label))
    for level, label in marks.levels:
        if abs(level) < HUGE:
            ax.axhline(level, color=LEVEL_COLOR, ls=(0, (4, 3)), lw=1)
            legend.line(LEVEL_COLOR, label, style="--", lw=1)
            notes.append(Annotation("level", None, label))
    for row, span in enumerate(marks.spans):
        x0 = span.start if span.start is not None else _first(xt, xv)
        x1 = span.end if span.end is not None else _last(xt, xv)
        if x0 is None or x1 is None:
            continue
        if x1 <= x0:  # a single point: a band one unit wide
            x1 = x0 + max((_last(xt, xv) or x0) - (_first(xt, xv) or x0), 1) * 0.01
        color = SPAN_COLORS.get(span.severity, SPAN_COLORS["info"])
        y0 = 0.0 + 0.03 * (row % 4)
        ax.axvspan(x0, x1, ymin=y0, ymax=y0 + 0.025, color=color, alpha=0.75, lw=0)
        legend.patch(color, 0.75, span.label)
        notes.append(Annotation("finding", x0, span.label))
    spikes = [(x, y) for x, y, _ in marks.spikes if math.isfinite(y) and abs(y) < HUGE]
    if spikes:
        sx, sy = zip(*spikes, strict=True)
        points.append(
            ax.scatter(sx, sy, marker="v", s=60, color=SPIKE_COLOR, zorder=6, clip_on=False)
        )
        where = ", ".join(fmt_num(x) for x in sx[:4]) + (" …" if len(sx) > 4 else "")
        legend.marker("v", SPIKE_COLOR, f"spike{'s' if len(sx) > 1 else ''} at {index} {where}")
        for x, _ in spikes:
            notes.append(Annotation("spike", x, f"spike at {index} {fmt_num(x)}"))
    if marks.best is not None and abs(marks.best[1]) < HUGE:
        bx, by = marks.best
        points.append(
            ax.scatter([bx], [by], marker="*", s=160, color=VAL_COLOR, ec="black", zorder=7)
        )
        label = f"best {fmt_num(by)} @ {fmt_num(bx)}"
        legend.marker(
            "*", VAL_COLOR, f"{label} ({mpl_text(marks.monitor or 'loss', 24)})", 11, "black"
        )
        notes.append(Annotation("best", bx, label))
    return notes


def loss_plot(rr: Any, marks: Marks | None = None, fmt: str = "svg") -> Plot:
    """Training and validation loss with every finding marked, and the learning rate on
    a second axis when it was logged.

    Args:
        rr: A :class:`~loganalyzer.analysis.RunResult`.
        marks: Positions to draw (default: read from ``rr`` by
            :func:`~loganalyzer.renderers.view.marks_for`).
        fmt: ``"svg"`` or ``"png"``.
    """
    return _as_plot(draw_loss(rr, marks), "loss", "Loss curves", fmt)


def _first(*xs: np.ndarray) -> float | None:
    values = [float(x[0]) for x in xs if x.size]
    return min(values) if values else None


def _last(*xs: np.ndarray) -> float | None:
    values = [float(x[-1]) for x in xs if x.size]
    return max(values) if values else None


def draw_gap(rr: Any, marks: Marks | None = None) -> Drawn | None:
    """The gap figure, not yet saved (see :func:`gap_plot`)."""
    run = rr.run
    marks = marks or marks_for(rr)
    xt, yt = _xy(run, run.train_loss)
    xv, yv = _xy(run, run.val_loss)
    ok = np.isfinite(yt) & (np.abs(yt) < HUGE)
    if xv.size == 0 or ok.sum() < 1:
        return None
    xt, yt = xt[ok], yt[ok]
    inside = (xv >= xt.min()) & (xv <= xt.max())
    if not inside.any():
        return None
    x = xv[inside]
    with np.errstate(all="ignore"):
        gap = _finite(yv[inside]) - np.interp(x, xt, yt)
    gap = np.where(np.isfinite(yv[inside]), gap, yv[inside])  # keep NaN/inf as they were
    notes: list[Annotation] = []
    points: list[Any] = []
    legend = _Legend()
    index = mpl_text(run.index, 20)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(6, 3.4), layout="constrained")
        ax = fig.add_subplot()
        ax.axhline(0, color="#888", lw=0.8)
        dx, dgap = decimate(x, gap)
        yrange = robust_range([dgap])
        color = ONSET_COLOR if marks.onset is not None else "#444"
        ax.plot(dx, _finite(dgap), color=color, lw=1.5)
        ax.fill_between(dx, 0, _finite(dgap), color="#999", alpha=0.15, lw=0)
        legend.line(color, mpl_text(f"{run.val_loss} − {run.train_loss}", 48))
        notes += _off_scale(ax, legend, dx, dgap, "gap", "#444", 0, yrange, index, points)
        scale = yrange.scale
        if scale != "linear":
            _apply_scale(ax, scale, dgap)
        if yrange.limits:
            ax.set_ylim(*yrange.limits)
        _number_axis(ax.xaxis)
        if marks.onset is not None:
            end = marks.overfit_end if marks.overfit_end is not None else float(x[-1])
            if end > marks.onset:
                ax.axvspan(marks.onset, end, color=ONSET_COLOR, alpha=0.08, lw=0)
                notes.append(Annotation("overfit-region", marks.onset, "overfitting region"))
            _vline(ax, marks.onset, ONSET_COLOR)
            legend.line(ONSET_COLOR, f"onset ({index} {fmt_num(marks.onset)})")
            notes.append(Annotation("onset", marks.onset, f"onset at {fmt_num(marks.onset)}"))
        if marks.stop_at is not None:
            _vline(ax, marks.stop_at, STOP_COLOR, style="--")
            legend.line(STOP_COLOR, f"EarlyStopping stop ({fmt_num(marks.stop_at)})", style="--")
            notes.append(Annotation("early-stop", marks.stop_at, "EarlyStopping stop"))
        ax.set_xlabel(index)
        ax.set_ylabel("validation − training")
        ax.set_title("Generalization gap", loc="left", fontsize=10, weight="bold")
        legend.place(fig, width=6)
    finite = gap[np.isfinite(gap)]
    alt = (
        f"Generalization gap ({run.val_loss} minus {run.train_loss}) over {run.index}s, "
        f"{fmt_num(float(finite[-1]) if finite.size else math.nan)} at the end"
    )
    return Drawn(fig, notes, scale, alt, points)


def gap_plot(rr: Any, marks: Marks | None = None, fmt: str = "svg") -> Plot | None:
    """The generalization gap (validation minus training loss) over time, with the
    overfitting onset and the advised stop marked; ``None`` without both losses.

    Training loss is interpolated at the validation indices (logs such as Lightning or
    HF write them on different rows); no value is extrapolated.
    """
    return _as_plot(draw_gap(rr, marks), "gap", "Generalization gap", fmt)


def other_metrics(run: Any, limit: int = 8) -> list[str]:
    """Logged metrics other than the two losses and the learning rate, training and
    validation of one metric next to each other."""
    skip = {run.train_loss, run.val_loss, run.learning_rate}
    names = [c for c in run.metrics.columns if c not in skip]
    names.sort(key=lambda c: (c.removeprefix("val_"), c.startswith("val_")))
    return names[:limit]


def draw_metrics(rr: Any, marks: Marks | None = None) -> Drawn | None:
    """The other-metrics figure, not yet saved (see :func:`metrics_plot`)."""
    run = rr.run
    marks = marks or marks_for(rr)
    names = other_metrics(run)
    if not names:
        return None
    notes: list[Annotation] = []
    points: list[Any] = []
    arrays = []
    legend = _Legend()
    index = mpl_text(run.index, 20)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(6, 3.4), layout="constrained")
        ax = fig.add_subplot()
        colors = matplotlib.colormaps["tab10"].colors
        bases: dict[str, int] = {}
        curves = []
        for name in names:
            x, y = _xy(run, name)
            if not x.size:
                continue
            base = name.removeprefix("val_")
            color = colors[bases.setdefault(base, len(bases)) % len(colors)]
            style = "--" if name.startswith("val_") else "-"
            dx, dy = decimate(x, y)
            ax.plot(dx, _finite(dy), color=color, ls=style, lw=1.4)
            legend.line(color, mpl_text(name, 40), style=style, lw=1.4)
            curves.append((dx, dy, name, color))
            arrays.append(dy)
        yrange = robust_range(arrays)
        for row, (dx, dy, name, color) in enumerate(curves):
            notes += _off_scale(ax, legend, dx, dy, name, color, row % 4, yrange, index, points)
        scale = yrange.scale
        if scale != "linear":
            _apply_scale(ax, scale, *arrays)
        if yrange.limits:
            ax.set_ylim(*yrange.limits)
        _number_axis(ax.xaxis)
        if marks.onset is not None:
            _vline(ax, marks.onset, ONSET_COLOR)
            legend.line(ONSET_COLOR, f"overfitting onset ({index} {fmt_num(marks.onset)})")
            notes.append(Annotation("onset", marks.onset, "onset"))
        ax.set_xlabel(index)
        ax.set_title("Other metrics", loc="left", fontsize=10, weight="bold")
        legend.place(fig, width=6)
    alt = "Other metrics: " + ", ".join(names)
    return Drawn(fig, notes, scale, alt, points)


def metrics_plot(rr: Any, marks: Marks | None = None, fmt: str = "svg") -> Plot | None:
    """The other metrics (accuracy, MAE, ...) on their own panel; ``None`` if there are none."""
    return _as_plot(draw_metrics(rr, marks), "metrics", "Other metrics", fmt)


def failed_plot(name: str, title: str, exc: BaseException, fmt: str = "svg") -> Plot:
    """A placeholder saying why a figure could not be drawn (the report still comes out)."""
    reason = f"{type(exc).__name__}: {exc}"
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(6, 1.2), layout="constrained")
        ax = fig.add_subplot()
        ax.axis("off")
        _empty(ax, mpl_text(f"{title} could not be drawn ({reason})", 90))
        mime, data = _save(fig, fmt)
    return Plot(name, title, f"{title}: could not be drawn ({reason})", mime, data)


def run_plots(rr: Any, marks: Marks | None = None, fmt: str = "svg") -> list[Plot]:
    """All figures of one run's section: losses, then the gap and the other metrics.

    A figure that cannot be drawn (an input no test foresaw) becomes a placeholder that
    says why; the rest of the report is unaffected."""
    marks = marks or marks_for(rr)
    plots = []
    for make, name, title in (
        (loss_plot, "loss", "Loss curves"),
        (gap_plot, "gap", "Generalization gap"),
        (metrics_plot, "metrics", "Other metrics"),
    ):
        try:
            plot = make(rr, marks, fmt)
        except Exception as exc:  # noqa: BLE001 - one figure never costs the report
            plot = failed_plot(name, title, exc, fmt)
        if plot is not None:
            plots.append(plot)
    return plots


def common_folder(labels: list[str]) -> tuple[str, list[str]]:
    """The folder all labels share, and each label without it (a legend shows the part
    that tells runs apart, under the shared part as its title).

    Example:
        >>> common_folder(["sweeps/r50/lr_1e-3/seed_0", "sweeps/r50/lr_1e-2/seed_0"])
        ('sweeps/r50/', ['lr_1e-3/seed_0', 'lr_1e-2/seed_0'])
        >>> common_folder(["a.csv", "b.csv"])
        ('', ['a.csv', 'b.csv'])
    """
    parts = [str(label).split("/") for label in labels]
    common = 0
    while (
        len(parts) > 1
        and all(len(p) > common + 1 for p in parts)
        and len({p[common] for p in parts}) == 1
    ):
        common += 1
    if not common:
        return "", [str(label) for label in labels]
    return "/".join(parts[0][:common]) + "/", ["/".join(p[common:]) for p in parts]


def draw_compare(
    results: list[Any],
    labels: list[str] | None = None,
    *,
    columns: list[str | None] | None = None,
    bests: list[dict | None] | None = None,
    what: str = "Validation loss",
) -> Drawn:
    """The comparison figure, not yet saved (see :func:`compare_plot`)."""
    labels = labels or [rr.run.name for rr in results]
    if columns is None:
        columns = [rr.monitor for rr in results]
        bests = [rr.best for rr in results]
    bests = bests or [None] * len(results)
    notes: list[Annotation] = []
    points: list[Any] = []
    arrays = []
    legend = _Legend()
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(9, 4.6), layout="constrained")
        ax = fig.add_subplot()
        cmap = matplotlib.colormaps["tab10" if len(results) <= 10 else "tab20"]
        curves = []
        folder, short = common_folder(labels)
        for i, (rr, label, column) in enumerate(zip(results, labels, columns, strict=True)):
            color = cmap.colors[i % len(cmap.colors)]
            x, y = _xy(rr.run, column)
            if not x.size:
                continue
            dx, dy = decimate(x, y)
            ax.plot(dx, _finite(dy), color=color, lw=1.5)
            legend.add(Line2D([], [], color=color, lw=1.5), short[i], keep_end=True)
            notes.append(Annotation("run", None, f"{label}: {column}"))
            curves.append((dx, dy, label, color))
            arrays.append(dy)
            best = bests[i]
            if best and abs(float(best["value"])) < HUGE:
                bx, by = float(best["index"]), float(best["value"])
                points.append(
                    ax.scatter(
                        [bx], [by], color=color, marker="*", s=110, ec="black", lw=0.5, zorder=5
                    )
                )
                notes.append(Annotation("best", bx, f"{label}: best {fmt_num(by)}"))
        yrange = robust_range(arrays)
        index = mpl_text(results[0].run.index, 20) if results else ""
        for row, (dx, dy, label, color) in enumerate(curves):
            edge = _Legend()  # off-scale marks of a run share its legend entry
            notes += _off_scale(ax, edge, dx, dy, str(label), color, row % 6, yrange, index, points)
        scale = yrange.scale
        if arrays and scale != "linear":
            _apply_scale(ax, scale, *arrays)
        if yrange.limits:
            ax.set_ylim(*yrange.limits)
        if not arrays:
            _empty(ax, "no loss was logged")
        _number_axis(ax.xaxis)
        kinds = sorted({rr.run.index for rr in results})
        names = sorted({str(c) for c in columns})
        ax.set_xlabel(mpl_text(" / ".join(kinds), 30))
        ax.set_ylabel(
            mpl_text(" / ".join(names), 40) + ("" if scale == "linear" else f" ({scale})")
        )
        ax.set_title(f"{what} of each run (★ best)", loc="left", fontsize=10, weight="bold")
        legend.place(fig, where="outside right upper", title=folder)
    alt = f"{what} of " + ", ".join(str(x) for x in labels) + " overlaid, best points starred"
    return Drawn(fig, notes, scale, alt, points)


def compare_plot(
    results: list[Any],
    labels: list[str] | None = None,
    fmt: str = "svg",
    *,
    columns: list[str | None] | None = None,
    bests: list[dict | None] | None = None,
    what: str = "Validation loss",
) -> Plot:
    """One loss of several runs overlaid, each run's best point starred.

    Args:
        results: :class:`~loganalyzer.analysis.RunResult` objects.
        labels: Legend labels (default: run names); long ones are cut at the front,
            where names of one sweep are alike.
        fmt: ``"svg"`` or ``"png"``.
        columns: The series of each run to draw (default: each run's monitor); a
            :class:`~loganalyzer.comparison.Comparison` names the same loss for all.
        bests: ``{"index", "value"}`` of each drawn series' best point, to star
            (default with ``columns``: none; without: each run's ``best``).
        what: What is compared, for the title ("Validation loss", "Training loss").
    """
    drawn = draw_compare(results, labels, columns=columns, bests=bests, what=what)
    return _as_plot(drawn, "compare", f"{what} compared", fmt)

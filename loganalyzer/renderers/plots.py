"""The figures of a report, drawn with matplotlib (object API, Agg canvas, no pyplot).

Plotting is only drawing: the series come from the :class:`~loganalyzer.run.Run`, every
position marked (best validation point, overfitting onset and the region after it,
spikes, plateaus, where the advised ``EarlyStopping`` would have stopped, divergence)
comes from :class:`~loganalyzer.renderers.view.Marks`, i.e. from findings and advice.
The only choices made here are visual ones: a log or symlog axis when the values span
orders of magnitude, and non-finite values (NaN/inf losses) drawn as markers along the
top edge instead of being silently dropped.

This module imports matplotlib; it is imported lazily by the renderers, never on the
``analyze`` path, and it never touches pyplot or the global backend (a Jupyter user's
inline plots stay as they were).

Example:
    >>> from loganalyzer.analysis import analyze
    >>> rr = analyze({"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.7, 0.8]}).runs[0]
    >>> plot = loss_plot(rr)
    >>> plot.mime, [a.kind for a in plot.annotations]
    ('image/svg+xml', ['best'])
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass, field
from typing import Any

import matplotlib
import numpy as np
from matplotlib import transforms
from matplotlib.figure import Figure

from loganalyzer.renderers._escape import mpl_text
from loganalyzer.renderers.view import Marks, fmt_num, marks_for

TRAIN_COLOR = "#3b6fb6"
VAL_COLOR = "#e0782b"
ONSET_COLOR = "#c0392b"
STOP_COLOR = "#1e8449"
SPIKE_COLOR = "#8e44ad"
PLATEAU_COLOR = "#7f8c8d"
LR_COLOR = "#95a5a6"

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
    ``spike``, ``plateau``, ``early-stop``, ``diverged``, ``non-finite``, ``learning-rate``
    or ``run`` (a curve in a comparison); ``x`` is the index it marks."""

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


# ---------------------------------------------------------------------------- helpers
def _xy(run: Any, name: str | None) -> tuple[np.ndarray, np.ndarray]:
    s = run.series(name)
    if s is None or s.empty:
        return np.array([]), np.array([])
    x = np.asarray(s.index, dtype=float)
    y = s.to_numpy(dtype=float)
    return x, y


def choose_scale(*arrays: np.ndarray) -> str:
    """``log`` when positive values span more than ~1.5 decades, ``symlog`` when values
    of both signs span more than 3, else ``linear``."""
    values = np.concatenate([a[np.isfinite(a)] for a in arrays if a.size] or [np.array([])])
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
        values = np.concatenate([np.abs(a[np.isfinite(a) & (a != 0)]) for a in arrays])
        linthresh = float(np.quantile(values, 0.1)) if values.size else 1.0
        ax.set_yscale("symlog", linthresh=max(linthresh, 1e-12))
    elif scale == "log":
        ax.set_yscale("log")


def _finite(y: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(y), y, np.nan)


def _top(ax: Any) -> Any:
    """x in data units, y in axes fraction (for marks along the top edge)."""
    return transforms.blended_transform_factory(ax.transData, ax.transAxes)


def _vline(ax: Any, x: float, color: str, label: str, style: str = "-") -> None:
    ax.axvline(x, color=color, linestyle=style, linewidth=1.3, alpha=0.9)
    ax.text(
        x,
        0.98,
        f" {label}",
        transform=_top(ax),
        rotation=90,
        va="top",
        ha="right",
        fontsize=8,
        color=color,
        clip_on=False,
    )


def _mark_nonfinite(
    ax: Any, x: np.ndarray, y: np.ndarray, color: str, name: str, row: int = 0
) -> list:
    """Non-finite values as ✕ along the top edge (one row per series, so two series'
    marks do not hide each other)."""
    bad = ~np.isfinite(y)
    if not bad.any():
        return []
    ax.scatter(
        x[bad],
        np.full(bad.sum(), 0.96 - 0.05 * row),
        transform=_top(ax),
        marker="X",
        s=36,
        color=color,
        zorder=5,
        label=mpl_text(f"{name} NaN/inf"),
        clip_on=False,
    )
    return [Annotation("non-finite", float(x[bad][0]), f"{name}: {int(bad.sum())} non-finite")]


def _save(fig: Figure, fmt: str) -> tuple[str, bytes]:
    buf = io.BytesIO()
    if fmt == "svg":
        fig.savefig(buf, format="svg", metadata={"Date": None})
        return "image/svg+xml", buf.getvalue()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    return "image/png", buf.getvalue()


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#666")
    ax.set_xticks([])
    ax.set_yticks([])


# ---------------------------------------------------------------------------- figures
def loss_plot(rr: Any, marks: Marks | None = None, fmt: str = "svg") -> Plot:
    """Training and validation loss with every finding marked, and the learning rate on
    a second axis when it was logged.

    Args:
        rr: A :class:`~loganalyzer.analysis.RunResult`.
        marks: Positions to draw (default: read from ``rr`` by
            :func:`~loganalyzer.renderers.view.marks_for`).
        fmt: ``"svg"`` or ``"png"``.
    """
    run = rr.run
    marks = marks or marks_for(rr)
    notes: list[Annotation] = []
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(9, 4.2), layout="constrained")
        ax = fig.add_subplot()
        xt, yt = _xy(run, run.train_loss)
        xv, yv = _xy(run, run.val_loss)
        scale = choose_scale(yt, yv)
        if xt.size == 0 and xv.size == 0:
            _empty(ax, "no loss was logged")
        if xt.size:
            ax.plot(xt, _finite(yt), color=TRAIN_COLOR, lw=1.6, label=mpl_text(run.train_loss))
            notes += _mark_nonfinite(ax, xt, yt, TRAIN_COLOR, run.train_loss)
        if xv.size:
            ax.plot(xv, _finite(yv), color=VAL_COLOR, lw=1.8, label=mpl_text(run.val_loss))
            notes += _mark_nonfinite(ax, xv, yv, VAL_COLOR, run.val_loss, row=1)
        _apply_scale(ax, scale, yt, yv)

        for start, end, metric in marks.plateaus:
            ax.axvspan(start, end, color=PLATEAU_COLOR, alpha=0.15, lw=0)
            label = f"plateau {fmt_num(start)}–{fmt_num(end)}"
            ax.text(
                (start + end) / 2,
                0.02,
                label,
                transform=_top(ax),
                ha="center",
                va="bottom",
                fontsize=8,
                color="#555",
            )
            notes.append(Annotation("plateau", start, f"{label} ({metric})"))
        if marks.onset is not None:
            end = marks.overfit_end if marks.overfit_end is not None else _last(xv, xt)
            if end is not None and end > marks.onset:
                ax.axvspan(marks.onset, end, color=ONSET_COLOR, alpha=0.08, lw=0)
                notes.append(Annotation("overfit-region", marks.onset, "overfitting region"))
            label = f"overfitting onset ({run.index} {fmt_num(marks.onset)})"
            _vline(ax, marks.onset, ONSET_COLOR, label)
            notes.append(Annotation("onset", marks.onset, label))
        if marks.stop_at is not None:
            label = f"{marks.stop_label or 'EarlyStopping stop'} at {run.index} {fmt_num(marks.stop_at)}"
            _vline(ax, marks.stop_at, STOP_COLOR, label, style="--")
            notes.append(Annotation("early-stop", marks.stop_at, label))
        if marks.diverged_at is not None:
            label = f"diverged ({run.index} {fmt_num(marks.diverged_at)})"
            _vline(ax, marks.diverged_at, ONSET_COLOR, label, style=":")
            notes.append(Annotation("diverged", marks.diverged_at, label))
        spikes = [(x, y) for x, y, _ in marks.spikes if math.isfinite(y)]
        if spikes:
            sx, sy = zip(*spikes, strict=True)
            ax.scatter(sx, sy, marker="v", s=60, color=SPIKE_COLOR, zorder=6, label="spike")
            for x, _ in spikes:
                notes.append(Annotation("spike", x, f"spike at {run.index} {fmt_num(x)}"))
        if marks.best is not None:
            bx, by = marks.best
            ax.scatter([bx], [by], marker="*", s=160, color=VAL_COLOR, ec="black", zorder=7)
            label = f"best {fmt_num(by)} @ {fmt_num(bx)}"
            ax.annotate(
                label,
                (bx, by),
                xytext=(6, -14),
                textcoords="offset points",
                fontsize=8,
                weight="bold",
            )
            notes.append(Annotation("best", bx, label))

        handles, labels = ax.get_legend_handles_labels()
        xl, lr = _xy(run, run.learning_rate)
        if xl.size and np.isfinite(lr).any():
            ax2 = ax.twinx()
            ax2.grid(False)
            ax2.step(xl, _finite(lr), where="post", color=LR_COLOR, lw=1.1, ls="-.")
            if choose_scale(lr) == "log":
                ax2.set_yscale("log")
            ax2.set_ylabel("learning rate", color="#666")
            ax2.tick_params(axis="y", colors="#666", labelsize=7)
            h2 = ax2.get_lines()[-1]
            handles.append(h2)
            labels.append("learning rate")
            notes.append(Annotation("learning-rate", None, "learning rate on the right axis"))
        if handles:
            # Above the plot, not on it: the curves' ends and marks stay visible.
            fig.legend(
                handles,
                labels,
                loc="outside upper right",
                ncols=min(len(handles), 6),
                fontsize=8,
                frameon=False,
            )
        ax.set_xlabel(run.index)
        ax.set_ylabel("loss" + ("" if scale == "linear" else f" ({scale} scale)"))
        ax.set_title("Loss curves", loc="left", fontsize=10, weight="bold")
        mime, data = _save(fig, fmt)
    alt = "Loss curves: " + "; ".join(a.label for a in notes if a.kind != "spike")
    if any(a.kind == "spike" for a in notes):
        alt += f"; spikes marked: {sum(a.kind == 'spike' for a in notes)}"
    return Plot("loss", "Loss curves", alt, mime, data, notes, scale)


def _last(*xs: np.ndarray) -> float | None:
    values = [float(x[-1]) for x in xs if x.size]
    return max(values) if values else None


def gap_plot(rr: Any, marks: Marks | None = None, fmt: str = "svg") -> Plot | None:
    """The generalization gap (validation minus training loss) over time, with the
    overfitting onset and the advised stop marked; ``None`` without both losses.

    Training loss is interpolated at the validation indices (logs such as Lightning or
    HF write them on different rows); no value is extrapolated.
    """
    run = rr.run
    marks = marks or marks_for(rr)
    xt, yt = _xy(run, run.train_loss)
    xv, yv = _xy(run, run.val_loss)
    ok = np.isfinite(yt)
    if xv.size == 0 or ok.sum() < 1:
        return None
    xt, yt = xt[ok], yt[ok]
    inside = (xv >= xt.min()) & (xv <= xt.max())
    if not inside.any():
        return None
    x = xv[inside]
    gap = yv[inside] - np.interp(x, xt, yt)
    notes: list[Annotation] = []
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(6, 3.2), layout="constrained")
        ax = fig.add_subplot()
        ax.axhline(0, color="#888", lw=0.8)
        ax.plot(x, _finite(gap), color=ONSET_COLOR if marks.onset is not None else "#444", lw=1.5)
        ax.fill_between(x, 0, _finite(gap), color="#999", alpha=0.15, lw=0)
        notes += _mark_nonfinite(ax, x, gap, "#444", "gap")
        scale = choose_scale(gap)
        _apply_scale(ax, scale, gap)
        if marks.onset is not None:
            end = marks.overfit_end if marks.overfit_end is not None else float(x[-1])
            if end > marks.onset:
                ax.axvspan(marks.onset, end, color=ONSET_COLOR, alpha=0.08, lw=0)
                notes.append(Annotation("overfit-region", marks.onset, "overfitting region"))
            _vline(ax, marks.onset, ONSET_COLOR, "onset")
            notes.append(Annotation("onset", marks.onset, f"onset at {fmt_num(marks.onset)}"))
        if marks.stop_at is not None:
            _vline(ax, marks.stop_at, STOP_COLOR, "EarlyStopping stop", style="--")
            notes.append(Annotation("early-stop", marks.stop_at, "EarlyStopping stop"))
        ax.set_xlabel(run.index)
        ax.set_ylabel(mpl_text(f"{run.val_loss} − {run.train_loss}", 40))
        ax.set_title("Generalization gap", loc="left", fontsize=10, weight="bold")
        mime, data = _save(fig, fmt)
    alt = (
        f"Generalization gap ({run.val_loss} minus {run.train_loss}) over {run.index}s, "
        f"{fmt_num(float(gap[np.isfinite(gap)][-1]) if np.isfinite(gap).any() else math.nan)} at the end"
    )
    return Plot("gap", "Generalization gap", alt, mime, data, notes, scale)


def other_metrics(run: Any, limit: int = 8) -> list[str]:
    """Logged metrics other than the two losses and the learning rate, training and
    validation of one metric next to each other."""
    skip = {run.train_loss, run.val_loss, run.learning_rate}
    names = [c for c in run.metrics.columns if c not in skip]
    names.sort(key=lambda c: (c.removeprefix("val_"), c.startswith("val_")))
    return names[:limit]


def metrics_plot(rr: Any, marks: Marks | None = None, fmt: str = "svg") -> Plot | None:
    """The other metrics (accuracy, MAE, ...) on their own panel; ``None`` if there are none."""
    run = rr.run
    marks = marks or marks_for(rr)
    names = other_metrics(run)
    if not names:
        return None
    notes: list[Annotation] = []
    arrays = []
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(6, 3.2), layout="constrained")
        ax = fig.add_subplot()
        colors = matplotlib.colormaps["tab10"].colors
        bases: dict[str, int] = {}
        for name in names:
            x, y = _xy(run, name)
            if not x.size:
                continue
            base = name.removeprefix("val_")
            color = colors[bases.setdefault(base, len(bases)) % len(colors)]
            style = "--" if name.startswith("val_") else "-"
            ax.plot(x, _finite(y), color=color, ls=style, lw=1.4, label=mpl_text(name))
            notes += _mark_nonfinite(ax, x, y, color, name)
            arrays.append(y)
        scale = choose_scale(*arrays) if arrays else "linear"
        _apply_scale(ax, scale, *arrays)
        if marks.onset is not None:
            _vline(ax, marks.onset, ONSET_COLOR, "onset")
            notes.append(Annotation("onset", marks.onset, "onset"))
        ax.legend(loc="best", fontsize=8, framealpha=0.9)
        ax.set_xlabel(run.index)
        ax.set_title("Other metrics", loc="left", fontsize=10, weight="bold")
        mime, data = _save(fig, fmt)
    alt = "Other metrics: " + ", ".join(names)
    return Plot("metrics", "Other metrics", alt, mime, data, notes, scale)


def run_plots(rr: Any, marks: Marks | None = None, fmt: str = "svg") -> list[Plot]:
    """All figures of one run's section: losses, then the gap and the other metrics."""
    marks = marks or marks_for(rr)
    plots = [loss_plot(rr, marks, fmt)]
    for make in (gap_plot, metrics_plot):
        plot = make(rr, marks, fmt)
        if plot is not None:
            plots.append(plot)
    return plots


def compare_plot(results: list[Any], labels: list[str] | None = None, fmt: str = "svg") -> Plot:
    """The monitored loss (validation loss, else training loss) of several runs overlaid,
    each run's best point marked.

    Args:
        results: :class:`~loganalyzer.analysis.RunResult` objects.
        labels: Legend labels (default: run names).
        fmt: ``"svg"`` or ``"png"``.
    """
    labels = labels or [rr.run.name for rr in results]
    notes: list[Annotation] = []
    arrays = []
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(9, 4.5), layout="constrained")
        ax = fig.add_subplot()
        cmap = matplotlib.colormaps["tab10" if len(results) <= 10 else "tab20"]
        for i, (rr, label) in enumerate(zip(results, labels, strict=True)):
            color = cmap.colors[i % len(cmap.colors)]
            x, y = _xy(rr.run, rr.monitor)
            if not x.size:
                continue
            ax.plot(x, _finite(y), color=color, lw=1.5, label=mpl_text(label, 40))
            notes.append(Annotation("run", None, f"{label}: {rr.monitor}"))
            notes += _mark_nonfinite(ax, x, y, color, str(label))
            arrays.append(y)
            best = rr.best
            if best:
                ax.scatter(
                    [best["index"]],
                    [best["value"]],
                    color=color,
                    marker="*",
                    s=110,
                    ec="black",
                    lw=0.5,
                    zorder=5,
                )
                notes.append(
                    Annotation(
                        "best", float(best["index"]), f"{label}: best {fmt_num(best['value'])}"
                    )
                )
        scale = choose_scale(*arrays) if arrays else "linear"
        if arrays:
            _apply_scale(ax, scale, *arrays)
        else:
            _empty(ax, "no loss was logged")
        monitors = sorted({str(rr.monitor) for rr in results})
        kinds = sorted({rr.run.index for rr in results})
        ax.set_xlabel(" / ".join(kinds))
        ax.set_ylabel(mpl_text(" / ".join(monitors), 50))
        ax.set_title("Validation loss of each run (★ best)", loc="left", fontsize=10, weight="bold")
        if arrays:
            ax.legend(
                loc="upper right", fontsize=8, framealpha=0.9, ncols=1 if len(arrays) <= 8 else 2
            )
        mime, data = _save(fig, fmt)
    alt = (
        "Validation loss of " + ", ".join(str(x) for x in labels) + " overlaid, best points starred"
    )
    return Plot("compare", "Validation loss compared", alt, mime, data, notes, scale)

"""Render a verification: the terminal table, an HTML page and a Markdown report.

Everything shown is read from a :class:`~loganalyzer.verify.experiment.Verification`
(the statistics are computed in :mod:`loganalyzer.verify.stats`); this module only
formats and draws. Per fix it draws the baseline and fixed validation curves overlaid
(each seed thin, the mean of the seeds thick); for ``add-data`` the best validation
loss against training-set size with the fitted power law.

The HTML page is self-contained (PNG data URIs, strict Content-Security-Policy, every
name escaped). Matplotlib is imported only when a figure is drawn.

Example:
    >>> fmt_ci(-0.1234, -0.2, -0.05)
    '-0.1234 [-0.2, -0.05]'
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import Any

BASE_COLOR = "#3b6fb6"
FIX_COLOR = "#e0782b"

#: Column titles of the statistics table, by metric.
METRIC_TITLES = {
    "best_val_loss": "best val loss",
    "kept_val_loss": "val loss kept",
    "final_gap": "final gap",
    "best_epoch": "epoch of best",
}


def fmt(x: Any) -> str:
    """A number in 4 significant digits; NaN/inf named; ``None`` as an en dash."""
    if x is None:
        return "–"
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.4g}"


def fmt_ci(mean: float, low: float, high: float) -> str:
    """``mean [low, high]``."""
    return f"{fmt(mean)} [{fmt(low)}, {fmt(high)}]"


#: How losses are judged, said under every table.
RATIO_NOTE = (
    "Losses are judged as ratios per seed (paired t-test on log losses): their change is "
    "the geometric-mean ratio minus one, with the 95 % CI the verdict rests on."
)


def _ratios(result: Any) -> bool:
    """Was any comparison of the verification judged on ratios?"""
    return any(c.scale == "ratio" for v in result.variants for c in v.comparisons.values())


def change_text(c: Any) -> str:
    """The relative change: ``-85.0 % [-93.1, -66.2 %]`` with the interval the verdict
    rests on for a ratio comparison (losses), ``-12.0 %`` for a difference."""
    if math.isnan(c.rel_diff):
        return "–"
    if c.scale != "ratio":
        return f"{100 * c.rel_diff:+.1f} %"
    return (
        f"{100 * c.rel_diff:+.1f} % [{100 * (c.ratio_low - 1):+.1f}, "
        f"{100 * (c.ratio_high - 1):+.1f} %]"
    )


def interval_text(c: Any) -> str:
    """``95 % CI of the ratio [×0.07, ×0.31]`` or ``95 % CI of the difference [a, b]``."""
    if c.scale == "ratio":
        return f"95 % CI of the ratio [×{c.ratio_low:.3g}, ×{c.ratio_high:.3g}]"
    return f"95 % CI of the difference [{fmt(c.ci_low)}, {fmt(c.ci_high)}]"


def p_is(p: float | None) -> str:
    """``p = 0.012``, ``p < 0.001`` (not ``p = <0.001``)."""
    text = fmt_p(p)
    return f"p {text[0]} {text[1:]}" if text.startswith("<") else f"p = {text}"


def fmt_p(p: float | None) -> str:
    if p is None or math.isnan(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def rows(result: Any) -> list[dict[str, str]]:
    """One row per (fix, metric): the numbers every output shows, as text."""
    out = []
    for v in result.variants:
        if v.curve is not None:
            continue
        for metric, c in v.comparisons.items():
            primary = metric == v.primary
            p_t = fmt_p(c.p_t)
            if primary and v.p_holm is not None:
                p_t += f" (Holm {fmt_p(v.p_holm)})"
            out.append(
                {
                    "fix": v.label,
                    "metric": METRIC_TITLES.get(metric, metric),
                    "primary": "yes" if primary else "",
                    "baseline": fmt(c.baseline_mean),
                    "fixed": fmt(c.fixed_mean),
                    "diff": fmt_ci(c.mean_diff, c.ci_low, c.ci_high),
                    "rel": change_text(c),
                    "p_t": p_t,
                    "p_w": fmt_p(c.p_wilcoxon),
                    "verdict": v.verdict if primary else _verdict_text(metric, c.verdict),
                }
            )
    return out


def _verdict_text(metric: str, verdict: str) -> str:
    """A best epoch that moves is neither good nor bad in itself: say which way."""
    if metric == "best_epoch":
        return {"helped": "earlier", "hurt": "later"}.get(verdict, verdict)
    return verdict


def headline(v: Any) -> str:
    """One sentence per fix: the verdict on its primary metric with the interval."""
    if v.curve is not None:
        return _curve_text(v.curve)
    c = v.comparisons[v.primary]
    what = METRIC_TITLES[v.primary]
    if c.n == 0:
        base, fixed, n = v.diverged
        text = f"{v.label}: {v.verdict} — no seed gave a finite {what} on both sides"
        if v.divergence_test is not None:
            t = v.divergence_test
            text += (
                f"; runs that diverged: baseline {base}/{n}, fixed {fixed}/{n} "
                f"(exact sign test {p_is(t.p)}"
                + ("; 6 or more seeds are needed for 6 of 6 to be significant" if n < 6 else "")
                + ")"
            )
        return text
    text = f"{v.label}: {v.verdict} — {what} {fmt(c.baseline_mean)} → {fmt(c.fixed_mean)}, "
    if c.scale == "ratio":
        text += (
            f"×{c.ratio:.3g} per seed (geometric mean, {100 * c.rel_diff:+.1f} %), "
            f"{interval_text(c)}, paired t-test on log losses {p_is(c.p_t)}, "
            f"n = {c.n} seeds"
        )
    else:
        pct = "" if math.isnan(c.rel_diff) else f" ({100 * c.rel_diff:+.1f} %)"
        text += (
            f"mean paired difference {fmt(c.mean_diff)}{pct}, 95 % CI [{fmt(c.ci_low)}, "
            f"{fmt(c.ci_high)}], paired t-test {p_is(c.p_t)}, n = {c.n} seeds"
        )
    text += holm_text(v)
    if v.primary != "best_val_loss" and "best_val_loss" in v.comparisons:
        # A fix judged on the kept weights also shows the lowest loss it reached, so
        # "helped" is never only an artefact of the metric chosen.
        b = v.comparisons["best_val_loss"]
        bpct = "" if math.isnan(b.rel_diff) else f" ({100 * b.rel_diff:+.1f} %, {b.verdict})"
        text += f"; best val loss {fmt(b.baseline_mean)} → {fmt(b.fixed_mean)}{bpct}"
    if v.epochs_saved is not None:
        text += f"; {v.epochs_saved:.1f} epochs saved per run on average"
    if v.request.action == "train-longer" and v.epochs_budget:
        text += f"; {v.epochs_budget} epochs per run"
    return text


def holm_text(v: Any) -> str:
    """``; Holm-adjusted p = 0.03 over 3 fixes`` (and whether that changed the verdict)."""
    if v.p_holm is None:
        return ""
    text = f"; Holm-adjusted {p_is(v.p_holm)} over {v.family} fixes"
    if v.uncorrected_verdict != v.verdict:
        text += f" (alone it would read {v.uncorrected_verdict})"
    return text


def holm_note(result: Any) -> str | None:
    """The sentence stating the multiple-comparison correction, when one was made."""
    family = max((v.family for v in result.variants if v.p_holm is not None), default=0)
    if not family:
        return None
    return (
        f"Holm correction: {family} fixes were judged on the same baseline runs, so each "
        "verdict needs its Holm-adjusted p-value below 0.05 (family-wise error rate 5 %)."
    )


def _curve_text(curve: Any) -> str:
    points = ", ".join(
        f"{f:.0%}: {fmt(m)}" for f, m in zip(curve.fractions, curve.mean, strict=True)
    )
    text = f"add-data: best val loss by share of the training set — {points}."
    if curve.fit is None:
        return text + f" No curve could be fitted ({curve.fit_error})."
    fit = curve.fit
    law = (
        f"{fmt(fit.a)}·n^-{fmt(fit.b)} + {fmt(fit.c)}"
        if fit.method != "log-linear"
        else f"{fmt(fit.c)} + {fmt(fit.a)}·ln n"
    )
    text += (
        f" Fit ({fit.method}): {law}. Twice the data ({fmt(2 * fit.n)} {curve.unit}) would take "
        f"the best val loss from {fmt(fit.current)} to about {fmt(fit.doubled)} "
        f"({100 * fit.rel_gain:.1f} % lower)"
    )
    if curve.diminishing is not None:
        text += "; returns are diminishing." if curve.diminishing else "; still worth it."
    return text


# ---------------------------------------------------------------------------- terminal
def render_terminal(result: Any, console: Any = None) -> None:
    """Print the statistics table and the per-fix findings to the terminal (rich)."""
    console = console or _console()
    n = len(result.seeds)
    console.print(
        f"[bold]Verification[/bold] of {_rich_escape(result.source)}: {n} seed(s) "
        f"{result.seeds}, {result.epochs} epochs, {result.elapsed:.0f} s"
    )
    _terminal_table(console, result)
    _terminal_headlines(console, result)
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {_rich_escape(note)}", soft_wrap=True)


def _console() -> Any:
    from rich.console import Console

    console = Console()
    if not console.is_terminal:  # pipes and CI logs: wide enough for the table
        console = Console(width=140)
    return console


def _terminal_table(console: Any, result: Any) -> None:
    from rich.table import Table

    table = Table(show_lines=False)
    for col, justify, *no_wrap in (
        ("fix", "left"),
        ("metric", "left"),
        ("baseline", "right"),
        ("fixed", "right"),
        ("diff [95% CI]", "right", True),
        ("change", "right"),
        ("p (t)", "right"),
        ("p (Wilcoxon)", "right"),
        ("verdict", "left"),
    ):
        table.add_column(col, justify=justify, no_wrap=bool(no_wrap))
    last_fix = None
    for r in rows(result):
        style = {"helped": "green", "hurt": "red"}.get(r["verdict"], "")
        metric = r["metric"] + (" *" if r["primary"] else "")
        fix = r["fix"] if r["fix"] != last_fix else ""
        if r["fix"] != last_fix and last_fix is not None:
            table.add_section()
        last_fix = r["fix"]
        table.add_row(
            _rich_escape(fix),
            metric,
            r["baseline"],
            r["fixed"],
            r["diff"],
            r["rel"],
            r["p_t"],
            r["p_w"],
            f"[{style}]{r['verdict']}[/{style}]" if style else r["verdict"],
            style=None,
        )
    if table.row_count:
        console.print(table)
        console.print("* the metric the verdict is based on (lower is better for all rows)")
        if _ratios(result):
            console.print(RATIO_NOTE, soft_wrap=True)
    note = holm_note(result)
    if note:
        console.print(note, soft_wrap=True)


def _terminal_headlines(console: Any, result: Any) -> None:
    for v in result.variants:
        style = {"helped": "green", "hurt": "red"}.get(v.verdict)
        text = _rich_escape(headline(v))
        console.print(f"[{style}]{text}[/{style}]" if style else text, soft_wrap=True)
        for status in v.findings:
            console.print(f"  re-analysis: {_rich_escape(status.text())}", soft_wrap=True)
        for note in getattr(v, "notes", []):
            console.print(f"  [yellow]note:[/yellow] {_rich_escape(note)}", soft_wrap=True)


def _rich_escape(text: str) -> str:
    from rich.markup import escape

    return escape(str(text))


# ---------------------------------------------------------------------------- figures
def variant_plot(result: Any, v: Any) -> bytes:
    """PNG: validation loss of baseline and fix over epochs, each seed and their mean."""
    import numpy as np
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.2, 3.4), layout="constrained")
    ax = fig.add_subplot()
    for label, color in (("baseline", BASE_COLOR), (v.label, FIX_COLOR)):
        curves = [r.val_data for r in result.runs_of(label)]
        for y in curves:
            ax.plot(range(len(y)), y, color=color, alpha=0.3, lw=0.9)
        if curves:
            # The mean only where every seed has a point (early-stopped runs end sooner).
            length = min(len(y) for y in curves)
            mean = np.mean(np.asarray([y[:length] for y in curves], dtype=float), axis=0)
            ax.plot(
                range(length),
                mean,
                color=color,
                lw=2.2,
                label=_mpl(f"{label} (mean of {len(curves)})"),
            )
    _scale(ax, [r.val_data for label in ("baseline", v.label) for r in result.runs_of(label)])
    for r in result.runs_of(v.label):
        if r.kept_epoch < r.epochs_run - 1:
            ax.plot([r.kept_epoch], [r.val_data[r.kept_epoch]], "o", color=FIX_COLOR, ms=4)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss")
    ax.set_title(_mpl(f"{v.label} vs baseline"), fontsize=10)
    ax.grid(alpha=0.25)
    ax.legend(fontsize=8)
    return _png(fig)


def curve_plot(v: Any) -> bytes:
    """PNG: best validation loss against training-set size, with the fitted law."""
    import numpy as np
    from matplotlib.figure import Figure

    curve = v.curve
    fig = Figure(figsize=(7.2, 3.4), layout="constrained")
    ax = fig.add_subplot()
    for size, frac in zip(curve.sizes, curve.fractions, strict=True):
        ys = curve.per_seed.get(frac, [])
        ax.plot([size] * len(ys), ys, "o", color=BASE_COLOR, alpha=0.35, ms=4)
    ax.plot(curve.sizes, curve.mean, "o-", color=BASE_COLOR, lw=2, label="mean over seeds")
    if curve.fit is not None:
        xs = np.linspace(min(curve.sizes), 2 * curve.fit.n, 100)
        ax.plot(
            xs,
            curve.fit.predict(xs),
            "--",
            color=FIX_COLOR,
            label=_mpl(f"fit ({curve.fit.method})"),
        )
        ax.plot(
            [2 * curve.fit.n],
            [curve.fit.doubled],
            "s",
            color=FIX_COLOR,
            label="predicted at 2× data",
        )
    ax.set_xlabel(f"training {curve.unit}")
    ax.set_ylabel("best validation loss")
    ax.set_title("add-data: learning curve", fontsize=10)
    ax.grid(alpha=0.25)
    ax.legend(fontsize=8)
    return _png(fig)


def _scale(ax: Any, curves: list[Any]) -> None:
    """A log axis when the curves span decades (a diverging baseline), as the run
    reports do; the report renderers' rule is reused when it is there."""
    try:
        from loganalyzer.renderers.plots import _apply_scale, choose_scale
    except ImportError:
        return
    if curves:
        _apply_scale(ax, choose_scale(*curves), *curves)


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def _mpl(text: str) -> str:
    try:
        from loganalyzer.renderers._escape import mpl_text

        return mpl_text(text)
    except ImportError:
        return text.replace("$", r"\$").lstrip("_")


def _figures(result: Any) -> list[tuple[str, str, bytes]]:
    """(file stem, alt text, png) per fix, in order."""
    figs = []
    for i, v in enumerate(result.variants, 1):
        if v.curve is not None:
            figs.append(
                (
                    f"fix{i}-add-data",
                    "Best validation loss against training-set size",
                    curve_plot(v),
                )
            )
        elif result.runs_of(v.label):
            figs.append(
                (f"fix{i}", f"Validation loss: {v.label} vs baseline", variant_plot(result, v))
            )
        else:
            figs.append(("", "", b""))
    return figs


# ---------------------------------------------------------------------------- HTML
def render_html(result: Any) -> str:
    """A self-contained HTML page (inline PNG data URIs, strict CSP, all text escaped)."""
    esc = html.escape
    figs = _figures(result)
    parts = [
        '<div class="la-report">',
        f"<h1>Verification: {esc(result.source)}</h1>",
        f'<p class="meta">{len(result.seeds)} seed(s) {esc(str(result.seeds))}, '
        f"{result.epochs} epochs per run, {result.elapsed:.0f} s; baseline and each fix "
        "trained with the same seeds; differences are fixed − baseline (lower is better)."
        "</p>",
    ]
    for note in result.notes:
        parts.append(f'<p class="verdict verdict-warning">{esc(note)}</p>')
    parts.append("<h2>Statistics</h2>")
    parts.append(_html_table(result))
    for v, (_, alt, png) in zip(result.variants, figs, strict=True):
        parts.append(f"<h2>{esc(v.label)}</h2>")
        parts.append(_html_variant(v, alt, png))
    parts.append(f'<p class="hint">Run logs (CSV + JSON per run): {esc(result.out_dir)}</p></div>')
    return _page("".join(parts), f"Verification: {result.source}")


def _html_variant(v: Any, alt: str, png: bytes) -> str:
    """One fix: its headline, re-analysis and notes in a verdict box, then its figure."""
    esc = html.escape
    css = {"helped": "", "hurt": " verdict-error"}.get(v.verdict, " verdict-warning")
    parts = [f'<div class="verdict{css}"><p class="headline">{esc(headline(v))}</p>']
    for status in v.findings:
        parts.append(f"<p>Re-analysis of the fixed runs: {esc(status.text())}</p>")
    for note in v.notes:
        parts.append(f"<p>Note: {esc(note)}</p>")
    parts.append("</div>")
    if png:
        uri = "data:image/png;base64," + base64.b64encode(png).decode()
        parts.append(
            f'<figure class="plot plot-compare"><img src="{uri}" alt="{esc(alt)}">'
            f"<figcaption>{esc(alt)}</figcaption></figure>"
        )
    return "".join(parts)


def _html_table(result: Any) -> str:
    esc = html.escape
    heads = ["fix", "metric", "baseline", "fixed", "fixed − baseline [95% CI]", "change",
             "p (t-test)", "p (Wilcoxon)", "verdict"]  # fmt: skip
    out = ["<table><thead><tr>", *(f"<th>{esc(h)}</th>" for h in heads), "</tr></thead><tbody>"]
    for r in rows(result):
        sev = {"helped": "sev-ok", "hurt": "sev-error"}.get(r["verdict"], "")
        metric = r["metric"] + (" *" if r["primary"] else "")
        out.append(
            "<tr>"
            f"<td>{esc(r['fix'])}</td><td>{esc(metric)}</td>"
            f'<td class="num">{esc(r["baseline"])}</td><td class="num">{esc(r["fixed"])}</td>'
            f'<td class="num">{esc(r["diff"])}</td><td class="num">{esc(r["rel"])}</td>'
            f'<td class="num">{esc(r["p_t"])}</td><td class="num">{esc(r["p_w"])}</td>'
            f'<td class="{sev}">{esc(r["verdict"])}</td></tr>'
        )
    out.append("</tbody></table>")
    note = f" {RATIO_NOTE}" if _ratios(result) else ""
    out.append(f'<p class="hint">* the metric the verdict is based on.{note}</p>')
    note = holm_note(result)
    if note:
        out.append(f'<p class="hint">{esc(note)}</p>')
    return "".join(out)


def _page(content: str, title: str) -> str:
    try:
        from loganalyzer.renderers.html import page
    except ImportError:
        page = None
    if page is not None:
        return page(content, title)
    csp = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        f"<title>{html.escape(title)}</title></head><body>{content}</body></html>\n"
    )


# ---------------------------------------------------------------------------- Markdown
def render_markdown(result: Any, files_dir: str) -> tuple[str, dict[str, bytes]]:
    """Markdown text plus the images it links (``files_dir/<name>.png`` -> bytes)."""
    md = _md_text
    figs = _figures(result)
    lines = _md_head(
        f"Verification: {result.source}",
        f"{len(result.seeds)} seed(s) {result.seeds}, {result.epochs} epochs per run, "
        f"{result.elapsed:.0f} s. Baseline and each fix trained with the same seeds; differences "
        "are fixed − baseline (lower is better).",
        result.notes,
    )
    lines += ["## Statistics", "", *_md_table(result)]
    images: dict[str, bytes] = {}
    for v, (stem, alt, png) in zip(result.variants, figs, strict=True):
        lines += [f"## {md(v.label)}", "", f"**{md(headline(v))}**", ""]
        for status in v.findings:
            lines += [f"- Re-analysis of the fixed runs: {md(status.text())}"]
        for note in getattr(v, "notes", []):
            lines += [f"- Note: {md(note)}"]
        if v.findings or getattr(v, "notes", []):
            lines.append("")
        if png:
            name = f"{stem}.png"
            images[name] = png
            lines += [f"![{md(alt)}]({files_dir}/{name})", ""]
    lines += [f"Run logs (CSV + JSON per run): {md(result.out_dir)}", ""]
    return "\n".join(lines), images


def _md_head(title: str, meta: str, notes: list[str]) -> list[str]:
    """The report's heading, its one-paragraph summary and its notes (all escaped)."""
    lines = [f"# {_md_text(title)}", "", _md_text(meta), ""]
    for note in notes:
        lines += [f"> **Note:** {_md_text(note)}", ""]
    return lines


def _md_table(result: Any) -> list[str]:
    """The statistics table as Markdown lines, with its footnotes."""
    md = _md_text
    heads = ["fix", "metric", "baseline", "fixed", "fixed − baseline [95% CI]", "change",
             "p (t-test)", "p (Wilcoxon)", "verdict"]  # fmt: skip
    lines = ["| " + " | ".join(heads) + " |",
             "|" + "|".join(["---", "---"] + ["---:"] * 6 + ["---"]) + "|"]  # fmt: skip
    for r in rows(result):
        metric = r["metric"] + (" \\*" if r["primary"] else "")
        cells = [md(r["fix"]), metric, r["baseline"], r["fixed"], md(r["diff"]), r["rel"],
                 md(r["p_t"]), r["p_w"], r["verdict"]]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    note = f" {RATIO_NOTE}" if _ratios(result) else ""
    lines += ["", f"\\* the metric the verdict is based on.{note}", ""]
    note = holm_note(result)
    if note:
        lines += [md(note), ""]
    return lines


def _md_text(text: str) -> str:
    try:
        from loganalyzer.renderers._escape import md_text

        return md_text(str(text))
    except ImportError:
        return "".join("\\" + ch if ch in "\\`*_{}[]<>#!|~&$" else ch for ch in str(text))


def to_dict(result: Any) -> dict[str, Any]:
    """The verification as JSON-safe data (``verification.json``, for CI and scripts)."""
    from dataclasses import asdict

    from loganalyzer.findings import jsonable

    fixes = []
    for v in result.variants:
        entry: dict[str, Any] = {
            "fix": v.label,
            "action": v.request.action,
            "params": v.request.resolved(),
            "verdict": v.verdict,
            "primary": v.primary,
            "metrics": {m: asdict(c) for m, c in v.comparisons.items()},
            "epochs_saved": v.epochs_saved,
            "findings": [
                {
                    "kind": f.kind,
                    "status": f.status,
                    "baseline_runs": f.baseline_runs,
                    "fixed_runs": f.fixed_runs,
                    "n": f.n,
                }
                for f in v.findings
            ],  # fmt: skip
            "notes": list(getattr(v, "notes", [])),
            "divergence_test": None if v.divergence_test is None else asdict(v.divergence_test),
            "diverged": dict(zip(("baseline_runs", "fixed_runs", "n"), v.diverged, strict=True)),
        }
        if v.curve is not None:
            c = v.curve
            entry["curve"] = {
                "fractions": c.fractions,
                "sizes": c.sizes,
                "unit": c.unit,
                "mean_best_val_loss": c.mean,
                "fit": None if c.fit is None else asdict(c.fit),
                "expected_gain_from_twice_the_data": None if c.fit is None else c.fit.gain,
                "diminishing": c.diminishing,
            }
        fixes.append(entry)
    return jsonable(
        {
            "schema": "loganalyzer-verify/1",
            "source": result.source,
            "seeds": result.seeds,
            "epochs": result.epochs,
            "interrupted": result.interrupted,
            "elapsed_seconds": result.elapsed,
            "notes": result.notes,
            "fixes": fixes,
        }
    )


def write_reports(result: Any, out_dir: Path) -> tuple[Path, Path]:
    """Write ``verification.html``, ``verification.md`` (+ ``verification_files/``) and
    ``verification.json``."""
    text, images = render_markdown(result, "verification_files")
    return _write_all(out_dir, to_dict(result), render_html(result), text, images)


# ---------------------------------------------------------------------------- the loop
# The closed loop's report tells the story in order: what was wrong, what was tried,
# what helped and by how much, then what is left. The same sentences feed the
# terminal, Markdown and HTML.
def round_title(rnd: Any) -> str:
    """``Round 2 — with early-stopping(patience=4)``."""
    if not rnd.applied:
        return f"Round {rnd.number} — the model as given"
    return f"Round {rnd.number} — with " + " + ".join(r.label for r in rnd.applied)


def wrong_lines(diagnosis: Any) -> list[str]:
    """What the analysis of the model's runs found (problems in most seeds first)."""
    n = diagnosis.n
    lines = []
    for f in diagnosis.findings:
        lines.append(f"{f.kind} ({f.severity}, {f.rule}) in {f.runs}/{n} seeds: {f.message}")
    if not diagnosis.findings:
        lines.append(f"no warning or error in any of the {n} seeds")
    elif diagnosis.healthy:
        lines.append("no warning or error in most seeds: nothing to fix")
    if diagnosis.healthy and diagnosis.advice:
        lines.append(
            "advised on info findings only, not tried: "
            + ", ".join(a.request().label for a in diagnosis.advice)
        )
    if diagnosis.notes:
        lines.append(
            "also noted (info): " + ", ".join(f"{t.kind} {t.runs}/{n}" for t in diagnosis.notes)
        )
    for err in diagnosis.errors:
        lines.append(f"could not analyse {err}")
    return lines


def tried_lines(rnd: Any) -> list[str]:
    """What the model showed about the advice, then the advice in rank order and which
    of it was tried."""
    diag = rnd.diagnosis
    lines = list(getattr(rnd, "model_notes", []))
    if not diag.advice:
        return lines + ["no advice (given in at least half of the seeds)"]
    tried = {r.action for r in rnd.tried}
    skipped = dict(rnd.skipped)
    for i, a in enumerate(diag.advice, 1):
        label = a.request().label if a.action in tried else a.action
        where = f"advised in {a.runs}/{a.n} seeds ({', '.join(a.rules) or 'no rule'})"
        if a.action in tried:
            lines.append(f"#{i} {label}: tried — {where}")
        elif a.action in skipped:
            lines.append(f"#{i} {label}: not tried, {skipped[a.action]} — {where}")
        else:
            lines.append(f"#{i} {label}: not tried (beyond the top {len(rnd.tried)})")
    return lines


def outcome_line(rnd: Any) -> str:
    """What helped, by how much, and what the loop kept."""
    ver = rnd.verification
    if ver is None:
        return "interrupted before the fixes were trained" if rnd.tried else "nothing retrained"
    if rnd.chosen is not None:
        v = rnd.chosen
        c = v.comparisons[v.primary]
        others = [x.label for x in ver.helped if x is not v and x.curve is None]
        why = (
            f"; it reaches the lowest {METRIC_TITLES[v.primary]} of the fixes that helped "
            f"(also helped: {', '.join(others)})"
            if others
            else ""
        )
        return (
            f"applied {v.label}: {METRIC_TITLES[v.primary]} {fmt(c.baseline_mean)} → "
            f"{fmt(c.fixed_mean)} ({100 * c.rel_diff:+.1f} %, {interval_text(c)}){why}"
        )
    if ver.interrupted:
        return "interrupted before the fixes could be judged on every seed"
    return "none of the fixes tried helped significantly; the model stays as it was"


def left_lines(result: Any) -> list[str]:
    """What is left after the last applied fix, and the overall change."""
    lines = []
    if result.applied and result.overall:
        names = " + ".join(r.label for r in result.applied)
        parts = []
        for metric, c in result.overall.items():
            pct = "" if math.isnan(c.rel_diff) else f" ({100 * c.rel_diff:+.1f} %)"
            parts.append(
                f"{METRIC_TITLES[metric]} {fmt(c.baseline_mean)} → {fmt(c.fixed_mean)}{pct}, "
                f"{interval_text(c)}"
            )
        lines.append(f"from the model as given to the model with {names}: " + "; ".join(parts))
    elif not result.applied:
        lines.append("no fix was applied: the model is as given")
    final = result.final
    if final is not None:
        if final.problems:
            lines.append(
                "still found: "
                + "; ".join(f"{f.kind} in {f.runs}/{final.n} seeds" for f in final.problems)
            )
        else:
            lines.append(f"no warning or error in most of the {final.n} seeds")
            if final.advice:
                lines.append(
                    "advised on info findings only, not tried: "
                    + ", ".join(a.request().label for a in final.advice)
                )
        if final.advice and final.problems:
            lines.append("next advice: " + ", ".join(a.request().label for a in final.advice[:3]))
    lines.append(f"stopped: {result.stop_text}")
    return lines


def render_loop_terminal(result: Any, console: Any = None) -> None:
    """The loop's story on the terminal, round by round, with each round's table."""
    console = console or _console()
    esc = _rich_escape
    console.print(
        f"[bold]Closed-loop verification[/bold] of {esc(result.source)}: "
        f"{len(result.seeds)} seed(s) {result.seeds}, {result.epochs} epochs, "
        f"{len(result.rounds)} round(s), {result.elapsed:.0f} s ({result.backend})"
    )
    for rnd in result.rounds:
        console.rule(esc(round_title(rnd)), align="left")
        console.print("[bold]What was wrong[/bold]")
        for line in wrong_lines(rnd.diagnosis):
            console.print(f"  {esc(line)}", soft_wrap=True)
        if rnd.diagnosis.healthy:
            continue
        console.print("[bold]What was tried[/bold]")
        for line in tried_lines(rnd):
            console.print(f"  {esc(line)}", soft_wrap=True)
        if rnd.verification is not None:
            _terminal_table(console, rnd.verification)
            console.print("[bold]What helped[/bold]")
            _terminal_headlines(console, rnd.verification)
            console.print(f"[bold]→[/bold] {esc(outcome_line(rnd))}", soft_wrap=True)
    console.rule("What is left", align="left")
    for line in left_lines(result):
        console.print(f"  {esc(line)}", soft_wrap=True)
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {esc(note)}", soft_wrap=True)


def _loop_figures(result: Any) -> list[tuple[Any, list[tuple[str, str, bytes]]]]:
    """Per round, the figures of its verification (stems prefixed by the round)."""
    out = []
    for rnd in result.rounds:
        figs = []
        if rnd.verification is not None:
            for stem, alt, png in _figures(rnd.verification):
                figs.append((f"round{rnd.number}-{stem}" if stem else "", alt, png))
        out.append((rnd, figs))
    return out


def render_loop_html(result: Any) -> str:
    """The loop's story as a self-contained HTML page."""
    esc = html.escape
    parts = [
        '<div class="la-report">',
        f"<h1>Closed-loop verification: {esc(result.source)}</h1>",
        f'<p class="meta">{len(result.seeds)} seed(s) {esc(str(result.seeds))}, '
        f"{result.epochs} epochs for the model as given, {len(result.rounds)} round(s), "
        f"{result.elapsed:.0f} s on the {esc(result.backend)} backend. Every fix is "
        "trained with the same seeds as its baseline; differences are fixed − baseline "
        "(lower is better).</p>",
    ]
    for note in result.notes:
        parts.append(f'<p class="verdict verdict-warning">{esc(note)}</p>')
    for rnd, figs in _loop_figures(result):
        parts.append(f"<h2>{esc(round_title(rnd))}</h2><h3>What was wrong</h3><ul>")
        parts += [f"<li>{esc(line)}</li>" for line in wrong_lines(rnd.diagnosis)]
        parts.append("</ul>")
        if rnd.diagnosis.healthy:
            continue
        parts.append("<h3>What was tried</h3><ul>")
        parts += [f"<li>{esc(line)}</li>" for line in tried_lines(rnd)]
        parts.append("</ul>")
        ver = rnd.verification
        if ver is None:
            continue
        parts.append(_html_table(ver))
        parts.append("<h3>What helped</h3>")
        for v, (_, alt, png) in zip(ver.variants, figs, strict=True):
            parts.append(_html_variant(v, alt, png))
        parts.append(f"<p><strong>{esc(outcome_line(rnd))}</strong></p>")
    parts.append("<h2>What is left</h2><ul>")
    parts += [f"<li>{esc(line)}</li>" for line in left_lines(result)]
    parts.append("</ul>")
    parts.append(f'<p class="hint">Run logs (CSV + JSON per run): {esc(result.out_dir)}</p></div>')
    return _page("".join(parts), f"Closed-loop verification: {result.source}")


def render_loop_markdown(result: Any, files_dir: str) -> tuple[str, dict[str, bytes]]:
    """The loop's story as Markdown, plus the images it links."""
    md = _md_text
    lines = _md_head(
        f"Closed-loop verification: {result.source}",
        f"{len(result.seeds)} seed(s) {result.seeds}, {result.epochs} epochs for the model as "
        f"given, {len(result.rounds)} round(s), {result.elapsed:.0f} s on the {result.backend} "
        "backend. Every fix is trained with the same seeds as its baseline; differences are "
        "fixed − baseline (lower is better).",
        result.notes,
    )
    images: dict[str, bytes] = {}
    for rnd, figs in _loop_figures(result):
        lines += [f"## {md(round_title(rnd))}", "", "### What was wrong", ""]
        lines += [f"- {md(line)}" for line in wrong_lines(rnd.diagnosis)] + [""]
        if rnd.diagnosis.healthy:
            continue
        lines += ["### What was tried", ""]
        lines += [f"- {md(line)}" for line in tried_lines(rnd)] + [""]
        ver = rnd.verification
        if ver is None:
            continue
        lines += [*_md_table(ver), "### What helped", ""]
        for v, (stem, alt, png) in zip(ver.variants, figs, strict=True):
            lines += [f"- **{md(headline(v))}**"]
            lines += [f"  - Re-analysis of the fixed runs: {md(s.text())}" for s in v.findings]
            lines += [f"  - Note: {md(note)}" for note in v.notes]
            if png:
                images[f"{stem}.png"] = png
                lines += ["", f"  ![{md(alt)}]({files_dir}/{stem}.png)", ""]
        lines += ["", f"**{md(outcome_line(rnd))}**", ""]
    lines += ["## What is left", ""]
    lines += [f"- {md(line)}" for line in left_lines(result)]
    lines += ["", f"Run logs (CSV + JSON per run): {md(result.out_dir)}", ""]
    return "\n".join(lines), images


def loop_to_dict(result: Any) -> dict[str, Any]:
    """The loop as JSON-safe data (``verification.json``)."""
    from dataclasses import asdict

    from loganalyzer.findings import jsonable

    def diag(d: Any) -> dict[str, Any] | None:
        if d is None:
            return None
        return {
            "seeds": d.n,
            "findings": [asdict(f) for f in d.findings],
            "notes": [asdict(f) for f in d.notes],
            "advice": [asdict(a) for a in d.advice],
            "errors": list(d.errors),
            "healthy": d.healthy,
        }

    rounds = []
    for rnd in result.rounds:
        rounds.append(
            {
                "round": rnd.number,
                "applied": [r.label for r in rnd.applied],
                "diagnosis": diag(rnd.diagnosis),
                "tried": [r.label for r in rnd.tried],
                "skipped": [{"action": a, "reason": why} for a, why in rnd.skipped],
                "model_notes": list(rnd.model_notes),
                "verification": None if rnd.verification is None else to_dict(rnd.verification),
                "chosen": None if rnd.chosen is None else rnd.chosen.label,
            }
        )
    return jsonable(
        {
            "schema": "loganalyzer-verify-loop/1",
            "source": result.source,
            "seeds": result.seeds,
            "epochs": result.epochs,
            "backend": result.backend,
            "elapsed_seconds": result.elapsed,
            "interrupted": result.interrupted,
            "stop": result.stop,
            "rounds": rounds,
            "applied": [r.label for r in result.applied],
            "overall": {m: asdict(c) for m, c in result.overall.items()},
            "final": diag(result.final),
            "notes": result.notes,
        }
    )


def write_loop_reports(result: Any, out_dir: Path) -> tuple[Path, Path]:
    """Write the loop's ``verification.html``, ``.md`` (+ images) and ``.json``."""
    text, images = render_loop_markdown(result, "verification_files")
    return _write_all(out_dir, loop_to_dict(result), render_loop_html(result), text, images)


def _write_all(
    out_dir: Path, doc: dict, page: str, text: str, images: dict[str, bytes]
) -> tuple[Path, Path]:
    """``verification.json``, ``.html``, ``.md`` and the Markdown's images."""
    import json

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "verification.json").write_text(
        json.dumps(doc, indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    html_path = out_dir / "verification.html"
    html_path.write_text(page, encoding="utf-8")
    files = out_dir / "verification_files"
    files.mkdir(exist_ok=True)
    for name, data in images.items():
        (files / name).write_bytes(data)
    md_path = out_dir / "verification.md"
    md_path.write_text(text, encoding="utf-8")
    return html_path, md_path

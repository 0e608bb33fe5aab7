"""``column-mismatch``: a loss column that behaves like a score, beside a metric that
behaves like the loss: the header may no longer match the columns.

It happens when ``CSVLogger(append=True)`` (or a hand-written logger) appends a run that
logged other metrics under the old header: the column called ``loss`` then holds an
accuracy. A confident "training diverged" on such a column would send the user after
the learning rate for nothing, so this rule says what it sees instead, and the findings
of other rules on that column are demoted to info (see :func:`reconcile`).

A loss column is suspect when all of this holds:

- all its values lie in [0, 1] and it *rises* over the run: one-sided Mann-Kendall
  p < ``alpha`` and an end level (median of the last twentieth) at least ``min_rise``
  times the start level (median of the first twentieth);
- another column whose name says *lower is better* (``mse``, ``mae``, ``*_loss``) *falls*
  over the same points, to at most ``1 / min_rise`` of its start, and the two are
  strongly anti-correlated (Spearman rho <= ``-min_anticorrelation``), or, when the
  score saturates early (weaker rank correlation), the partner falls significantly to a
  third of its start or less.

A real loss that rises while an error metric of the same model falls that steeply does
not happen; a column of accuracies does exactly that. When the suspect column's values
are all multiples of one ``1/N`` (N <= 10^6), as an accuracy over N samples is, the
finding says so.

Example:
    >>> from loganalyzer.analysis import to_run
    >>> from loganalyzer.rulepack import rule_by_code
    >>> import numpy as np
    >>> t = np.arange(40)
    >>> acc = np.round(0.3 + 0.5 * (1 - np.exp(-t / 8)), 3)
    >>> mse = 0.08 * np.exp(-t / 8) + 0.001
    >>> run = to_run({"loss": acc, "mse": mse, "val_loss": acc - 0.05, "val_mse": mse * 1.2})
    >>> [(f.metric, f.evidence["behaves_like"]) for f in detect(run, rule_by_code("LA112"), {})]
    [('loss', 'mse'), ('val_loss', 'val_mse')]
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from scipy import stats as _st

from loganalyzer.findings import Finding, severity_rank
from loganalyzer.naming import direction
from loganalyzer.rulepack import Rule
from loganalyzer.run import Run
from loganalyzer.stats import mann_kendall

KIND = "column-mismatch"

DEFAULTS = {"min_points": 8, "alpha": 0.01, "min_rise": 1.25, "min_anticorrelation": 0.8}


def _level(y: np.ndarray, head: bool) -> float:
    k = max(2, len(y) // 20)
    return float(np.median(y[:k] if head else y[-k:]))


def common_denominator(values: np.ndarray, max_den: int = 1_000_000) -> int | None:
    """The ``N`` when every value is a multiple of ``1/N`` (to float32 precision), or
    ``None``. Needs at least 8 distinct values.

    Example:
        >>> common_denominator(np.array([k / 856 for k in (245, 300, 412, 500, 650,
        ...     691, 700, 702, 233)]))
        856
        >>> common_denominator(np.linspace(0.1, 0.9, 12) ** 1.37) is None
        True
    """
    v = np.unique(np.asarray(values, dtype=float))
    v = v[np.isfinite(v)]
    if len(v) < 8:
        return None
    den = 1
    for x in v:
        f = Fraction(float(x)).limit_denominator(max_den)
        if abs(float(f) - x) > 1e-6:
            return None
        den = den * f.denominator // math.gcd(den, f.denominator)
        if den > max_den:
            return None
    if den < 2:
        return None
    ok = np.abs(v * den - np.round(v * den)) <= 1e-6 * den
    return int(den) if ok.all() else None


def suspect_columns(run: Run, params: dict | None = None) -> dict[str, dict]:
    """Loss columns that look like scores: ``{column: evidence}`` (see the module doc)."""
    p = {**DEFAULTS, **(params or {})}
    out: dict[str, dict] = {}
    for col in (run.train_loss, run.val_loss):
        if col is None or col in out:
            continue
        s = run.series(col)
        if s is None:
            continue
        y = s.to_numpy(dtype=float)
        ok = np.isfinite(y)
        if ok.sum() < int(p["min_points"]) or not ok.all():
            continue
        if y.min() < 0 or y.max() > 1:
            continue
        start, end = _level(y, True), _level(y, False)
        if start <= 0 or end < float(p["min_rise"]) * start:
            continue
        if mann_kendall(-y).z >= 0 or mann_kendall(y).p / 2 >= float(p["alpha"]):
            continue
        partner = _falling_partner(run, col, s, p)
        if partner is None:
            continue
        other, rho, o_start, o_end = partner
        out[col] = {
            "metric": col,
            "start_level": start,
            "end_level": end,
            "behaves_like": other,
            "partner_start": o_start,
            "partner_end": o_end,
            "spearman": round(rho, 3),
            "denominator": common_denominator(y),
        }
    return out


def _falling_partner(run: Run, col: str, s, p: dict):
    val = col.startswith("val_")
    best = None
    for other in run.metrics.columns:
        if other in (col, run.train_loss, run.val_loss, run.learning_rate):
            continue
        if other.startswith("val_") != val or direction(other) != "min":
            continue
        o = run.metrics[other].reindex(s.index).to_numpy(dtype=float)
        ok = np.isfinite(o)
        if ok.sum() < int(p["min_points"]) or o[ok].min() <= 0:
            continue
        y = s.to_numpy(dtype=float)[ok]
        o = o[ok]
        o_start, o_end = _level(o, True), _level(o, False)
        if o_end > o_start / float(p["min_rise"]):
            continue
        rho = float(_st.spearmanr(y, o).statistic)
        if not math.isfinite(rho) or rho >= 0:
            continue
        steep = (
            o_end <= o_start / 3 and mann_kendall(o).z < 0 and mann_kendall(o).p / 2 < p["alpha"]
        )
        if rho > -float(p["min_anticorrelation"]) and not steep:
            continue
        if best is None or rho < best[1]:
            best = (other, rho, o_start, o_end)
    return best


def detect(run: Run, rule: Rule, params: dict) -> list[Finding]:
    """One warning per loss column that looks like a score."""
    findings = []
    for col, ev in suspect_columns(run, params).items():
        s = run.series(col)
        orig = run.original_names.get(col, col)
        other = ev["behaves_like"]
        quantized = (
            f"; every value is a multiple of 1/{ev['denominator']}, as an accuracy over "
            f"{ev['denominator']} samples is"
            if ev["denominator"]
            else ""
        )
        message = (
            f"{orig!r} rises from {ev['start_level']:.3g} to {ev['end_level']:.3g} within "
            f"[0, 1], like an accuracy, while {run.original_names.get(other, other)!r} falls "
            f"from {ev['partner_start']:.3g} to {ev['partner_end']:.3g} like a loss "
            f"(Spearman {ev['spearman']:.2f}){quantized}: the columns may not match the "
            "header, so no rule judges this column as a loss."
        )
        if any("segment" in w for w in run.warnings):
            message += " The file holds appended runs; the last one may have logged other metrics."
        findings.append(
            Finding(
                rule=rule.code,
                kind=KIND,
                severity=rule.severity,
                metric=col,
                start=s.index[0].item() if hasattr(s.index[0], "item") else s.index[0],
                end=s.index[-1].item() if hasattr(s.index[-1], "item") else s.index[-1],
                message=message,
                evidence=ev,
            )
        )
    return findings


def reconcile(findings: list[Finding]) -> list[Finding]:
    """Demote to info every warning/error of another rule on a column this rule
    flagged: a judgement of "the loss" means nothing when the column is not a loss.

    Example:
        >>> m = Finding("LA112", KIND, "warning", "loss", 0, 9, "m")
        >>> d = Finding("LA102", "divergence", "error", "loss", 3, 9, "diverged")
        >>> [(f.kind, f.severity) for f in reconcile([d, m])]
        [('divergence', 'info'), ('column-mismatch', 'warning')]
    """
    suspect = {f.metric for f in findings if f.kind == KIND}
    if not suspect:
        return findings
    for f in findings:
        if f.kind != KIND and f.metric in suspect and severity_rank(f.severity) > 0:
            f.evidence = {**f.evidence, "demoted_from": f.severity, "column_mismatch": True}
            f.severity = "info"
            f.message = (
                f"{f.message} (Demoted: the column {f.metric!r} may not hold a loss; see LA112.)"
            )
    return findings

"""``too-short``: a loss curve with too few points for any statistical judgement.

With three or four points a rise, a plateau or a trend cannot be told from noise, so
the other detectors stay silent on such a curve (each checks the same minimum) and
this rule says why, instead of a guess. Non-finite losses are still reported by the
``divergence`` rule: a NaN is a fact, not a guess.

Example:
    >>> from loganalyzer.analysis import to_run
    >>> from loganalyzer.rulepack import rule_by_code
    >>> run = to_run({"loss": [0.9, 0.7, 0.65], "val_loss": [0.95, 0.8, 0.82]})
    >>> [f.metric for f in detect(run, rule_by_code("LA100"), {"min_points": 5})]
    ['loss', 'val_loss']
"""

from __future__ import annotations

from loganalyzer.detectors import _curves as C
from loganalyzer.findings import Finding
from loganalyzer.rulepack import Rule
from loganalyzer.run import Run

KIND = "too-short"


def detect(run: Run, rule: Rule, params: dict) -> list[Finding]:
    """One info finding per loss curve with fewer than ``min_points`` finite points."""
    need = C.min_points(params)
    findings = []
    for c in C.loss_curves(run):
        if c.n >= need:
            continue
        findings.append(
            Finding(
                rule=rule.code,
                kind=KIND,
                severity=rule.severity,
                metric=c.name,
                start=C.num(c.first[0]) if c.n else None,
                end=C.num(c.last[-1]) if c.n else None,
                message=(
                    f"{c.name} has only {c.n} finite point{'s' if c.n != 1 else ''} "
                    f"(at least {need} are needed): too few to judge overfitting, "
                    "plateaus or trends, so no other rule speaks about it."
                ),
                evidence={"points": c.n, "min_points": need},
            )
        )
    return findings

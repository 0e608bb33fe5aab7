"""Run every selected rule's detector on a run and collect the findings."""

from __future__ import annotations

from typing import Any

from loganalyzer.detectors import detector_for
from loganalyzer.findings import Finding, lead_rank, severity_rank
from loganalyzer.rulepack import load_rules


def diagnose(run, config: Any = None) -> list[Finding]:
    """Findings for ``run`` from the rules ``config`` selects: most severe first, then
    causes before symptoms (``LEAD_ORDER``), then by rule code."""
    findings: list[Finding] = []
    for rule in load_rules():
        if config is not None and not config.is_selected(rule.code):
            continue
        detect = detector_for(rule.kind)
        if detect is None:
            continue
        params = dict(rule.params)
        if config is not None:
            params.update(config.params_for(rule.code))
        findings.extend(detect(run, rule, params))
    from loganalyzer.detectors.column_mismatch import reconcile

    findings = reconcile(findings)
    findings.sort(key=lambda f: (-severity_rank(f.severity), lead_rank(f.kind), f.rule))
    return findings

"""Run every selected rule's detector on a run and collect the findings."""

from __future__ import annotations

from typing import Any

from loganalyzer.detectors import detector_for
from loganalyzer.errors import debugging
from loganalyzer.findings import Finding, lead_rank, severity_rank
from loganalyzer.rulepack import load_rules


def diagnose(run, config: Any = None, failures: list | None = None) -> list[Finding]:
    """Findings for ``run`` from the rules ``config`` selects: most severe first, then
    causes before symptoms (``LEAD_ORDER``), then by rule code.

    A rule whose detector raises (a bug) is left out and its failure added to
    ``failures`` as ``(rule, exception)``, so one rule's bug costs that rule, not the
    run; without a ``failures`` list, or under ``--debug``, the exception goes through.
    """
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
        try:
            found = detect(run, rule, params)
        except Exception as exc:  # noqa: BLE001 - contained to this rule, said by the caller
            if failures is None or debugging():
                raise
            failures.append((rule, exc))
            continue
        findings.extend(found)
    from loganalyzer.detectors.column_mismatch import reconcile

    findings = reconcile(findings)
    findings.sort(key=lambda f: (-severity_rank(f.severity), lead_rank(f.kind), f.rule))
    return findings

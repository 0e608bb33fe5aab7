"""Advice: from a run's findings to a ranked list of actions, in the user's framework.

Which actions a finding calls for, and how urgent each is, is data in the rule pack
(``[[advice]] action/priority`` in ``rules/LAxxx.toml``); how each action is sized
from this run's numbers lives in one module per action (``early_stopping.py``,
``regularize.py``, ...), with one snippet template per framework (Keras, Hugging Face
Trainer, Lightning, plain PyTorch) beside it. This module reads the whole run once
(:class:`~loganalyzer.advice.context.RunContext`: schedule, gradient norms, optimizer,
chance level, framework), asks each action whether it ``applies`` to such a run (no
"lower the rate" at a rate of 0, no "train longer" at chance level), then collects,
dedupes and ranks.

A healthy run gets **no advice**: :func:`advise` returns an empty list when no
finding reaches ``warning`` (info notes such as ``too-short`` or a benign
``val-below-train`` never call for a change; the one exception is an ``undertrained``
note, see :data:`ADVISE_ON_INFO`), and renderers show that empty list as
"nothing to fix". There is no "nothing to fix" :class:`~loganalyzer.findings.Advice`
object, so ``--format json`` has ``"advice": []`` and scripts need no special case.

Example:
    >>> from loganalyzer.analysis import to_run
    >>> run = to_run({"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.7, 0.6]})
    >>> advise(run, [])
    []
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from importlib import import_module

from loganalyzer.advice._common import AdviceContext
from loganalyzer.advice.context import RunContext
from loganalyzer.findings import Advice, Finding, lead_rank, severity_rank
from loganalyzer.rulepack import ADVICE_ACTIONS, Rule, RulePackError, rule_by_code
from loganalyzer.run import Run

#: Info findings that still call for their actions: a run stopped while improving is
#: not a defect (so it does not fail CI), but "train longer" is the advice it needs.
ADVISE_ON_INFO = frozenset({"undertrained"})

#: Findings read off a validation curve that a ``noisy`` warning says is mostly noise:
#: a "rise" or a "gap" on such a curve may be the noise itself (a spike near the end,
#: a lucky low early on). In a noisy run the actions only these findings call for
#: (early stopping, regularisation, ...) rank ``NOISE_DEMOTION`` priority levels lower,
#: after the noise's own remedies (a smaller rate, a larger batch): fix the cause
#: first, then see whether a gap is left.
READ_ON_NOISE = frozenset({"overfitting", "generalization-gap", "metric-disagreement"})
NOISE_DEMOTION = 2

__all__ = ["AdviceContext", "RunContext", "advise", "applies", "build_action"]

#: action -> module below ``loganalyzer.advice`` that builds it.
_MODULES = {
    "early-stopping": "early_stopping",
    "regularize": "regularize",
    "dropout": "dropout",
    "shrink": "shrink",
    "grow": "grow",
    "batch-norm": "batch_norm",
    "augment": "augment",
    "add-data": "add_data",
    "lower-lr": "lower_lr",
    "lr-schedule": "lr_schedule",
    "clip-gradients": "clip_gradients",
    "train-longer": "train_longer",
    "check-data": "check_data",
    "larger-batch": "larger_batch",
    "normalize-inputs": "normalize_inputs",
    "terminate-on-nan": "terminate_on_nan",
    "raise-lr": "raise_lr",
    "fix-lr": "fix_lr",
}


def _module(action: str):
    name = f"loganalyzer.advice.{_MODULES[action]}"
    return sys.modules.get(name) or import_module(name)  # asked per action of every run


def build_action(ctx: AdviceContext) -> Advice | None:
    """Build one action's advice (rank 0; :func:`advise` ranks), or ``None`` when the
    run lacks what the action needs (for example no curve to tune EarlyStopping on)."""
    return _module(ctx.action).build(ctx)


def applies(ctx: AdviceContext) -> bool:
    """Does the action fit this run at all? Each action module may define
    ``applies(ctx)``: the run's context can rule an action out whatever finding calls
    for it (``lower-lr`` at a learning rate of 0, ``batch-norm`` for a Trainer model)."""
    check = getattr(_module(ctx.action), "applies", None)
    return True if check is None else bool(check(ctx))


def advise(
    run: Run,
    findings: Iterable[Finding],
    *,
    rules: Callable[[str], Rule] | None = None,
    framework: str | None = None,
    context: RunContext | None = None,
) -> list[Advice]:
    """Ranked advice for ``run`` from its ``findings``.

    Every warning/error finding contributes the actions its rule lists; an action
    called for by several findings appears once, with all their rule codes in
    ``rules``. Ranking: the worst severity among the findings that call for an action
    first (fix what is broken before what is merely suboptimal: a diverged run's
    learning rate before its overfitting), then the best (lowest) rule-pack priority,
    then the number of findings that call for it, then the pack's action order.

    A run whose training loss blew up at its start and never learned after
    (:func:`~loganalyzer.advice.context.collapse`) has one cause behind whatever its
    findings read on what followed (a flat loss, a drifting validation loss): every
    warning calls for ``lower-lr`` first.

    The priority is the rule pack's, unless the run's context changes it: a builder
    may promote its action (``lower-lr`` after a blow-up at the start, ``raise-lr``
    for a loss that crawls) or demote it (``early-stopping`` that would not stop within
    the log), and in a run with a ``noisy`` warning the actions called for only by
    findings read on that noise rank lower (:data:`READ_ON_NOISE`).

    Args:
        run: The run the findings are about (numbers for the snippets come from it).
        findings: Its findings, as :func:`loganalyzer.diagnose.diagnose` returns them.
        rules: Rule lookup by code (default: the installed rule pack). Findings whose
            rule is unknown contribute no advice.
        framework: ``"keras"``, ``"hf"``, ``"lightning"`` or ``"pytorch"``: the API the
            snippets use (default: guessed from the log, see :mod:`loganalyzer.framework`).
        context: The run's context, when the caller already built it.

    Returns:
        Advice with ``rank`` 1, 2, ... ; an empty list when there is nothing to fix.

    Example:
        >>> from loganalyzer.analysis import to_run
        >>> from loganalyzer.rulepack import AdviceLink, Rule
        >>> pack = {"LA101": Rule("LA101", "overfitting", "warning", "t",
        ...                       advice=(AdviceLink("early-stopping", 1),))}
        >>> val = [1.0, 0.8, 0.65, 0.6, 0.58, 0.6, 0.64, 0.7, 0.75, 0.8, 0.86, 0.9]
        >>> run = to_run({"loss": [1.0 - 0.07 * i for i in range(12)], "val_loss": val})
        >>> f = Finding("LA101", "overfitting", "warning", "val_loss", 4, 11, "overfit")
        >>> [(a.rank, a.action, a.params["would_stop_at"]) for a in advise(run, [f], rules=pack.get)]
        [(1, 'early-stopping', 6)]
    """
    lookup = rules or _pack_rule
    all_findings = list(findings)
    if context is None:
        context = RunContext.of(run, all_findings, framework)
    wanted: dict[str, list[tuple[Finding, int]]] = {}
    warning = severity_rank("warning")
    rank = {id(f): severity_rank(f.severity) for f in all_findings}
    for f in all_findings:
        serious = rank[id(f)] >= warning
        if not serious and f.kind not in ADVISE_ON_INFO:
            continue
        rule = lookup(f.rule)
        if rule is None:
            continue
        for link in rule.advice:
            if link.action in _MODULES:
                wanted.setdefault(link.action, []).append((f, link.priority))
        if serious and context.collapse is not None:
            # What the findings read on a run wrecked in its first epoch has one cause.
            wanted.setdefault("lower-lr", []).append((f, 0))
    noisy = any(f.kind == "noisy" and rank[id(f)] >= warning for f in all_findings)
    built: list[tuple[tuple, Advice]] = []
    for action, calls in wanted.items():
        if len(calls) == 1:  # the usual case: one finding calls for the action
            ((f, priority),) = calls
            triggering, lead = [f], lead_rank(f.kind)
        else:
            calls.sort(key=lambda c: (c[1], -rank[id(c[0])], c[0].rule))
            triggering = []
            for f, _ in calls:
                if f not in triggering:
                    triggering.append(f)
            priority = min(p for _, p in calls)
            # the finding that gives the action its priority: a cause before a symptom
            lead = min(lead_rank(f.kind) for f, p in calls if p == priority)
        ctx = AdviceContext(run, action, triggering, all_findings, priority, context)
        if not applies(ctx):
            continue
        advice = build_action(ctx)
        if advice is None:
            continue
        if ctx.priority < priority:  # the builder promoted it (the run's context)
            priority, lead = ctx.priority, -1
        elif ctx.priority > priority:  # ... or demoted it (it cannot work on this run)
            priority = ctx.priority
        if noisy and all(f.kind in READ_ON_NOISE for f in triggering):
            priority += NOISE_DEMOTION
        worst = max(rank[id(f)] for f in triggering)
        key = (-worst, priority, lead, -len(triggering), ADVICE_ACTIONS.index(action))
        built.append((key, advice))
    built.sort(key=lambda kv: kv[0])
    names = {a.action for _, a in built}
    if {"grow", "shrink"} <= names:
        # A run both over- and under-fitting (validation rising after its best while
        # the training loss sits high, or the accuracy never moves) is not a question
        # of capacity: the two size changes cancel out, and the data, schedule and
        # regularisation advice remains.
        built = [(k, a) for k, a in built if a.action not in ("grow", "shrink")]
    out = []
    for rank, (_, advice) in enumerate(built, start=1):
        advice.rank = rank
        out.append(advice)
    return out


def _pack_rule(code: str) -> Rule | None:
    try:
        return rule_by_code(code)
    except RulePackError:
        return None

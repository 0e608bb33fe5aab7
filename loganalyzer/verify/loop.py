"""The closed loop: diagnose, try the advice, keep what helped, diagnose again.

``loganalyzer verify SPEC`` with no ``--fix`` runs it. Round 1 trains the model as
given over the seeds and analyses each run's log with the same detectors and advice
as ``loganalyzer analyze``. The advice that most seeds agree on is ranked, and the
first ``top`` actions that retraining can test are trained over the same seeds and
compared with the baseline, pair by pair, Holm-corrected when several fixes share the
baseline. The fix that helped and reaches the lowest validation loss is applied; the
next round starts from the model with that fix, reusing its runs as the new baseline
(same seeds, so nothing is trained twice), until ``rounds`` rounds are done, the
model shows no problem, or nothing tried helped. This is what AutoTrainer does with
its repair rules, with paired statistics deciding every step instead of one run.

Which fix is "best" when several helped: the one with the lowest mean value of the
metric it is judged on, i.e. the validation loss the user ends up with (the weights
EarlyStopping keeps; the best epoch for a fix that changes the model).

Example:
    >>> from loganalyzer.verify.demo import demo_spec
    >>> result = close_loop(demo_spec(), rounds=2, top=3, seeds=5)  # doctest: +SKIP
    >>> [r.chosen.label for r in result.rounds if r.chosen]  # doctest: +SKIP
    ['early-stopping(patience=4, ...)']
"""

from __future__ import annotations

import math
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loganalyzer.verify.experiment import (
    LOSSES,
    Progress,
    RunRecord,
    VariantResult,
    Verification,
    verify,
)
from loganalyzer.verify.fixes import DEFAULTS, UNTESTABLE, FixRequest
from loganalyzer.verify.model_facts import read_facts, refine
from loganalyzer.verify.stats import Comparison, paired

#: Why the loop stopped, as shown to users.
STOPS = {
    "healthy": "no problem found in most seeds: nothing to fix",
    "untestable": "no advice left that retraining can test",
    "nothing-helped": "none of the fixes tried helped significantly",
    "rounds": "all the rounds asked for are done (--rounds)",
    "interrupted": "interrupted (Ctrl-C)",
}

_SEVERITY = {"info": 0, "warning": 1, "error": 2}


@dataclass
class FindingTally:
    """One finding kind over the seeds of a model."""

    kind: str
    rule: str
    severity: str
    runs: int
    n: int
    message: str


@dataclass
class AdviceTally:
    """One advised action over the seeds of a model (params: median over the seeds;
    ``mean_rank``: its Borda rank over all seeds, see :func:`diagnose`)."""

    action: str
    runs: int
    n: int
    mean_rank: float
    rules: list[str]
    params: dict[str, Any]
    summary: str

    def request(self) -> FixRequest:
        """The fix to verify, with the numbers the advice computed."""
        known = DEFAULTS.get(self.action, {})
        params = {k: v for k, v in self.params.items() if k in known and v is not None}
        return FixRequest(self.action, params)


@dataclass
class Diagnosis:
    """What the analysis of every seed's log says about one model.

    Attributes:
        n: Seeds analysed.
        findings: Warning/error kinds, worst and most frequent first.
        notes: Info-level kinds.
        advice: Actions advised in at least half of the seeds, in rank order.
        errors: Seeds whose log could not be analysed, with why.
        warned: Seeds with at least one warning or error, whatever its kind.
    """

    n: int
    findings: list[FindingTally] = field(default_factory=list)
    notes: list[FindingTally] = field(default_factory=list)
    advice: list[AdviceTally] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warned: int = 0

    @property
    def problems(self) -> list[FindingTally]:
        """The warnings and errors of a model at least half of whose seeds have one.

        Counted by seed, not by kind: a run that broke in every seed may be read as
        overfitting in two seeds, a plateau in two and under-fitting in one (each kind
        a minority, the model broken in all five). Every kind found is listed, with
        the seeds it was found in."""
        return list(self.findings) if 2 * self.warned >= self.n > 0 else []

    @property
    def healthy(self) -> bool:
        """No warning or error in most seeds. Advice on info findings alone (train longer
        for a run still improving) is shown but not tried: ``analyze`` calls such a run
        clean, and the loop agrees with it."""
        return not self.problems


@dataclass
class Round:
    """One round of the loop.

    Attributes:
        number: 1, 2, ...
        applied: Fixes in place when the round started.
        diagnosis: What the analysis said about that model.
        tried: The fixes verified this round (advice order).
        skipped: Advice not tried, with why (``(action, reason)``).
        model_notes: How what the model shows re-ranked the advice
            (:mod:`loganalyzer.verify.model_facts`), one sentence each.
        verification: The comparison (``None`` when nothing was tried).
        chosen: The fix applied for the next round (``None``: none helped).
    """

    number: int
    applied: tuple[FixRequest, ...]
    diagnosis: Diagnosis
    tried: list[FixRequest] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    verification: Verification | None = None
    chosen: VariantResult | None = None
    model_notes: list[str] = field(default_factory=list)


@dataclass
class LoopResult:
    """Everything the closed loop did, in order (what the report tells)."""

    source: str
    seeds: list[int]
    epochs: int
    rounds: list[Round]
    applied: tuple[FixRequest, ...]
    final: Diagnosis | None
    overall: dict[str, Comparison]
    stop: str
    elapsed: float
    out_dir: str
    backend: str = "local"
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)  # the original model's runs

    @property
    def stop_text(self) -> str:
        return STOPS.get(self.stop, self.stop)


def close_loop(
    spec: Any,
    *,
    rounds: int = 2,
    top: int = 3,
    seeds: int = 5,
    epochs: int | None = None,
    out_dir: str | Path = "loganalyzer-verify",
    progress: Progress | None = None,
    backend: Any = None,
    first_seed: int = 1,
) -> LoopResult:
    """Diagnose the spec's model, verify its top advice, apply the best, repeat.

    Args:
        spec: A :class:`~loganalyzer.verify.spec.Spec`.
        rounds: Rounds of fixes at most (each applies at most one fix).
        top: Fixes tried per round: the first ``top`` testable actions of the advice.
        seeds: Seeds per model (the same seeds in every round: paired throughout).
        epochs: Epoch budget of the model as given (default: the spec's FIT or 20).
        out_dir: Logs go to ``round<r>/<variant>/seed<s>/`` under it.
        progress: Progress events (rounds, variants, seeds, epochs).
        backend: Where to train (default: this process).
        first_seed: The first seed.

    Returns:
        A :class:`LoopResult`; Ctrl-C ends the loop with what finished.
    """
    if rounds < 1 or top < 1:
        raise ValueError("rounds and top must be at least 1")
    progress = progress or Progress()
    started = time.perf_counter()
    common = dict(
        seeds=seeds, epochs=epochs, out_dir=out_dir, progress=progress, backend=backend,
        first_seed=first_seed,
    )  # fmt: skip
    progress.round_started(1, rounds, "training the model as given")
    first = verify(spec, [], folder="round1", **common)
    budget = first.epochs
    original = first.runs_of("baseline")
    baseline, applied = original, ()
    result = LoopResult(
        source=spec.source, seeds=list(first.seeds), epochs=budget, rounds=[], applied=(),
        final=None, overall={}, stop="rounds", elapsed=0.0, out_dir=str(out_dir),
        backend=first.backend, runs=original, notes=list(first.notes),
    )  # fmt: skip
    if first.interrupted or not original:
        result.stop, result.interrupted = "interrupted", first.interrupted
        result.elapsed = time.perf_counter() - started
        result.final = diagnose(original) if original else None
        return result
    common["seeds"] = list(first.seeds)  # the seeds every later model is paired on
    try:
        for number in range(1, rounds + 1):
            diagnosis, model_notes = refine(diagnose(baseline), read_facts(spec, applied))
            this = Round(number, applied, diagnosis, model_notes=model_notes)
            result.rounds.append(this)
            if diagnosis.healthy:
                result.stop = "healthy"
                break
            this.tried, this.skipped = choose_fixes(diagnosis, applied, top)
            if not this.tried:
                result.stop = "untestable"
                break
            progress.round_started(
                number, rounds, "trying " + ", ".join(r.label for r in this.tried)
            )
            motivating = {a.request().label: a.rules for a in diagnosis.advice}
            ver = verify(
                spec, this.tried, applied=applied, baseline_runs=baseline, motivating=motivating,
                folder=f"round{number}", **common,
            )  # fmt: skip
            this.verification = ver
            if ver.interrupted:
                result.stop, result.interrupted = "interrupted", True
                break
            this.chosen = best_fix(ver)
            if this.chosen is None:
                result.stop = "nothing-helped"
                if len(ver.seeds) < 5:
                    result.notes.append(
                        f"with {len(ver.seeds)} seeds only a large, consistent effect is significant "
                        f"(more so after the Holm correction); --seeds 5 narrows the intervals"
                    )
                break
            applied = applied + (this.chosen.request,)
            baseline = ver.runs_of(this.chosen.label)
            common["seeds"] = list(ver.seeds)
    except KeyboardInterrupt:  # outside a training (between runs, in an analysis)
        result.stop, result.interrupted = "interrupted", True
    result.applied = applied
    if result.rounds and result.rounds[-1].applied == applied:
        result.final = result.rounds[-1].diagnosis  # the last round's model is the final one
    elif result.interrupted:
        result.final = diagnose(baseline)
    else:  # the fixed model, read as every round reads its model
        result.final = refine(diagnose(baseline), read_facts(spec, applied))[0]
    if applied:
        result.overall = _overall(original, baseline)
    result.elapsed = time.perf_counter() - started
    return result


def diagnose(records: list[RunRecord]) -> Diagnosis:
    """Tally the re-analysis of each seed's log: findings and the advice most agree on."""
    n = len(records)
    diag = Diagnosis(n)
    # Per kind, the worst finding of each seed: a kind that is a warning in one seed and
    # info in four is a problem in one seed, not five.
    worst: dict[str, list[dict]] = {}
    for r in records:
        if r.analysis_error:
            diag.errors.append(f"seed {r.seed}: {r.analysis_error}")
        per_kind: dict[str, dict] = {}
        for f in r.findings:
            seen = per_kind.get(f["kind"])
            if seen is None or _SEVERITY.get(f["severity"], 0) > _SEVERITY.get(seen["severity"], 0):
                per_kind[f["kind"]] = f
        for kind, f in per_kind.items():
            worst.setdefault(kind, []).append(f)
        if any(f["severity"] != "info" for f in per_kind.values()):
            diag.warned += 1
    for kind, found in worst.items():
        problems = [f for f in found if f["severity"] != "info"]
        infos = [f for f in found if f["severity"] == "info"]
        if problems:
            top = max(problems, key=lambda f: _SEVERITY.get(f["severity"], 0))
            diag.findings.append(
                FindingTally(kind, top["rule"], top["severity"], len(problems), n, top["message"])
            )
        if infos:
            f = infos[0]
            diag.notes.append(FindingTally(kind, f["rule"], "info", len(infos), n, f["message"]))
    diag.findings.sort(key=lambda t: (-_SEVERITY[t.severity], -t.runs, t.kind))
    diag.notes.sort(key=lambda t: (-t.runs, t.kind))
    advised: dict[str, list[dict]] = {}
    for r in records:
        for a in r.advice:
            advised.setdefault(a["action"], []).append(a)
    for action, items in advised.items():
        if 2 * len(items) < n:
            continue  # advice only a minority of seeds gives is the noise of one run
        rules = sorted({code for a in items for code in a["rules"]})
        diag.advice.append(
            AdviceTally(
                action, len(items), n, _borda_rank(action, records), rules,
                _median_params([a["params"] for a in items]), items[0]["summary"],
            )
        )  # fmt: skip
    diag.advice.sort(key=lambda a: (a.mean_rank, -a.runs))
    return diag


def _borda_rank(action: str, records: list[RunRecord]) -> float:
    """The action's mean rank over every seed, a seed that did not advise it counting it
    right after its last advice (a Borda count). Averaging only over the seeds that gave
    it would put advice three seeds of five rank first before advice all five give."""
    ranks = []
    for r in records:
        given = [a["rank"] for a in r.advice if a["action"] == action]
        ranks.append(given[0] if given else max((a["rank"] for a in r.advice), default=0) + 1)
    return statistics.mean(ranks)


def choose_fixes(
    diagnosis: Diagnosis, applied: tuple[FixRequest, ...], top: int
) -> tuple[list[FixRequest], list[tuple[str, str]]]:
    """The first ``top`` testable actions of the advice, and why the others were skipped."""
    tried: list[FixRequest] = []
    skipped: list[tuple[str, str]] = []
    done = {r.action for r in applied}
    for advice in diagnosis.advice:
        if len(tried) >= top:
            break
        if advice.action in UNTESTABLE:
            skipped.append((advice.action, UNTESTABLE[advice.action]))
        elif advice.action not in DEFAULTS:
            skipped.append((advice.action, "verify cannot apply this action to a model yet"))
        elif advice.action in done:
            skipped.append((advice.action, "already applied in an earlier round"))
        else:
            tried.append(advice.request())
    return tried, skipped


def best_fix(verification: Verification) -> VariantResult | None:
    """Among the fixes that helped (after the Holm correction), the one whose runs reach
    the lowest validation loss on the metric it is judged on; ``None`` when none helped.
    A learning curve (add-data) informs but is not a fix to apply."""
    helped = [v for v in verification.helped if v.curve is None and math.isfinite(v.fixed_value)]
    return min(helped, key=lambda v: v.fixed_value, default=None)


def _overall(before: list[RunRecord], after: list[RunRecord]) -> dict[str, Comparison]:
    """The model as given against the model with every applied fix, paired by seed."""
    b = {r.seed: r.metrics() for r in before}
    a = {r.seed: r.metrics() for r in after}
    seeds = [s for s in b if s in a]
    return {
        m: paired([b[s][m] for s in seeds], [a[s][m] for s in seeds], ratio=True) for m in LOSSES
    }


def _median_params(dicts: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in dict.fromkeys(k for d in dicts for k in d):
        values = [d[key] for d in dicts if key in d and d[key] is not None]
        if not values:
            continue
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            med = statistics.median(values)
            out[key] = int(round(med)) if all(isinstance(v, int) for v in values) else float(med)
        else:
            out[key] = Counter(map(repr, values)).most_common(1)[0][0]
            out[key] = next(v for v in values if repr(v) == out[key])
    return out

"""Run the baseline and each fix over the same seeds, write their logs, and compare.

For every seed ``s``, the baseline and each fix are trained after
``keras.utils.set_random_seed(s)``, so a fix and the baseline see the same data order
and the same randomness wherever the model allows it. The local backend runs seed by
seed, so an interrupted verification (Ctrl-C) still holds complete pairs for the seeds
it finished; the Ray backend runs every (variant, seed) job at once on a cluster and
returns the same records (see :mod:`loganalyzer.verify.backends`).

Every run writes ``DIR/<variant>/seed<s>/training.csv`` (``keras.callbacks.CSVLogger``)
and ``history.json`` (``json.dump(history.history)``) and is analysed again with
:func:`loganalyzer.analyze`, so the report can say whether the finding that motivated a
fix is gone. When several fixes are judged against the same baseline, their p-values
are Holm-corrected (the verdict of each fix needs its adjusted p below 0.05).

The closed loop (:mod:`loganalyzer.verify.loop`) calls :func:`verify` once per round
with the fixes applied so far (``applied``) and the previous round's winning runs as
the baseline (``baseline_runs``), so nothing is trained twice.

Example:
    >>> from loganalyzer.verify.demo import demo_spec
    >>> from loganalyzer.verify.fixes import parse_fix
    >>> result = verify(demo_spec(), [parse_fix("dropout")], seeds=2, epochs=5,
    ...                 out_dir="out")  # doctest: +SKIP
    >>> result.variants[0].verdict  # doctest: +SKIP
    'helped'
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from loganalyzer.verify.fixes import FixRequest, apply_chain
from loganalyzer.verify.stats import (
    ALPHA,
    NO_CHANGE,
    Comparison,
    PowerLaw,
    SignTest,
    diminishing,
    fit_power_law,
    holm,
    paired,
    sign_test,
)
from loganalyzer.verify.training import (  # noqa: F401  (RunRecord, METRICS: public here too)
    METRICS,
    PENALTY,
    Job,
    RunRecord,
    reanalyse,
    slug,
)

#: Finding kinds each fix is meant to remove (used when no advice names the rules).
TARGETS: dict[str, tuple[str, ...]] = {
    "regularize": ("overfitting",),
    "dropout": ("overfitting",),
    "shrink": ("overfitting",),
    "grow": ("underfitting",),
    "augment": ("overfitting",),
    "add-data": ("overfitting",),
    "early-stopping": ("overfitting",),
    "batch-norm": ("plateau", "underfitting"),
    "lower-lr": ("divergence", "loss-spike", "noisy"),
    "raise-lr": ("underfitting", "plateau", "undertrained"),
    "fix-lr": ("underfitting", "plateau"),
    "clip-gradients": ("divergence", "loss-spike"),
    "lr-schedule": ("plateau", "noisy"),
    "normalize-inputs": ("divergence", "underfitting", "noisy"),
    "train-longer": ("undertrained",),
    "larger-batch": ("noisy",),
}

#: What each fix is judged on. EarlyStopping cannot lower the best loss of an identical
#: training path, and more epochs always reach a best at least as low, so both are
#: judged on the weights the run ends with; every other fix on the best val loss.
PRIMARY = {"early-stopping": "kept_val_loss", "train-longer": "kept_val_loss"}

#: Metrics that are losses: compared as ratios per seed (see :func:`~loganalyzer.verify.stats.paired`).
LOSSES = ("best_val_loss", "kept_val_loss")


@dataclass
class DataCurve:
    """add-data: best validation loss against training-set size, and the power law."""

    fractions: list[float]
    sizes: list[float]
    per_seed: dict[float, list[float]]
    mean: list[float]
    fit: PowerLaw | None
    fit_error: str | None
    diminishing: bool | None
    unit: str = "samples"


@dataclass
class FindingStatus:
    """Whether a motivating finding is still there after the fix."""

    kind: str
    baseline_runs: int
    fixed_runs: int
    n: int
    checkable: bool = True
    reason: str = "no detector for it is available"

    @property
    def status(self) -> str:
        if not self.checkable:
            return f"cannot be checked ({self.reason})"
        if self.baseline_runs == 0:
            return "not found in the baseline runs"
        if self.fixed_runs == 0:
            return "gone"
        if self.fixed_runs < self.baseline_runs:
            return "reduced"
        return "still there"

    def text(self) -> str:
        if not self.checkable:
            return f"{self.kind}: {self.status}"
        return (
            f"{self.kind}: {self.status} (baseline {self.baseline_runs}/{self.n} runs, "
            f"fixed {self.fixed_runs}/{self.n})"
        )


@dataclass
class VariantResult:
    """The verdict for one fix.

    Attributes:
        p_holm: The primary metric's p-value after the Holm correction over the fixes
            judged on the same baseline (``None`` when only one fix was judged).
        family: How many fixes shared that baseline (the Holm family size).
        seconds: Mean training time of one of its runs.
        epochs_budget: Epochs each of its runs could train (``train-longer`` raises it).
    """

    request: FixRequest
    primary: str
    comparisons: dict[str, Comparison]
    epochs_saved: float | None = None
    findings: list[FindingStatus] = field(default_factory=list)
    curve: DataCurve | None = None
    notes: list[str] = field(default_factory=list)
    diverged: tuple[int, int, int] = (0, 0, 0)  # baseline runs, fixed runs, pairs
    divergence_test: SignTest | None = None
    p_holm: float | None = None
    family: int = 1
    seconds: float = 0.0
    epochs_budget: int | None = None

    @property
    def label(self) -> str:
        return self.request.label

    @property
    def p_primary(self) -> float | None:
        """The p-value the verdict rests on, before any multiple-testing correction."""
        c = self.comparisons.get(self.primary)
        if c is None:
            return None
        if c.n == 0 and self.divergence_test is not None:
            return self.divergence_test.p
        return None if math.isnan(c.p_t) else c.p_t

    @property
    def uncorrected_verdict(self) -> str:
        """The verdict from this fix's own test, as if it were the only fix judged."""
        if self.curve is not None:
            return "see data curve"
        c = self.comparisons.get(self.primary)
        if c is not None and c.n == 0 and self.divergence_test is not None:
            # No pair has finite numbers to compare: the evidence is which side diverged.
            return self.divergence_test.verdict
        return c.verdict if c is not None else NO_CHANGE

    @property
    def verdict(self) -> str:
        verdict = self.uncorrected_verdict
        if verdict in ("helped", "hurt") and self.p_holm is not None and self.p_holm >= ALPHA:
            return NO_CHANGE  # significant alone, not once the other fixes are counted
        return verdict

    @property
    def fixed_value(self) -> float:
        """Mean of the primary metric over the fixed runs (what taking this fix gives)."""
        c = self.comparisons.get(self.primary)
        return math.nan if c is None else c.fixed_mean


@dataclass
class Verification:
    """Everything a verification produced (what the table and the report show).

    Attributes:
        applied: Fixes every variant (and the baseline) already had: the loop's fixes
            from earlier rounds; empty for a plain ``verify --fix``.
        lost: Jobs the backend could not bring back (a Ray worker lost more often
            than it retries), as ``"label seed s: why"``.
        backend: Where the runs trained (``local`` or ``ray``).
    """

    source: str
    seeds: list[int]
    epochs: int
    requests: list[FixRequest]
    runs: list[RunRecord]
    variants: list[VariantResult]
    out_dir: str
    elapsed: float
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)
    applied: tuple[FixRequest, ...] = ()
    lost: list[str] = field(default_factory=list)
    backend: str = "local"

    def runs_of(self, label: str, fraction: float = 1.0) -> list[RunRecord]:
        return [r for r in self.runs if r.label == label and r.fraction == fraction]

    @property
    def helped(self) -> list[VariantResult]:
        return [v for v in self.variants if v.verdict == "helped"]

    @property
    def holm_applied(self) -> bool:
        return any(v.p_holm is not None for v in self.variants)


class Progress:
    """What the experiment reports while it runs (the CLI draws a rich bar from it)."""

    def start(self, total_epochs: int) -> None: ...
    def run_started(self, label: str, seed: int) -> None: ...
    def epoch_done(self) -> None: ...
    def run_done(self, skipped_epochs: int) -> None: ...
    def describe(self, text: str) -> None:
        """Free text for what is running (a backend that trains many runs at once)."""

    def round_started(self, number: int, total: int, what: str) -> None:
        """The closed loop began round ``number`` of at most ``total``."""


def verify(
    spec: Any,
    requests: list[FixRequest],
    *,
    seeds: int | list[int] = 3,
    epochs: int | None = None,
    out_dir: str | Path = "loganalyzer-verify",
    progress: Progress | None = None,
    motivating: dict[str, list[str]] | None = None,
    first_seed: int = 1,
    applied: tuple[FixRequest, ...] = (),
    baseline_runs: list[RunRecord] | None = None,
    folder: str = "",
    backend: Any = None,
) -> Verification:
    """Train the baseline and each fix over ``seeds`` seeds and compare them.

    Args:
        spec: A :class:`~loganalyzer.verify.spec.Spec`.
        requests: The fixes to verify (none: only the baseline is trained).
        seeds: Number of seeds (``first_seed``, ``first_seed + 1``, ...), or the seeds.
        epochs: Epoch budget; defaults to ``spec.fit["epochs"]`` or 20.
        out_dir: Where run logs go (``<folder>/<variant>/seed<s>/``).
        progress: Receives progress events (see :class:`Progress`).
        motivating: fix label -> finding kinds it should remove (from advice); defaults
            to :data:`TARGETS`.
        first_seed: The first seed.
        applied: Fixes already applied to the model (every variant builds on them).
        baseline_runs: Finished runs of the baseline (the model with ``applied``) to
            reuse instead of training it again, one per seed.
        folder: Sub-folder of ``out_dir`` for this verification's runs (``round2``).
        backend: Where to train (:func:`loganalyzer.verify.backends.get_backend`);
            default: in this process.

    Returns:
        A :class:`Verification`. Ctrl-C during training discards the runs in progress
        and returns what finished, with ``interrupted=True``.

    Raises:
        FixError: a fix does not apply to this model (checked before any training).
        SpecError: the spec's model or data are unusable.
    """
    from loganalyzer.verify.backends import LocalBackend
    from loganalyzer.verify.keras_env import require_keras

    keras = require_keras()
    progress = progress or Progress()
    backend = backend or LocalBackend()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    budget = int(epochs if epochs is not None else spec.fit.get("epochs", 20))
    if budget < 1:
        raise ValueError("epochs must be at least 1")
    if isinstance(seeds, int):
        seed_list = list(range(first_seed, first_seed + seeds))
    else:
        seed_list = [int(s) for s in seeds]
    applied = tuple(applied)
    reused = {r.seed: replace(r, label="baseline", action=None) for r in baseline_runs or []}

    # The jobs of one seed: baseline first, then each fix (add-data: each smaller fraction).
    variants: list[tuple[str, FixRequest | None, float]] = [("baseline", None, 1.0)]
    for req in requests:
        if req.action == "add-data":
            for frac in sorted(float(f) for f in req.resolved()["fractions"]):
                if frac < 1.0:
                    variants.append((f"{req.label}@{frac:.0%}", req, frac))
        else:
            variants.append((req.label, req, 1.0))
    prefix = f"{folder.strip('/')}/" if folder else ""
    jobs = [
        Job(
            label,
            applied + ((req,) if req is not None else ()),
            seed,
            budget,
            f"{prefix}{slug(label)}/seed{seed}",
            frac,
            req,
        )
        for seed in seed_list
        for label, req, frac in variants
        if not (req is None and seed in reused)
    ]
    # Apply every fix once before training anything: a fix that does not fit the model
    # (lr-schedule on a schedule optimizer, dropout without hidden layers) fails now,
    # not after minutes of baseline training.
    for req in [None, *requests]:
        chain = applied + ((req,) if req is not None and req.action != "add-data" else ())
        apply_chain(chain, spec.new_model(), spec.data, {**spec.fit, "epochs": budget})
    keras.utils.clear_session()
    fit = {k: v for k, v in spec.fit.items() if k != "callbacks"}
    progress.start(sum(job.budget(fit) for job in jobs))

    runs: list[RunRecord] = list(reused.values())
    lost: list[str] = []
    interrupted = False
    started = time.perf_counter()
    try:
        for item in backend.run(spec, jobs, out, progress):
            if isinstance(item, RunRecord):
                runs.append(item)
            else:
                lost.append(str(item))
    except KeyboardInterrupt:
        interrupted = True
    elapsed = time.perf_counter() - started

    # Only seeds where every job finished are compared (complete pairs).
    per_seed = len(variants)
    done = [s for s in seed_list if sum(r.seed == s for r in runs) == per_seed]
    runs_done = sorted(
        (r for r in runs if r.seed in done), key=lambda r: (r.seed, _order(variants, r))
    )
    for r in runs_done:
        if r.seed not in reused or r.label != "baseline":
            reanalyse(r)
    result = Verification(
        source=spec.source,
        seeds=done,
        epochs=budget,
        requests=list(requests),
        runs=runs_done,
        variants=[],
        out_dir=str(out),
        elapsed=elapsed,
        interrupted=interrupted,
        applied=applied,
        lost=lost,
        backend=getattr(backend, "name", "local"),
    )
    if len(done) < 2:
        result.notes.append(
            f"{len(done)} complete seed(s): no confidence interval or test is possible; "
            "use --seeds 3 or more"
        )
    if interrupted:
        result.notes.append(
            f"interrupted: compared the {len(done)} seed(s) that finished for every variant"
        )
    for item in lost:
        result.notes.append(f"lost on the cluster after every retry: {item}")
    for req in requests:
        kinds = (motivating or {}).get(req.label) or list(TARGETS.get(req.action, ()))
        result.variants.append(_summarise(result, req, kinds, spec))
    correct_for_multiplicity(result.variants)
    return result


def correct_for_multiplicity(variants: list[VariantResult]) -> None:
    """Holm-correct the primary p-values of fixes judged on the same baseline.

    With one fix there is nothing to correct (``p_holm`` stays ``None``). A fix with
    no test at all (fewer than 2 pairs) counts in the family with p = 1.
    """
    judged = [v for v in variants if v.curve is None]
    if len(judged) < 2:
        return
    raw = [v.p_primary for v in judged]
    adjusted = holm([1.0 if p is None else p for p in raw])
    for v, p in zip(judged, adjusted, strict=True):
        v.p_holm = p
        v.family = len(judged)


def _order(variants: list[tuple[str, FixRequest | None, float]], record: RunRecord) -> int:
    for i, (label, _, frac) in enumerate(variants):
        if record.label == label and record.fraction == frac:
            return i
    return len(variants)


# ---------------------------------------------------------------------------- summaries
def _summarise(result: Verification, req: FixRequest, kinds: list[str], spec) -> VariantResult:
    base = {r.seed: r for r in result.runs_of("baseline")}
    if req.action == "add-data":
        curve = _data_curve(result, req, spec)
        return VariantResult(req, "best_val_loss", {}, curve=curve)
    fixed = {r.seed: r for r in result.runs_of(req.label)}
    seeds = [s for s in result.seeds if s in base and s in fixed]
    comparisons = {}
    for metric in METRICS:
        b = [base[s].metrics()[metric] for s in seeds]
        f = [fixed[s].metrics()[metric] for s in seeds]
        comparisons[metric] = paired(b, f, ratio=metric in LOSSES)
    primary = PRIMARY.get(req.action, "best_val_loss")
    saved = None
    if req.action == "early-stopping" and seeds:
        saved = float(np.mean([fixed[s].epochs_budget - fixed[s].epochs_run for s in seeds]))
    statuses = []
    for kind in kinds:
        nb = sum(_has(base[s], kind) for s in seeds)
        nf = sum(_has(fixed[s], kind) for s in seeds)
        status = FindingStatus(kind, nb, nf, len(seeds), _detectable(kind))
        failed = [base[s] for s in seeds if base[s].analysis_error] + [
            fixed[s] for s in seeds if fixed[s].analysis_error
        ]
        if failed:
            status.checkable = False
            status.reason = f"the run logs could not be analysed: {failed[0].analysis_error}"
        statuses.append(status)
    notes = []
    budget = max((fixed[s].epochs_budget for s in seeds), default=result.epochs)
    if seeds and req.action != "early-stopping":
        last = budget - 1
        late = [s for s in seeds if fixed[s].metrics()["best_epoch"] >= 0.8 * last]
        if len(late) == len(seeds) and last >= 4:
            notes.append(
                f"the fixed runs were still improving near the end of the {budget}-epoch "
                "budget (best epoch "
                + ", ".join(str(int(fixed[s].metrics()["best_epoch"])) for s in seeds)
                + "); this fix may need more epochs to show its effect (try --epochs "
                f"{2 * budget})"
            )
    diverged = (
        sum(base[s].diverged for s in seeds),
        sum(fixed[s].diverged for s in seeds),
        len(seeds),
    )
    test = None
    if diverged[0] or diverged[1]:
        test = sign_test(
            sum(base[s].diverged and not fixed[s].diverged for s in seeds),
            sum(fixed[s].diverged and not base[s].diverged for s in seeds),
        )
        notes.append(
            f"runs with a NaN/inf loss: baseline {diverged[0]}/{len(seeds)}, "
            f"fixed {diverged[1]}/{len(seeds)} (exact sign test on the pairs where only one "
            f"side diverged: p = {test.p:.3g}); a pair whose metric is not finite is left "
            "out of the other statistics"
        )
    seconds = float(np.mean([fixed[s].seconds for s in seeds])) if seeds else 0.0
    return VariantResult(
        req, primary, comparisons, saved, statuses, notes=notes, diverged=diverged,
        divergence_test=test, seconds=seconds, epochs_budget=budget,
    )  # fmt: skip


def _detectable(kind: str) -> bool:
    """Whether a detector for ``kind`` (or rule code ``LAxxx``) exists in this install."""
    if kind.startswith("LA"):
        return True
    try:
        from loganalyzer.detectors import detector_for

        return detector_for(kind) is not None
    except Exception:  # the detector registry is not importable: cannot tell
        return True


def _has(record: RunRecord, kind: str) -> bool:
    """A warning or error of this kind (or rule code) in the run's re-analysis."""
    return any(
        (f["kind"] == kind or f["rule"] == kind) and f["severity"] != "info"
        for f in record.findings
    )


def _data_curve(result: Verification, req: FixRequest, spec) -> DataCurve:
    fractions = sorted({float(f) for f in req.resolved()["fractions"]} | {1.0})
    n_full = spec.data.n_train() or 1
    per_seed: dict[float, list[float]] = {}
    for frac in fractions:
        label = "baseline" if frac >= 1.0 else f"{req.label}@{frac:.0%}"
        runs = {r.seed: r for r in result.runs if r.label == label}
        per_seed[frac] = [runs[s].metrics()["best_val_loss"] for s in result.seeds if s in runs]
    sizes = [max(1, int(round(n_full * f))) for f in fractions]
    mean = [float(np.nanmean(per_seed[f])) if per_seed[f] else math.nan for f in fractions]
    fit, err, dim = None, None, None
    try:
        fit = fit_power_law(sizes, mean)
        last_half = None
        if 0.5 in per_seed and per_seed[0.5]:
            last_half = mean[fractions.index(0.5)] - mean[-1]
        dim = diminishing(fit, last_half)
    except (ValueError, RuntimeError) as exc:
        err = str(exc)
    unit = "batches" if spec.data.is_dataset else "samples"
    return DataCurve(fractions, [float(s) for s in sizes], per_seed, mean, fit, err, dim, unit)

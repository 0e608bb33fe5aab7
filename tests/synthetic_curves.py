"""A seeded, labelled suite of synthetic training logs with known truth.

Each :class:`LabelledRun` is one training log (train/validation loss, sometimes
accuracy and learning rate) built from a noiseless shape whose truth is known by
construction, then given noise and an offset. The grid is

- lengths: 12, 30 and 100 points are Keras-style epoch logs (index 0, 1, 2, ...);
  1000 points is a step-indexed log (steps 100, 200, ..., as a trainer logs every
  100 optimizer steps);
- noise: multiplicative Gaussian noise whose standard deviation is 0 %, 0.5 % or
  2 % of the curve's own (noiseless, positive) level at that point, drawn
  independently for every curve; the ``noisy`` kind uses 10 %, 15 % and 20 %;
- offsets, applied after the noise to every loss curve (never to accuracy):
  ``plain`` (positive cross-entropy-like values), ``negative`` (``10 * x - 25``:
  SI-SNR-like losses around -20), ``zero`` (the training loss is driven to exactly
  0.0 and stays there, as a memorising model does with MSE; only for kinds where
  that is physically possible) and ``huge-first`` (the first training-loss value is
  30-100x the second, as the first-epoch mean of an unnormalised regression is).
  ``underfitting`` gets no ``negative`` offset: "flat at a high level" has no
  meaning once the loss is shifted by an unknown constant (an SI-SNR loss has no
  chance level), so the truth would not be identifiable from the log.

The truth of each kind (``n`` = length, positions counted from 0):

- ``healthy`` -- both losses fall exponentially (time constant n/9..n/7, so the
  last 20 % improves by well under 5 %) to floors with a small constant gap
  (validation 3-10 % above training; with the ``zero`` offset the training loss
  reaches exactly 0 at 70 % of the run while validation settles at its own floor
  0.15-0.45). The negative class for every kind.
- ``overfitting`` -- training keeps falling (time constant n/4) to the end;
  validation falls exponentially (time constant onset/3) until the true onset
  (30-60 % of the run), where its noiseless minimum lies, then rises by 15-60 % of
  its best value, linearly or convexly, to the end. ``onset`` is the index of that
  minimum in the log's own numbering. When accuracy is logged, validation accuracy
  peaks at the onset and then falls by 2-5 points.
- ``metric-disagreement`` -- the losses of ``overfitting`` (and therefore also an
  overfitting positive), with validation accuracy that keeps rising after the
  onset (by 3-8 points, to the end).
- ``divergence`` -- a healthy start, then from a position k in 40-80 % of the run
  either every loss is NaN (``nan``), or the training loss (and validation loss)
  jumps 10-1000x and stays up, growing or flat (``blowup``), or jumps to the
  chance level ln(10) ~ 2.3 >= 3x the level and stays there (``dead``).
- ``loss-spike`` -- a healthy run with one narrow spike (1 point in epoch logs,
  1-3 points in step logs) 3-10x the local training loss at 30-70 % of the run,
  recovering to the trend right after; in half of the runs the validation loss
  spikes 3-6x at the same index.
- ``plateau`` -- both losses fall until 20 % of the run, are flat (noise only)
  from 20 % to 60 %, then fall by 40-60 % until 75 % and converge. No learning-rate
  drop ends the plateau (that one is info by contract).
- ``noisy`` -- a healthy-shaped run whose losses only fall by 20-40 %, with noise
  of 10-20 % of the level on both curves.
- ``underfitting`` -- the training loss starts near the chance level of a 10-class
  problem and, within the first 15 % of the run, flattens at 75-95 % of its start;
  the validation loss stays within 0-3 % of it. In half of the runs it never
  moves at all (stuck at ln(10)) and accuracy ~ 0.1 is logged.
- ``undertrained`` -- both losses still fall at the end: linearly (the last 20 %
  improves by >= 20 %) or exponentially with a time constant of 1-1.5 n (>= 10 %).
- ``val-below-train`` -- a healthy-shaped run whose validation loss is 80-90 % of
  the training loss throughout (dropout/augmentation in training).

Example:
    >>> runs = build_suite(seed=0)
    >>> sorted({r.kind for r in runs})[:3]
    ['divergence', 'healthy', 'loss-spike']
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

KINDS = (
    "overfitting",
    "divergence",
    "loss-spike",
    "plateau",
    "noisy",
    "underfitting",
    "undertrained",
    "val-below-train",
    "metric-disagreement",
)
"""Every kind with a detector under test (``healthy`` is the negative class)."""

LENGTHS = (12, 30, 100, 1000)
NOISES = (0.0, 0.005, 0.02)
NOISY_NOISES = (0.10, 0.15, 0.20)
OFFSETS = ("plain", "negative", "zero", "huge-first")
STEP_LENGTH = 1000  # runs this long are step-indexed
STEP_STRIDE = 100

# Kinds whose training loss can physically reach exactly zero.
_ZERO_OK = {"healthy", "overfitting", "metric-disagreement", "loss-spike", "plateau"}

# Physically implied secondary findings: not counted as false positives on runs of
# the key kind (nor as true positives). Everything else not in ``labels`` is a false
# positive.
IMPLIED: dict[str, frozenset[str]] = {
    # the jump into divergence is a jump; a loss stuck up after it is flat
    "divergence": frozenset({"loss-spike", "plateau"}),
    # a training loss that flattens at a high level is a stretch without improvement
    "underfitting": frozenset({"plateau"}),
}


@dataclass
class LabelledRun:
    """One synthetic training log and its truth.

    Args:
        id: Stable identifier, e.g. ``"overfitting/n100/noise0.02/plain/0"``.
        kind: The kind it was generated as (``"healthy"`` for the negatives).
        labels: Kinds a correct tool must report (warning/error; any severity for
            ``val-below-train``).
        implied: Kinds that may also be reported without counting as false positives.
        data: Column name -> values (``loss``, ``val_loss``, optionally ``accuracy``,
            ``val_accuracy``, ``learning_rate``).
        index: The log's own numbering (epochs 0..n-1, or steps).
        index_name: ``"epoch"`` or ``"step"``.
        onset: True overfitting onset in the log's numbering (overfitting runs only).
        params: The grid point and drawn parameters, for reports.
    """

    id: str
    kind: str
    labels: frozenset[str]
    implied: frozenset[str]
    data: dict[str, list[float]]
    index: list[int]
    index_name: str
    onset: int | None = None
    params: dict = field(default_factory=dict)

    def as_input(self):
        """What ``loganalyzer.analysis.to_run`` takes: a dict of lists for epoch logs,
        a DataFrame indexed by ``step`` for step logs."""
        if self.index_name == "epoch":
            return {k: list(v) for k, v in self.data.items()}
        frame = pd.DataFrame(self.data, index=pd.Index(self.index, name="step"))
        return frame

    @property
    def length(self) -> int:
        return len(self.index)


def _exp(t: np.ndarray, start: float, floor: float, tau: float) -> np.ndarray:
    return floor + (start - floor) * np.exp(-t / tau)


def _noisy(rng: np.random.Generator, base: np.ndarray, frac: float) -> np.ndarray:
    """Multiplicative noise: sd = frac * level (a level of exactly 0 stays 0)."""
    if frac == 0:
        return base.copy()
    return base * (1.0 + frac * rng.standard_normal(base.shape))


def _zero_train(t: np.ndarray, start: float, n: int) -> np.ndarray:
    """A training loss that falls exponentially and reaches exactly 0 at 70 % of the run."""
    tau = n / 7
    t0 = 0.7 * (n - 1)
    b = start * math.exp(-t0 / tau)
    return np.maximum(0.0, start * np.exp(-t / tau) - b)


def _shapes(kind: str, t: np.ndarray, offset: str, rng: np.random.Generator) -> dict:
    """Noiseless curves (positive units) at times ``t`` and truth for one run of ``kind``."""
    n = len(t)
    start = rng.uniform(1.8, 2.6)
    out: dict = {"onset": None, "extra": {}}
    floor_t = rng.uniform(0.15, 0.45)
    tau = n / rng.uniform(7, 9)
    gap = rng.uniform(0.03, 0.10)

    def healthy() -> tuple[np.ndarray, np.ndarray]:
        if offset == "zero":  # memorised training set, validation at its own floor
            train = _zero_train(t, start, n)
            val = _exp(t, start * 1.02, floor_t, tau)
        else:
            train = _exp(t, start, floor_t, tau)
            val = _exp(t, start * 1.02, floor_t * (1 + gap), tau)
        return train, val

    if kind in ("healthy", "loss-spike", "divergence"):
        train, val = healthy()
    elif kind in ("overfitting", "metric-disagreement"):
        onset = int(round(rng.uniform(0.3, 0.6) * (n - 1)))
        out["onset"] = onset
        train = _zero_train(t, start, n) if offset == "zero" else _exp(t, start, 0.05, n / 4)
        v_floor = rng.uniform(0.25, 0.5)
        v = _exp(t, start * 1.02, v_floor, max(onset / 3, 0.8))
        rise = rng.uniform(0.15, 0.6)
        gamma = rng.choice([1.0, 1.5])
        after = np.clip((t - onset) / (n - 1 - onset), 0, None) ** gamma
        val = np.where(t <= onset, v, v[onset] * (1 + rise * after))
        out["extra"]["rise"] = rise
    elif kind == "plateau":
        p_level = rng.uniform(0.8, 1.2)
        a, b, c = int(0.2 * n), int(0.6 * n), int(0.75 * n)
        drop = rng.uniform(0.4, 0.6)
        train = np.empty(n)
        first = _exp(t, start, p_level, max(a / 4, 0.5))
        train[:b] = np.where(t[:b] < a, first[:b], p_level)
        low = 0.0 if offset == "zero" else p_level * (1 - drop)
        tau2 = max((c - b) / 3, 0.5)
        train[b:] = low + (p_level - low) * np.exp(-(t[b:] - b + 1) / tau2)
        if offset == "zero":
            train[c:] = 0.0
        val = train * (1 + gap) + (0.05 if offset == "zero" else 0.0)
    elif kind == "noisy":
        end = start * rng.uniform(0.6, 0.8)
        train = _exp(t, start, end, tau)
        val = train * (1 + gap)
    elif kind == "underfitting":
        chance = math.log(10)
        if rng.random() < 0.5:
            train = np.full(n, chance)
            val = np.full(n, chance * 1.002)
            out["extra"]["accuracy"] = ("chance", 0.1)
        else:
            s = chance * rng.uniform(1.0, 1.05)
            level = s * rng.uniform(0.75, 0.95)
            train = _exp(t, s, level, max(0.15 * n / 4, 0.6))
            val = train * (1 + rng.uniform(0.0, 0.03))
            if rng.random() < 0.5:
                out["extra"]["accuracy"] = ("low", rng.uniform(0.2, 0.35))
    elif kind == "undertrained":
        if rng.random() < 0.5:
            train = start * (1 - rng.uniform(0.6, 0.75) * t / (n - 1))
        else:
            train = _exp(t, start, 0.05, n * rng.uniform(1.0, 1.5))
        val = train * (1 + gap)
    elif kind == "val-below-train":
        train = _exp(t, start, floor_t, tau)
        val = train * rng.uniform(0.8, 0.9)
    else:
        raise ValueError(kind)
    out["train"], out["val"] = train, val
    return out


def make_run(
    kind: str, n: int, noise: float, offset: str, rep: int, seed: int, keras_lag: bool = False
) -> LabelledRun:
    """Build one labelled run.

    Args:
        kind: ``"healthy"`` or one of :data:`KINDS`.
        n: Number of logged points.
        noise: Relative noise level (fraction of the curve's level).
        offset: One of :data:`OFFSETS`.
        rep: Replicate number (drawn parameters differ).
        seed: Suite seed.
        keras_lag: In epoch logs, put the training loss half an epoch behind the
            validation loss, as Keras logs it (the mean over the epoch vs. the model
            at its end): validation then sits below training in the first epochs.

    Returns:
        The :class:`LabelledRun`.

    Example:
        >>> r = make_run("overfitting", 30, 0.005, "plain", 0, seed=1)
        >>> r.labels == {"overfitting"} and r.onset is not None
        True
    """
    key = f"{kind}/n{n}/noise{noise}/{offset}/{rep}"
    rng = np.random.default_rng([seed, *key.encode()])
    t = np.arange(n, dtype=float)
    rng_train = copy.deepcopy(rng)  # the same draws again, for the lagged training curve
    shape = _shapes(kind, t, offset, rng)
    train, val = shape["train"], shape["val"]
    if keras_lag and n < STEP_LENGTH:
        train = _shapes(kind, t - 0.5, offset, rng_train)["train"]
    params: dict = {"n": n, "noise": noise, "offset": offset, **shape["extra"]}
    labels = {kind} if kind != "healthy" else set()
    if kind == "metric-disagreement":
        labels.add("overfitting")

    train_truth, val_truth = train.copy(), val.copy()
    train_n = _noisy(rng, train, noise)
    val_n = _noisy(rng, val, noise)
    data: dict[str, np.ndarray] = {}

    # accuracy
    onset = shape["onset"]
    acc_noise = noise * 0.1
    if kind == "metric-disagreement" or (kind == "overfitting" and rng.random() < 0.5):
        base_acc = 0.55 + 0.3 * (1 - np.exp(-t / max(onset / 3, 0.8)))
        acc = np.minimum(0.999, base_acc + 0.1 * t / (n - 1))
        peak = base_acc[onset]
        if kind == "metric-disagreement":
            gain = rng.uniform(0.03, 0.08)
            after = (t - onset) / (n - 1 - onset)
            val_acc = np.where(t <= onset, base_acc, peak + gain * after)
            params["val_acc_gain"] = gain
        else:
            fall = rng.uniform(0.02, 0.05)
            after = (t - onset) / (n - 1 - onset)
            val_acc = np.where(t <= onset, base_acc, peak - fall * after)
        data["accuracy"] = acc + acc_noise * rng.standard_normal(n)
        data["val_accuracy"] = val_acc + acc_noise * rng.standard_normal(n)
    elif "accuracy" in shape["extra"]:
        level = shape["extra"]["accuracy"][1]
        data["accuracy"] = level + 0.005 * rng.standard_normal(n)
        data["val_accuracy"] = level + 0.005 * rng.standard_normal(n)
        params["accuracy"] = shape["extra"]["accuracy"][0]

    if kind == "noisy":
        pass  # noise is the signal; ``noise`` is already 10-20 %
    if kind == "loss-spike":
        width = 1 if n < STEP_LENGTH else int(rng.integers(1, 4))
        k = int(round(rng.uniform(0.3, 0.7) * (n - 1)))
        h = rng.uniform(3, 10)
        train_n[k : k + width] = train[k : k + width] * h
        params.update(spike_index=k, spike_height=h, spike_width=width)
        if rng.random() < 0.5:
            hv = rng.uniform(3, 6)
            val_n[k : k + width] = val[k : k + width] * hv
            params["val_spike_height"] = hv
    if kind == "divergence":
        k = int(round(rng.uniform(0.4, 0.8) * (n - 1)))
        mode = rng.choice(["nan", "blowup", "dead"])
        params.update(divergence_index=k, mode=str(mode))
        m = n - k
        if mode == "nan":
            train_n[k:] = np.nan
            val_n[k:] = np.nan
        elif mode == "blowup":
            jump = 10 ** rng.uniform(1, 3)
            growth = np.exp(np.linspace(0, rng.uniform(0, 3), m))
            level = train[k] * jump * growth
            train_n[k:] = _noisy(rng, level, max(noise, 0.05))
            val_n[k:] = _noisy(rng, level * 1.1, max(noise, 0.05))
        else:
            chance = math.log(10)
            train_n[k:] = _noisy(rng, np.full(m, chance), noise)
            val_n[k:] = _noisy(rng, np.full(m, chance), noise)

    if offset == "huge-first":
        f = rng.uniform(30, 100)
        train_n[0] = train_n[1] * f if np.isfinite(train_n[1]) and train_n[1] > 0 else 50.0
        params["first_factor"] = f
    if offset == "negative":
        train_n = 10 * train_n - 25
        val_n = 10 * val_n - 25
    data = {"loss": train_n, "val_loss": val_n, **data}

    # learning rate: logged in about half of the runs, constant or cosine-decayed
    if rng.random() < 0.5:
        lr0 = float(rng.choice([1e-3, 3e-4, 1e-2]))
        if rng.random() < 0.5 or kind == "plateau":
            lr = np.full(n, lr0)
        else:
            lr = lr0 * 0.5 * (1 + np.cos(np.pi * t / n))
        data["learning_rate"] = lr

    implied = IMPLIED.get(kind, frozenset())
    if kind != "undertrained" and _rubric_still_improving(np.asarray(val_n, dtype=float)):
        implied = implied | {"undertrained"}
    if keras_lag:
        upto = params.get("divergence_index", n)
        implied = implied | _lag_implied(kind, train_truth[:upto], val_truth[:upto])
    if n >= STEP_LENGTH:
        index = [STEP_STRIDE * (i + 1) for i in range(n)]
        index_name = "step"
    else:
        index = list(range(n))
        index_name = "epoch"
    return LabelledRun(
        id=key,
        kind=kind,
        labels=frozenset(labels),
        implied=implied,
        data={k: [float(x) for x in v] for k, v in data.items()},
        index=index,
        index_name=index_name,
        onset=None if onset is None else index[onset],
        params=params,
    )


def _rubric_still_improving(val: np.ndarray) -> bool:
    """The labelling rubric's ``still_improving_at_end`` on the logged validation loss:
    its best point lies in the last 10 % of the log and is at least 2 % below the value
    at the start of the last 20 %. A slow exponential (tau = n/7) still falls 1-5 %
    over its last fifth, and 2 % noise on a converged curve puts a point 2.5 sigma = 5 %
    low in the last tenth of one run in ten: such logs meet the written rule, which is
    what the real-log labels (and so the detector) follow. They are implied, neither a
    true nor a false positive (issue 10: real logs are the measure)."""
    v = val[np.isfinite(val)]
    n = len(v)
    if n < 5:
        return False
    b = int(np.argmin(v))
    if b < n - max(1, math.ceil(0.1 * n)):
        return False
    s = n - 1 - max(1, round(0.2 * (n - 1)))
    return bool(v[s] != 0 and (v[s] - v[b]) / abs(v[s]) >= 0.02)


def _lag_implied(kind: str, train: np.ndarray, val: np.ndarray) -> frozenset[str]:
    """``val-below-train`` is implied (not required) when the noiseless validation
    loss is below the training loss on at least half of the points: with the Keras
    half-epoch lag that is true of the log, and its benign cause (the training loss
    averaged over the epoch) is what that finding explains. Divergence runs are
    judged on their points before the divergence."""
    if kind == "val-below-train":
        return frozenset()
    below = val < train
    return frozenset({"val-below-train"}) if below.mean() >= 0.5 else frozenset()


def build_suite(
    seed: int = 0, reps: int = 1, lengths=LENGTHS, keras_lag: bool = False
) -> list[LabelledRun]:
    """Every kind (and ``healthy``) over the grid of lengths, noise levels and offsets.

    Args:
        seed: Seed for every drawn parameter and every noise sample.
        reps: Replicates per grid point (``reps=1`` gives about 450 runs).
        lengths: Lengths to include.
        keras_lag: Epoch logs with the Keras half-epoch lag of the training loss
            (see :func:`make_run`); off by default.

    Returns:
        The runs, in a stable order.

    Example:
        >>> len(build_suite(seed=0)) > 300
        True
    """
    runs = []
    for kind in ("healthy", *KINDS):
        noises = NOISY_NOISES if kind == "noisy" else NOISES
        for n in lengths:
            for noise in noises:
                for offset in OFFSETS:
                    if offset == "zero" and kind not in _ZERO_OK:
                        continue
                    if offset == "negative" and kind == "underfitting":
                        continue
                    for rep in range(reps):
                        runs.append(make_run(kind, n, noise, offset, rep, seed, keras_lag))
    return runs


# --------------------------------------------------------------------------- scoring


def info_kinds() -> frozenset[str]:
    """Kinds that are info by design: their rule's default severity in the pack is
    ``info`` (``val-below-train``, and ``undertrained`` since LA107 was made info), so a
    finding of any severity counts as a detection. ``too-short`` is never a detection."""
    from loganalyzer.rulepack import load_rules

    return frozenset(r.kind for r in load_rules() if r.severity == "info" and r.kind != "too-short")


def detected_kinds(findings, any_severity: frozenset[str] = frozenset()) -> set[str]:
    """Kinds detected in ``findings``: warning/error findings, or findings of any
    severity for the kinds in ``any_severity``. ``too-short`` and other info notes
    (a plateau ended by a learning-rate drop, a converged tail) are not detections."""
    out = set()
    for f in findings:
        if f.kind == "too-short":
            continue
        if f.kind in any_severity or f.severity in ("warning", "error"):
            out.add(f.kind)
    return out


def onset_ok(run: LabelledRun, start) -> bool:
    """Whether an overfitting finding's ``start`` is within max(1, 5 % of the length)
    points of the true onset (distance counted in logged points)."""
    if start is None or run.onset is None:
        return False
    pos = {ix: i for i, ix in enumerate(run.index)}
    if start not in pos:
        return False
    return abs(pos[start] - pos[run.onset]) <= max(1, 0.05 * run.length)


@dataclass
class Score:
    """Counts for one kind over the suite."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    onset_hits: int = 0
    onset_total: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def onset_accuracy(self) -> float:
        return self.onset_hits / self.onset_total if self.onset_total else float("nan")


@dataclass
class Outcome:
    """What the tool found on one labelled run."""

    run: LabelledRun
    found: set[str]
    onset_start: object = None

    @property
    def false_positives(self) -> set[str]:
        return self.found - self.run.labels - self.run.implied

    @property
    def false_negatives(self) -> set[str]:
        return set(self.run.labels) - self.found


def evaluate(runs: list[LabelledRun]) -> tuple[dict[str, Score], list[Outcome]]:
    """Analyse every run with ``loganalyzer.analysis`` and score each kind.

    A run is a positive for kind K when K is in its ``labels`` (healthy runs are
    negatives for every kind). A detection of K on a positive is a true positive; no
    detection is a false negative; a detection of K on a run where K is neither a
    label nor in its ``implied`` set is a false positive. Onset accuracy is over
    the overfitting positives that were detected and all positives missed count as
    misses (``onset_total`` = number of overfitting positives).
    """
    from loganalyzer.analysis import analyze_run, to_run

    scores = {k: Score() for k in KINDS}
    any_severity = info_kinds()
    outcomes = []
    for run in runs:
        result = analyze_run(to_run(run.as_input(), name=run.id))
        found = detected_kinds(result.findings, any_severity)
        onset_start = None
        for f in result.findings:
            if f.kind == "overfitting" and f.severity in ("warning", "error"):
                onset_start = f.start
                break
        outcomes.append(Outcome(run, found, onset_start))
        for kind in KINDS:
            hit = kind in found
            if kind in run.labels:
                if hit:
                    scores[kind].tp += 1
                else:
                    scores[kind].fn += 1
            elif hit and kind not in run.implied:
                scores[kind].fp += 1
        if "overfitting" in run.labels:
            scores["overfitting"].onset_total += 1
            scores["overfitting"].onset_hits += onset_ok(run, onset_start)
    return scores, outcomes

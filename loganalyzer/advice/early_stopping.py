"""``early-stopping``: an EarlyStopping callback tuned on this run's own curve.

How ``patience`` and ``min_delta`` are chosen:

1. The monitored curve is the validation loss (``mode="min"``), or the metric a
   ``metric-disagreement`` finding suggests (``val_accuracy``: ``mode="max"``), as
   logged, one point per evaluation (Keras counts patience in epochs, i.e. in these
   points).
2. Its noise ``sigma`` comes from :func:`loganalyzer.stats.noise_sigma`. ``min_delta``
   is tried at ``sigma``, ``sigma/2``, ``sigma/4`` and 0 (rounded to two digits): a
   change smaller than the noise is not an improvement, but on a curve that descends
   by less than ``sigma`` per epoch a noise-sized ``min_delta`` would stop it during
   the descent, so smaller values are tried next.
3. For each ``min_delta``, :func:`simulate` replays Keras's exact EarlyStopping logic
   (``best`` updated only when the improvement beats ``min_delta``, a ``wait``
   counter, stop when ``wait >= patience`` after epoch 0) on this curve. The
   smallest patience that does not stop at or before the best point is one more than
   the longest wait before it; one epoch of margin is added (a rerun is as noisy as
   this run), with a floor of 2.
4. The patience must also survive a rerun: the curve's residuals around its running
   median are resampled 200 times (seeded) onto the smooth trend, and the advice's
   patience grows until at least 90 % of those reruns do not stop before the trend's
   best (:func:`robust_patience`). On a clean curve nothing changes; a patience fitted
   exactly to one noisy curve would stop the next run early.
5. The first ``(patience, min_delta)`` that stops within a few points after the best
   (``clip(round(10 % of the length), 3, 10)``) and restores the best point itself is
   chosen; without margin next; otherwise the run gets the noise-sized setting and
   the advice says it would not have stopped within the log (``would_stop_at`` is
   ``None``). Such a guard cannot lower this run's validation loss, so the advice
   ranks ``CANNOT_STOP_DEMOTION`` priority levels lower, after the fixes that can.

Example:
    >>> val = [1.0, 0.8, 0.65, 0.6, 0.58, 0.6, 0.64, 0.7, 0.75, 0.8, 0.86, 0.9]
    >>> choice = choose(val, "min")
    >>> (choice.patience, choice.stop_pos, choice.best_pos)
    (2, 6, 4)
    >>> simulate(val, choice.patience, choice.min_delta).stop_pos
    6
"""

from __future__ import annotations

import bisect
import functools
import json
import math
import operator
from dataclasses import dataclass

import numpy as np

from loganalyzer.advice._common import (
    AdviceContext,
    as_index,
    because,
    eval_spacing,
    fit_epochs_text,
    fmt,
    literal,
    mode_for,
    nice,
    pick,
)
from loganalyzer.advice._frameworks import comment, hf_args, hf_eval_fields, value
from loganalyzer.findings import Advice
from loganalyzer.stats import kept, noise_sigma, smooth

ACTION = "early-stopping"

#: Priority levels an EarlyStopping that would not stop within the log loses.
CANNOT_STOP_DEMOTION = 2


@dataclass(frozen=True)
class Simulation:
    """What ``EarlyStopping`` would have done on a curve (positions are 0-based points).

    Attributes:
        stop_pos: The point at whose end training stops, or ``None`` if it runs out.
        restored_pos: The point ``restore_best_weights=True`` restores (Keras's
            ``best_epoch``).
    """

    stop_pos: int | None
    restored_pos: int | None


def _improves(current: float, best: float | None, min_delta: float, mode: str) -> bool:
    # Keras: monitor_op(current - min_delta, best), with min_delta negated for "min".
    if best is None:
        return True
    if mode == "min":
        return bool(current + min_delta < best)
    return bool(current - min_delta > best)


def simulate(values, patience: int, min_delta: float, mode: str = "min") -> Simulation:
    """Replay ``keras.callbacks.EarlyStopping(patience, min_delta, mode)`` on ``values``.

    Mirrors Keras 3's ``on_epoch_end`` line by line (no baseline, no
    ``start_from_epoch``): ``wait`` grows every epoch and is reset on an improvement
    larger than ``min_delta``; training stops when ``wait >= patience`` and
    ``epoch > 0``. NaN never improves.

    Args:
        values: The monitored metric, one value per epoch (evaluation).
        patience: Epochs with no improvement after which training stops.
        min_delta: Minimum change that counts as an improvement (>= 0).
        mode: ``"min"`` (losses) or ``"max"`` (accuracy).

    Example:
        >>> simulate([3, 2, 1, 2, 2, 2], patience=2, min_delta=0.0)
        Simulation(stop_pos=4, restored_pos=2)
    """
    return Trace.of(values, min_delta, mode).simulate(patience)


@dataclass(frozen=True)
class Trace:
    """EarlyStopping's bookkeeping on a curve, which does not depend on ``patience``:
    the epochs that improved on the best so far (the first one always does), of a
    curve of ``length`` epochs. ``wait`` after an epoch is the number of epochs since
    the last improvement. Every patience is then read off it (:meth:`simulate`,
    :meth:`min_patience`) instead of replaying the curve once per patience tried.

    Only a record (a point beyond every earlier one) can improve by ``min_delta >= 0``
    on a best that is itself one of the earlier points, so :meth:`of` finds the records
    with two array calls and walks only those in Python; each reading then walks the
    improvements (a handful on a noisy curve), not the epochs."""

    improvements: list[int]
    length: int

    @property
    def wait(self) -> list[int]:
        """``wait`` after each epoch: 0 on an improving epoch, then 1, 2, ..."""
        wait: list[int] = []
        ends = self.improvements[1:] + [self.length]
        for start, end in zip(self.improvements, ends, strict=False):  # none when empty
            wait.extend(range(end - start))
        return wait

    @property
    def improved(self) -> list[bool]:
        """Whether each epoch improved on the best so far."""
        return [w == 0 for w in self.wait]

    @classmethod
    def of(cls, values, min_delta: float, mode: str = "min") -> Trace:
        return cls.walk(_records(values, mode, every=min_delta < 0), min_delta, mode)

    @classmethod
    def walk(cls, records: tuple, min_delta: float, mode: str = "min") -> Trace:
        """The trace from a curve's :func:`_records` (shared by every ``min_delta``)."""
        # The first epoch always improves (Keras starts from best = inf); then as
        # _improves: current + min_delta < best ("min"), current - min_delta > best.
        # NaN never improves (every comparison with it is false).
        length, best, epochs, values, every = records
        if not length:
            return cls([], 0)
        if min_delta < 0 and not every:
            raise ValueError("a negative min_delta can improve off the records: use Trace.of")
        if min_delta == 0 and best == best:  # the best is the running min (max): records
            return cls([0, *epochs], length)  # (y + 0.0 compares as y, -0.0 included)
        improvements = [0]
        add = improvements.append
        if mode == "min":
            for epoch, current in zip(epochs, values, strict=True):
                if current + min_delta < best:
                    best = current
                    add(epoch)
        else:
            for epoch, current in zip(epochs, values, strict=True):
                if current - min_delta > best:
                    best = current
                    add(epoch)
        return cls(improvements, length)

    def simulate(self, patience: int, after: int = 0) -> Simulation:
        """Keras stops at the first epoch > 0 that did not improve (``wait`` >= 1) with
        ``wait >= patience``, and restores the best epoch then. ``after``: an epoch up
        to which every ``wait`` is known to be below ``patience`` (the scan starts
        after it; :meth:`min_patience`'s target for a patience it gave)."""
        least, first = max(patience, 1), max(after + 1, 1)
        imps = self.improvements
        # from the stretch that holds the first epoch scanned (after the target of
        # min_patience, the last one: nothing improves on the best after it)
        for k in range(max(bisect.bisect_right(imps, first) - 1, 0), len(imps)):
            start = imps[k]
            end = imps[k + 1] if k + 1 < len(imps) else self.length
            # wait is epoch - start on start..end-1: it reaches least at start + least
            epoch = max(start + least, first)
            if epoch < end:
                return Simulation(epoch, start)
        return Simulation(None, imps[-1] if imps else None)

    def min_patience(self, target: int) -> int:
        """The smallest patience for which training does not stop at or before
        ``target``: one more than the longest ``wait`` reached (on a non-improving
        epoch > 0) up to it."""
        last = min(target, self.length - 1)
        if last < 1:
            return 1
        imps = self.improvements
        within = imps[: bisect.bisect_right(imps, last)]  # the stretches that start by it
        # a stretch from start to the next improvement waits up to next - start - 1
        longest = max(map(operator.sub, within[1:], within[:-1]), default=1) - 1
        return max(longest, last - within[-1]) + 1


def _records(values, mode: str, every: bool = False) -> tuple:
    """``(length, first value, epochs, values, every)`` of the records of a curve: the
    points after the first below every earlier one (above, for ``"max"``), NaN left
    out; every point after the first with ``every``. An improvement by a ``min_delta``
    >= 0 is always a record: the best is an earlier point, so a point at or above the
    lowest earlier one cannot beat it by min_delta (if the lowest is the best, not even
    by 0; if not, the lowest was no improvement on the best then, by min_delta, and the
    best has only fallen since)."""
    y = np.asarray(values, dtype=float)
    if not len(y):
        return 0, math.nan, [], [], every
    if every:
        epochs = np.arange(1, len(y))
    else:
        so_far = (np.fmin if mode == "min" else np.fmax).accumulate(y[:-1])  # NaN skipped
        later = y[1:]
        epochs = np.flatnonzero(later < so_far if mode == "min" else later > so_far) + 1
    return len(y), float(y[0]), epochs.tolist(), y[epochs].tolist(), every


def _min_patience(values, target: int, min_delta: float, mode: str = "min") -> int:
    """:meth:`Trace.min_patience` of ``values`` (the least patience that does not stop
    at or before ``target``)."""
    return Trace.of(values, min_delta, mode).min_patience(target)


@dataclass(frozen=True)
class Choice:
    """Chosen EarlyStopping setting and what it would have done on this curve."""

    patience: int
    min_delta: float
    sigma: float
    best_pos: int
    stop_pos: int | None
    restored_pos: int | None
    window: int  # "a few points after the best"
    noise_multiple: float = 0.0  # min_delta before rounding, in units of sigma


def window_for(n: int) -> int:
    """How many points after the best a stop still counts as "soon": 10 % of the
    length, at least 3, at most 10."""
    return min(max(round(0.1 * n), 3), 10)


def choose(values, mode: str = "min") -> Choice | None:
    """Pick ``patience`` and ``min_delta`` for this curve (see the module docstring).

    Returns ``None`` when the curve has fewer than 3 finite points. (Kept for the last
    few curves: the early-stopping and train-longer advice of a run ask for the same.)
    """
    y = np.asarray(values, dtype=float)
    return _choose(y.tobytes(), mode)


@functools.lru_cache(maxsize=16)
def _choose(data: bytes, mode: str) -> Choice | None:
    y = np.frombuffer(data, dtype=float)
    finite = np.isfinite(y)
    if finite.sum() < 3:
        return None
    masked = np.where(finite, y, np.inf if mode == "min" else -np.inf)
    target = int(np.argmin(masked) if mode == "min" else np.argmax(masked))
    sigma = noise_sigma(y[finite])
    window = window_for(len(y))
    deltas: dict[float, float] = {}  # rounded min_delta -> multiple of sigma
    for k in (1.0, 0.5, 0.25, 0.0):
        deltas.setdefault(nice(k * sigma), k)
    traces: dict[float, Trace] = {}
    records = _records(y, mode)  # every min_delta tried is >= 0
    tried: dict[tuple[float, int], tuple[int, Simulation]] = {}

    def attempt(d: float, margin: int) -> tuple[int, Simulation]:
        """The least patience that does not stop by the best, plus ``margin``, and
        what it does (each asked once: the loops below come back to the same ones)."""
        if (d, margin) not in tried:
            if d not in traces:
                traces[d] = Trace.walk(records, d, mode)
            patience = max(traces[d].min_patience(target) + margin, 2 if margin else 1)
            # no wait up to the target reaches a patience above the longest one
            tried[d, margin] = patience, traces[d].simulate(patience, after=target)
        return tried[d, margin]

    # a stop after the best needs a point after it: none when the curve ends on its best
    for margin in (1, 0) if target < len(y) - 1 else ():
        for d, k in deltas.items():
            patience, sim = attempt(d, margin)
            if sim.restored_pos != target or sim.stop_pos is None:
                continue
            if target < sim.stop_pos <= target + window:
                return Choice(patience, d, sigma, target, sim.stop_pos, sim.restored_pos, window, k)
    # Nothing stops soon after the best within this log (the best is at or near the
    # end, or the curve is too noisy): a noise-sized setting that does not stop early.
    for d, k in deltas.items():
        patience, sim = attempt(d, 1)
        if sim.restored_pos == target:
            return Choice(patience, d, sigma, target, sim.stop_pos, sim.restored_pos, window, k)
    patience, sim = attempt(0.0, 1)
    return Choice(patience, 0.0, sigma, target, sim.stop_pos, sim.restored_pos, window)


def _longest_waits(curves: np.ndarray, min_delta: float, mode: str, until: int) -> np.ndarray:
    """:class:`Trace` on many curves at once (rows): the longest ``wait`` each reaches
    on a non-improving epoch in ``1..until`` (-1 when every one of them improves). A
    patience ``p`` lets a curve run past ``until`` exactly when this is below ``p``."""
    reps, n = curves.shape
    last = min(until, n - 1)
    # Epochs as rows, reruns along each row: every step below (the running best, the
    # epoch-by-epoch loop) then reads one contiguous row of all reruns at a time, which
    # on ~200 x 100 curves is several times faster than scanning along rows.
    seen = np.ascontiguousarray(curves[:, : last + 1].T)
    lower = mode == "min"
    if min_delta == 0:  # the best so far is the running minimum (maximum)
        best = (np.minimum if lower else np.maximum).accumulate(seen, axis=0)
        better = seen[1:] < best[:-1] if lower else seen[1:] > best[:-1]
    else:  # the best moves only on an improvement by min_delta: epoch by epoch
        better = np.empty((last, reps), dtype=bool)
        shifted = seen + min_delta if lower else seen - min_delta
        beats = np.less if lower else np.greater
        best = seen[0].copy()
        for now, bar, step in zip(seen[1:], shifted[1:], better, strict=True):
            beats(bar, best, out=step)  # into better[e - 1]
            np.putmask(best, step, now)  # copyto(where=) does the same, 1.5x slower
    # wait at each epoch: epochs since the last improvement (epoch 0 counts as one);
    # better * epochs is where(better, epochs, 0), in one cheaper call
    epochs = np.arange(1, last + 1)[:, np.newaxis]
    since = np.maximum.accumulate(better * epochs, axis=0)
    longest = (epochs - since).max(axis=0, initial=0)
    return np.where(longest > 0, longest, -1)


_DRAWS: dict[tuple[int, int], np.ndarray] = {}


def _rerun_draws(n: int, reps: int) -> np.ndarray:
    """Which residual each rerun takes at each point, epochs as rows: what
    ``default_rng(0).choice(resid, size=(reps, n))`` draws (it draws these indices,
    ``choice(n, ...)``, and takes ``resid`` at them). They depend on the length alone,
    so a sweep of equal-length runs draws them once (kept for short curves only: a
    long curve's draws are large)."""

    def draw() -> np.ndarray:
        return np.ascontiguousarray(np.random.default_rng(0).choice(n, size=(reps, n)).T)

    return kept(_DRAWS, (n, reps), draw, 8) if n <= 1000 else draw()


def robust_patience(
    values, mode: str, min_delta: float, start: int, reps: int = 200, level: float = 0.9
) -> tuple[int, float]:
    """The smallest patience >= ``start`` with which at least ``level`` of reruns of this
    noisy curve do not stop before the best of its trend, and that share.

    A rerun is the curve's trend (a running median over 5 points) plus its residuals,
    resampled with a fixed seed. ``start`` is kept when the trend's best is in the last
    few points (nothing to protect) or when no patience up to ``start + 24`` reaches
    ``level``.

    Example:
        >>> rng = np.random.default_rng(1)
        >>> t = np.arange(40.0)
        >>> y = 0.5 + np.exp(-t / 12) + 0.01 * np.maximum(t - 25, 0) + rng.normal(0, 0.04, 40)
        >>> p, share = robust_patience(y, "min", 0.0, 2)
        >>> p > 2, share >= 0.9
        (True, True)
    """
    y = np.asarray(values, dtype=float)
    y = y[np.isfinite(y)]
    if len(y) < 6:
        return start, 1.0
    trend = smooth(y, 5)
    resid = y - trend
    target = int(np.argmin(trend) if mode == "min" else np.argmax(trend))
    if target >= len(y) - window_for(len(y)):
        return start, 1.0  # the trend is still improving at the end: nothing to protect
    # the reruns up to the trend's best (all that is judged), epochs as rows
    reruns = trend[: target + 1, np.newaxis] + resid[_rerun_draws(len(y), reps)[: target + 1]]
    longest = np.sort(_longest_waits(reruns.T, min_delta, mode, target))
    patiences = range(start, start + 25)
    # the reruns that get past the best with each patience: their longest wait is shorter
    passing = np.searchsorted(longest, patiences).tolist()
    for patience, count in zip(patiences, passing, strict=True):
        share = count / reps
        if share >= level:
            return patience, share
    return start, passing[0] / reps  # no patience within reach protects it: keep the fitted one


def _monitor(ctx: AdviceContext) -> str | None:
    run = ctx.run
    dis = ctx.first("metric-disagreement")
    if dis is not None:
        suggested = dis.evidence.get("suggested_monitor")
        if isinstance(suggested, str) and suggested in run.data:
            return suggested
    return run.val_loss or run.train_loss


def build(ctx: AdviceContext) -> Advice | None:
    """EarlyStopping with patience/min_delta fitted to this run's monitored curve."""
    run = ctx.run
    monitor = _monitor(ctx)
    series = run.points(monitor)
    if monitor is None or series is None:
        return None
    mode = mode_for(monitor)
    choice = choose(series.y, mode)
    if choice is None:
        return None
    noisy_note = ""
    fitted = choice.patience
    robust, share = robust_patience(series.y, mode, choice.min_delta, fitted)
    if robust > fitted:
        sim = simulate(series.y, robust, choice.min_delta, mode)
        choice = Choice(
            robust,
            choice.min_delta,
            choice.sigma,
            choice.best_pos,
            sim.stop_pos,
            sim.restored_pos,
            choice.window,
            choice.noise_multiple,
        )
        noisy_note = (
            f" The curve is noisy: patience {fitted} fits this one curve exactly, but a "
            f"rerun with the same noise would often stop before its best; with patience "
            f"{robust}, {share:.0%} of 200 resampled reruns reach it."
        )
    index = series.x
    best_index = as_index(index[choice.best_pos])
    last_index = as_index(index[-1])
    best_value = float(series.y[choice.best_pos])
    stop_index = as_index(index[choice.stop_pos]) if choice.stop_pos is not None else None
    saved = (last_index - stop_index) if stop_index is not None else 0
    params = {
        "monitor": monitor,
        "patience": int(choice.patience),
        "min_delta": float(choice.min_delta),
        "restore_best_weights": True,
        "mode": mode,
        "would_stop_at": stop_index,
        "best_index": best_index,
        "epochs_saved": saved,
    }
    unit = ctx.index
    share = {1.0: "", 0.5: "half ", 0.25: "a quarter of "}.get(choice.noise_multiple, "")
    noise = (
        f"min_delta is {share}the curve's noise (σ = {fmt(nice(choice.sigma))})"
        if choice.sigma > 0 and choice.min_delta > 0
        else "min_delta is 0 (any improvement counts on this curve)"
    )
    head = f"{monitor} was best at {unit} {fmt(best_index)} ({fmt(best_value)})"
    setting = _setting(ctx, choice.patience, choice.min_delta)
    if stop_index is not None:
        what = (
            f"; {setting} would have stopped at {unit} {fmt(stop_index)} and restored {unit} "
            f"{fmt(best_index)}, saving {fmt(saved)} {unit}s of training "
            f"(the log ends at {fmt(last_index)})."
        )
    else:
        what = (
            f"; on this log {setting} would not have stopped before the end "
            f"({unit} {fmt(last_index)}): keep it as a guard for longer runs."
        )
    how = (
        f" {noise}; patience is the longest stretch without such an improvement before "
        "the best, plus one."
    )
    if choice.stop_pos is not None and choice.stop_pos > choice.best_pos + choice.window:
        how += (
            f" It cannot stop sooner: the curve went {fitted - 1} evaluations "
            "without improving before it reached its best, and a shorter patience would "
            "have stopped there."
        )
    how += noisy_note
    if stop_index is None:
        # A guard that would not have stopped this run cannot lower its validation
        # loss: the fixes that can rank before it.
        ctx.priority += CANNOT_STOP_DEMOTION
    if unit != "epoch":
        every = eval_spacing(run, monitor)
        per = f" (one every {every} {unit}s here)" if every else ""
        how += f" Patience counts evaluations{per}, not {unit}s."
    name = ctx.log_name(monitor)
    params["monitor"] = name
    summary = head.replace(monitor, name, 1) + what + how
    summary += " " + because(ctx) if ctx.findings else ""
    code = pick(ctx, TEMPLATES, {**params, "every": eval_spacing(run, monitor)})
    if not math.isfinite(best_value):  # pragma: no cover - best is finite by construction
        return None
    return Advice(ACTION, 0, ctx.rules, summary, code, params)


def _setting(ctx: AdviceContext, patience: int, min_delta: float) -> str:
    """The chosen setting in the framework's own words."""
    if ctx.framework == "hf":
        return (
            f"EarlyStoppingCallback(early_stopping_patience={patience}, "
            f"early_stopping_threshold={fmt(min_delta)})"
        )
    if ctx.framework == "pytorch":
        return f"early stopping with a patience of {patience} and min_delta {fmt(min_delta)}"
    return f"EarlyStopping(patience={patience}, min_delta={fmt(min_delta)})"


def _keras(ctx: AdviceContext, p: dict) -> str:
    return (
        "import keras\n\n"
        "early_stopping = keras.callbacks.EarlyStopping(\n"
        f"    monitor={json.dumps(p['monitor'])},\n"
        f'    mode="{p["mode"]}",\n'
        f"    patience={p['patience']},\n"
        f"    min_delta={literal(p['min_delta'])},\n"
        "    restore_best_weights=True,\n"
        ")\n"
        "model.fit(\n"
        "    x_train,\n"
        "    y_train,\n"
        "    validation_data=(x_val, y_val),\n"
        f"    {fit_epochs_text(ctx.run)},\n"
        "    callbacks=[early_stopping],\n"
        ")\n"
    )


def _hf(ctx: AdviceContext, p: dict) -> str:
    metric = p["monitor"] if p["monitor"].startswith("eval_") else f"eval_{p['monitor']}"
    fields = {
        **hf_eval_fields(ctx, p["every"]),
        "load_best_model_at_end": True,
        "metric_for_best_model": metric,
        "greater_is_better": p["mode"] == "max",
    }
    return (
        "from transformers import EarlyStoppingCallback, Trainer, TrainingArguments\n\n"
        + hf_args(fields, {"eval_steps": "as in this log"} if "eval_steps" in fields else {})
        + "trainer = Trainer(\n"
        "    model=model,\n"
        "    args=args,\n"
        "    train_dataset=train_dataset,\n"
        "    eval_dataset=eval_dataset,\n"
        "    callbacks=[\n"
        "        EarlyStoppingCallback(\n"
        f"            early_stopping_patience={p['patience']},  # evaluations\n"
        f"            early_stopping_threshold={literal(p['min_delta'])},\n"
        "        )\n"
        "    ],\n"
        ")\n"
        "trainer.train()\n"
    )


def _lightning(ctx: AdviceContext, p: dict) -> str:
    m, mode = value(p["monitor"]), value(p["mode"])
    return (
        "import lightning as L\n"
        "from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint\n\n"
        "early_stopping = EarlyStopping(\n"
        f"    monitor={m},\n"
        f"    mode={mode},\n"
        f"    patience={p['patience']},  # validation checks\n"
        f"    min_delta={literal(p['min_delta'])},\n"
        ")\n"
        f"checkpoint = ModelCheckpoint(monitor={m}, mode={mode}, save_top_k=1)\n"
        "trainer = L.Trainer(callbacks=[early_stopping, checkpoint])\n"
        "trainer.fit(model, datamodule=datamodule)\n"
        "model = type(model).load_from_checkpoint(checkpoint.best_model_path)  # the best\n"
    )


def _pytorch(ctx: AdviceContext, p: dict) -> str:
    better = (
        f"value < best - {literal(p['min_delta'])}"
        if p["mode"] == "min"
        else f"value > best + {literal(p['min_delta'])}"
    )
    start = 'float("inf")' if p["mode"] == "min" else 'float("-inf")'
    return (
        "import torch\n\n"
        f"best, wait, patience = {start}, 0, {p['patience']}  # patience in evaluations\n"
        "for epoch in range(EPOCHS):\n"
        "    train_one_epoch(model, optimizer)\n"
        f"    value = evaluate(model)  # {comment(p['monitor'])} in this log\n"
        f"    if {better}:\n"
        "        best, wait = value, 0\n"
        '        torch.save(model.state_dict(), "best.pt")\n'
        "    else:\n"
        "        wait += 1\n"
        "        if wait >= patience:\n"
        "            break\n"
        'model.load_state_dict(torch.load("best.pt"))\n'
    )


TEMPLATES = {"keras": _keras, "hf": _hf, "lightning": _lightning, "pytorch": _pytorch}

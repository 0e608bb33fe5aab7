"""``underfitting``: training loss settles early at a high level, with validation beside it.

A model that is too weak (or trained on labels it cannot relate to its inputs) stops
improving early and its training loss is barely below the validation loss: there is
nothing it memorises, because it cannot even fit the training set. The method:

1. the training loss (binned when long) is smoothed with a running median; the
   *flat start* is the earliest point after which the smoothed curve never improves
   by more than a tolerance, the larger of ``tol_sigma`` noise units
   (:func:`loganalyzer.stats.noise_sigma`) and ``level_tol`` of the loss level;
2. **early plateau at a high level**, when all of these hold:

   - the flat stretch covers at least ``min_flat_fraction`` of the run, and the loss
     fell significantly before it (a loss that never moved is "not learning",
     reported by ``plateau``, not a model too weak);
   - the final training loss is still at least ``min_level_fraction`` of its starting
     level, the median of its first three points (a loss that fell by 99 % has not
     flattened "high"; one huge first epoch does not count);
   - a logged training accuracy has not reached ``max_accuracy``;
   - the validation loss ends within ``max_gap`` (relative) of the training loss (a
     large gap is a generalisation problem, not under-fitting);
   - the training loss's noise is below ``max_noise`` of its level (a loss bouncing
     by 6 % of itself is an optimiser too hot, which ``noisy`` reports);

3. **chance level**: the flat training loss sits at ``ln k`` with a logged accuracy
   near ``1/k`` (:func:`loganalyzer.detectors._curves.chance_level`); this needs no
   validation curve.

Either way the flat stretch must be the lowest the loss got (a loss that jumped up to a
new level, even to chance, diverged). Conservative on purpose: with no validation loss only the chance-level branch speaks;
negative losses (SI-SNR and the like) have no "high" and only the chance-level branch
applies to them (it never does: a chance level is positive); a learning rate of zero
throughout is "not learning", which ``plateau`` reports.

Example:
    >>> from loganalyzer.analysis import to_run
    >>> from loganalyzer.rulepack import rule_by_code
    >>> loss = [1.7, 0.41, 0.316] + [0.316 + 0.0001 * i for i in range(27)]
    >>> val = [0.6, 0.333] + [0.33] * 28
    >>> run = to_run({"loss": loss, "val_loss": val})
    >>> [(f.kind, f.start, f.evidence["chance_level"]) for f in detect(run, rule_by_code("LA106"), {})]
    [('underfitting', 2, None)]
"""

from __future__ import annotations

import numpy as np

from loganalyzer.detectors import _curves as C
from loganalyzer.findings import Finding
from loganalyzer.rulepack import Rule
from loganalyzer.run import Run
from loganalyzer.stats import median

KIND = "underfitting"

DEFAULTS = {
    "min_flat_fraction": 0.6,
    "tol_sigma": 3.0,
    "level_tol": 0.02,
    "min_level_fraction": 0.05,
    "max_gap": 0.1,
    "max_accuracy": 0.99,
    "max_noise": 0.05,
    "chance_min_flat_fraction": 0.2,
    "max_accuracy_range": 0.01,
    "prior_tol": 0.05,
    "max_prior_fall": 0.25,
    "min_learning": 0.05,
}


def flat_start(y: np.ndarray, tol_sigma: float = 3.0, level_tol: float = 0.02) -> int:
    """Position from which the smoothed curve no longer improves significantly.

    Improvement after position ``i`` is ``smooth[i] - min(smooth[i:])``; it is not
    significant when below ``max(tol_sigma * noise, level_tol * |smooth[i]|)``.

    Example:
        >>> flat_start(np.r_[np.linspace(2, 1, 10), np.full(20, 1.0)])
        9
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    if n == 0:
        return 0
    smooth = C.running_median(y, C.smooth_window(n, 0.06, 3, 9))
    sig = C.sigma(y)
    later_min = np.minimum.accumulate(smooth[::-1])[::-1]
    tol = np.maximum(tol_sigma * sig, level_tol * np.abs(smooth))
    improving = (smooth - later_min) > tol
    idx = np.nonzero(improving)[0]
    return int(idx[-1] + 1) if len(idx) else 0


def _train_accuracy(run: Run) -> float | None:
    for name in C.accuracy_columns(run, "train"):
        acc = C.curve(run, name)
        if acc is not None and acc.n >= 2:
            return C.end_level(acc.y)
    return None


def _accuracy(run: Run) -> C.Curve | None:
    for name in C.accuracy_columns(run, "train"):
        acc = C.curve(run, name)
        if acc is not None and acc.n >= 5:
            return acc
    return None


def _binary_entropy(a: float) -> float:
    a = min(max(a, 1e-9), 1 - 1e-9)
    return float(-(a * np.log(a) + (1 - a) * np.log(1 - a)))


def learned_nothing(run: Run, t: np.ndarray, gap: float | None, p: dict) -> tuple[str, dict] | None:
    """The three plain signs of a model that learned (almost) nothing, as an engineer
    reads them off a log; ``(why, evidence)`` or ``None``.

    - the training *accuracy* never moved: the same value (within
      ``max_accuracy_range``) at every logged point, below ``max_accuracy`` — the
      model predicts one class (the majority share) whatever the input;
    - the loss sits at the entropy of the class prior: a binary accuracy ``a`` at
      its end and a training loss within ``prior_tol`` of ``H(a)``, having fallen by
      less than ``max_prior_fall`` — the model outputs the prior;
    - the loss never moved: it fell by less than ``min_learning`` of its start over
      the whole run, with the validation loss beside it;
    - the loss **crawls** (:func:`loganalyzer.detectors._curves.steady_but_slow`): a
      significant but shallow fall (less than a fifth of the loss) that is not
      slowing down, with the validation loss beside it. A learning curve bends; a
      straight, shallow line is a model at the very start of its curve, whose learning
      rate is far too low (evidence ``reason: "crawl"``).
    """
    begin, final = C.robust_start(t, 3), C.robust_end(t, 3)
    if begin <= 0 or final <= 0:
        return None
    fall = (begin - final) / begin
    close = gap is not None and abs(gap) <= p["max_gap"] * final
    acc = _accuracy(run)
    if acc is not None:
        a_end = C.robust_end(acc.y, 3)
        if (
            float(np.max(acc.y) - np.min(acc.y)) <= p["max_accuracy_range"]
            and a_end < p["max_accuracy"]
        ):
            return (
                f"the training accuracy never moved from {a_end:.4g} over {acc.n} points while "
                f"{run.train_loss} went from {C.fmt(begin)} to {C.fmt(final)}: the model predicts "
                "one class (the majority share) whatever the input",
                {"accuracy": a_end, "reason": "constant-accuracy", "start_train_loss": begin},
            )
        h = _binary_entropy(a_end)
        if (
            0.5 <= a_end < p["max_accuracy"]
            and abs(final - h) <= p["prior_tol"] * h
            and fall < p["max_prior_fall"]
            and (gap is None or abs(gap) <= 2 * p["max_gap"] * final)
        ):
            return (
                f"{run.train_loss} ends at {C.fmt(final)}, the entropy of a {a_end:.2f}/"
                f"{1 - a_end:.2f} class prior ({h:.3g}), with accuracy {a_end:.3g} at the "
                "majority share: the model outputs the class prior, not a prediction",
                {
                    "accuracy": a_end,
                    "prior_entropy": h,
                    "reason": "class-prior",
                    "start_train_loss": begin,
                },
            )
    if close and fall < p["min_learning"]:
        moved = f"fell {100 * fall:.1f}%" if fall >= 0 else f"rose {-100 * fall:.1f}%"
        return (
            f"{run.train_loss} went from {C.fmt(begin)} to {C.fmt(final)} ({moved} "
            f"over the whole run) with {run.val_loss} right beside it (gap "
            f"{100 * gap / final:+.1f}%): the model learned almost nothing",
            {"reason": "no-learning", "start_train_loss": begin},
        )
    if close and C.steady_but_slow(t):
        return (
            f"{run.train_loss} fell steadily but only {100 * fall:.1f}% over the whole run "
            f"({C.fmt(begin)} to {C.fmt(final)}) without slowing down, with {run.val_loss} "
            f"right beside it (gap {100 * gap / final:+.1f}%): the model has barely started "
            "to learn (a straight, shallow descent, where a learning curve bends)",
            {"reason": "crawl", "start_train_loss": begin},
        )
    return None


def _ruled_out(run: Run, t: C.Curve, final: float, gap: float | None, p: dict) -> bool:
    """Can no finding come out of :func:`detect`, whatever the flat start? ``True``
    only when provably not, so that most runs skip measuring it: without a training
    accuracy there is no chance level and neither accuracy sign of
    :func:`learned_nothing`; its two other signs need the validation loss within
    ``max_gap`` of the training loss's robust end (``close``), and the plain under-fit
    needs it within ``max_gap`` of its end level. The same comparisons as there, so a
    NaN gap is never ruled out."""
    if C.accuracy_columns(run, "train"):
        return False
    if gap is None:
        return True
    g = abs(gap)
    return g > p["max_gap"] * final and not g <= p["max_gap"] * C.robust_end(t.y, 3)


def detect(run: Run, rule: Rule, params: dict) -> list[Finding]:
    """An ``underfitting`` finding on ``run.train_loss`` when it settles early and high."""
    p = {**DEFAULTS, **rule.params, **params}
    train = C.curve(run, run.train_loss)
    if train is None or train.n < C.min_points(p) or C.lr_is_zero(run):
        return []
    raw = run.points(run.train_loss)
    if not np.isfinite(raw.y[-1]):
        return []  # diverged: the divergence rule speaks
    t = C.binned(train)
    n = t.n
    final = C.end_level(t.y)
    val = C.curve(run, run.val_loss)
    gap = None
    if val is not None and val.n >= 2:
        v_end = C.end_level(C.binned(val).y)
        gap = v_end - final
    if _ruled_out(run, t, final, gap, p):
        return []
    pos = flat_start(t.y, p["tol_sigma"], p["level_tol"])
    flat_points = n - pos
    if flat_points < C.min_points(p):
        return []
    flat_fraction = flat_points / n
    best = float(np.min(train.y))
    # The flat stretch must be the lowest the loss got: a loss that learned and then
    # jumped up to a new level (even to chance) diverged, which ``divergence`` reports.
    # A jump, not a wiggle: twice the flatness tolerance and 10 % of the level.
    smooth = C.running_median(t.y, C.smooth_window(n, 0.06, 3, 9))
    jump = max(2 * p["tol_sigma"] * C.sigma(t.y), 0.1 * abs(final))
    if final - float(np.min(smooth)) > jump:
        return []
    start_index, last_index = float(t.first[pos]), float(t.last[-1])

    chance = None
    if flat_fraction >= p["chance_min_flat_fraction"]:
        chance = C.chance_level(run, final)

    extra: dict = {}
    nothing = learned_nothing(run, t.y, gap, p) if chance is None else None
    if nothing is not None:
        why, extra = nothing
        start_index = float(t.first[0])
        what = "check the labels and the input pipeline, then the model's capacity"
        if extra.get("reason") == "crawl":
            what = "the learning rate is likely far too low: raise it before growing the model"
    elif chance is None:
        first = float(t.y[0])
        extra = {"start_train_loss": first}
        # "High" is judged against a start robust to a huge first epoch (the mean over
        # an epoch of an unnormalised regression can be 100x the next value).
        begin = float(median(t.y[: min(3, n)]))
        accuracy = _train_accuracy(run)
        if (
            gap is None
            or first - final <= max(p["tol_sigma"] * C.sigma(t.y), p["level_tol"] * abs(final))
            or flat_fraction < p["min_flat_fraction"]
            or final <= 0
            or begin <= 0
            or final < p["min_level_fraction"] * begin
            or abs(gap) > p["max_gap"] * final
            or C.sigma(t.y) > p["max_noise"] * final
            or (accuracy is not None and accuracy >= p["max_accuracy"])
        ):
            return []
        why = (
            f"{run.train_loss} stopped improving at {C.where(run, start_index)} and stayed "
            f"flat at {C.fmt(final)} for {100 * flat_fraction:.0f}% of the log (it started at "
            f"{C.fmt(first)}), with {run.val_loss} {C.fmt(final + gap)} right beside it "
            f"(gap {100 * gap / final:+.1f}%)"
        )
        what = (
            "the model cannot fit even the training data: give it more capacity or better features"
        )
    else:
        why = (
            f"{run.train_loss} is stuck at {C.fmt(final)} = ln({chance['k']}), the loss of "
            f"guessing among {chance['k']} classes, with accuracy {chance['accuracy']:.3g} "
            f"~ 1/{chance['k']}, from {C.where(run, start_index)}"
        )
        what = "the model learned nothing from the inputs: check labels, their alignment and the inputs"
    message = f"{why}: under-fitting; {what}."
    evidence = {
        "final_train_loss": final,
        "best_train_loss": best,
        "chance_level": None if chance is None else chance["chance_level"],
        "gap_at_end": gap,
        **extra,
    }
    return [
        Finding(
            rule=rule.code,
            kind=KIND,
            severity=rule.severity,
            metric=run.train_loss,
            start=C.num(start_index),
            end=C.num(last_index),
            message=message,
            evidence=evidence,
        )
    ]

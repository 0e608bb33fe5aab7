"""What the loop reads from the model, beside the logs: facts that re-rank the advice.

``loganalyzer analyze`` sees only a log. The closed loop also has the model, its
optimizer, its ``fit`` arguments and its data, and some causes are plain there while a
loss curve can only hint at them. Before each round the loop reads these facts from
the model it is about to fix (the spec's model with the fixes applied so far) and
refines the advice the seeds agreed on (:func:`refine`). Every refinement is said in
the report ("from the model: ..."), and every fix it promotes is still verified with
paired statistics like any other: the facts choose what is tried first, never what
counts as helped.

=====================  =============================================================
fact                   what changes, and why
=====================  =============================================================
unscaled inputs        an input feature's root mean square is above 10 and the model
                       does not normalise or rescale its inputs itself, and the runs
                       show an optimisation problem (divergence, spikes, noise,
                       plateau, under-fitting): ``normalize-inputs`` first. Inputs
                       of order one are the precondition of every learning-rate
                       remedy (LeCun et al., "Efficient BackProp", 1998).
adaptive optimizer     Adam, RMSprop, Adagrad and the like without decoupled weight
                       decay: ``dropout`` is tried before ``regularize``. An L2 term in
                       the loss is rescaled by the optimizer's per-weight step sizes
                       and regularises far less than the same factor under SGD
                       (Loshchilov & Hutter, "Decoupled Weight Decay Regularization",
                       ICLR 2019).
softmax bottleneck     a hidden layer narrower than ``classes - 1`` before a softmax
                       over ``classes``: the logits live in a space of that width and
                       cannot separate the classes freely (Yang et al., "Breaking the
                       Softmax Bottleneck", ICLR 2018). It is a capacity problem
                       (``underfitting``, rule ``model``) in every seed, whatever the
                       loss curves look like, and ``grow`` is advised.
tiny batches           a batch of at most 8 samples and ``noisy`` the problem of
                       the most seeds: ``larger-batch`` first. The noise of an SGD step grows as the
                       learning rate over the batch size (Smith & Le, "A Bayesian
                       Perspective on Generalization and Stochastic Gradient
                       Descent", ICLR 2018); when the batch is what is unusual,
                       the batch is what to change.
narrow layers          ``grow`` on a model whose narrowest hidden layer has fewer than
                       16 units (or fewer than the classes): the factor is raised so
                       that layer reaches 16 units and the classes; doubling two units
                       gives four, which tests little.
=====================  =============================================================

Example:
    >>> facts = ModelFacts(optimizer="Adam", adaptive=True, narrowest=2, classes=10)
    >>> facts.bottleneck, facts.grow_factor(2.0)
    (True, 8.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

#: Optimizers that scale each weight's step by its own gradient history (an L2 term in
#: the loss is scaled with it). AdamW, Lion and SGD are not in it.
ADAPTIVE = {"Adam", "Adamax", "Nadam", "RMSprop", "Adagrad", "Adadelta", "Adafactor", "Ftrl"}

#: An input feature whose root mean square is above this is not "of order one".
UNSCALED_RMS = 10.0

#: Layers that normalise or rescale the inputs inside the model.
INPUT_SCALERS = {"Normalization", "Rescaling", "BatchNormalization", "LayerNormalization"}

#: A batch this small or smaller is "tiny" (most training uses 16-512 samples).
TINY_BATCH = 8

#: The narrowest hidden layer ``grow`` aims for at least.
MIN_WIDTH = 16

#: Problems that are about optimisation (where input scale matters), not generalisation.
OPTIMISATION = {"divergence", "loss-spike", "noisy", "plateau", "underfitting"}

#: The rule code of a problem read from the model rather than a log.
MODEL_RULE = "model"


@dataclass
class ModelFacts:
    """What the model, its optimizer, its fit arguments and its data show.

    Attributes:
        optimizer: The optimizer's class name.
        adaptive: Per-weight step sizes without decoupled weight decay (:data:`ADAPTIVE`).
        batch_size: ``fit``'s batch size (Keras' 32 when not given).
        narrowest: Units (Dense) or filters (Conv) of the narrowest hidden layer.
        classes: Classes of a softmax output (``None`` for other outputs).
        input_rms: Largest root mean square of one input feature (``None``: not an array).
        scales_inputs: The model normalises or rescales its inputs itself.
        errors: Why a fact could not be read (shown, never fatal).
    """

    optimizer: str = ""
    adaptive: bool = False
    batch_size: int = 32
    narrowest: int | None = None
    classes: int | None = None
    input_rms: float | None = None
    scales_inputs: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def unscaled_inputs(self) -> bool:
        """Raw inputs far from order one, and nothing in the model scales them."""
        return (
            self.input_rms is not None and self.input_rms > UNSCALED_RMS and not self.scales_inputs
        )

    @property
    def bottleneck(self) -> bool:
        """A hidden layer narrower than ``classes - 1`` before a softmax."""
        return (
            self.classes is not None
            and self.classes >= 3
            and self.narrowest is not None
            and self.narrowest < self.classes - 1
        )

    def grow_factor(self, advised: float) -> float:
        """The ``grow`` factor: the advised one, raised until the narrowest hidden layer
        reaches :data:`MIN_WIDTH` units and the number of classes (at most 16x, the
        fix's limit)."""
        if not self.narrowest:
            return advised
        target = max(MIN_WIDTH, self.classes or 0)
        needed = math.ceil(target / self.narrowest)
        return float(min(16.0, max(advised, needed)))


def read_facts(spec: Any, applied: tuple = ()) -> ModelFacts:
    """Build the spec's model with the fixes ``applied`` and read its facts.

    Nothing here trains; a fact that cannot be read is left out and its reason kept.
    """
    from loganalyzer.verify.fixes import (
        KERAS_BATCH_SIZE,
        all_layers,
        apply_chain,
        fit_after,
        is_weight_layer,
        model_fixes,
        output_layer_names,
    )
    from loganalyzer.verify.keras_env import require_keras

    facts = ModelFacts()
    chain = model_fixes(applied)
    facts.batch_size = int(fit_after(chain, dict(spec.fit)).get("batch_size") or KERAS_BATCH_SIZE)
    try:
        keras = require_keras()
        model = apply_chain(chain, spec.new_model(), spec.data, dict(spec.fit)).model
    except Exception as exc:  # the user's model: report, go on without facts
        facts.errors.append(f"could not build the model to read it: {exc}")
        return facts
    opt = model.optimizer
    facts.optimizer = type(opt).__name__
    decay = (opt.get_config() or {}).get("weight_decay")
    facts.adaptive = facts.optimizer in ADAPTIVE and not decay
    layers = all_layers(model)
    outputs = output_layer_names(model)
    widths = []
    for layer in layers:
        if not is_weight_layer(keras, layer):
            continue
        cfg = layer.get_config()
        size = cfg.get("units", cfg.get("filters"))
        if layer.name in outputs:
            if cfg.get("activation") == "softmax" or _softmax_loss(model):
                facts.classes = int(size) if size else None
        elif size:
            widths.append(int(size))
    facts.narrowest = min(widths) if widths else None
    first = next((layer for layer in layers if type(layer).__name__ != "InputLayer"), None)
    facts.scales_inputs = first is not None and type(first).__name__ in INPUT_SCALERS
    facts.input_rms = spec.data.input_rms()
    return facts


def refine(diagnosis: Any, facts: ModelFacts | None) -> tuple[Any, list[str]]:
    """The diagnosis with its advice re-ranked (and, for a softmax bottleneck, a model
    finding added) by what the model shows, and one sentence per change.

    Args:
        diagnosis: A :class:`~loganalyzer.verify.loop.Diagnosis` (not changed).
        facts: What :func:`read_facts` read (``None``: nothing to refine).

    Returns:
        ``(diagnosis, notes)``: a new diagnosis, and what changed and why.
    """
    from loganalyzer.verify.loop import AdviceTally, FindingTally

    if facts is None:
        return diagnosis, []
    notes = [f"from the model: {e}" for e in facts.errors]
    findings = list(diagnosis.findings)
    advice = list(diagnosis.advice)
    n = diagnosis.n

    def tally(action: str, summary: str, params: dict | None = None) -> AdviceTally:
        return AdviceTally(action, n, n, 0.0, [MODEL_RULE], params or {}, summary)

    if facts.bottleneck:
        findings.insert(
            0,
            FindingTally(
                "underfitting", MODEL_RULE, "warning", n, n,
                f"a hidden layer of {facts.narrowest} units feeds a softmax over "
                f"{facts.classes} classes: the logits can span only {facts.narrowest} "
                "directions (softmax bottleneck); the model is too small for the task",
            ),
        )  # fmt: skip
        advice = _promote(advice, tally("grow", "Grow the hidden layers", {"factor": 2.0}))
        notes.append(
            f"from the model: a hidden layer of {facts.narrowest} units before a softmax over "
            f"{facts.classes} classes is a softmax bottleneck (Yang et al. 2018): grow first"
        )
    warned = n if facts.bottleneck else diagnosis.warned  # a model problem is in every seed
    problems = {f.kind for f in findings} if 2 * warned >= n else set()
    # Later rules go before earlier ones: unscaled inputs come first of all.
    if facts.batch_size <= TINY_BATCH and _leads("noisy", findings, problems):
        advice = _promote(advice, tally("larger-batch", "Use larger batches"))
        notes.append(
            f"from the model: batches of {facts.batch_size} samples; the noise of a step "
            "grows as learning rate / batch size (Smith & Le 2018): larger-batch first"
        )
    if facts.unscaled_inputs and problems & OPTIMISATION:
        advice = _promote(advice, tally("normalize-inputs", "Normalize the inputs"))
        notes.append(
            f"from the model: an input feature has RMS {facts.input_rms:.3g} and the model does "
            "not normalise its inputs; inputs of order one come before any learning-rate "
            "remedy (LeCun et al. 1998): normalize-inputs first"
        )
    names = [a.action for a in advice]
    if facts.adaptive and "dropout" in names and "regularize" in names:
        if names.index("regularize") < names.index("dropout"):
            advice = _before(advice, "dropout", "regularize")
            notes.append(
                f"from the model: {facts.optimizer} rescales an L2 penalty's gradient per "
                "weight, so L2 regularises weakly under it (Loshchilov & Hutter 2019): "
                "dropout before regularize"
            )
    for i, a in enumerate(advice):
        if a.action == "grow":
            advised = float(a.params.get("factor", 2.0) or 2.0)
            factor = facts.grow_factor(advised)
            if factor != advised:
                advice[i] = replace(a, params={**a.params, "factor": factor})
                notes.append(
                    f"from the model: the narrowest hidden layer has {facts.narrowest} units; "
                    f"grow x{factor:g} (not x{advised:g}) brings it to "
                    f"{int(facts.narrowest * factor)}"
                )
    return replace(diagnosis, findings=findings, advice=advice, warned=warned), notes


def _leads(kind: str, findings: list, problems: set[str]) -> bool:
    """``kind`` is a problem found in at least as many seeds as any other problem."""
    runs = {f.kind: f.runs for f in findings if f.kind in problems}
    return kind in runs and runs[kind] >= max(runs.values())


def _promote(advice: list, new: Any) -> list:
    """``new.action`` first: the advised tally if the seeds gave it (its numbers), else
    ``new``."""
    same = [a for a in advice if a.action == new.action] or [new]
    return same + [a for a in advice if a.action != new.action]


def _before(advice: list, first: str, second: str) -> list:
    """``first`` moved to where ``second`` was, ``second`` right after it."""
    out = [a for a in advice if a.action != first]
    i = next(k for k, a in enumerate(out) if a.action == second)
    out.insert(i, next(a for a in advice if a.action == first))
    return out


def _softmax_loss(model: Any) -> bool:
    """Compiled with a (sparse) categorical cross-entropy, as a name or a class."""
    loss = getattr(model, "loss", None)
    name = loss if isinstance(loss, str) else type(loss).__name__
    return "categoricalcrossentropy" in str(name).lower().replace("_", "")

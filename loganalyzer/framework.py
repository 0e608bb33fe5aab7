"""Which framework wrote a run: Keras, Hugging Face Trainer, Lightning or plain PyTorch.

Advice speaks the user's own API (``keras.callbacks.EarlyStopping`` for a Keras run,
``TrainingArguments`` + ``EarlyStoppingCallback`` for a Trainer run, ...), so the
framework is guessed once per run from what the log itself shows:

- the **format**: a Keras History JSON or CSVLogger file is Keras, ``trainer_state.json``
  is the Hugging Face Trainer, a Lightning ``metrics.csv`` is Lightning;
- for **TensorBoard** runs (every framework writes them) the tag layout:
  Keras's ``epoch_loss`` / ``batch_loss`` tags in ``train/`` and ``validation/`` folders;
  the Trainer's ``train/learning_rate``, ``train/grad_norm``, ``eval/loss`` tags;
  Lightning's ``hp_metric``, ``_hparams_`` plugin data, ``lr-<Optimizer>`` tags of its
  ``LearningRateMonitor`` and ``*_step``/``*_epoch`` pairs from ``self.log(on_step=True,
  on_epoch=True)``; anything else was written by a plain ``SummaryWriter`` (PyTorch).

An in-memory History, dict or DataFrame (``format="python"``) is taken as Keras, the
tool's native API. ``--framework`` overrides the guess.

The optimizer is known when the log names it: Lightning's ``LearningRateMonitor``
writes the rate as ``lr-AdamW`` (or ``lr-SGD/pg1``).

Example:
    >>> from loganalyzer.analysis import to_run
    >>> run = to_run({"loss": [1.0, 0.5]})
    >>> guess(run).name
    'keras'
    >>> run.format = "hf-trainer"
    >>> guess(run)
    Guess(name='hf', why='trainer_state.json is written by the Hugging Face Trainer')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from loganalyzer.run import Run

#: The frameworks advice can speak, as accepted by ``--framework``.
FRAMEWORKS = ("keras", "hf", "lightning", "pytorch")

#: How each framework is named in prose.
LABELS = {
    "keras": "Keras",
    "hf": "Hugging Face Trainer",
    "lightning": "PyTorch Lightning",
    "pytorch": "PyTorch",
}

_BY_FORMAT = {
    "keras-json": ("keras", "a Keras History JSON"),
    "keras-csv": ("keras", "a Keras CSVLogger-style CSV"),
    "python": ("keras", "an in-memory history (taken as Keras)"),
    "hf-trainer": ("hf", "trainer_state.json is written by the Hugging Face Trainer"),
    "lightning-csv": ("lightning", "metrics.csv with epoch and step columns (Lightning CSVLogger)"),
}

_LR_MONITOR = re.compile(r"^lr-([A-Za-z][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Guess:
    """The framework of a run and the evidence for it (one phrase)."""

    name: str
    why: str


def guess(run: Run) -> Guess:
    """The framework that most likely wrote ``run`` (see the module docstring)."""
    if run.writer in FRAMEWORKS:
        return Guess(run.writer, f"printed by {LABELS[run.writer]} ({run.format})")
    if run.format in _BY_FORMAT:
        name, why = _BY_FORMAT[run.format]
        return Guess(name, why)
    if run.format == "tensorboard":
        return _tensorboard(run)
    return Guess("keras", f"format {run.format!r} (taken as Keras)")


def _tensorboard(run: Run) -> Guess:
    tags = [str(t) for t in run.original_names.values()] + [str(t) for t in run.dropped]
    tags += [str(t) for t in run.side_series]
    low = [t.lower() for t in tags]
    split_dirs = any(
        "/train/" in s.replace("\\", "/") or "/validation/" in s.replace("\\", "/")
        for s in run.sources
    )
    keras_tags = [t for t in low if re.match(r"^(validation/)?(epoch|batch)_", t)]
    if (
        keras_tags
        or "keras" in low
        or (split_dirs and any(t.startswith("evaluation_") for t in low))
    ):
        example = keras_tags[0] if keras_tags else "keras"
        return Guess("keras", f"Keras TensorBoard tags ({example})")
    lightning = [
        t for t in tags if t == "hp_metric" or t.startswith("_hparams_/") or _LR_MONITOR.match(t)
    ]
    stems = {t[: -len("_step")] for t in low if t.endswith("_step")}
    if not lightning:
        lightning = [f"{s}_step/_epoch" for s in stems if f"{s}_epoch" in low]
    if lightning:
        return Guess("lightning", f"Lightning TensorBoardLogger tags ({lightning[0]})")
    hf = [
        t
        for t in low
        if t.startswith("eval/") or t in ("train/learning_rate", "train/grad_norm", "train/epoch")
    ]
    if hf:
        return Guess("hf", f"Hugging Face Trainer tags ({hf[0]})")
    return Guess("pytorch", "TensorBoard tags of a plain SummaryWriter")


def optimizer(run: Run) -> str | None:
    """The optimizer's class name when the log names it (``lr-AdamW`` -> ``"AdamW"``).

    Example:
        >>> from loganalyzer.analysis import to_run
        >>> run = to_run({"loss": [1.0, 0.5], "lr-SGD": [0.1, 0.1]})
        >>> optimizer(run)
        'SGD'
    """
    for name in list(run.original_names.values()) + list(run.dropped):
        m = _LR_MONITOR.match(str(name))
        if m:
            return m.group(1)
    return None

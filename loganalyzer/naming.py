"""Canonical metric names.

Every reader renames the metrics it finds with :func:`canonical_name`, so that a
detector asks for ``"val_loss"`` whether the log said ``val_loss``, ``eval_loss``,
``validation/main/loss``, ``ValLoss`` or ``epoch_loss`` in a Keras ``validation/``
folder. Canonical names follow Keras (the names users already pass to
``EarlyStopping(monitor=...)``):

- training metrics have no prefix: ``loss``, ``accuracy``, ``mae``;
- validation metrics have a ``val_`` prefix: ``val_loss``, ``val_accuracy``;
  several evaluation sets keep their set name: ``val_<set>_loss``;
- the learning rate is ``learning_rate``.

Example:
    >>> canonical_name("train/loss"), canonical_name("eval_loss"), canonical_name("lr-Adam")
    ('loss', 'val_loss', 'learning_rate')
    >>> canonical_name("validation/main/loss"), canonical_name("TrainLoss"), canonical_name("acc")
    ('val_loss', 'loss', 'accuracy')
"""

from __future__ import annotations

import re

# Prefixes (and suffixes, for the `loss/train` style) that say which split a metric is on.
_TRAIN_WORDS = ("train", "training", "tr")
_VAL_WORDS = ("val", "valid", "validation", "eval", "evaluation", "dev", "test_val")

# Base-name synonyms, applied after the split prefix is removed.
_SYNONYMS = {
    "acc": "accuracy",
    "losses": "loss",
    "accs": "accuracy",
    "accuracies": "accuracy",
    "lr": "learning_rate",
    "learningrate": "learning_rate",
    "learning_rate": "learning_rate",
    "main/loss": "loss",
    "main/accuracy": "accuracy",
    "main/acc": "accuracy",
    "mean_squared_error": "mse",
    "mean_absolute_error": "mae",
}

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _snake(name: str) -> str:
    """``TrainLoss`` -> ``train_loss``; ``Val Loss`` -> ``val_loss``; keeps ``/``."""
    s = _CAMEL.sub("_", name.strip())
    s = re.sub(r"[\s\-.]+", "_", s)
    s = re.sub(r"_+", "_", s)
    return s.strip("_").lower()


def _base(name: str) -> str:
    name = _SYNONYMS.get(name, name)
    # Keras TensorBoard writes epoch_<metric>; Keras 3 and tf.keras write the same.
    if name.startswith("epoch_") and len(name) > 6:
        name = _SYNONYMS.get(name[6:], name[6:])
    if name.startswith("lr_") or name.startswith("lr-"):
        # Lightning's LearningRateMonitor: lr-Adam, lr-SGD/pg1
        return "learning_rate"
    return name


def split_of(name: str) -> tuple[str, str]:
    """Return ``(split, base)`` where split is ``"train"``, ``"val"`` or ``""``.

    Example:
        >>> split_of("loss/train"), split_of("eval_accuracy"), split_of("mae")
        (('train', 'loss'), ('val', 'accuracy'), ('', 'mae'))
    """
    s = _snake(name)
    if s in _SYNONYMS:
        return "", _SYNONYMS[s]
    # path-like names: validation/main/loss, train/loss, loss/train, val/acc
    if "/" in s:
        parts = [p for p in s.split("/") if p]
        if parts and parts[0] in _TRAIN_WORDS + _VAL_WORDS:
            split = "train" if parts[0] in _TRAIN_WORDS else "val"
            return split, _base("/".join(parts[1:]) or "loss")
        if parts and parts[-1] in _TRAIN_WORDS + _VAL_WORDS:
            split = "train" if parts[-1] in _TRAIN_WORDS else "val"
            return split, _base("/".join(parts[:-1]) or "loss")
        return "", _base(s)
    for words, split in ((_VAL_WORDS, "val"), (_TRAIN_WORDS, "train")):
        for w in sorted(words, key=len, reverse=True):
            if s.startswith(w + "_") and len(s) > len(w) + 1:
                return split, _base(s[len(w) + 1 :])
            if s.endswith("_" + w) and len(s) > len(w) + 1:
                return split, _base(s[: -len(w) - 1])
    return "", _base(s)


def canonical_name(name: str) -> str:
    """Map a metric name as written in a log to its canonical name."""
    split, base = split_of(name)
    if base == "learning_rate":
        return "learning_rate"
    if split == "val":
        return "val_" + base
    return base


def is_loss(name: str) -> bool:
    """True for a canonical name that is a loss (``loss``, ``val_loss``, ``val_x_loss``)."""
    return name == "loss" or name.endswith("_loss") or name == "val_loss"


#: Metric names (after ``val_``) that are a loss when a log has no ``*_loss`` at all.
LOSS_LIKE = ("ce", "nll", "bce", "xent", "cross_entropy", "crossentropy", "mse", "kl", "elbo")


def pick_losses(columns: list[str]) -> tuple[str | None, str | None]:
    """Choose the training and validation loss among canonical column names.

    ``loss`` and ``val_loss`` when present; otherwise the only ``*_loss`` of each
    split (``val_squad_loss`` when HF evaluated one named set). With several
    validation losses and no plain ``val_loss`` the first in column order is taken,
    and when there is no ``*_loss`` at all a loss by another name
    (:data:`LOSS_LIKE`: ``val_ce``, ``val_nll``, ``val_mse``, ...). The training loss
    then is the validation loss's own counterpart when it is logged
    (``val_elbo_loss`` pairs with ``elbo_loss``). ``--train-loss`` / ``--val-loss``
    override.

    Example:
        >>> pick_losses(["elbo_loss", "recon_loss", "val_elbo_loss", "val_recon_loss"])
        ('elbo_loss', 'val_elbo_loss')
        >>> pick_losses(["nll", "val_nll", "val_accuracy"])
        ('nll', 'val_nll')
    """
    train = "loss" if "loss" in columns else None
    val = "val_loss" if "val_loss" in columns else None
    if val is None:
        cands = [c for c in columns if c.startswith("val_") and c.endswith("_loss")]
        if not cands:
            cands = [c for c in columns if c.startswith("val_") and c[4:] in LOSS_LIKE]
        if cands:
            val = cands[0]
    if train is None and val is not None and val[4:] in columns:
        train = val[4:]
    if train is None:
        cands = [c for c in columns if c.endswith("_loss") and not c.startswith("val_")]
        cands = [c for c in cands if not c.startswith(("test_", "batch_"))]
        if len(cands) == 1:
            train = cands[0]
    return train, val


#: Substrings of metric names where higher is better (``mode="max"`` in Keras).
_HIGHER_BETTER = (
    "acc",
    "auc",
    "f1",
    "precision",
    "recall",
    "iou",
    "dice",
    "map",
    "bleu",
    "rouge",
    "r2",
    "psnr",
    "ssim",
    "top_",
    "exact_match",
    "matthews",
    "kappa",
)
_LOWER_BETTER = ("loss", "mae", "mse", "rmse", "error", "perplexity", "ppl", "wer", "cer")


def direction(name: str) -> str | None:
    """``"max"`` for accuracy-like metrics, ``"min"`` for losses/errors, else ``None``.

    Example:
        >>> direction("val_accuracy"), direction("val_mae"), direction("epoch_time")
        ('max', 'min', None)
    """
    base = name.lower()
    base = base[4:] if base.startswith("val_") else base
    if any(w in base for w in _LOWER_BETTER):
        return "min"
    if any(w in base for w in _HIGHER_BETTER):
        return "max"
    return None

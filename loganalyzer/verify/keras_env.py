"""The one place that imports Keras for ``loganalyzer verify``, with a clear error.

Example:
    >>> from loganalyzer.verify.keras_env import MissingKeras
    >>> str(MissingKeras("keras"))[:40]
    "loganalyzer verify needs 'keras', which "
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

INSTALL_HINT = "pip install 'loganalyzer[verify]'"


class MissingKeras(RuntimeError):
    """TensorFlow or Keras is not installed; the message says which extra to install."""

    def __init__(self, module: str):
        super().__init__(
            f"loganalyzer verify needs {module!r}, which is not installed; "
            f"install the verify extra: {INSTALL_HINT}"
        )


def require_keras():
    """Import and return ``keras`` (Keras 3, TensorFlow backend unless the user chose one).

    Raises:
        MissingKeras: when keras or its backend cannot be imported.

    Example:
        >>> keras = require_keras()  # doctest: +SKIP
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    try:
        with _quiet_native_stderr():
            import keras
    except ImportError as exc:
        raise MissingKeras(exc.name or "keras") from None
    if not str(getattr(keras, "__version__", "0")).startswith("3"):
        raise MissingKeras("keras>=3")
    return keras


def deterministic() -> None:
    """Make TensorFlow ops deterministic, so a seed fixes a run's numbers exactly.

    ``keras.utils.set_random_seed`` fixes the random draws; TensorFlow's CPU kernels
    may still sum in a different order from run to run. With op determinism on, the
    same seed gives the same history in this process and on a Ray worker, which is
    what makes the backends interchangeable. Other Keras backends are left alone.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()


@contextmanager
def _quiet_native_stderr():
    """Silence the C++ start-up lines TensorFlow writes straight to file descriptor 2
    ("oneDNN custom operations are on", absl notices) while it is imported; Python
    errors still propagate as exceptions."""
    if "keras" in sys.modules:
        yield
        return
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # captured stderr (pytest, notebooks)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)

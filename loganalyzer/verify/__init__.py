"""Verify a fix by retraining: baseline vs. fixed model over the same seeds, with statistics.

Nothing in this package imports TensorFlow or Keras at import time; they are imported
inside the functions that train (see :func:`loganalyzer.verify.keras_env.require_keras`),
so ``loganalyzer analyze`` never pays for them.

Modules:
    spec: the experiment spec (a Python file or a ``.keras`` model plus an ``.npz``).
    fixes: the fixes as real transformations of the user's model.
    experiment: baseline and variants over N seeds; logs written and analysed again.
    stats: paired comparisons, verdicts, the data-size power law.
    demo: the embedded default spec behind ``loganalyzer verify --demo``.

Example:
    >>> from loganalyzer.verify.fixes import parse_fix
    >>> parse_fix("regularize:factor=1e-3")
    FixRequest(action='regularize', params={'factor': 0.001})
"""

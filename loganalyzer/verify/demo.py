"""The embedded default experiment behind ``loganalyzer verify --demo``.

The seed example from the user's material: ``Sequential`` ``Dense(64, relu) ->
Dense(64, relu) -> Dense(1)`` on 100 input features, ``adam``, mean squared error,
batch 32, trained on a generated data set small enough to overfit (800 samples of 100
correlated features driven by 5 hidden factors, a nonlinear target, label noise 1.0;
the same generator as ``sample_logs/overfit``). Validation loss reaches its minimum
after about 8 epochs and then rises while training loss keeps falling.

``loganalyzer verify --demo`` runs the closed loop on it (diagnose, try the top three
advised fixes, apply the best, repeat for ``--rounds``) over 5 seeds and 25 epochs;
``--demo --fix ACTION`` verifies the given fixes over 4 seeds instead.

Example:
    >>> spec = demo_spec()  # loads the generated data; builds no model yet
    >>> spec.fit
    {'epochs': 25, 'batch_size': 32}
"""

from __future__ import annotations

import numpy as np

#: Seeds and epochs of the demo (chosen so it finishes under 5 min on 2 cores): 4 seeds
#: when fixes are given; the loop's default of 5 (Holm over three fixes needs them).
DEMO_SEEDS = 4
DEMO_EPOCHS = 25

#: The demo as a spec file a user could copy (``loganalyzer verify --demo --show-spec``).
SPEC_SOURCE = """\
import keras
import numpy as np

FIT = {"epochs": 25, "batch_size": 32}


def build_model():
    model = keras.Sequential([
        keras.Input(shape=(100,)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(1),
    ])
    model.compile(optimizer="adam", loss="mse")
    return model


def load_data():
    def make(n, seed):
        rng = np.random.default_rng(seed)
        mixing = np.random.default_rng(1234).normal(size=(5, 100)) / np.sqrt(5)
        z = rng.normal(size=(n, 5))
        x = z @ mixing + 0.3 * rng.normal(size=(n, 100))
        y = np.sin(2 * z[:, 0]) + z[:, 1] * z[:, 2] + 0.5 * z[:, 3]
        y = y + rng.normal(scale=1.0, size=n)
        return x.astype("float32"), y.astype("float32").reshape(-1, 1)

    return make(800, 1), make(500, 2)
"""


def make_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples of 100 correlated features and a noisy nonlinear target."""
    rng = np.random.default_rng(seed)
    mixing = np.random.default_rng(1234).normal(size=(5, 100)) / np.sqrt(5)
    z = rng.normal(size=(n, 5))
    x = z @ mixing + 0.3 * rng.normal(size=(n, 100))
    y = np.sin(2 * z[:, 0]) + z[:, 1] * z[:, 2] + 0.5 * z[:, 3]
    y = y + rng.normal(scale=1.0, size=n)
    return x.astype("float32"), y.astype("float32").reshape(-1, 1)


def build_model():
    """The seed example's model, compiled with adam and mean squared error."""
    from loganalyzer.verify.keras_env import require_keras

    keras = require_keras()
    model = keras.Sequential(
        [
            keras.Input(shape=(100,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(1),
        ],
        name="seed_example",
    )
    model.compile(optimizer="adam", loss="mse")
    return model


def load_data():
    """800 training and 500 validation samples."""
    return make_data(800, 1), make_data(500, 2)


def demo_spec():
    """The demo as a :class:`~loganalyzer.verify.spec.Spec`."""
    from loganalyzer.verify.spec import spec_from_functions

    return spec_from_functions(
        "demo (seed example: Dense(64)-Dense(64) on 100 features, adam, MSE)",
        build_model,
        load_data,
        fit={"epochs": DEMO_EPOCHS, "batch_size": 32},
    )

"""Each fix of ``loganalyzer verify`` transforms Sequential and Functional models as
intended (layers, regularizers, units, optimizer, callbacks) and the model still trains."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras", reason="needs the verify extra (keras)")

from loganalyzer.verify.fixes import FixError, FixRequest, apply_fix, parse_fix  # noqa: E402
from loganalyzer.verify.spec import Data  # noqa: E402

X = np.random.default_rng(0).normal(size=(32, 6)).astype("float32")
Y = X[:, :1] * 2.0
DATA = Data(X, Y, X, Y)


def sequential():
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(6, activation="tanh"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    return model


def functional():
    inp = keras.Input((6,))
    x = keras.layers.Dense(8, activation="relu")(inp)
    x = keras.layers.Dense(6, activation="tanh")(x)
    out = keras.layers.Dense(1)(x)
    model = keras.Model(inp, out)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return model


BUILDERS = [sequential, functional]


def layers(model):
    """Every layer, nested models expanded, without InputLayers."""
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out += layers(layer)
        elif not isinstance(layer, keras.layers.InputLayer):
            out.append(layer)
    return out


def kinds(model):
    return [type(layer).__name__ for layer in layers(model)]


def trains(prepared):
    history = prepared.model.fit(
        X, Y, validation_data=(X, Y), epochs=2, batch_size=16, verbose=0,
        callbacks=prepared.callbacks,
    )  # fmt: skip
    assert np.isfinite(history.history["loss"]).all()
    assert "val_loss" in history.history
    return history


@pytest.mark.parametrize("build", BUILDERS)
def test_regularize_l2_and_l1_on_every_dense(build):
    original = build()
    prepared = apply_fix(FixRequest("regularize", {"factor": 3e-4}), original)
    dense = [layer for layer in layers(prepared.model) if isinstance(layer, keras.layers.Dense)]
    assert len(dense) == 3
    for layer in dense:
        assert isinstance(layer.kernel_regularizer, keras.regularizers.L2)
        assert float(layer.kernel_regularizer.l2) == pytest.approx(3e-4)
    assert type(prepared.model) is type(original)
    assert all(layer.kernel_regularizer is None for layer in layers(original))  # untouched
    assert prepared.model.losses  # the penalty is really part of the loss
    # Same starting weights as the baseline, so the pair differs only by the fix.
    for new, old in zip(layers(prepared.model), layers(original), strict=True):
        for w_new, w_old in zip(new.get_weights(), old.get_weights(), strict=True):
            np.testing.assert_array_equal(w_new, w_old)
    trains(prepared)
    l1 = apply_fix(parse_fix("regularize:kind=l1,factor=1e-5"), build())
    assert all(
        isinstance(layer.kernel_regularizer, keras.regularizers.L1) for layer in layers(l1.model)
    )


@pytest.mark.parametrize("build", BUILDERS)
def test_dropout_after_hidden_layers_only(build):
    prepared = apply_fix(FixRequest("dropout", {"rate": 0.25}), build())
    assert kinds(prepared.model) == ["Dense", "Dropout", "Dense", "Dropout", "Dense"]
    assert all(
        layer.rate == pytest.approx(0.25)
        for layer in layers(prepared.model)
        if isinstance(layer, keras.layers.Dropout)
    )
    trains(prepared)


def test_dropout_goes_after_the_whole_block():
    """Dense -> BatchNormalization -> Activation is one block: Dropout after it, not
    between the Dense and its normalization."""
    seq = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8),
            keras.layers.BatchNormalization(),
            keras.layers.Activation("relu"),
            keras.layers.Dense(4, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    seq.compile(optimizer="adam", loss="mse")
    inp = keras.Input((6,))
    x = keras.layers.Dense(8)(inp)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Activation("relu")(x)
    skip = keras.layers.Dense(4, activation="relu")(x)
    out = keras.layers.Dense(1)(keras.layers.Concatenate()([x, skip]))
    func = keras.Model(inp, out)
    func.compile(optimizer="adam", loss="mse")
    expected_seq = ["Dense", "BatchNormalization", "Activation", "Dropout", "Dense", "Dropout",
                    "Dense"]  # fmt: skip
    seq_prepared = apply_fix(FixRequest("dropout"), seq)
    assert kinds(seq_prepared.model) == expected_seq
    trains(seq_prepared)
    func_prepared = apply_fix(FixRequest("dropout"), func)
    got = kinds(func_prepared.model)
    assert got.index("Activation") < got.index("Dropout")  # after the block ...
    assert got.count("Dropout") == 2  # ... once per hidden block, none after the output
    act = next(la for la in layers(func_prepared.model) if isinstance(la, keras.layers.Activation))
    consumers = [
        la for la in layers(func_prepared.model)
        if any(n.parent_nodes and act in [p.operation for p in n.parent_nodes]
               for n in la._inbound_nodes)
    ]  # fmt: skip
    assert [type(c).__name__ for c in consumers] == ["Dropout"]
    trains(func_prepared)


@pytest.mark.parametrize("build", BUILDERS)
def test_shrink_hidden_units_keeps_output(build):
    prepared = apply_fix(FixRequest("shrink", {"factor": 0.5}), build())
    assert [layer.units for layer in layers(prepared.model)] == [4, 3, 1]
    trains(prepared)


@pytest.mark.parametrize("build", BUILDERS)
def test_grow_widens_hidden_units_keeps_output(build):
    prepared = apply_fix(FixRequest("grow", {"factor": 2.0}), build())
    assert [layer.units for layer in layers(prepared.model)] == [16, 12, 1]
    trains(prepared)
    with pytest.raises(FixError, match="grow: factor"):
        apply_fix(FixRequest("grow", {"factor": 0.5}), build())


@pytest.mark.parametrize("build", BUILDERS)
def test_batch_norm_between_linear_layer_and_activation(build):
    prepared = apply_fix(FixRequest("batch-norm"), build())
    assert kinds(prepared.model) == [
        "Dense", "BatchNormalization", "Activation",
        "Dense", "BatchNormalization", "Activation", "Dense",
    ]  # fmt: skip
    ls = layers(prepared.model)
    assert ls[0].get_config()["activation"] == "linear"
    assert ls[2].get_config()["activation"] == "relu"
    assert ls[5].get_config()["activation"] == "tanh"
    trains(prepared)


@pytest.mark.parametrize("build", BUILDERS)
def test_early_stopping_callback_restores_best(build):
    req = parse_fix("early-stopping:patience=1,min_delta=0.001")
    original = build()
    prepared = apply_fix(req, original)
    assert prepared.model is original  # training-only fix: the baseline's own weights
    (cb,) = prepared.callbacks
    assert isinstance(cb, keras.callbacks.EarlyStopping)
    assert (cb.monitor, cb.patience, cb.restore_best_weights) == ("val_loss", 1, True)
    assert abs(cb.min_delta) == pytest.approx(0.001)
    trains(prepared)


@pytest.mark.parametrize("build", BUILDERS)
def test_augment_vector_inputs_get_gaussian_noise(build):
    prepared = apply_fix(FixRequest("augment"), build(), DATA)
    first = layers(prepared.model)[0]
    assert isinstance(first, keras.layers.GaussianNoise)
    # default: a tenth of the typical input feature std
    expected = 0.1 * float(np.median(X.std(axis=0)))
    assert first.stddev == pytest.approx(expected, rel=1e-5)
    trains(prepared)


@pytest.mark.parametrize("build", BUILDERS)
def test_optimizer_fixes(build):
    lower = apply_fix(FixRequest("lower-lr", {"factor": 0.1}), build())
    assert float(lower.model.optimizer.learning_rate) == pytest.approx(0.001)
    assert isinstance(lower.model.optimizer, keras.optimizers.Adam)
    set_lr = apply_fix(FixRequest("lower-lr", {"learning_rate": 3e-4}), build())
    assert float(set_lr.model.optimizer.learning_rate) == pytest.approx(3e-4)
    clip = apply_fix(FixRequest("clip-gradients", {"clipnorm": 0.5}), build())
    assert clip.model.optimizer.clipnorm == pytest.approx(0.5)
    trains(clip)
    sched = apply_fix(parse_fix("lr-schedule:factor=0.2,patience=2"), build())
    (cb,) = sched.callbacks
    assert isinstance(cb, keras.callbacks.ReduceLROnPlateau)
    assert (cb.factor, cb.patience, cb.monitor) == (0.2, 2, "val_loss")
    trains(sched)


def test_conv_model_fixes_and_image_augmentation():
    def conv():
        model = keras.Sequential(
            [
                keras.Input((8, 8, 1)),
                keras.layers.Conv2D(4, 3, activation="relu"),
                keras.layers.Flatten(),
                keras.layers.Dense(2, activation="softmax"),
            ]
        )
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return model

    x = np.random.default_rng(1).normal(size=(16, 8, 8, 1)).astype("float32")
    y = np.arange(16) % 2
    shrunk = apply_fix(FixRequest("shrink"), conv())
    assert layers(shrunk.model)[0].filters == 2
    reg = apply_fix(FixRequest("regularize"), conv())
    assert isinstance(layers(reg.model)[0].kernel_regularizer, keras.regularizers.L2)
    drop = apply_fix(FixRequest("dropout"), conv())
    assert kinds(drop.model) == ["Conv2D", "Dropout", "Flatten", "Dense"]
    aug = apply_fix(FixRequest("augment"), conv(), Data(x, y, x, y))
    assert kinds(aug.model)[:3] == ["RandomFlip", "RandomRotation", "RandomTranslation"]
    aug.model.fit(x, y, epochs=1, verbose=0)


@pytest.mark.parametrize("functional", [False, True])
def test_output_layer_behind_a_separate_activation_is_kept(functional):
    """Dense(3) -> Activation("softmax") is the output: shrink and dropout leave it alone."""
    if functional:
        inp = keras.Input((6,))
        x = keras.layers.Dense(8, activation="relu")(inp)
        out = keras.layers.Activation("softmax")(keras.layers.Dense(3)(x))
        model = keras.Model(inp, out)
    else:
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dense(3), keras.layers.Activation("softmax")])  # fmt: skip
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    shrunk = apply_fix(FixRequest("shrink"), model)
    assert [la.units for la in layers(shrunk.model) if hasattr(la, "units")] == [4, 3]
    dropped = apply_fix(FixRequest("dropout"), model)
    assert kinds(dropped.model) == ["Dense", "Dropout", "Dense", "Activation"]
    y = np.arange(len(X)) % 3
    shrunk.model.fit(X, y, epochs=1, verbose=0)


def test_bad_fixes_are_clear():
    with pytest.raises(FixError, match="unknown fix 'dropuot'"):
        parse_fix("dropuot")
    with pytest.raises(FixError, match="no parameter"):
        parse_fix("dropout:ratio=0.2")
    with pytest.raises(FixError, match="key=value"):
        parse_fix("dropout:0.2")
    with pytest.raises(FixError, match="between 0 and 1"):
        apply_fix(FixRequest("dropout", {"rate": 1.5}), sequential())
    linear = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)])
    linear.compile(optimizer="adam", loss="mse")
    with pytest.raises(FixError, match="no hidden Dense/Conv layer"):
        apply_fix(FixRequest("dropout"), linear)
    assert parse_fix("regularize:kind=l1,factor=1e-4").label == "regularize(kind=l1, factor=0.0001)"


def test_learning_rate_fixes_raise_and_repair_the_rate():
    build = sequential
    raised = apply_fix(FixRequest("raise-lr"), build())  # Adam(0.01) x 10
    assert float(raised.model.optimizer.learning_rate) == pytest.approx(0.1)
    assert isinstance(raised.model.optimizer, keras.optimizers.Adam)
    trains(raised)
    zero = build()
    zero.compile(optimizer=keras.optimizers.SGD(0.0, momentum=0.9), loss="mse")
    fixed = apply_fix(FixRequest("fix-lr"), zero)  # a rate of 0: SGD's own default
    assert float(fixed.model.optimizer.learning_rate) == pytest.approx(0.01)
    assert fixed.model.optimizer.get_config()["momentum"] == pytest.approx(0.9)
    assert float(apply_fix(parse_fix("fix-lr:learning_rate=0.003"), zero).model.optimizer
                 .learning_rate) == pytest.approx(0.003)  # fmt: skip
    with pytest.raises(FixError, match="raise-lr: factor must be above 1"):
        apply_fix(FixRequest("raise-lr", {"factor": 0.5}), build())


def test_normalize_inputs_adapts_a_normalization_layer_to_x_train():
    shifted = Data(X * 5.0 + 3.0, Y, X, Y)
    prepared = apply_fix(FixRequest("normalize-inputs"), functional(), shifted)
    norm = layers(prepared.model)[0]
    assert isinstance(norm, keras.layers.Normalization)
    out = np.asarray(norm(shifted.x_train))
    assert np.allclose(out.mean(axis=0), 0.0, atol=1e-4)
    assert np.allclose(out.std(axis=0), 1.0, atol=1e-3)
    trains(prepared)


def test_train_longer_and_larger_batch_change_the_fit_not_the_model():
    from loganalyzer.verify.fixes import apply_chain, fit_after

    model = sequential()
    longer = apply_fix(FixRequest("train-longer", {"extra_epochs": 12}), model, DATA,
                       {"epochs": 20, "batch_size": 8})  # fmt: skip
    assert longer.model is model and longer.fit == {"epochs": 32, "batch_size": 8}
    chained = apply_chain(
        [FixRequest("dropout"), FixRequest("larger-batch"), FixRequest("lower-lr")],
        sequential(), DATA, {"epochs": 20},
    )  # fmt: skip
    assert chained.fit == {"epochs": 20, "batch_size": 128}  # Keras' default 32, x4
    assert "Dropout" in kinds(chained.model)  # the lower rate kept the dropout
    assert float(chained.model.optimizer.learning_rate) == pytest.approx(0.001)
    with pytest.raises(FixError, match="not larger than 64"):
        fit_after([FixRequest("larger-batch", {"batch_size": 16})], {"batch_size": 64})

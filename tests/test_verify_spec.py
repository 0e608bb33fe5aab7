"""Loading an experiment spec for ``loganalyzer verify``: good specs load, bad ones say
in one line what is wrong."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

keras = pytest.importorskip("keras", reason="needs the verify extra (keras)")

from loganalyzer.verify.spec import SpecError, load_spec  # noqa: E402

MODEL = """
import keras
import numpy as np

def build_model():
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model
"""

DATA = """
def load_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5)).astype("float32")
    y = x[:, :1]
    return (x[:30], y[:30]), (x[30:], y[30:])
"""


def write(tmp_path, source, name="spec.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def test_good_spec_loads_with_fit_and_compile(tmp_path):
    source = (
        MODEL.replace('    model.compile(optimizer="adam", loss="mse")\n', "")
        + DATA
        + (
            '\nFIT = {"epochs": 3, "batch_size": 8}\n'
            "\ndef compile(model):\n"
            "    model.compile(optimizer=keras.optimizers.SGD(0.01), loss='mse')\n"
        )
    )
    spec = load_spec(write(tmp_path, source))
    assert spec.fit == {"epochs": 3, "batch_size": 8}
    assert spec.data.x_train.shape == (30, 5) and spec.data.x_val.shape == (10, 5)
    model = spec.new_model()
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert spec.new_model() is not model  # a fresh model per run


@pytest.mark.parametrize(
    "returns",
    [
        "(x[:30], y[:30], x[30:], y[30:])",
        "{'x_train': x[:30], 'y_train': y[:30], 'x_val': x[30:], 'y_val': y[30:]}",
    ],
)
def test_other_data_forms(tmp_path, returns):
    data = DATA.replace("(x[:30], y[:30]), (x[30:], y[30:])", returns)
    spec = load_spec(write(tmp_path, MODEL + data))
    assert len(spec.data.x_train) == 30 and len(spec.data.y_val) == 10


def test_missing_function(tmp_path):
    with pytest.raises(SpecError, match=r"spec\.py: the spec must define load_data\(\)"):
        load_spec(write(tmp_path, MODEL))


def test_wrong_return_shape_of_load_data(tmp_path):
    bad = DATA.replace("(x[:30], y[:30]), (x[30:], y[30:])", "x, y, x")
    with pytest.raises(SpecError, match=r"load_data\(\) must return .*got a tuple of 3"):
        load_spec(write(tmp_path, MODEL + bad))


def test_mismatched_lengths(tmp_path):
    bad = DATA.replace("(x[:30], y[:30])", "(x[:30], y[:20])")
    with pytest.raises(SpecError, match="x_train has 30 samples but y_train has 20"):
        load_spec(write(tmp_path, MODEL + bad))


def test_model_input_shape_does_not_match_data(tmp_path):
    spec = load_spec(
        write(tmp_path, MODEL.replace("keras.Input((5,))", "keras.Input((7,))") + DATA)
    )
    with pytest.raises(
        SpecError, match=r"inputs of shape \(7,\) but x_train samples have shape \(5,\)"
    ):
        spec.new_model()


def test_model_output_shape_does_not_match_labels(tmp_path):
    two_targets = DATA.replace("y = x[:, :1]", "y = x[:, :3]")
    spec = load_spec(write(tmp_path, MODEL + two_targets))
    with pytest.raises(
        SpecError, match=r"outputs shape \(1,\) but y_train samples have shape \(3,\)"
    ):
        spec.new_model()


def test_uncompiled_model_without_compile(tmp_path):
    source = MODEL.replace('    model.compile(optimizer="adam", loss="mse")\n', "") + DATA
    spec = load_spec(write(tmp_path, source))
    with pytest.raises(SpecError, match="not compiled"):
        spec.new_model()


def test_build_model_returning_something_else_and_raising(tmp_path):
    spec = load_spec(
        write(tmp_path, "import numpy as np\ndef build_model():\n    return 42\n" + DATA)
    )
    with pytest.raises(SpecError, match="must return a keras.Model, got int"):
        spec.new_model()
    spec = load_spec(write(tmp_path, "import numpy as np\ndef build_model():\n    1/0\n" + DATA))
    with pytest.raises(SpecError, match=r"build_model\(\) failed: ZeroDivisionError"):
        spec.new_model()


def test_syntax_error_and_missing_file(tmp_path):
    with pytest.raises(SpecError, match=r"spec\.py:1: syntax error"):
        load_spec(write(tmp_path, "def build_model(:\n"))
    with pytest.raises(SpecError, match="no such file"):
        load_spec(tmp_path / "nope.py")
    with pytest.raises(SpecError, match="a spec is a .py file"):
        load_spec(write(tmp_path, "x", name="spec.txt"))


def test_saved_keras_model_with_npz(tmp_path):
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="relu"),
                              keras.layers.Dense(1)])  # fmt: skip
    model.compile(optimizer=keras.optimizers.Adam(0.003), loss="mse")
    model.save(tmp_path / "m.keras")
    x = np.random.default_rng(0).normal(size=(20, 5)).astype("float32")
    np.savez(tmp_path / "d.npz", x_train=x, y_train=x[:, :1], x_val=x[:5], y_val=x[:5, :1])
    spec = load_spec(tmp_path / "m.keras", tmp_path / "d.npz")
    fresh = spec.new_model()
    assert float(fresh.optimizer.learning_rate) == pytest.approx(0.003)
    assert not np.allclose(fresh.layers[0].get_weights()[0], model.layers[0].get_weights()[0])
    np.savez(tmp_path / "bad.npz", x_train=x, y_train=x[:, :1])
    with pytest.raises(SpecError, match="missing array"):
        load_spec(tmp_path / "m.keras", tmp_path / "bad.npz")
    with pytest.raises(SpecError, match="needs --data"):
        load_spec(tmp_path / "m.keras")


def test_demo_spec_source_is_the_demo(tmp_path):
    """``verify --demo --show-spec`` prints a spec file that is the embedded demo."""
    from typer.testing import CliRunner

    from loganalyzer.cli import app
    from loganalyzer.verify import demo

    res = CliRunner().invoke(app, ["verify", "--demo", "--show-spec"])
    assert res.exit_code == 0
    spec = load_spec(write(tmp_path, res.stdout, name="demo_spec.py"))
    (xt, yt), (xv, yv) = demo.load_data()
    np.testing.assert_array_equal(spec.data.x_train, xt)
    np.testing.assert_array_equal(spec.data.y_val, yv)
    assert spec.fit == {"epochs": demo.DEMO_EPOCHS, "batch_size": 32}
    ours, theirs = demo.build_model(), spec.new_model()
    assert [type(la).__name__ for la in ours.layers] == [type(la).__name__ for la in theirs.layers]
    assert [la.get_config().get("units") for la in ours.layers] == [
        la.get_config().get("units") for la in theirs.layers
    ]


def test_build_model_must_return_a_fresh_model(tmp_path):
    shared = (
        "import keras\nimport numpy as np\n"
        "_MODEL = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])\n"
        "_MODEL.compile(optimizer='adam', loss='mse')\n"
        "def build_model():\n    return _MODEL\n"
    )
    spec = load_spec(write(tmp_path, shared + DATA))
    model = spec.new_model()
    model.fit(spec.data.x_train, spec.data.y_train, epochs=1, verbose=0)
    with pytest.raises(SpecError, match="already trained"):
        spec.new_model()


def test_multi_input_model_with_dict_data(tmp_path):
    from loganalyzer.verify.experiment import verify
    from loganalyzer.verify.fixes import parse_fix

    source = """
import keras
import numpy as np

def build_model():
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    x = keras.layers.Concatenate()([a, b])
    x = keras.layers.Dense(4, activation="relu")(x)
    model = keras.Model({"a": a, "b": b}, keras.layers.Dense(1)(x))
    model.compile(optimizer="adam", loss="mse")
    return model

def load_data():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(40, 3)), rng.normal(size=(40, 2))
    y = a[:, :1] + b[:, :1]
    return ({"a": a[:30], "b": b[:30]}, y[:30]), ({"a": a[30:], "b": b[30:]}, y[30:])
"""
    spec = load_spec(write(tmp_path, source))
    assert spec.data.n_train() == 30
    half = spec.data.subset(0.5)
    assert half.x_train["a"].shape == (15, 3) and half.y_train.shape == (15, 1)
    result = verify(spec, [parse_fix("dropout"), parse_fix("add-data:fractions=0.5")], seeds=2,
                    epochs=2, out_dir=tmp_path / "o")  # fmt: skip
    assert result.variants[0].comparisons["best_val_loss"].n == 2
    assert result.variants[1].curve.sizes == [15.0, 30.0]
    bad = source.replace('"b": b[:30]}, y[:30]', '"b": b[:20]}, y[:30]')
    with pytest.raises(SpecError, match=r"the arrays of x_train differ .* \(20, 30\)"):
        load_spec(write(tmp_path, bad))

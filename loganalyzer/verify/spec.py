"""The experiment spec: how to build the user's model and load the user's data.

Two forms are accepted:

1. A Python file defining

   - ``build_model()`` -> a Keras 3 model (compiled, or compiled by ``compile(model)``);
   - ``load_data()`` -> ``((x_train, y_train), (x_val, y_val))`` (each x or y an array,
     or a dict/list of arrays for a multi-input or multi-output model), or the 4-tuple
     ``(x_train, y_train, x_val, y_val)``, or a dict with those four keys, or
     ``(train_dataset, val_dataset)`` of ``tf.data`` datasets yielding ``(x, y)`` batches;
   - optionally ``FIT = {"epochs": ..., "batch_size": ...}`` (other ``model.fit`` keyword
     arguments are passed through) and ``compile(model)``.

2. A saved ``.keras`` model plus an ``.npz`` file with ``x_train``, ``y_train``, ``x_val``,
   ``y_val`` (``loganalyzer verify model.keras --data data.npz``). Its weights are
   re-initialised for every seed so baseline and fix start alike.

Every problem is reported as a :class:`SpecError` with one line saying what is wrong.

Example:
    >>> spec = load_spec("experiment.py")  # doctest: +SKIP
    >>> model = spec.new_model()  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


class SpecError(ValueError):
    """The spec cannot be used; ``str(err)`` is one line naming the file and the problem."""


@dataclass
class Data:
    """Training and validation data, as arrays or as ``tf.data`` datasets.

    Attributes:
        x_train, y_train, x_val, y_val: Arrays (``None`` when datasets are used).
        train_ds, val_ds: ``tf.data`` datasets (``None`` when arrays are used).
    """

    x_train: Any = None
    y_train: Any = None
    x_val: Any = None
    y_val: Any = None
    train_ds: Any = None
    val_ds: Any = None

    @property
    def is_dataset(self) -> bool:
        return self.train_ds is not None

    def n_train(self) -> int | None:
        """Number of training samples (arrays) or batches (datasets, if known)."""
        if not self.is_dataset:
            return _n_samples(self.x_train)
        card = int(self.train_ds.cardinality())
        return card if card >= 0 else None

    def subset(self, fraction: float) -> Data:
        """The first ``fraction`` of the training set (validation unchanged).

        Arrays are sliced (the spec's order is kept, so subsets are nested); a dataset
        keeps its first ``fraction`` of batches.
        """
        if fraction >= 1.0:
            return self
        n = self.n_train()
        if n is None:
            raise SpecError("add-data needs a training dataset of known length (cardinality)")
        k = max(1, int(round(n * fraction)))
        if self.is_dataset:
            return Data(train_ds=self.train_ds.take(k), val_ds=self.val_ds)
        return Data(_slice(self.x_train, k), _slice(self.y_train, k), self.x_val, self.y_val)

    def fit_kwargs(self) -> dict[str, Any]:
        if self.is_dataset:
            return {"x": self.train_ds, "validation_data": self.val_ds}
        return {"x": self.x_train, "y": self.y_train, "validation_data": (self.x_val, self.y_val)}

    def input_std(self) -> float | None:
        """Typical standard deviation of one input feature (for GaussianNoise), or None."""
        x = self._features()
        if x is None or np.ndim(self.x_train) < 2:
            return None
        return float(np.median(x.std(axis=0)))

    def input_rms(self) -> float | None:
        """The largest root mean square of one input feature (how far the raw inputs
        are from order one), or None."""
        x = self._features()
        if x is None:
            return None
        rms = np.sqrt(np.nanmean(x**2, axis=0))
        rms = rms[np.isfinite(rms)]
        return float(rms.max()) if rms.size else None

    def _features(self) -> np.ndarray | None:
        """The numeric training inputs as (samples, features), or None (datasets)."""
        if self.is_dataset or not isinstance(self.x_train, np.ndarray):
            return None
        if not np.issubdtype(self.x_train.dtype, np.number):
            return None  # input_std said so by raising; neither statistic applies
        x = np.asarray(self.x_train, dtype=float)
        if x.size == 0:
            return None
        return x.reshape(len(x), -1)


@dataclass
class Spec:
    """A loaded experiment spec.

    Attributes:
        source: The file it came from (for messages).
        build_model: Returns a fresh model; called once per run, after the seed is set.
        data: The training and validation data (loaded once).
        fit: Keyword arguments for ``model.fit`` (``epochs``, ``batch_size``, ...).
        compile: Optional ``compile(model)`` applied after ``build_model()``.
    """

    source: str
    build_model: Callable[[], Any]
    data: Data
    fit: dict[str, Any] = field(default_factory=dict)
    compile: Callable[[Any], Any] | None = None

    def new_model(self) -> Any:
        """Build and compile a fresh model, checking what the spec returned.

        Raises:
            SpecError: not a Keras model, not compiled, or input/output shapes that do not
                match the data.
        """
        keras = _keras()
        try:
            model = self.build_model()
        except SpecError:
            raise
        except Exception as exc:  # the user's code: report it in one line
            raise SpecError(f"{self.source}: build_model() failed: {_exc_line(exc)}") from None
        if not isinstance(model, keras.Model):
            raise SpecError(
                f"{self.source}: build_model() must return a keras.Model, "
                f"got {type(model).__name__}"
            )
        if self.compile is not None:
            try:
                self.compile(model)
            except Exception as exc:
                raise SpecError(f"{self.source}: compile(model) failed: {_exc_line(exc)}") from None
        if _already_trained(model):
            raise SpecError(
                f"{self.source}: build_model() returned a model that was already trained; "
                "it must build a new model on every call (baseline and fix start fresh)"
            )
        if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
            raise SpecError(
                f"{self.source}: the model from build_model() is not compiled; compile it "
                "there or define compile(model) in the spec"
            )
        _check_shapes(self.source, model, self.data)
        return model


def load_spec(path: str | Path, data: str | Path | None = None) -> Spec:
    """Load a spec file (``.py``) or a saved model (``.keras`` with ``data`` = ``.npz``).

    Args:
        path: The spec file.
        data: The ``.npz`` file for a ``.keras`` model.

    Raises:
        SpecError: with one line saying what is missing or wrong.
    """
    path = Path(path)
    if not path.exists():
        raise SpecError(f"{path}: no such file")
    if path.suffix == ".keras":
        return _load_saved(path, data)
    if path.suffix != ".py":
        raise SpecError(f"{path}: a spec is a .py file or a .keras model (with --data DATA.npz)")
    return _load_python(path)


def spec_from_functions(
    source: str,
    build_model: Callable[[], Any],
    load_data: Callable[[], Any],
    fit: dict[str, Any] | None = None,
    compile: Callable[[Any], Any] | None = None,
) -> Spec:
    """Build a spec from functions (what a spec file defines), checking ``load_data()``."""
    try:
        raw = load_data()
    except Exception as exc:
        raise SpecError(f"{source}: load_data() failed: {_exc_line(exc)}") from None
    return Spec(
        source=source,
        build_model=build_model,
        data=_coerce_data(source, raw),
        fit=dict(fit or {}),
        compile=compile,
    )


# ---------------------------------------------------------------------------- loaders
def _load_python(path: Path) -> Spec:
    _keras()  # make sure Keras is importable before running the user's file
    name = f"loganalyzer_spec_{abs(hash(str(path.resolve())))}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise SpecError(f"{path}: cannot be imported as a Python file")
    module = importlib.util.module_from_spec(module_spec)
    sys.path.insert(0, str(path.resolve().parent))  # let the spec import its neighbours
    try:
        module_spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise SpecError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:
        raise SpecError(f"{path}: importing the spec failed: {_exc_line(exc)}") from None
    finally:
        sys.path.remove(str(path.resolve().parent))
    missing = [f for f in ("build_model", "load_data") if not callable(getattr(module, f, None))]
    if missing:
        raise SpecError(
            f"{path}: the spec must define {' and '.join(f + '()' for f in missing)} "
            "(see `loganalyzer verify --help`)"
        )
    fit = getattr(module, "FIT", None) or {}
    if not isinstance(fit, dict):
        raise SpecError(f"{path}: FIT must be a dict such as {{'epochs': 20, 'batch_size': 32}}")
    compile_fn = getattr(module, "compile", None)
    if compile_fn is not None and not callable(compile_fn):
        raise SpecError(f"{path}: compile must be a function compile(model)")
    return spec_from_functions(str(path), module.build_model, module.load_data, fit, compile_fn)


def _load_saved(path: Path, data: str | Path | None) -> Spec:
    keras = _keras()
    if data is None:
        raise SpecError(
            f"{path}: a .keras model needs --data DATA.npz (x_train, y_train, x_val, y_val)"
        )
    data = Path(data)
    if not data.exists():
        raise SpecError(f"{data}: no such file")
    try:
        with np.load(data, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as exc:
        raise SpecError(f"{data}: not a readable .npz file: {_exc_line(exc)}") from None
    missing = [k for k in ("x_train", "y_train", "x_val", "y_val") if k not in arrays]
    if missing:
        raise SpecError(f"{data}: missing array(s) {', '.join(missing)}")
    try:
        saved = keras.models.load_model(path, compile=True, safe_mode=True)
    except Exception as exc:
        raise SpecError(f"{path}: cannot load the model: {_exc_line(exc)}") from None
    if not getattr(saved, "compiled", False):
        raise SpecError(f"{path}: the saved model was not compiled; save it after model.compile()")
    compile_config = saved.get_compile_config()

    def build_model():
        # Fresh weights for each seed: clone (re-initialises) and compile as saved.
        model = keras.models.clone_model(saved)
        model.compile_from_config(compile_config)
        return model

    return Spec(
        source=str(path),
        build_model=build_model,
        data=_coerce_data(str(data), arrays),
    )


# ---------------------------------------------------------------------------- checks
def _coerce_data(source: str, raw: Any) -> Data:
    shape_help = (
        "load_data() must return ((x_train, y_train), (x_val, y_val)), "
        "(x_train, y_train, x_val, y_val), a dict with those keys, or (train_ds, val_ds)"
    )
    if isinstance(raw, dict):
        keys = ("x_train", "y_train", "x_val", "y_val")
        missing = [k for k in keys if k not in raw]
        if missing:
            raise SpecError(f"{source}: data is missing {', '.join(missing)}; {shape_help}")
        parts = [raw[k] for k in keys]
    elif isinstance(raw, (tuple, list)) and len(raw) == 2 and all(_is_dataset(r) for r in raw):
        return Data(train_ds=raw[0], val_ds=raw[1])
    elif isinstance(raw, (tuple, list)) and len(raw) == 2:
        pairs = [r for r in raw if isinstance(r, (tuple, list)) and len(r) == 2]
        if len(pairs) != 2:
            raise SpecError(f"{source}: {shape_help}; got {_describe(raw)}")
        parts = [pairs[0][0], pairs[0][1], pairs[1][0], pairs[1][1]]
    elif isinstance(raw, (tuple, list)) and len(raw) == 4:
        parts = list(raw)
    else:
        raise SpecError(f"{source}: {shape_help}; got {_describe(raw)}")
    names = ("x_train", "y_train", "x_val", "y_val")
    arrays = [_as_arrays(source, name, part) for name, part in zip(names, parts, strict=True)]
    xt, yt, xv, yv = arrays
    for (xn, x), (yn, y) in (((names[0], xt), (names[1], yt)), ((names[2], xv), (names[3], yv))):
        for part_name, part in ((xn, x), (yn, y)):
            if _n_samples(part) < 0:
                lengths = sorted({len(a) for a in _leaves(part)})
                raise SpecError(
                    f"{source}: the arrays of {part_name} differ in their number of samples "
                    f"({', '.join(map(str, lengths))})"
                )
        nx, ny = _n_samples(x), _n_samples(y)
        if nx != ny:
            raise SpecError(f"{source}: {xn} has {nx} samples but {yn} has {ny}")
        if nx == 0:
            raise SpecError(f"{source}: {xn} is empty")
    if _sample_shapes(xt) != _sample_shapes(xv):
        raise SpecError(
            f"{source}: x_train samples have shape {_shape_text(xt)} but x_val samples "
            f"{_shape_text(xv)}"
        )
    return Data(xt, yt, xv, yv)


def _as_arrays(source: str, name: str, part: Any) -> Any:
    """One array, or a dict/list of arrays for a multi-input or multi-output model."""
    if isinstance(part, dict):
        return {k: _as_arrays(source, f"{name}[{k!r}]", v) for k, v in part.items()}
    if isinstance(part, (list, tuple)) and part and all(hasattr(p, "shape") for p in part):
        return [_as_arrays(source, f"{name}[{i}]", p) for i, p in enumerate(part)]
    try:
        arr = np.asarray(part)
    except Exception:
        raise SpecError(f"{source}: {name} is not an array ({type(part).__name__})") from None
    if arr.dtype == object or arr.ndim == 0:
        raise SpecError(f"{source}: {name} is not a numeric array (got {_describe(part)})")
    return arr


def _leaves(x: Any) -> list[np.ndarray]:
    if isinstance(x, dict):
        return [leaf for v in x.values() for leaf in _leaves(v)]
    if isinstance(x, list):
        return [leaf for v in x for leaf in _leaves(v)]
    return [x]


def _n_samples(x: Any) -> int:
    lengths = {len(a) for a in _leaves(x)}
    return lengths.pop() if len(lengths) == 1 else -1


def _sample_shapes(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _sample_shapes(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_sample_shapes(v) for v in x]
    return tuple(x.shape[1:])


def _shape_text(x: Any) -> str:
    return str(_sample_shapes(x))


def _slice(x: Any, k: int) -> Any:
    if isinstance(x, dict):
        return {key: _slice(v, k) for key, v in x.items()}
    if isinstance(x, list):
        return [_slice(v, k) for v in x]
    return x[:k]


def _check_shapes(source: str, model: Any, data: Data) -> None:
    """The model must accept x and produce something shaped like y."""
    if data.is_dataset or not isinstance(data.x_train, np.ndarray):
        return  # datasets and multi-input data: Keras itself checks them in fit()
    try:
        in_shape = tuple(model.inputs[0].shape[1:]) if model.inputs else None
    except (AttributeError, ValueError):
        in_shape = None
    x_shape = tuple(data.x_train.shape[1:])
    if in_shape is not None and len(model.inputs) == 1:
        ok = len(in_shape) == len(x_shape) and all(
            a is None or a == b for a, b in zip(in_shape, x_shape, strict=True)
        )
        if not ok:
            raise SpecError(
                f"{source}: the model takes inputs of shape {in_shape} but x_train samples "
                f"have shape {x_shape}"
            )
    try:
        out_shape = tuple(model.outputs[0].shape[1:]) if model.outputs else None
    except (AttributeError, ValueError):
        out_shape = None
    if not isinstance(data.y_train, np.ndarray):
        return
    y_shape = tuple(data.y_train.shape[1:])
    if out_shape is not None and len(model.outputs) == 1:
        squeezed = tuple(d for d in y_shape if d != 1)
        out_sq = tuple(d for d in out_shape if d != 1)
        sparse_labels = y_shape in ((), (1,))  # class indices for a softmax output
        if out_sq != squeezed and not sparse_labels:
            raise SpecError(
                f"{source}: the model outputs shape {out_shape} but y_train samples "
                f"have shape {y_shape}"
            )


def _already_trained(model: Any) -> bool:
    """The model's optimizer has taken steps (``build_model`` returned a shared model)."""
    try:
        return int(model.optimizer.iterations) > 0
    except (AttributeError, TypeError, ValueError):
        return False


def _is_dataset(obj: Any) -> bool:
    return type(obj).__module__.startswith("tensorflow") and hasattr(obj, "cardinality")


def _describe(obj: Any) -> str:
    if isinstance(obj, (tuple, list)):
        return f"a {type(obj).__name__} of {len(obj)}"
    shape = getattr(obj, "shape", None)
    return f"{type(obj).__name__}" + (f" of shape {tuple(shape)}" if shape is not None else "")


def _exc_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _keras():
    from loganalyzer.verify.keras_env import require_keras

    return require_keras()

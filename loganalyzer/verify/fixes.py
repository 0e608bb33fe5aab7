"""The fixes ``loganalyzer verify`` can apply: real transformations of the user's model.

Each fix takes the compiled model ``build_model()`` returned and gives back a new,
compiled model (fresh weights, a fresh optimizer built from the user's optimizer config)
plus the callbacks to train it with. Sequential models stay Sequential; Functional
models are rebuilt layer by layer with ``keras.models.clone_model`` (its
``call_function`` inserts layers after a given layer). Output layers are never changed
except by ``regularize``, which, like weight decay, applies to every Dense/Conv kernel.

=================  ==========================================================================
action             what it does (params, defaults)
=================  ==========================================================================
regularize         ``kernel_regularizer`` L2 or L1 on every Dense/Conv layer
                   (``kind="l2"``, ``factor=1e-3``)
dropout            ``Dropout(rate)`` after every hidden Dense/Conv block, i.e. after the
                   BatchNormalization/activation/pooling that follow the layer (``rate=0.3``)
shrink             hidden Dense ``units`` / Conv ``filters`` times ``factor`` (``factor=0.5``)
grow               the same, with ``factor`` above 1 (``factor=2``)
batch-norm         hidden Dense/Conv -> linear, then ``BatchNormalization``, then the
                   layer's activation
early-stopping     ``EarlyStopping(monitor, patience, min_delta, restore_best_weights=True)``
                   (``monitor="val_loss"``, ``patience=5``, ``min_delta=0``)
augment            ``GaussianNoise(stddev)`` on vector inputs (default stddev: 0.1 x the
                   typical input feature std); ``RandomFlip``/``RandomRotation(rotation)``/
                   ``RandomTranslation(translation)`` on image inputs (``kind`` chosen
                   from the input shape unless given)
lower-lr           optimizer learning rate times ``factor`` (0.1) or set to ``learning_rate``
raise-lr           optimizer learning rate times ``factor`` (10) or set to ``learning_rate``
fix-lr             optimizer learning rate set to ``learning_rate`` (default: the optimizer
                   class's own default rate, e.g. 0.001 for Adam), for a rate of zero
lr-schedule        ``ReduceLROnPlateau(monitor, factor=0.5, patience=3, min_lr=1e-6)``
clip-gradients     ``clipnorm`` on the optimizer (``clipnorm=1.0``)
normalize-inputs   a ``Normalization`` layer adapted to ``x_train`` right after the input
train-longer       the epoch budget plus ``extra_epochs``, or times ``factor`` (2)
larger-batch       ``batch_size`` times ``factor`` (4), or set to ``batch_size``
add-data           trains on ``fractions`` (0.25, 0.5, 0.75, 1.0) of the training set; see
                   :mod:`loganalyzer.verify.experiment`
=================  ==========================================================================

Example:
    >>> req = parse_fix("dropout:rate=0.2")
    >>> req.action, req.params, req.label
    ('dropout', {'rate': 0.2}, 'dropout(rate=0.2)')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Every action ``--fix`` accepts, with its default parameters.
DEFAULTS: dict[str, dict[str, Any]] = {
    "regularize": {"kind": "l2", "factor": 1e-3},
    "dropout": {"rate": 0.3},
    "shrink": {"factor": 0.5},
    "grow": {"factor": 2.0},
    "batch-norm": {},
    "early-stopping": {
        "monitor": "val_loss",
        "patience": 5,
        "min_delta": 0.0,
        "restore_best_weights": True,
        "mode": "min",
    },
    "augment": {"kind": None, "stddev": None, "rotation": 0.05, "translation": 0.1},
    "lower-lr": {"factor": 0.1, "learning_rate": None},
    "raise-lr": {"factor": 10.0, "learning_rate": None},
    "fix-lr": {"learning_rate": None},
    "lr-schedule": {"monitor": "val_loss", "factor": 0.5, "patience": 3, "min_lr": 1e-6},
    "clip-gradients": {"clipnorm": 1.0},
    "normalize-inputs": {},
    "train-longer": {"factor": 2.0, "extra_epochs": None},
    "larger-batch": {"factor": 4.0, "batch_size": None},
    "add-data": {"fractions": [0.25, 0.5, 0.75, 1.0]},
}

#: Advice that retraining cannot judge, and why (said in the report, never silently dropped).
UNTESTABLE: dict[str, str] = {
    "check-data": "it asks you to inspect the data pipeline; no retraining can do that",
    "terminate-on-nan": "a safety net that stops a run once it is NaN; it cannot lower the loss",
}

#: Keras' own ``fit`` default, used when the spec's FIT gives no ``batch_size``.
KERAS_BATCH_SIZE = 32

#: Advice params that describe the run rather than the fix; not passed to Keras.
_INFO_PARAMS = {"would_stop_at", "best_index", "epochs_saved"}


class FixError(ValueError):
    """A fix cannot be applied to this model (one line: which fix and why)."""


@dataclass
class FixRequest:
    """One fix to verify: an action and its parameters (defaults filled in by ``apply``)."""

    action: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """A short display name: ``dropout(rate=0.2)`` (parameters left at their default,
        such as EarlyStopping's ``monitor="val_loss"``, are not repeated)."""
        defaults = DEFAULTS.get(self.action, {})
        shown = {
            k: v
            for k, v in self.params.items()
            if k not in _INFO_PARAMS and not (k in defaults and defaults[k] == v)
        }
        if not shown:
            return self.action
        args = ", ".join(f"{k}={_fmt(v)}" for k, v in shown.items())
        return f"{self.action}({args})"

    def resolved(self) -> dict[str, Any]:
        """Defaults updated with the given params (advice bookkeeping keys dropped)."""
        params = dict(DEFAULTS[self.action])
        params.update({k: v for k, v in self.params.items() if k not in _INFO_PARAMS})
        if self.action == "add-data":
            fractions = params["fractions"]
            fractions = fractions if isinstance(fractions, (list, tuple)) else [fractions]
            bad = [f for f in fractions if not isinstance(f, (int, float)) or not 0 < f <= 1]
            if bad:
                raise FixError(f"add-data: fractions must be numbers in (0, 1], not {bad}")
            params["fractions"] = [float(f) for f in fractions]
        return params


@dataclass
class Prepared:
    """What one run of a variant trains: a compiled model, extra callbacks, and the
    ``model.fit`` arguments (``epochs``, ``batch_size``, ...) after the fix."""

    model: Any
    callbacks: list[Any] = field(default_factory=list)
    fit: dict[str, Any] = field(default_factory=dict)


def fit_after(requests: list[FixRequest] | tuple[FixRequest, ...], fit: dict) -> dict[str, Any]:
    """The ``model.fit`` arguments after a chain of fixes (no Keras needed).

    Only ``train-longer`` (``epochs``) and ``larger-batch`` (``batch_size``) change them.

    Example:
        >>> fit_after([FixRequest("train-longer")], {"epochs": 20})
        {'epochs': 40}
        >>> fit_after([FixRequest("train-longer", {"extra_epochs": 7}),
        ...            FixRequest("larger-batch")], {"epochs": 20, "batch_size": 16})
        {'epochs': 27, 'batch_size': 64}
    """
    out = dict(fit)
    for request in requests:
        p = request.resolved()
        if request.action == "train-longer":
            epochs = int(out.get("epochs", 20))
            if p.get("extra_epochs") is not None:
                extra = int(p["extra_epochs"])
                if extra < 1:
                    raise FixError(f"train-longer: extra_epochs must be at least 1, not {extra}")
                out["epochs"] = epochs + extra
            else:
                factor = float(p["factor"])
                if not 1.0 < factor <= 20.0:
                    raise FixError(f"train-longer: factor must be in (1, 20], not {factor}")
                out["epochs"] = max(epochs + 1, int(round(epochs * factor)))
        elif request.action == "larger-batch":
            size = int(out.get("batch_size") or KERAS_BATCH_SIZE)
            if p.get("batch_size") is not None:
                new = int(p["batch_size"])
            else:
                factor = float(p["factor"])
                if not 1.0 < factor <= 64.0:
                    raise FixError(f"larger-batch: factor must be in (1, 64], not {factor}")
                new = int(round(size * factor))
            if new <= size:
                raise FixError(f"larger-batch: batch_size {new} is not larger than {size}")
            out["batch_size"] = new
    return out


def model_fixes(requests) -> tuple[FixRequest, ...]:
    """The fixes that change the model or its training (``add-data`` changes the data)."""
    return tuple(r for r in requests if r.action != "add-data")


def apply_chain(requests, model: Any, data: Any = None, fit: dict | None = None) -> Prepared:
    """Apply fixes one after the other (the loop's applied fixes, then the one tried).

    Callbacks accumulate; each fix rebuilds or recompiles the previous one's model, so
    ``dropout`` after ``lower-lr`` keeps the lower rate.
    """
    prepared = Prepared(model, [], dict(fit or {}))
    for request in requests:
        step = apply_fix(request, prepared.model, data, prepared.fit)
        prepared = Prepared(step.model, prepared.callbacks + step.callbacks, step.fit)
    return prepared


def parse_fix(text: str) -> FixRequest:
    """Parse ``ACTION`` or ``ACTION:key=value,key=value`` (numbers parsed as numbers).

    Raises:
        FixError: unknown action or malformed parameters.
    """
    action, _, rest = text.strip().partition(":")
    action = action.strip()
    if action not in DEFAULTS:
        raise FixError(f"unknown fix {action!r}; choose from {', '.join(DEFAULTS)}")
    params: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise FixError(f"fix {text!r}: parameters are written key=value (got {item!r})")
        value = value.strip()
        if "/" in value:  # a list: fractions=0.25/0.5/0.75
            params[key.strip()] = [_parse_value(v) for v in value.split("/")]
        else:
            params[key.strip()] = _parse_value(value)
    unknown = set(params) - set(DEFAULTS[action]) - _INFO_PARAMS
    if unknown:
        known = ", ".join(DEFAULTS[action])
        raise FixError(f"fix {action!r} has no parameter {', '.join(sorted(unknown))} ({known})")
    return FixRequest(action, params)


def apply_fix(
    request: FixRequest, model: Any, data: Any = None, fit: dict | None = None
) -> Prepared:
    """Apply a fix to a compiled model and return the model, callbacks and fit to train.

    Args:
        request: The fix and its parameters.
        model: The compiled, untrained model ``build_model()`` returned. Fixes that
            change the model return a rebuilt copy (``model`` is left as it was); fixes
            that only change training (``early-stopping``, ``lr-schedule``, ``lower-lr``,
            ``clip-gradients``) keep this very model, so baseline and fix start from the
            same weights.
        data: The spec's :class:`~loganalyzer.verify.spec.Data` (used by ``augment`` for
            the noise scale and by ``normalize-inputs`` to adapt its layer).
        fit: The ``model.fit`` arguments so far (``epochs``, ``batch_size``); the
            returned :attr:`Prepared.fit` has them after this fix.

    Returns:
        A :class:`Prepared` with a new compiled model and the callbacks to add.

    Raises:
        FixError: when the fix does not apply (no Dense/Conv layer to change, an
            optimizer whose learning rate is a schedule for ``lr-schedule``, ...).

    Example:
        >>> prepared = apply_fix(FixRequest("dropout", {"rate": 0.2}), model)  # doctest: +SKIP
    """
    from loganalyzer.verify.keras_env import require_keras

    keras = require_keras()
    _ensure_built(model, data)
    new_fit = fit_after([request], fit or {})
    prepared = _transform(keras, request, request.resolved(), model, data)
    prepared.fit = new_fit
    return prepared


def _transform(keras, request: FixRequest, p: dict[str, Any], model: Any, data: Any) -> Prepared:
    """The model and callbacks of one fix (``apply_fix`` adds the fit arguments)."""
    action = request.action
    if action == "regularize":
        kind = str(p["kind"]).lower()
        if kind not in ("l1", "l2"):
            raise FixError(f"regularize: kind must be 'l1' or 'l2', not {kind!r}")
        factor = float(p["factor"])

        def clone(layer, is_output):
            cfg = layer.get_config()
            if is_weight_layer(keras, layer):
                reg = (
                    keras.regularizers.L2(factor) if kind == "l2" else keras.regularizers.L1(factor)
                )
                cfg["kernel_regularizer"] = keras.regularizers.serialize(reg)
            return layer.__class__.from_config(cfg)

        _require_weight_layers(keras, model, action, hidden_only=False)
        return Prepared(_recompile(model, _rebuild(keras, model, clone)))
    if action == "dropout":
        rate = float(p["rate"])
        if not 0.0 < rate < 1.0:
            raise FixError(f"dropout: rate must be between 0 and 1, not {rate}")
        _require_weight_layers(keras, model, action)

        def after(layer, is_output):
            if is_output or not is_weight_layer(keras, layer):
                return []
            return [keras.layers.Dropout(rate)]

        rebuilt = _rebuild(keras, model, _plain_clone, after, block_end=True)
        return Prepared(_recompile(model, rebuilt))
    if action in ("shrink", "grow"):
        factor = float(p["factor"])
        if action == "shrink" and not 0.0 < factor <= 1.0:
            raise FixError(f"shrink: factor is the fraction of units kept, in (0, 1], not {factor}")
        if action == "grow" and not 1.0 <= factor <= 16.0:
            raise FixError(f"grow: factor multiplies the units, in [1, 16], not {factor}")
        _require_weight_layers(keras, model, action)

        def clone(layer, is_output):
            cfg = layer.get_config()
            if not is_output and is_weight_layer(keras, layer):
                key = "units" if "units" in cfg else "filters"
                cfg[key] = max(1, int(round(cfg[key] * factor)))
            return layer.__class__.from_config(cfg)

        return Prepared(_recompile(model, _rebuild(keras, model, clone)))
    if action == "batch-norm":
        _require_weight_layers(keras, model, action)
        activations: dict[str, Any] = {}

        def clone(layer, is_output):
            cfg = layer.get_config()
            if not is_output and is_weight_layer(keras, layer):
                activations[layer.name] = cfg.get("activation", "linear")
                cfg["activation"] = "linear"
            return layer.__class__.from_config(cfg)

        def after(layer, is_output):
            if layer.name not in activations:
                return []
            act = activations[layer.name]
            extra = [keras.layers.BatchNormalization()]
            if act not in ("linear", None):
                extra.append(keras.layers.Activation(act))
            return extra

        return Prepared(_recompile(model, _rebuild(keras, model, clone, after)))
    if action == "early-stopping":
        cb = keras.callbacks.EarlyStopping(
            monitor=str(p["monitor"]),
            patience=int(p["patience"]),
            min_delta=float(p["min_delta"]),
            mode=str(p.get("mode", "auto")),
            restore_best_weights=bool(p.get("restore_best_weights", True)),
        )
        return Prepared(model, [cb])
    if action == "augment":
        return Prepared(_recompile(model, _augment(keras, model, p, data)))
    if action in ("lower-lr", "raise-lr", "fix-lr"):
        return Prepared(_recompile(model, model, lr=_new_learning_rate(action, p, model)))
    if action == "normalize-inputs":
        return Prepared(_recompile(model, _normalize_inputs(keras, model, data)))
    if action in ("train-longer", "larger-batch"):
        return Prepared(model)  # only the fit arguments change (fit_after)
    if action == "lr-schedule":
        lr = model.optimizer.get_config().get("learning_rate")
        if isinstance(lr, dict):
            raise FixError(
                "lr-schedule: the optimizer already uses a learning-rate schedule; "
                "ReduceLROnPlateau needs a constant learning rate"
            )
        cb = keras.callbacks.ReduceLROnPlateau(
            monitor=str(p["monitor"]),
            factor=float(p["factor"]),
            patience=int(p["patience"]),
            min_lr=float(p["min_lr"]),
        )
        return Prepared(_recompile(model, model), [cb])
    if action == "clip-gradients":
        clipnorm = float(p["clipnorm"])
        if clipnorm <= 0:
            raise FixError(f"clip-gradients: clipnorm must be positive, not {clipnorm}")
        return Prepared(_recompile(model, model, clipnorm=clipnorm))
    if action == "add-data":
        # The data fraction is the experiment's business; the model is the baseline's.
        return Prepared(model)
    raise FixError(f"unknown fix {action!r}")


# ---------------------------------------------------------------------------- rebuilding
def _plain_clone(layer, is_output):
    if hasattr(layer, "layers") and hasattr(layer, "inputs"):  # a nested model
        from loganalyzer.verify.keras_env import require_keras

        return require_keras().models.clone_model(layer)
    return layer.__class__.from_config(layer.get_config())


def _rebuild(keras, model, clone, after=None, before=None, block_end=False):
    """A copy of ``model`` with each layer made by ``clone(layer, is_output)`` and the
    layers ``after(layer, is_output)`` returns inserted after it; ``before`` layers go
    right after the input. Sequential stays Sequential; Functional is cloned.

    With ``block_end`` the inserted layers go after the end of the layer's block
    instead: past the BatchNormalization / activation / pooling layers that directly
    follow it (``Dense -> BatchNormalization -> Activation -> Dropout``), which is
    where dropout belongs.
    """
    outputs = output_layer_names(model)

    def clone_one(layer):
        if layer.__class__.__name__ == "InputLayer":
            return layer.__class__.from_config(layer.get_config())
        return clone(layer, layer.name in outputs)

    def extras_for(layer):
        return list(after(layer, layer.name in outputs)) if after is not None else []

    if isinstance(model, keras.Sequential):
        layers: list[Any] = [keras.Input(shape=tuple(model.inputs[0].shape[1:]))]
        layers += list(before or [])
        pending: list[Any] = []
        for layer in model.layers:
            if pending and not _is_block_tail(keras, layer):
                layers += pending
                pending = []
            layers.append(clone_one(layer))
            if block_end:
                pending += extras_for(layer)
            else:
                layers += extras_for(layer)
        layers += pending
        new = keras.Sequential(layers, name=model.name)
        _copy_matching_weights(model, new)
        return new

    deferred: dict[int, list[Any]] = {}  # id(tensor) -> layers still to apply to it
    applied: dict[int, Any] = {}

    def resolve(x):
        key = id(x)
        if key not in deferred:
            return x
        if key not in applied:
            y = x
            for extra in deferred[key]:
                y = extra(y)
            applied[key] = y
        return applied[key]

    def call(layer, *args, **kwargs):
        carried: list[Any] = []
        if (
            block_end
            and _is_block_tail(keras, layer)
            and len(args) == 1
            and id(args[0]) in deferred
            and id(args[0]) not in applied
        ):
            carried = deferred[id(args[0])]  # the block goes on: move them past this layer
        else:
            args = keras.tree.map_structure(resolve, args)
            kwargs = keras.tree.map_structure(resolve, kwargs)
        out = layer(*args, **kwargs)
        extras = carried + extras_for(layer)
        if extras and block_end:
            deferred[id(out)] = extras
        else:
            for extra in extras:
                out = extra(out)
        return out

    new = keras.models.clone_model(model, clone_function=clone_one, call_function=call)
    if before:
        if len(new.inputs) != 1:
            raise FixError("augment supports models with one input")
        inp = keras.Input(shape=tuple(new.inputs[0].shape[1:]))
        x = inp
        for layer in before:
            x = layer(x)
        new = keras.Model(inp, new(x), name=model.name)
    _copy_matching_weights(model, new)
    return new


def _is_block_tail(keras, layer) -> bool:
    """Layers that end a Dense/Conv block rather than start a new one."""
    L = keras.layers
    tails = (
        L.BatchNormalization, L.LayerNormalization, L.Activation, L.ReLU, L.LeakyReLU,
        L.PReLU, L.ELU, L.Softmax, L.MaxPooling1D, L.MaxPooling2D, L.MaxPooling3D,
        L.AveragePooling1D, L.AveragePooling2D, L.AveragePooling3D,
    )  # fmt: skip
    return isinstance(layer, tails)


def _copy_matching_weights(old, new) -> None:
    """Start every layer the fix left the same shape from the baseline's initial weights.

    Baseline and fix are built after the same seed, but the rebuilt layers draw new
    initial weights; copying them where names and shapes agree (all layers for
    ``regularize`` and ``dropout``, the Dense/Conv kernels for ``batch-norm``) makes the
    pair differ only by the fix, which narrows the confidence interval.
    """
    by_name = {layer.name: layer for layer in all_layers(old)}
    for layer in all_layers(new):
        src = by_name.get(layer.name)
        if src is None or type(src) is not type(layer):
            continue
        weights = src.get_weights()
        if [w.shape for w in weights] == [tuple(v.shape) for v in layer.weights]:
            layer.set_weights(weights)


def all_layers(model) -> list[Any]:
    """Every layer of ``model``, nested models' layers included, in order."""
    out = []
    for layer in model.layers:
        if hasattr(layer, "layers") and hasattr(layer, "inputs"):
            out += all_layers(layer)
        else:
            out.append(layer)
    return out


def _new_learning_rate(action: str, p: dict[str, Any], model: Any) -> float:
    """The learning rate a lower-lr / raise-lr / fix-lr run trains with."""
    if p.get("learning_rate") is not None:
        lr = float(p["learning_rate"])
    elif action == "fix-lr":
        # A rate of zero has nothing to scale: use the optimizer class's own default.
        lr = float(model.optimizer.__class__().get_config()["learning_rate"])
    else:
        current = model.optimizer.get_config().get("learning_rate")
        if isinstance(current, dict):
            current = current.get("config", {}).get("initial_learning_rate")
        if current is None:
            raise FixError(f"{action}: cannot read this optimizer's learning rate")
        lr = float(current) * float(p["factor"])
        if action == "raise-lr" and float(p["factor"]) <= 1.0:
            raise FixError(f"raise-lr: factor must be above 1, not {p['factor']}")
        if action == "lower-lr" and not 0.0 < float(p["factor"]) < 1.0:
            raise FixError(f"lower-lr: factor must be in (0, 1), not {p['factor']}")
    if not lr > 0.0:
        raise FixError(f"{action}: the learning rate must be positive, not {lr}")
    return lr


def _normalize_inputs(keras, model, data):
    """The model behind a ``Normalization`` layer adapted to the training inputs."""
    if len(model.inputs) != 1:
        raise FixError("normalize-inputs supports models with one input")
    if data is None or data.is_dataset or not isinstance(data.x_train, np.ndarray):
        raise FixError("normalize-inputs needs the training inputs as one array")
    layer = keras.layers.Normalization(axis=-1)
    layer.adapt(np.asarray(data.x_train, dtype="float32"))
    return _rebuild(keras, model, _plain_clone, before=[layer])


def _augment(keras, model, p, data):
    if len(model.inputs) != 1:
        raise FixError("augment supports models with one input")
    shape = tuple(model.inputs[0].shape[1:])
    kind = p.get("kind") or ("image" if len(shape) == 3 else "gaussian-noise")
    if kind == "image":
        if len(shape) != 3:
            raise FixError(
                f"augment: image augmentation needs (height, width, channels) inputs, not {shape}"
            )
        before = [
            keras.layers.RandomFlip("horizontal"),
            keras.layers.RandomRotation(float(p.get("rotation", 0.05))),
            keras.layers.RandomTranslation(
                float(p.get("translation", 0.1)), float(p.get("translation", 0.1))
            ),
        ]
    elif kind == "gaussian-noise":
        stddev = p.get("stddev")
        if stddev is None:
            std = data.input_std() if data is not None else None
            stddev = 0.1 * (std if std else 1.0)
        before = [keras.layers.GaussianNoise(float(stddev))]
    else:
        raise FixError(f"augment: kind must be 'gaussian-noise' or 'image', not {kind!r}")
    return _rebuild(keras, model, _plain_clone, before=before)


def _recompile(old, new, *, lr=None, clipnorm=None):
    """Compile ``new`` as ``old`` was compiled, with a fresh optimizer built from
    ``old``'s optimizer config (learning rate or clipnorm changed if asked)."""
    cfg = dict(old.optimizer.get_config())
    if lr is not None:
        current = cfg.get("learning_rate")
        if isinstance(current, dict):  # a schedule: set its starting rate
            inner = dict(current.get("config", {}))
            key = "initial_learning_rate"
            if key not in inner:
                raise FixError("cannot change the learning rate of this schedule")
            inner[key] = lr
            cfg["learning_rate"] = {**current, "config": inner}
        else:
            cfg["learning_rate"] = lr
    if clipnorm is not None:
        cfg["clipnorm"] = clipnorm
        cfg["global_clipnorm"] = None
        cfg["clipvalue"] = None
    optimizer = old.optimizer.__class__.from_config(cfg)
    compile_args = getattr(getattr(old, "_compile_config", None), "config", None)
    if isinstance(compile_args, dict):
        kwargs = dict(compile_args)
        kwargs["optimizer"] = optimizer
        new.compile(**kwargs)
    else:
        config = old.get_compile_config()
        new.compile_from_config(config)
        new.compile(optimizer=optimizer, loss=new.loss, metrics=None)
    return new


def _ensure_built(model, data) -> None:
    if model.inputs:
        return
    if data is None or data.is_dataset:
        raise FixError("the model has no input shape; start build_model() with keras.Input(...)")
    model.build((None, *data.x_train.shape[1:]))


def output_layer_names(model) -> set[str]:
    """Names of the layers that make the model's outputs: the layer producing each
    output and, walking back through weightless layers (``Activation("softmax")``,
    ``Reshape``, ``Dropout``, ...), the Dense/Conv layer that feeds it. Fixes never
    shrink, drop out or normalise those: their size is the task's."""
    names = set()
    for tensor in model.outputs or []:
        history = getattr(tensor, "_keras_history", None)
        op = history[0] if history is not None else None
        while op is not None:
            names.add(op.name)
            passes = not op.weights or type(op).__name__ in _NORMALIZATIONS
            if not passes or not getattr(op, "_inbound_nodes", None):
                break
            parents = getattr(op._inbound_nodes[0], "parent_nodes", None) or []
            op = parents[0].operation if len(parents) == 1 else None
    if not names and getattr(model, "layers", None):
        for layer in reversed(model.layers):
            names.add(layer.name)
            if layer.weights and type(layer).__name__ not in _NORMALIZATIONS:
                break
    return names


_NORMALIZATIONS = {"BatchNormalization", "LayerNormalization", "GroupNormalization"}


def _weight_layer_types(keras) -> tuple[type, ...]:
    L = keras.layers
    return (
        L.Dense,
        L.Conv1D,
        L.Conv2D,
        L.Conv3D,
        L.Conv1DTranspose,
        L.Conv2DTranspose,
        L.Conv3DTranspose,
    )


def is_weight_layer(keras, layer) -> bool:
    """Is ``layer`` a Dense or convolution layer (the layers fixes size and regularise)?"""
    return isinstance(layer, _weight_layer_types(keras))


def _require_weight_layers(keras, model, action: str, hidden_only: bool = True) -> None:
    outputs = output_layer_names(model)
    found = [
        layer
        for layer in model.layers
        if is_weight_layer(keras, layer) and not (hidden_only and layer.name in outputs)
    ]
    if not found:
        where = "hidden Dense/Conv" if hidden_only else "Dense/Conv"
        raise FixError(f"{action}: the model has no {where} layer to change")


def _parse_value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "/".join(_fmt(v) for v in value)
    return str(value)

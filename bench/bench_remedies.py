"""Remedy bench: does the closed loop find a fix that works, on training runs with a known cause?

Each scenario is a real Keras training whose problem is built in (an over-sized MLP on
200 digits, a learning rate that kills every ReLU, a two-unit bottleneck, ...). For
each, the bench runs what a user would run, ``loganalyzer verify SPEC`` (the closed
loop of :mod:`loganalyzer.verify.loop`): train the baseline over the seeds, analyse
its logs, verify the top advice with paired statistics (Holm-corrected), apply the
best fix. It prints whether the top advice was right for the known cause, whether
that first fix helped (paired 95 % CI below zero and Holm-adjusted p < 0.05), which
fix the loop applied, and how long it took.

Data comes with scikit-learn (``load_digits``, ``load_wine``, ``load_breast_cancer``,
``load_diabetes`` are bundled, never downloaded) or is generated here.

Two independent sets of scenarios: ``--set a`` (default) and ``--set b``, with other
data, architectures, optimizers and seeds, so a result is not tuned to one set.

Usage (from the repository root, with the verify extra and scikit-learn installed)::

    .venv/bin/python bench/bench_remedies.py                 # set a, 5 seeds, 1 round
    .venv/bin/python bench/bench_remedies.py --set b
    .venv/bin/python bench/bench_remedies.py --only lr-collapse --rounds 2
    .venv/bin/python bench/bench_remedies.py --diagnose      # baselines and diagnosis only
    .venv/bin/python bench/bench_remedies.py --backend ray   # every run a Ray task

The issue's bar: the first verified fix helps in at least 80 % of the problem
scenarios, and the healthy scenario gets no warning and no fix.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

BAR = 0.80

#: Actions that address each known cause (the "right" advice).
OVERFIT = {"early-stopping", "regularize", "dropout", "shrink", "augment", "add-data"}


@dataclass
class Scenario:
    """One training with a known cause.

    Attributes:
        name: Short id (``--only``).
        cause: The problem built in, in words.
        right: Actions that address that cause.
        build: Returns a compiled Keras model (called once per run, after the seed).
        data: Returns ``((x_train, y_train), (x_val, y_val))``.
        fit: ``model.fit`` arguments (epochs, batch size).
        healthy: The control: no warning and no fix expected.
    """

    name: str
    cause: str
    right: set[str]
    build: Callable[[], Any]
    data: Callable[[], Any]
    fit: dict[str, Any]
    healthy: bool = False
    first_seed: int = 1


# ---------------------------------------------------------------------------- data
def _split(x, y, n_train: int, n_val: int, seed: int):
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(x))
    tr, va = idx[:n_train], idx[n_train : n_train + n_val]
    return (x[tr], y[tr]), (x[va], y[va])


def digits(n_train: int, n_val: int = 500, seed: int = 0, images: bool = False):
    """scikit-learn's bundled 8x8 digits (1797 samples), pixels scaled to [0, 1]."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.data / 16.0).astype("float32")
    if images:
        x = x.reshape(-1, 8, 8, 1)
    return _split(x, d.target.astype("int32"), n_train, n_val, seed)


def standardized(loader: str, n_train: int, n_val: int, seed: int, scale: bool = True):
    """A bundled scikit-learn table (wine, breast_cancer, diabetes), standardized with
    the training split's statistics unless ``scale`` is off."""
    import sklearn.datasets as ds

    d = getattr(ds, f"load_{loader}")()
    x = d.data.astype("float32")
    y = d.target.astype("float32" if loader == "diabetes" else "int32")
    (xt, yt), (xv, yv) = _split(x, y, n_train, n_val, seed)
    if scale:
        mu, sd = xt.mean(0), xt.std(0) + 1e-6
        xt, xv = (xt - mu) / sd, (xv - mu) / sd
    if loader == "diabetes":  # the target in units of its spread
        m, s = yt.mean(), yt.std()
        yt, yv = ((yt - m) / s).reshape(-1, 1), ((yv - m) / s).reshape(-1, 1)
    return (xt, yt), (xv, yv)


def regression(n_train: int, n_val: int, features: int, noise: float, seed: int):
    """A smooth nonlinear target of a few of ``features`` inputs plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    n = n_train + n_val
    x = rng.normal(size=(n, features)).astype("float32")
    y = np.sin(2 * x[:, 0]) + x[:, 1] * x[:, 2] + 0.5 * x[:, 3] + noise * rng.normal(size=n)
    y = y.astype("float32").reshape(-1, 1)
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


def spirals(n_train: int, n_val: int, classes: int, noise: float, seed: int, turns=1.5):
    """Interleaved 2-D spirals, one arm per class, with Gaussian jitter."""
    rng = np.random.default_rng(seed)
    n = n_train + n_val
    y = rng.integers(0, classes, size=n)
    t = rng.uniform(0.25, 1.0, size=n)
    angle = 2.0 * turns * np.pi * t + 2.0 * np.pi * y / classes
    x = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
    x = (x + noise * rng.normal(size=x.shape)).astype("float32")
    y = y.astype("int32")
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


def shapes(n_train: int, n_val: int, size: int, seed: int):
    """Generated grey images of four classes (bar, square, cross, diagonal) with noise."""
    rng = np.random.default_rng(seed)
    n = n_train + n_val
    x = rng.normal(scale=0.35, size=(n, size, size, 1)).astype("float32")
    y = rng.integers(0, 4, size=n).astype("int32")
    for i, k in enumerate(y):
        r, c = rng.integers(1, size - 5, size=2)
        if k == 0:
            x[i, r : r + 5, c + 2, 0] += 1.0
        elif k == 1:
            x[i, r : r + 4, c : c + 4, 0] += 0.6
        elif k == 2:
            x[i, r + 2, c : c + 5, 0] += 1.0
            x[i, r : r + 5, c + 2, 0] += 1.0
        else:
            for j in range(5):
                x[i, r + j, c + j, 0] += 1.0
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


# ---------------------------------------------------------------------------- models
def mlp(inputs: int, hidden: list[int], outputs: int, optimizer, loss: str, act="relu", l2=0.0):
    import keras

    layers: list[Any] = [keras.Input((inputs,))]
    reg = keras.regularizers.L2(l2) if l2 else None
    for units in hidden:
        layers.append(keras.layers.Dense(units, activation=act, kernel_regularizer=reg))
    layers.append(
        keras.layers.Dense(
            outputs, activation="softmax" if outputs > 1 and "entropy" in loss else None
        )
    )
    model = keras.Sequential(layers)
    model.compile(optimizer=optimizer(), loss=loss)
    return model


def cnn(shape, filters: list[int], dense: int, outputs: int, optimizer):
    import keras

    layers: list[Any] = [keras.Input(shape)]
    for f in filters:
        layers.append(keras.layers.Conv2D(f, 3, padding="same", activation="relu"))
    layers += [
        keras.layers.Flatten(),
        keras.layers.Dense(dense, activation="relu"),
        keras.layers.Dense(outputs, activation="softmax"),
    ]
    model = keras.Sequential(layers)
    model.compile(optimizer=optimizer(), loss="sparse_categorical_crossentropy")
    return model


def adam(lr=1e-3):
    import keras

    return lambda: keras.optimizers.Adam(lr)


def sgd(lr, momentum=0.0):
    import keras

    return lambda: keras.optimizers.SGD(lr, momentum=momentum)


def rmsprop(lr):
    import keras

    return lambda: keras.optimizers.RMSprop(lr)


CE = "sparse_categorical_crossentropy"
VAL = {"validation_batch_size": 512}  # one validation batch per epoch: cheaper epochs


# ---------------------------------------------------------------------------- set a
def set_a() -> list[Scenario]:
    return [
        Scenario(
            "overfit-mlp", "256-256 MLP on 150 digits, Adam 3e-3", OVERFIT,
            lambda: mlp(64, [256, 256], 10, adam(3e-3), CE),
            lambda: digits(150, seed=0), {"epochs": 40, "batch_size": 32, **VAL},
        ),
        Scenario(
            "overfit-cnn", "CNN on 200 digit images", OVERFIT,
            lambda: cnn((8, 8, 1), [32, 32], 128, 10, adam(1e-3)),
            lambda: digits(200, seed=1, images=True), {"epochs": 40, "batch_size": 32, **VAL},
        ),
        Scenario(
            "memorise-regression", "256-256 MLP memorising 200 noisy regression samples",
            OVERFIT,
            lambda: mlp(10, [256, 256], 1, adam(1e-3), "mse"),
            lambda: regression(200, 500, 10, 0.5, seed=3), {"epochs": 50, "batch_size": 16, **VAL},
        ),
        Scenario(
            "lr-collapse", "Adam at lr 0.5: ReLUs die, the net outputs chance",
            {"lower-lr", "fix-lr", "clip-gradients", "lr-schedule"},
            lambda: mlp(64, [128], 10, adam(0.5), CE),
            lambda: digits(600, seed=4), {"epochs": 20, "batch_size": 32, **VAL},
        ),
        Scenario(
            "lr-crawl", "plain SGD at lr 1e-3: the loss crawls",
            {"raise-lr", "train-longer", "fix-lr"},
            lambda: mlp(64, [64], 10, sgd(1e-3), CE),
            lambda: digits(600, seed=5), {"epochs": 25, "batch_size": 32, **VAL},
        ),
        Scenario(
            "too-small", "a 2-unit tanh bottleneck cannot separate 10 digits", {"grow"},
            lambda: mlp(64, [2], 10, adam(3e-2), CE, act="tanh"),
            lambda: digits(1000, seed=6), {"epochs": 40, "batch_size": 32, **VAL},
        ),
        Scenario(
            "tiny-noisy-batches", "batch size 2 with SGD at lr 0.3: noisy steps",
            {"larger-batch", "lower-lr", "lr-schedule", "batch-norm"},
            lambda: mlp(64, [64], 10, sgd(0.3), CE),
            lambda: digits(300, seed=7), {"epochs": 20, "batch_size": 2, **VAL},
        ),
        Scenario(
            "healthy", "a 32-unit MLP on 1000 generated regression samples, converged", set(),
            lambda: mlp(10, [32], 1, adam(3e-3), "mse"),
            lambda: regression(1000, 500, 10, 0.5, seed=8), {"epochs": 30, "batch_size": 64, **VAL},
            healthy=True,
        ),
    ]  # fmt: skip


# ---------------------------------------------------------------------------- set b
def set_b() -> list[Scenario]:
    """Other data, architectures, optimizers and seeds than set a."""
    return [
        Scenario(
            "b-overfit-wide", "512-unit tanh MLP on 120 breast-cancer rows", OVERFIT,
            lambda: mlp(30, [512, 512], 2, rmsprop(1e-3), CE, act="tanh"),
            lambda: standardized("breast_cancer", 120, 300, seed=11),
            {"epochs": 40, "batch_size": 16, **VAL},
        ),
        Scenario(
            "b-overfit-cnn", "3-conv CNN on 240 generated 12x12 shape images", OVERFIT,
            lambda: cnn((12, 12, 1), [16, 32, 32], 64, 4, adam(2e-3)),
            lambda: shapes(240, 400, 12, seed=12), {"epochs": 40, "batch_size": 32, **VAL},
        ),
        Scenario(
            "b-memorise-diabetes", "wide MLP memorising 150 diabetes patients", OVERFIT,
            lambda: mlp(10, [512, 256], 1, adam(3e-3), "mse"),
            lambda: standardized("diabetes", 150, 290, seed=13),
            {"epochs": 60, "batch_size": 16, **VAL},
        ),
        Scenario(
            "b-lr-diverge", "SGD with momentum at lr 3 on unscaled wine features",
            {"lower-lr", "clip-gradients", "normalize-inputs", "lr-schedule"},
            lambda: mlp(13, [32], 3, sgd(3.0, 0.9), CE),
            lambda: standardized("wine", 110, 68, seed=14, scale=False),
            {"epochs": 20, "batch_size": 16, **VAL},
        ),
        Scenario(
            "b-lr-crawl", "RMSprop at lr 3e-6: the loss barely moves",
            {"raise-lr", "train-longer", "fix-lr"},
            lambda: mlp(30, [32, 32], 2, rmsprop(3e-6), CE),
            lambda: standardized("breast_cancer", 300, 269, seed=15),
            {"epochs": 25, "batch_size": 32, **VAL},
        ),
        Scenario(
            "b-too-small", "2 tanh units for two interleaved spirals", {"grow"},
            lambda: mlp(2, [2], 2, adam(3e-2), CE, act="tanh"),
            lambda: spirals(900, 600, 2, 0.05, seed=16, turns=1.0),
            {"epochs": 30, "batch_size": 32, **VAL},
        ),
        Scenario(
            "b-noisy-batches", "batch size 2, SGD lr 0.01 with momentum 0.9 on diabetes",
            {"larger-batch", "lower-lr", "lr-schedule", "batch-norm"},
            lambda: mlp(10, [32], 1, sgd(0.01, 0.9), "mse"),
            lambda: standardized("diabetes", 300, 142, seed=17),
            {"epochs": 20, "batch_size": 2, **VAL},
        ),
        Scenario(
            "b-healthy", "logistic-sized model on breast cancer, enough data", set(),
            lambda: mlp(30, [16], 2, adam(1e-3), CE, l2=1e-3),
            lambda: standardized("breast_cancer", 400, 169, seed=18),
            {"epochs": 40, "batch_size": 32, **VAL},
            healthy=True, first_seed=11,
        ),
    ]  # fmt: skip


# ---------------------------------------------------------------------------- judging
@dataclass
class Outcome:
    """What the loop did on one scenario, judged against the known cause."""

    scenario: Scenario
    problems: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)
    top: str | None = None
    top_right: bool | None = None
    top_verdict: str | None = None
    top_change: str = ""
    applied: list[str] = field(default_factory=list)
    seconds: float = 0.0
    stop: str = ""
    curves: str = ""
    model_notes: list[str] = field(default_factory=list)
    tried: list[str] = field(default_factory=list)

    @property
    def top_helped(self) -> bool:
        return self.top_verdict == "helped"

    @property
    def ok(self) -> bool:
        if self.scenario.healthy:
            return not self.problems and not self.applied and self.top is None
        return self.top_helped


def judge(sc: Scenario, result: Any) -> Outcome:
    from loganalyzer.renderers.verification import change_text

    out = Outcome(sc, seconds=result.elapsed, stop=result.stop)
    first = result.rounds[0] if result.rounds else None
    if first is None:
        return out
    diag = first.diagnosis
    out.problems = [f"{f.kind} {f.runs}/{f.n}" for f in diag.findings]
    out.advice = [a.action for a in diag.advice]
    out.curves = _curves(result.runs)
    out.model_notes = list(first.model_notes)
    if first.verification is not None:
        out.tried = [f"{v.label}: {v.verdict}" for v in first.verification.variants]
    if first.tried:
        req = first.tried[0]
        out.top = req.label
        out.top_right = req.action in sc.right
        ver = first.verification
        v = next((v for v in ver.variants if v.label == req.label), None) if ver else None
        if v is not None:
            out.top_verdict = v.verdict
            c = v.comparisons.get(v.primary)
            if c is not None and c.n:
                p = "–" if v.p_holm is None else f"{v.p_holm:.3f}"
                out.top_change = f"{change_text(c)}, Holm p {p}"
    out.applied = [r.label for r in result.applied]
    return out


def _curves(runs) -> str:
    """Key numbers of the first seed's curves (for reports of a wrong diagnosis)."""
    if not runs:
        return ""
    r = runs[0]
    tr, va = r.train, r.val

    def pts(y):
        idx = sorted({0, len(y) // 4, len(y) // 2, 3 * len(y) // 4, len(y) - 1})
        return " ".join(f"{y[i]:.3g}" for i in idx)

    best = int(np.nanargmin(va)) if np.isfinite(va).any() else -1
    return f"loss {pts(tr)} | val {pts(va)} | best val {np.nanmin(va):.3g} @ {best}"


# ---------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=["a", "b", "both"], default="a")
    parser.add_argument("--only", action="append", default=[], help="scenario name(s)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--diagnose", action="store_true", help="baselines + diagnosis only")
    parser.add_argument("--backend", choices=["local", "ray"], default="local")
    parser.add_argument("--out", default="bench-remedies-out", help="run logs and results.json")
    args = parser.parse_args(argv)

    from loganalyzer.verify.backends import get_backend
    from loganalyzer.verify.loop import close_loop, diagnose
    from loganalyzer.verify.spec import spec_from_functions

    scenarios = (set_a() if args.set in ("a", "both") else []) + (
        set_b() if args.set in ("b", "both") else []
    )
    if args.only:
        scenarios = [s for s in scenarios if s.name in args.only]
    backend = get_backend(args.backend)
    outcomes: list[Outcome] = []
    started = time.perf_counter()
    with backend:
        for sc in scenarios:
            spec = spec_from_functions(sc.name, sc.build, sc.data, fit=sc.fit)
            out_dir = Path(args.out) / sc.name
            t0 = time.perf_counter()
            if args.diagnose:
                from loganalyzer.verify.experiment import verify

                ver = verify(spec, [], seeds=args.seeds, out_dir=out_dir, backend=backend,
                             folder="round1", first_seed=sc.first_seed)  # fmt: skip
                diag = diagnose(ver.runs)
                print(f"\n== {sc.name} ({time.perf_counter() - t0:.0f} s): {sc.cause}")
                print("  curves (seed 1):", _curves(ver.runs))
                for f in diag.findings + diag.notes:
                    print(f"  {f.severity:7s} {f.kind} {f.runs}/{f.n}: {f.message}")
                for a in diag.advice:
                    mark = "right" if a.action in sc.right else "-"
                    print(f"  advice #{a.mean_rank:.1f} {a.request().label} [{mark}]")
                continue
            result = close_loop(
                spec, rounds=args.rounds, top=args.top, seeds=args.seeds, out_dir=out_dir,
                backend=backend, first_seed=sc.first_seed,
            )  # fmt: skip
            out = judge(sc, result)
            outcomes.append(out)
            _print_one(out)
    if args.diagnose:
        return 0
    _print_table(outcomes, time.perf_counter() - started, args)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "results.json").write_text(
        json.dumps([_as_json(o) for o in outcomes], indent=2) + "\n"
    )
    problems = [o for o in outcomes if not o.scenario.healthy]
    share = sum(o.top_helped for o in problems) / len(problems) if problems else math.nan
    healthy_ok = all(o.ok for o in outcomes if o.scenario.healthy)
    return 0 if (share >= BAR and healthy_ok) else 1


def _print_one(o: Outcome) -> None:
    sc = o.scenario
    print(f"\n== {sc.name}: {sc.cause}  ({o.seconds:.0f} s)", flush=True)
    print(f"   curves (seed {sc.first_seed}): {o.curves}")
    print(f"   found: {', '.join(o.problems) or 'nothing'}; advice: {', '.join(o.advice) or '-'}")
    for note in o.model_notes:
        print(f"   {note}")
    if o.top:
        right = "right" if o.top_right else "WRONG for this cause"
        print(f"   top advice {o.top} ({right}): {o.top_verdict} {o.top_change}")
        print(f"   tried: {'; '.join(o.tried)}")
    print(f"   applied: {' + '.join(o.applied) or 'nothing'}; stopped: {o.stop}", flush=True)


def _print_table(outcomes: list[Outcome], elapsed: float, args) -> None:
    print(
        f"\nRemedy bench, set {args.set}: {args.seeds} seeds, {args.rounds} round(s), "
        f"top {args.top}, {elapsed / 60:.1f} min"
    )
    head = ["scenario", "found", "top advice", "right?", "helped?", "change [95% CI]", "applied",
            "time"]  # fmt: skip
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for o in outcomes:
        right = "–" if o.top_right is None else ("yes" if o.top_right else "no")
        helped = "–" if o.top is None else ("yes" if o.top_helped else "no")
        if o.scenario.healthy:
            right = "no warning, no fix" if o.ok else "FALSE ALARM"
        print(
            f"| {o.scenario.name} | {', '.join(o.problems) or '–'} | {o.top or '–'} | {right} "
            f"| {helped} | {o.top_change or '–'} | {' + '.join(o.applied) or '–'} "
            f"| {o.seconds:.0f} s |"
        )
    problems = [o for o in outcomes if not o.scenario.healthy]
    if problems:
        helped = sum(o.top_helped for o in problems)
        right = sum(bool(o.top_right) for o in problems)
        any_fix = sum(bool(o.applied) for o in problems)
        print(
            f"\nfirst verified fix helped: {helped}/{len(problems)} "
            f"({100 * helped / len(problems):.0f} %, bar {100 * BAR:.0f} %); top advice right "
            f"for the cause: {right}/{len(problems)}; a fix applied by the loop: "
            f"{any_fix}/{len(problems)}"
        )
    for o in outcomes:
        if o.scenario.healthy:
            print(f"healthy control {o.scenario.name}: {'ok' if o.ok else 'FALSE ALARM'}")


def _as_json(o: Outcome) -> dict[str, Any]:
    return {
        "scenario": o.scenario.name,
        "cause": o.scenario.cause,
        "healthy": o.scenario.healthy,
        "found": o.problems,
        "advice": o.advice,
        "top": o.top,
        "top_right": o.top_right,
        "top_verdict": o.top_verdict,
        "top_change": o.top_change,
        "applied": o.applied,
        "seconds": o.seconds,
        "stop": o.stop,
        "curves": o.curves,
        "model_notes": o.model_notes,
        "tried": o.tried,
    }


if __name__ == "__main__":
    sys.exit(main())

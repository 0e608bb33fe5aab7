"""TensorBoard sweep bench: many Keras-layout run folders, read and analysed.

Writes N run folders ``run_i/train/events...`` + ``run_i/validation/events...`` (what
``keras.callbacks.TensorBoard`` writes: ``epoch_loss``, ``epoch_accuracy``,
``epoch_learning_rate`` in ``train/``, ``epoch_loss``, ``epoch_accuracy`` in
``validation/``; TF2 tensor summaries, TFRecord framing from ``bench_tensorboard.py``;
a mix of healthy, over-fitting and noisy curves), then times, for each source tree
given with ``--tree`` (alternating, so machine load hits them alike):

- reading: ``tensorboard.read_group`` on every run folder in one process (ms per run,
  the best of ``--repeat`` passes after a warm-up one);
- ``loganalyzer analyze DIR --format json`` as a fresh process (wall and CPU seconds),
  and whether its output is byte-identical across trees.

Usage:
    python bench/bench_tb_sweep.py --runs 1500 --repeat 3 \\
        --tree /work/main --tree /work/wt-tb
"""

from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _file(path: Path, series: dict[str, np.ndarray], wall0: float) -> None:
    """One event file: one event per (epoch, tag), as Keras writes them."""
    # Imported here: bench_tensorboard puts its own tree first on sys.path, which
    # must not happen in the --measure-read process of another tree.
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_tensorboard import event_bytes, frame

    payloads = [b"\x09" + struct.pack("<d", wall0) + b"\x1a\x0dbrain.Event:2"]
    epochs = len(next(iter(series.values())))
    for e in range(epochs):
        for tag, values in series.items():
            payloads.append(event_bytes(wall0 + e, e, tag, float(values[e]), True))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(frame(payloads))


def write_runs(directory: Path, n: int, epochs: int = 100, seed: int = 0) -> None:
    """``run_000000/train/events...`` + ``run_000000/validation/events...``, ..."""
    rng = np.random.default_rng(seed)
    e = np.arange(epochs)
    for i in range(n):
        loss = 2.0 * np.exp(-e / rng.uniform(8, 30)) + 0.1
        val = loss + 0.05 + rng.normal(0, 0.01, epochs)
        if i % 3 == 1:  # over-fitting: validation turns up half way
            val = val + np.maximum(0, e - epochs / 2) * 0.02
        elif i % 3 == 2:  # noisy
            loss = loss + rng.normal(0, 0.15, epochs)
        acc = 1 - loss / 3
        lr = np.full(epochs, 1e-3)
        run = directory / f"run_{i:06d}"
        wall = 1.7e9 + i * 1000
        _file(
            run / "train" / f"events.out.tfevents.{int(wall)}.bench.{i}.0.v2",
            {"epoch_loss": loss, "epoch_accuracy": acc, "epoch_learning_rate": lr},
            wall,
        )
        _file(
            run / "validation" / f"events.out.tfevents.{int(wall) + 1}.bench.{i}.1.v2",
            {"epoch_loss": val, "epoch_accuracy": 1 - val / 3},
            wall + 0.5,
        )


def measure_read(directory: Path, repeat: int) -> None:
    """Print the best ms per run of reading every run folder (in this process)."""
    from loganalyzer.readers import tensorboard

    print(Path(tensorboard.__file__).parents[2], file=sys.stderr)
    groups = tensorboard.group(sorted(directory.rglob("*tfevents*")))
    best = float("inf")
    for _ in range(repeat + 1):  # the first pass warms caches and imports
        t0 = time.perf_counter()
        for run_dir, files in groups:
            tensorboard.read_group(run_dir, files)
        best = min(best, time.perf_counter() - t0)
    print(f"{1000 * best / len(groups):.3f}")


def _env(tree: str) -> dict:
    """Run ``tree``'s code: it comes first on the path (the commands also run in it, so
    an editable install of another tree does not win)."""
    env = dict(os.environ, PYTHONPATH=tree)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed tool has its .pyc files
    return env


def read_ms(tree: str, directory: Path, repeat: int) -> float:
    cmd = [sys.executable, __file__, "--measure-read", str(directory), "--repeat", str(repeat)]
    out = subprocess.run(cmd, env=_env(tree), cwd=tree, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def analyze(tree: str, directory: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of ``loganalyzer analyze DIR --format json``."""
    cmd = [sys.executable, "-m", "loganalyzer.cli", "analyze", str(directory), "--format", "json"]
    before = os.times()
    t0 = time.perf_counter()
    with open(out, "wb") as fh:
        subprocess.run(cmd, env=_env(tree), cwd=tree, stdout=fh, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = os.times()
    cpu = after.children_user - before.children_user
    cpu += after.children_system - before.children_system
    return wall, cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1500)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tree", action="append", help="a source tree to time (PYTHONPATH)")
    ap.add_argument("--no-cli", action="store_true", help="time the reading only")
    ap.add_argument("--measure-read", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure_read:
        measure_read(args.measure_read, args.repeat)
        return 0
    trees = args.tree or [str(Path(__file__).resolve().parents[1])]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "sweep"
        write_runs(d, args.runs, args.epochs)
        print(f"{args.runs} Keras-layout TensorBoard runs, {args.epochs} epochs each")
        print(f"load before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for tree in trees:
            print(f"read {tree}: {read_ms(tree, d, args.repeat):.2f} ms/run")
        for tree in trees[::-1]:
            print(f"read {tree}: {read_ms(tree, d, args.repeat):.2f} ms/run")
        if not args.no_cli:
            outputs = {}
            for rep in range(args.repeat):
                for tree in trees if rep % 2 == 0 else trees[::-1]:
                    out = Path(tmp) / f"out{trees.index(tree)}.json"
                    wall, cpu = analyze(tree, d, out)
                    outputs[tree] = out.read_bytes()
                    print(f"analyze {tree}: {wall:.2f} s wall, {cpu:.2f} s CPU")
            same = len(set(outputs.values())) == 1
            print(f"JSON output identical across trees: {same}")
        print(f"load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

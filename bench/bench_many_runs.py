"""Scale bar: many CSVLogger runs of 100 epochs in one directory, analysed with every core.

Generates N Keras ``CSVLogger`` files (``epoch,loss,val_loss``; a mix of healthy,
overfitting and noisy curves) in a temporary directory, then times
``loganalyzer analyze DIR --format json -j all`` for each N and prints the time per
run, so linearity shows as a flat per-run time. For the largest N it also runs
``-j 1`` to show the speed-up from using every core.

Usage:
    python bench/bench_many_runs.py                 # N = 1000, 2000, 4000
    python bench/bench_many_runs.py --sizes 200 400 # quick
    python bench/bench_many_runs.py --full          # adds N = 10000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_runs(directory: Path, n: int, epochs: int = 100, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    e = np.arange(epochs)
    for i in range(n):
        kind = i % 3
        loss = 2.0 * np.exp(-e / rng.uniform(8, 30)) + 0.1
        if kind == 0:  # healthy
            val = loss * 1.05 + 0.02
        elif kind == 1:  # overfits after an onset
            onset = int(rng.integers(15, 60))
            val = loss * 1.05 + 0.02 + np.where(e > onset, (e - onset) * 0.01, 0.0)
        else:  # noisy
            val = loss * 1.05 + 0.02
        noise = 0.005 if kind != 2 else 0.08
        loss = loss + rng.normal(0, noise, epochs)
        val = val + rng.normal(0, noise, epochs)
        lines = ["epoch,loss,val_loss"]
        lines += [f"{k},{a:.6f},{b:.6f}" for k, a, b in zip(e, loss, val, strict=True)]
        (directory / f"run_{i:05d}.csv").write_text("\n".join(lines) + "\n")


def time_analyze(directory: Path, jobs: str) -> tuple[float, int, int]:
    cmd = [
        sys.executable,
        "-m",
        "loganalyzer.cli",
        "analyze",
        str(directory),
        "--format",
        "json",
        "-j",
        jobs,
    ]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    dt = time.perf_counter() - t0
    doc = json.loads(out.stdout)
    return dt, len(doc["runs"]), len(doc["errors"]) + len(doc["skipped"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000])
    ap.add_argument("--full", action="store_true", help="also N = 10000")
    ap.add_argument("--no-serial", action="store_true", help="skip the -j 1 comparison")
    args = ap.parse_args()
    sizes = sorted(set(args.sizes + ([10000] if args.full else [])))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"cores available: {cores}")
    with tempfile.TemporaryDirectory() as tmp:
        last = None
        for n in sizes:
            d = Path(tmp) / f"n{n}"
            d.mkdir()
            write_runs(d, n)
            dt, runs, bad = time_analyze(d, "all")
            print(
                f"N={n:>6}  -j all: {dt:8.2f} s  {dt / n * 1000:7.2f} ms/run  "
                f"({runs} runs analysed, {bad} errors/skipped)"
            )
            last = (d, n, dt)
        if last is not None and not args.no_serial:
            d, n, dt_all = last
            dt1, runs, _ = time_analyze(d, "1")
            print(
                f"N={n:>6}  -j 1  : {dt1:8.2f} s  {dt1 / n * 1000:7.2f} ms/run  "
                f"-> speed-up with all {cores} cores: {dt1 / dt_all:.2f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Sweep bar: many CSVLogger runs of 100 epochs in one directory, one command, beside
the linters users would run instead.

Generates N Keras ``CSVLogger`` files (``epoch,loss,val_loss``; a mix of healthy,
overfitting and noisy curves) and times, as fresh processes on the same files in the
same bench run, interleaved so machine load hits them alike:

- ``loganalyzer analyze DIR --format json -j all`` (every core),
- ``runmedic diagnose --json DIR`` and ``losslint check --format json DIR`` when they
  are installed (``pip install runmedic losslint``; "not installed" otherwise).

For each it prints the median wall time, the CPU time (user + sys of the process and
its workers), the time per run, the ratio to runmedic, and the peak memory: the
resident size of the whole process tree (parent and workers), sampled every 20 ms, and
of the parent alone. The issue's bar (16): 2,000 runs in at most 1.5 s on 2 cores, and
faster than runmedic on the same files in the same bench run.

``--scale`` times loganalyzer alone on 1,000 / 10,000 / 100,000 runs (``--scale-sizes``):
linear means a flat time per run; a flat memory curve means the peak memory does not
grow with N (the runs' JSON texts and sweep summaries are spooled to temporary files;
the parent still keeps about 0.6 KB per run, mostly the discovered paths, so it is not
flat yet: see bench/README.md).

Every command runs with a bytecode cache, as an installed tool has one (``pip``
compiles ``.pyc`` files at install time).

Usage:
    python bench/bench_many_runs.py                        # N = 2000, 3 runs each
    python bench/bench_many_runs.py --sizes 200 2000 --repeat 5
    python bench/bench_many_runs.py --scale                # + 1k/10k/100k, ours only
    python bench/bench_many_runs.py --layout sweep         # one sweep of cfg_*/training.csv
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_runs(
    directory: Path, n: int, epochs: int = 100, seed: int = 0, layout: str = "flat"
) -> None:
    """``flat``: ``run_000000.csv`` ... in one folder (no two runs are siblings: their
    file names differ); ``sweep``: ``cfg_000000/training.csv`` ..., one sweep whose
    runs the sweep comparison compares (its over-fitting third ends far worse)."""
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
        if layout == "sweep":
            (directory / f"cfg_{i:06d}").mkdir()
            path = directory / f"cfg_{i:06d}" / "training.csv"
        else:
            path = directory / f"run_{i:06d}.csv"
        path.write_text("\n".join(lines) + "\n")


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out += [int(c) for c in fh.read().split()]
    except OSError:
        pass
    return out


def measure(cmd: list[str], env: dict) -> dict:
    """Run ``cmd`` (output to /dev/null); wall and CPU seconds, peak RSS in MB of the
    process tree and of the parent alone (sampled)."""
    before = os.times()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    tree_peak = parent_peak = 0
    while proc.poll() is None:
        parent = _rss_kb(proc.pid)
        tree = parent + sum(_rss_kb(c) for c in _children(proc.pid))
        parent_peak, tree_peak = max(parent_peak, parent), max(tree_peak, tree)
        time.sleep(0.02)
    wall = time.perf_counter() - t0
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return {
        "wall": wall,
        "cpu": cpu,
        "tree_mb": tree_peak / 1024,
        "parent_mb": parent_peak / 1024,
        "code": proc.returncode,
    }


def tool(name: str) -> str | None:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


def commands(directory: Path) -> dict[str, list[str] | None]:
    runmedic, losslint = tool("runmedic"), tool("losslint")
    ours = [sys.executable, "-m", "loganalyzer.cli", "analyze", str(directory)]
    return {
        "loganalyzer (-j all)": [*ours, "--format", "json", "-j", "all"],
        "runmedic": [runmedic, "diagnose", "--json", str(directory)] if runmedic else None,
        "losslint": [losslint, "check", "--format", "json", str(directory)] if losslint else None,
    }


def load() -> str:
    a, b, c = os.getloadavg()
    return f"{a:.2f} {b:.2f} {c:.2f}"


def compare(base: Path, n: int, repeat: int, env: dict, layout: str = "flat") -> None:
    d = base / f"n{n}"
    d.mkdir()
    write_runs(d, n, layout=layout)
    cmds = commands(d)
    present = {k: v for k, v in cmds.items() if v is not None}
    for cmd in present.values():  # warm the file and bytecode caches
        measure(cmd, env)
    results: dict[str, list[dict]] = {k: [] for k in present}
    for _ in range(repeat):
        for label, cmd in present.items():
            results[label].append(measure(cmd, env))
    print(
        f"\nN = {n:,} runs of 100 epochs ({layout} layout), median of {repeat} "
        "(load before/after: see top):"
    )
    print(
        f"  {'tool':<22} {'wall':>8} {'cpu':>8} {'per run':>9} {'vs runmedic':>12} "
        f"{'peak RSS':>9} {'parent':>8}"
    )
    ref = (
        statistics.median(r["wall"] for r in results["runmedic"]) if "runmedic" in results else None
    )
    for label in cmds:
        if label not in results:
            print(f"  {label:<22} not installed")
            continue
        rs = results[label]
        wall = statistics.median(r["wall"] for r in rs)
        cpu = statistics.median(r["cpu"] for r in rs)
        tree = max(r["tree_mb"] for r in rs)
        parent = max(r["parent_mb"] for r in rs)
        ratio = f"{ref / wall:10.2f}x" if ref else f"{'-':>11}"
        print(
            f"  {label:<22} {wall:7.2f}s {cpu:7.2f}s {wall / n * 1000:7.3f}ms {ratio:>12} "
            f"{tree:7.0f}MB {parent:6.0f}MB"
        )
    shutil.rmtree(d)


def scale(base: Path, sizes: list[int], env: dict, layout: str = "flat") -> None:
    print("\nloganalyzer alone, growing N (-j all, one run each):")
    print(f"  {'N':>8} {'wall':>9} {'per run':>9} {'peak RSS':>9} {'parent':>8}")
    for n in sizes:
        d = base / f"s{n}"
        d.mkdir()
        write_runs(d, n, layout=layout)
        cmd = commands(d)["loganalyzer (-j all)"]
        r = measure(cmd, env)
        print(
            f"  {n:>8,} {r['wall']:8.2f}s {r['wall'] / n * 1000:7.3f}ms "
            f"{r['tree_mb']:7.0f}MB {r['parent_mb']:6.0f}MB"
        )
        shutil.rmtree(d)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scale", action="store_true", help="also time growing N, ours only")
    ap.add_argument("--scale-sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument(
        "--layout",
        choices=["flat", "sweep"],
        default="flat",
        help="runs in one folder, or one sweep of cfg_*/training.csv (compared as siblings)",
    )
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"cores available: {cores}; load average before: {load()}")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        base = Path(tmp)
        for n in args.sizes:
            compare(base, n, args.repeat, env, args.layout)
        if args.scale:
            scale(base, args.scale_sizes, env, args.layout)
    print(f"\nload average after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

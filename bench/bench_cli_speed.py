"""Speed bar: one small log, the whole process, beside ``import numpy`` and the linters
users would run instead.

The issue's bar (16): ``loganalyzer analyze sample_logs/overfit/training.csv --format
json`` under 0.2 s, whole process (interpreter start-up included, as a user or a CI
step experiences it), median of 10 runs. Printed beside ``python -c "import numpy"``
(the floor: judging a log needs numpy) and beside runmedic and losslint on the same log
when they are installed (``pip install runmedic losslint``; "not installed" otherwise).
Every command is a fresh subprocess; the commands alternate, so the load of a shared
machine hits all of them alike; the medians of wall time and of CPU time (user + sys of
the child, which load inflates less) are printed. Every command runs with a bytecode
cache, as an installed tool has one (``pip`` compiles ``.pyc`` files at install time;
``PYTHONDONTWRITEBYTECODE`` is dropped and ``PYTHONPYCACHEPREFIX`` points to a
temporary directory).

It also checks what the analyze path imports (``python -X importtime``): pandas, scipy,
typer, pydantic, rich, matplotlib, tensorflow and keras must not be among them.

Usage:
    python bench/bench_cli_speed.py [--runs 10] [--log sample_logs/overfit/training.csv]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_ON_THE_PATH = ("pandas", "scipy", "typer", "pydantic", "rich", "matplotlib", "tensorflow")
NOT_ON_THE_PATH += ("keras", "torch")
BAR_SECONDS = 0.2


ENV = dict(os.environ)


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=ENV)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def tool(name: str, args: list[str]) -> list[str] | None:
    """The command of an installed tool (next to this Python first), or ``None``."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    return [found, *args] if found else None


def imported_modules(cmd: list[str]) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", *cmd[1:]], capture_output=True, text=True, env=ENV
    )
    return {ln.split("|")[-1].strip() for ln in out.stderr.splitlines() if "|" in ln}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--log", default=str(ROOT / "sample_logs" / "overfit" / "training.csv"))
    args = ap.parse_args()
    cache = tempfile.mkdtemp(prefix="bench-pycache-")
    ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    ENV["PYTHONPYCACHEPREFIX"] = cache
    try:
        return run(args)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def run(args: argparse.Namespace) -> int:
    py = sys.executable
    ours = [py, "-m", "loganalyzer.cli", "analyze", args.log, "--format", "json"]
    commands = {
        "loganalyzer analyze --format json": ours,
        'python -c "import numpy"': [py, "-c", "import numpy"],
        "python -c pass": [py, "-c", "pass"],
        "runmedic diagnose --json": tool("runmedic", ["diagnose", "--json", args.log]),
        "losslint check --format json": tool("losslint", ["check", "--format", "json", args.log]),
    }

    doc = json.loads(subprocess.run(ours, capture_output=True, text=True, env=ENV).stdout)
    run = doc["runs"][0]
    print(
        f"log: {args.log} ({run['format']}, {run['length']} {run['index']}s, "
        f"{len(run['findings'])} findings, {len(run['advice'])} advice)"
    )
    mods = imported_modules(ours)
    heavy = sorted(m for m in mods if m.split(".")[0] in NOT_ON_THE_PATH)
    print(f"heavy imports on the analyze path: {', '.join(heavy) if heavy else 'none'}")
    load = os.getloadavg()
    print(
        f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores"
    )

    present = {k: v for k, v in commands.items() if v is not None}
    for cmd in present.values():  # warm the file and bytecode caches
        timed(cmd)
    walls: dict[str, list[float]] = {k: [] for k in present}
    cpus: dict[str, list[float]] = {k: [] for k in present}
    for _ in range(args.runs):  # interleaved, so machine load hits every command alike
        for label, cmd in present.items():
            wall, cpu = timed(cmd)
            walls[label].append(wall)
            cpus[label].append(cpu)
    load = os.getloadavg()
    print(f"load average after:  {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    mine = statistics.median(walls["loganalyzer analyze --format json"])
    numpy_floor = statistics.median(walls['python -c "import numpy"'])
    print(f"\nmedian of {args.runs} runs, whole process:")
    print(f"  {'command':<38} {'wall':>9} {'cpu':>9} {'vs numpy':>9} {'vs ours':>8}")
    for label in commands:
        if label not in present:
            print(f"  {label:<38} {'not installed':>9}")
            continue
        w, c = statistics.median(walls[label]), statistics.median(cpus[label])
        print(
            f"  {label:<38} {w * 1000:7.1f}ms {c * 1000:7.1f}ms {w / numpy_floor:8.2f}x "
            f"{w / mine:7.2f}x"
        )
    ok = mine < BAR_SECONDS and not heavy
    verdict = "OK" if ok else "OVER"
    print(
        f"\nbar: under {BAR_SECONDS * 1000:.0f} ms whole process -> {mine * 1000:.0f} ms: {verdict}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

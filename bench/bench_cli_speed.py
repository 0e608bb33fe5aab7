"""Speed bar: ``loganalyzer analyze <one small log> --format json`` vs. importing the
libraries it stands on.

The issue's bar: analysing one small log takes at most 1.3x the time of
``python -c "import pandas, scipy.stats"``. Both are run as fresh subprocesses
(interpreter start-up included, as a user experiences them), alternating, and the
median of N runs is compared. It also checks that matplotlib, tensorflow and keras are
not imported on that path (``python -X importtime``).

Usage:
    python bench/bench_cli_speed.py [--runs 15] [--log sample_logs/overfit/history.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("matplotlib", "tensorflow", "keras", "torch")


def _time(cmd: list[str], env: dict | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env)
    return time.perf_counter() - t0


def _env(bytecode_cache: str | None) -> dict:
    """The environment for both commands. With a cache directory, Python may write and
    reuse bytecode there, as an installed wheel has it (pip compiles ``.pyc`` files at
    install time, and the dependencies already have theirs); without one, and with
    ``PYTHONDONTWRITEBYTECODE`` set, the tool's own modules are compiled on every run."""
    env = dict(os.environ)
    if bytecode_cache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = bytecode_cache
    return env


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--log", default=str(ROOT / "sample_logs" / "overfit" / "history.json"))
    args = ap.parse_args()

    py = sys.executable
    tool = [py, "-m", "loganalyzer.cli", "analyze", args.log, "--format", "json"]
    base = [py, "-c", "import pandas, scipy.stats"]

    out = subprocess.run(tool, capture_output=True, text=True, check=False)
    doc = json.loads(out.stdout)
    if not doc["runs"]:
        print(f"warning: the log was not analysed: {doc['errors']}", file=sys.stderr)
    else:
        run = doc["runs"][0]
        print(
            f"log: {args.log} ({run['format']}, {run['length']} {run['index']}s, "
            f"{len(run['findings'])} findings, {len(run['advice'])} advice)"
        )

    imp = subprocess.run([py, "-X", "importtime", *tool[1:]], capture_output=True, text=True)
    mods = {ln.split("|")[-1].strip() for ln in imp.stderr.splitlines() if "|" in ln}
    heavy = sorted(m for m in mods if m.split(".")[0] in HEAVY)
    print(f"heavy imports on the analyze path: {', '.join(heavy) if heavy else 'none'}")

    ok = not heavy
    with tempfile.TemporaryDirectory() as cache:
        settings = [("with a bytecode cache (as installed)", cache)]
        if os.environ.get("PYTHONDONTWRITEBYTECODE"):
            settings.append(("PYTHONDONTWRITEBYTECODE set (source compiled every run)", None))
        for label, prefix in settings:
            env = _env(prefix)
            for _ in range(2):  # warm the file and bytecode caches
                _time(tool, env)
                _time(base, env)
            t_tool, t_base = [], []
            for _ in range(args.runs):  # alternate, so machine load hits both alike
                t_tool.append(_time(tool, env))
                t_base.append(_time(base, env))
            mt, mb = statistics.median(t_tool), statistics.median(t_base)
            ratio = mt / mb
            print(f"[{label}]")
            print(
                f"  loganalyzer analyze --format json   : median {mt * 1000:7.1f} ms ({args.runs} runs)"
            )
            print(f"  python -c 'import pandas, scipy.stats': median {mb * 1000:7.1f} ms")
            print(f"  ratio {ratio:.2f} (bar: <= 1.30) -> {'OK' if ratio <= 1.3 else 'OVER'}")
            if prefix is not None:
                ok = ok and ratio <= 1.3
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

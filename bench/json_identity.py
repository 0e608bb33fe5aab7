"""JSON identity: ``loganalyzer analyze X --format json`` must give the same bytes before
and after a change that is meant to change nothing a user sees (a speed-up).

``write`` records, for every input, the command's stdout, stderr and exit code into a
reference directory (kept out of git); ``check`` runs the same commands and prints every
input whose output differs, with the first differing line. Inputs: every file and every
directory below ``sample_logs/`` (console logs included), ``/work/shared/real_logs/``
and the labelled corpora ``/work/shared/real_logs_labeled/keras`` and ``/other`` (a
directory is one command over everything below it, so sweeps and the sibling comparison
are covered too). Paths are given relative to the repository root where they can be, so
a reference written from another checkout of the repository compares.

Commands run in this process through :func:`loganalyzer.cli.main` (``-j 1``); with
``--subprocess`` each is a fresh ``python -m loganalyzer.cli`` (the real entry point,
every core), which is slower but also covers the worker pool.

Usage:
    python bench/json_identity.py write [--ref DIR]
    python bench/json_identity.py check [--ref DIR] [--subprocess]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path("/work/shared")
ROOTS = [
    Path("sample_logs"),
    SHARED / "real_logs",
    SHARED / "real_logs_labeled" / "keras",
    SHARED / "real_logs_labeled" / "other",
]
DEFAULT_REF = ROOT / "bench" / ".json_reference"


def inputs() -> list[str]:
    """Every file and every directory below the roots, sorted, roots first."""
    out: list[str] = []
    for root in ROOTS:
        base = root if root.is_absolute() else ROOT / root
        if not base.exists():
            print(f"warning: {root} not found, left out", file=sys.stderr)
            continue
        found = [base, *base.rglob("*")]
        for p in sorted(found):
            if "__pycache__" in p.parts or p.suffix == ".py":
                continue
            out.append(str(p.relative_to(ROOT)) if not root.is_absolute() else str(p))
    return out


def run_in_process(path: str) -> dict:
    from loganalyzer.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(["analyze", path, "--format", "json", "-j", "1"])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return {"stdout": out.getvalue(), "stderr": err.getvalue(), "code": code}


def run_subprocess(path: str) -> dict:
    cmd = [sys.executable, "-m", "loganalyzer.cli", "analyze", path, "--format", "json"]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    return {"stdout": res.stdout, "stderr": res.stderr, "code": res.returncode}


def key(path: str) -> str:
    return hashlib.sha1(path.encode()).hexdigest()[:16]


def first_difference(a: str, b: str) -> str:
    la, lb = a.splitlines(), b.splitlines()
    for i, (x, y) in enumerate(zip(la, lb, strict=False)):
        if x != y:
            return (
                f"line {i + 1}:\n      before: {x.strip()[:160]}\n      after:  {y.strip()[:160]}"
            )
    return f"lengths differ ({len(la)} vs {len(lb)} lines)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["write", "check"])
    ap.add_argument("--ref", type=Path, default=DEFAULT_REF, help="reference directory")
    ap.add_argument("--subprocess", action="store_true", help="fresh process per input")
    ap.add_argument("--only", default=None, help="only inputs containing this text")
    args = ap.parse_args()
    os.chdir(ROOT)
    run = run_subprocess if args.subprocess else run_in_process
    paths = [p for p in inputs() if args.only is None or args.only in p]
    if args.mode == "write":
        args.ref.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    differ = missing = 0
    for path in paths:
        got = run(path)
        ref_file = args.ref / f"{key(path)}.json"
        if args.mode == "write":
            ref_file.write_text(json.dumps({"input": path, **got}))
            continue
        if not ref_file.exists():
            missing += 1
            print(f"NO REFERENCE {path}")
            continue
        want = json.loads(ref_file.read_text())
        for part in ("stdout", "stderr", "code"):
            if want[part] != got[part]:
                differ += 1
                what = (
                    first_difference(want[part], got[part])
                    if part != "code"
                    else f"{want[part]} -> {got[part]}"
                )
                print(f"DIFFERS {path} [{part}] {what}")
                break
    dt = time.perf_counter() - t0
    verb = "wrote" if args.mode == "write" else "checked"
    print(f"{verb} {len(paths)} inputs in {dt:.1f} s", end="")
    if args.mode == "check":
        print(f": {len(paths) - differ - missing} identical, {differ} differ, {missing} missing")
        return 1 if differ or missing else 0
    print(f" -> {args.ref}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

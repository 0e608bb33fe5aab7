"""Remote bar: ``loganalyzer analyze s3://bucket/sweep/`` on 1,000 CSVLogger runs served
by a local S3 API server, against the same runs analysed from local disk.

Starts moto's S3 server (``python -m moto.server``, the server s3fs's own tests use) in
a separate process on 127.0.0.1, writes N runs (``run_XXXXX/training.csv``, the mix of
``bench_many_runs.py``: healthy, over-fitting and noisy curves of 100 epochs) to a
temporary directory and uploads them, then times, as end-to-end command lines,

- ``loganalyzer analyze DIR -f json -j all`` (local disk), and
- ``loganalyzer analyze s3://bench/sweep/ -f json -j all`` (credentials and endpoint
  from the environment: ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ...),

best of ``--repeat`` runs each, checks that both give the same runs and findings, and
prints the ratio (the bar: remote within 2x of local).

Usage:
    python bench/bench_remote.py                 # N = 1000, 3 repeats
    python bench/bench_remote.py --runs 200 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_many_runs import write_runs  # noqa: E402

BUCKET = "bench"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server() -> tuple[subprocess.Popen, dict[str, str]]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    return proc, env


# The entry point of the venv running this bench (it need not be activated).
_BESIDE = Path(sys.executable).with_name("loganalyzer")
_LOGANALYZER = str(_BESIDE) if _BESIDE.exists() else "loganalyzer"


def analyze(target: str, env: dict[str, str]) -> tuple[float, dict]:
    t = time.perf_counter()
    out = subprocess.run(
        [_LOGANALYZER, "analyze", target, "-f", "json", "-j", "all", "--fail-on", "never"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    )
    return time.perf_counter() - t, json.loads(out.stdout)


def comparable(doc: dict) -> list:
    return [(r["run"], r["series"], [f["rule"] for f in r["findings"]]) for r in doc["runs"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    proc, env = start_server()
    try:
        os.environ.update(env)
        import fsspec

        with tempfile.TemporaryDirectory() as tmp:
            sweep = Path(tmp) / "sweep"
            sweep.mkdir()
            write_runs(sweep, args.runs)
            for f in sorted(sweep.iterdir()):  # one folder per run, as sweeps are laid out
                (sweep / f.stem).mkdir()
                f.rename(sweep / f.stem / "training.csv")
            fs = fsspec.filesystem("s3")
            fs.mkdir(BUCKET)
            t = time.perf_counter()
            fs.put(str(sweep) + "/", f"{BUCKET}/sweep/", recursive=True)
            print(f"uploaded {args.runs} runs in {time.perf_counter() - t:.1f} s")

            local, remote = [], []
            for _ in range(args.repeat):
                dt, doc_local = analyze(str(sweep), env)
                local.append(dt)
                dt, doc_remote = analyze(f"s3://{BUCKET}/sweep/", env)
                remote.append(dt)
            same = comparable(doc_local) == comparable(doc_remote)
            print(f"runs: {len(doc_remote['runs'])}, errors: {len(doc_remote['errors'])}")
            print(f"same runs, series and findings as local: {same}")
            print(
                f"local  disk: best {min(local):6.2f} s  (all: {', '.join(f'{x:.2f}' for x in local)})"
            )
            print(
                f"s3 (moto) : best {min(remote):6.2f} s  (all: {', '.join(f'{x:.2f}' for x in remote)})"
            )
            print(f"ratio remote/local: {min(remote) / min(local):.2f}x  (bar: <= 2x)")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()

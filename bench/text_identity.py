"""Text identity: ``loganalyzer analyze X`` (the default ``--format text``) must print the
same bytes before and after a change meant to change nothing a user sees.

``write`` records, for every input and every terminal setting, the command's stdout,
stderr and exit code into a reference directory (kept out of git); ``check`` runs the
same commands and prints every one whose output differs, with the first differing line.

The settings are what changes the terminal report's bytes: piped (no colour, nothing
wrapped) or with colour forced (``FORCE_COLOR``, which rich reads), ``COLUMNS`` unset /
60 / 100 / 200 (prose is wrapped at ``COLUMNS`` even when piped), ``-v`` and ``-q``, plus
a few odd ones (``--no-color`` with colour forced, ``NO_COLOR``, ``COLORTERM=truecolor``,
``TERM=dumb``) and a real terminal (stdout on a pseudo-terminal of 100 columns).

Inputs:

- the roots ``sample_logs/``, ``/work/shared/real_logs/`` and the labelled corpora
  ``/work/shared/real_logs_labeled/keras`` and ``/other``, every setting, each a fresh
  ``python -m loganalyzer.cli`` (every core: the worker pool is covered);
- every file and directory below those roots, piped and coloured at 100 columns with
  ``-v``, in this process through :func:`loganalyzer.cli.main` (fast; default jobs, so
  a folder of several inputs still goes through the pool, forked from here);
- generated runs (``bench/bench_many_runs.py``'s ``write_runs``): 500 and 2,000 runs,
  flat and one sweep (whose sweep comparison flags runs), a subset of the settings, as
  fresh processes. They are written once below ``--gen-dir`` and reused.

Outputs are stored gzipped (``-v`` on 2,000 runs is several MB).

Usage:
    python bench/text_identity.py write --ref /work/ref-text [--only TEXT] [--no-generated]
    python bench/text_identity.py check --ref /work/ref-text [--only TEXT] [--no-generated]

``--code DIR`` runs the package in ``DIR`` instead of this checkout's (e.g. ``git archive
main loganalyzer rules | tar -x -C DIR`` for a reference written after the change began).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import io
import json
import os
import pty
import select
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from json_identity import ROOTS, first_difference, inputs  # noqa: E402

#: (name, environment, extra arguments). ``None`` in an environment removes the variable.
Setting = tuple[str, dict, list]


def full_settings() -> list[Setting]:
    out: list[Setting] = []
    for colour in (False, True):
        for columns in (None, "60", "100", "200"):
            for flags in ([], ["-v"], ["-q"]):
                env = {"FORCE_COLOR": "1" if colour else None, "COLUMNS": columns}
                name = f"{'colour' if colour else 'piped'}-{columns or 'nocols'}{''.join(flags)}"
                out.append((name, env, flags))
    out += [
        ("colour-no-color-flag", {"FORCE_COLOR": "1", "COLUMNS": "100"}, ["--no-color"]),
        ("colour-NO_COLOR", {"FORCE_COLOR": "1", "NO_COLOR": "1", "COLUMNS": "100"}, []),
        ("colour-truecolor", {"FORCE_COLOR": "1", "COLORTERM": "truecolor"}, ["-v"]),
        ("colour-dumb", {"FORCE_COLOR": "1", "TERM": "dumb", "COLUMNS": "100"}, []),
        ("pty-100", {"TERM": "xterm-256color", "PTY": "100"}, []),
        ("pty-100-v", {"TERM": "xterm-256color", "PTY": "100"}, ["-v"]),
        ("pty-60-q", {"TERM": "xterm-256color", "PTY": "60"}, ["-q"]),
    ]
    return out


#: Settings for the generated runs (each command takes seconds there).
GENERATED_SETTINGS = [
    ("piped-nocols", {}, []),
    ("piped-100-v", {"COLUMNS": "100"}, ["-v"]),
    ("colour-100", {"FORCE_COLOR": "1", "COLUMNS": "100"}, []),
    ("colour-60-q", {"FORCE_COLOR": "1", "COLUMNS": "60"}, ["-q"]),
    ("colour-200-v", {"FORCE_COLOR": "1", "COLUMNS": "200"}, ["-v"]),
    ("pty-100", {"TERM": "xterm-256color", "PTY": "100"}, []),
]

#: Settings for every file and folder below the roots (in this process).
SMALL_SETTINGS = [
    ("piped-nocols", {}, []),
    ("colour-100-v", {"FORCE_COLOR": "1", "COLUMNS": "100"}, ["-v"]),
]

GENERATED = [("flat", 500), ("sweep", 500), ("flat", 2000), ("sweep", 2000)]

#: Variables that change the terminal report, cleared unless a setting sets them.
_TERMINAL_VARS = ("FORCE_COLOR", "NO_COLOR", "COLUMNS", "LINES", "COLORTERM", "TERM")


def _env(setting_env: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _TERMINAL_VARS}
    env["TERM"] = "xterm"
    for k, v in setting_env.items():
        if v is None:
            env.pop(k, None)
        elif k != "PTY":
            env[k] = v
    return env


#: ``--code DIR``: the loganalyzer package to run (e.g. an old copy, for the reference).
CODE: list[str] = []


def run_subprocess(path: str, env: dict, flags: list[str]) -> dict:
    python = [sys.executable, "-P"] if CODE else [sys.executable]  # -P: not ./loganalyzer
    cmd = [*python, "-m", "loganalyzer.cli", "analyze", path, *flags]
    if CODE:
        env = {**env, "PYTHONPATH": CODE[0]}
    if "PTY" in env:
        return _run_on_pty(cmd, int(env["PTY"]), _env(env))
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=_env(env))
    return {"stdout": res.stdout, "stderr": res.stderr, "code": res.returncode}


def _run_on_pty(cmd: list[str], columns: int, env: dict) -> dict:
    """stdout on a pseudo-terminal ``columns`` wide (stderr piped, so no progress bar)."""
    import fcntl
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    proc = subprocess.Popen(
        cmd, stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=ROOT, env=env
    )
    os.close(slave)
    chunks: list[bytes] = []
    err: list[bytes] = []
    fds = [master, proc.stderr.fileno()]
    while fds:
        ready, _, _ = select.select(fds, [], [])
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the terminal's last writer closed it
                data = b""
            if not data:
                fds.remove(fd)
            else:
                (chunks if fd == master else err).append(data)
    code = proc.wait()
    os.close(master)
    return {
        "stdout": b"".join(chunks).decode("utf-8", "replace"),
        "stderr": b"".join(err).decode("utf-8", "replace"),
        "code": code,
    }


def run_in_process(path: str, env: dict, flags: list[str]) -> dict:
    from loganalyzer.cli import main

    saved = {k: os.environ.get(k) for k in (*_TERMINAL_VARS, *env)}
    os.environ.update({k: v for k, v in _env(env).items() if k in _TERMINAL_VARS})
    for k in _TERMINAL_VARS:
        if k not in _env(env):
            os.environ.pop(k, None)
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(["analyze", path, *flags])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {"stdout": out.getvalue(), "stderr": err.getvalue(), "code": code}


def generated_inputs(gen_dir: Path) -> list[str]:
    from bench_many_runs import write_runs

    out = []
    for layout, n in GENERATED:
        d = gen_dir / f"{layout}_{n}"
        if not (d / ".done").exists():
            d.mkdir(parents=True, exist_ok=True)
            write_runs(d, n, layout=layout)
            (d / ".done").write_text("")
        out.append(str(d))
    return out


def commands(args) -> list[tuple[str, Setting, bool]]:
    """``(input, setting, in a fresh process)`` for every command to compare."""
    roots = [str(r) for r in ROOTS if (r if r.is_absolute() else ROOT / r).exists()]
    out = [(r, s, True) for r in roots for s in full_settings()]
    out += [(p, s, False) for p in inputs() if p not in roots for s in SMALL_SETTINGS]
    if args.generated:
        out += [(g, s, True) for g in generated_inputs(args.gen_dir) for s in GENERATED_SETTINGS]
    if args.only:
        out = [c for c in out if args.only in c[0] or args.only == c[1][0]]
    return out


def key(path: str, setting: str) -> str:
    return hashlib.sha1(f"{path}\0{setting}".encode()).hexdigest()[:16]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["write", "check"])
    ap.add_argument("--ref", type=Path, required=True, help="reference directory")
    ap.add_argument("--only", default=None, help="only inputs containing this text, or a setting")
    ap.add_argument("--no-generated", dest="generated", action="store_false")
    ap.add_argument("--gen-dir", type=Path, default=Path("/tmp/text_identity_runs"))
    ap.add_argument("--code", default=None, help="run the loganalyzer package found in DIR")
    args = ap.parse_args()
    if args.code:
        CODE.append(str(Path(args.code).resolve()))
        sys.path.insert(0, CODE[0])
    os.chdir(ROOT)
    todo = commands(args)
    if args.mode == "write":
        args.ref.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    differ = missing = 0
    for path, (name, env, flags), fresh in todo:
        got = (run_subprocess if fresh else run_in_process)(path, env, flags)
        ref_file = args.ref / f"{key(path, name)}.json.gz"
        if args.mode == "write":
            ref_file.write_bytes(gzip.compress(json.dumps({"input": path, **got}).encode()))
            continue
        if not ref_file.exists():
            missing += 1
            print(f"NO REFERENCE {path} [{name}]")
            continue
        want = json.loads(gzip.decompress(ref_file.read_bytes()))
        for part in ("stdout", "stderr", "code"):
            if want[part] != got[part]:
                differ += 1
                what = (
                    first_difference(want[part], got[part])
                    if part != "code"
                    else f"{want[part]} -> {got[part]}"
                )
                print(f"DIFFERS {path} [{name}] [{part}] {what}", flush=True)
                break
    dt = time.perf_counter() - t0
    verb = "wrote" if args.mode == "write" else "checked"
    print(f"{verb} {len(todo)} commands in {dt:.1f} s", end="")
    if args.mode == "check":
        same = len(todo) - differ - missing
        print(f": {same} identical, {differ} differ, {missing} missing")
        return 1 if differ or missing else 0
    print(f" -> {args.ref}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

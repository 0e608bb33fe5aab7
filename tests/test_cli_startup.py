"""How ``loganalyzer analyze`` starts.

numpy's OpenBLAS runs on one thread: judging logs never multiplies a matrix, and the
helper threads OpenBLAS starts at import spin for a while on every other core (about
60 ms of CPU per one-log run on a loaded 2-core machine). A number the user chose is
kept, and nothing the command starts later inherits the setting.

Python's cycle collector is paused for the start-up (imports and the first input) and
runs again for every input after it, in this process and in the workers.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

threads = pytest.mark.skipif(
    not os.path.isdir("/proc/self/task") or (os.cpu_count() or 1) < 2,
    reason="counts threads in /proc; needs 2 cores for OpenBLAS to start a helper",
)

PROBE = """
import os, sys
import loganalyzer.cli as cli
imported_early = "numpy" in sys.modules
cli._numpy_without_blas_threads()
import numpy
print(imported_early, len(os.listdir("/proc/self/task")), os.environ.get("OPENBLAS_NUM_THREADS"))
"""


def _probe(**env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env={**clean, **env}, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def _plain_numpy_threads() -> int:
    clean = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    code = "import os, numpy; print(len(os.listdir('/proc/self/task')))"
    out = subprocess.run([sys.executable, "-c", code], env=clean, capture_output=True, text=True)
    return int(out.stdout)


@threads
def test_the_command_imports_numpy_with_one_blas_thread_and_restores_the_variable():
    if _plain_numpy_threads() < 2:
        pytest.skip("this numpy starts no BLAS helper thread here")
    early, threads, variable = _probe()
    assert early == "False"  # importing the command does not import numpy first
    assert threads == "1"
    assert variable == "None"  # a training the command starts gets the default


@threads
def test_a_thread_count_the_user_set_is_kept():
    early, threads, variable = _probe(OPENBLAS_NUM_THREADS="2")
    assert (early, threads, variable) == ("False", "2", "2")


def test_the_python_api_still_imports_lazily_and_fully():
    code = (
        "import sys, loganalyzer\n"
        "print('numpy' in sys.modules)\n"
        "print(loganalyzer.analyze.__module__, loganalyzer.Run.__name__)\n"
        "print(sorted(set(loganalyzer.__all__) - set(dir(loganalyzer))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split("\n")[:3] == ["False", "loganalyzer.analysis Run", "[]"]


GC_PROBE = """
import gc, runpy, sys
import loganalyzer.parallel as P
seen = []
judge = P._rendered

def spy(unit):
    seen.append(gc.isenabled())
    return judge(unit)

P._rendered = spy
sys.argv = ["loganalyzer", "analyze", sys.argv[1], "--format", "json", "-j", "1"]
try:
    runpy.run_module("loganalyzer.cli", run_name="__main__")
except SystemExit:
    pass
print(seen, gc.isenabled(), file=sys.stderr)
"""


def test_the_collector_is_paused_for_the_first_input_only(tmp_path):
    logs = Path(__file__).resolve().parents[1] / "sample_logs"
    for k, name in enumerate(["overfit", "diverging", "healthy"]):
        src = next((logs / name).glob("*.csv"), None) or next((logs / name).glob("*.json"))
        (tmp_path / f"{k}{src.suffix}").write_bytes(src.read_bytes())
    out = subprocess.run(
        [sys.executable, "-c", GC_PROBE, str(tmp_path)], capture_output=True, text=True
    )
    assert out.stderr.strip().splitlines()[-1] == "[False, True, True] True"
    # the same document as main() called in a process that never paused it
    from loganalyzer.cli import main

    with contextlib.redirect_stdout(io.StringIO()) as buf, pytest.raises(SystemExit):
        main(["analyze", str(tmp_path), "--format", "json", "-j", "1"])
    assert out.stdout == buf.getvalue()

"""Directory discovery on hostile trees and standard input: a symlink loop, a FIFO,
an unreadable folder or file each give one line, never a traceback, a hang or a
silent skip; ``-`` reads a log from standard input, its format sniffed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loganalyzer import analyze
from loganalyzer.cli import app
from loganalyzer.parallel import analyze_paths
from loganalyzer.readers import read_paths

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_logs"
GOOD = SAMPLES / "healthy" / "training.csv"


@pytest.fixture
def tree(tmp_path) -> Path:
    d = tmp_path / "runs"
    d.mkdir()
    shutil.copy(GOOD, d / "good.csv")
    return d


def _cli(*args: str, input: str | None = None):
    return CliRunner().invoke(app, list(args), input=input)


def test_symlink_loop_is_one_error_line_everywhere(tree):
    (tree / "loop").symlink_to("loop")  # ln -s loop loop
    (tree / "sub").mkdir()
    (tree / "sub" / "up").symlink_to("..")  # a folder loop: walked once
    res = _cli("analyze", str(tree), "-f", "json")
    assert res.exit_code == 2
    doc = json.loads(res.stdout)
    assert [r["run"] for r in doc["runs"]] == ["good.csv"]
    assert doc["errors"] == [
        {"source": str(tree / "loop"), "error": "symbolic link loop: not followed"}
    ]
    series = _cli("series", str(tree))
    assert (
        series.exit_code == 2 and "good.csv" in series.stdout and "Traceback" not in series.output
    )
    api = analyze(str(tree))
    assert len(api.runs) == 1 and len(api.errors) == 1


def test_fifo_below_a_directory_is_not_opened(tree):
    os.mkfifo(tree / "pipe.csv")  # opening it would block until a writer comes
    proc = subprocess.run(
        [sys.executable, "-m", "loganalyzer.cli", "analyze", str(tree), "-f", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    doc = json.loads(proc.stdout)
    assert proc.returncode == 0 and [r["run"] for r in doc["runs"]] == ["good.csv"]
    assert doc["skipped"] == [
        {"source": str(tree / "pipe.csv"), "error": "a FIFO (named pipe), not a file: not read"}
    ]


def test_a_fifo_named_on_the_command_line_is_read(tmp_path):
    """``loganalyzer analyze <(ssh host cat training.csv)``: a pipe the user names."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    writer = subprocess.Popen(["sh", "-c", f"cat {GOOD} > {pipe}"])
    try:
        result = read_paths([pipe])
    finally:
        writer.wait(timeout=60)
    assert len(result.runs) == 1 and result.runs[0].length == 50


# Root reads everything: drop the capabilities that bypass file permissions, so the
# command meets a folder or file it may not read as any user does.
_UNPRIVILEGED = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
_UNPRIVILEGED += ["--inh-caps", "-dac_override,-dac_read_search"]


def _unprivileged(args: list[str]) -> subprocess.CompletedProcess:
    prefix = _UNPRIVILEGED if os.geteuid() == 0 else []
    if prefix and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: permissions cannot be enforced")
    return subprocess.run(
        [*prefix, sys.executable, "-m", "loganalyzer.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def open_tree(tree):
    (tree / "locked").mkdir()
    shutil.copy(GOOD, tree / "locked" / "inside.csv")
    shutil.copy(GOOD, tree / "secret.csv")
    yield tree
    os.chmod(tree / "locked", 0o755)  # so pytest can clean up
    os.chmod(tree / "secret.csv", 0o644)


def test_unreadable_folder_and_file_below_a_directory_are_errors(open_tree):
    os.chmod(open_tree / "locked", 0)
    os.chmod(open_tree / "secret.csv", 0)
    proc = _unprivileged(["analyze", str(open_tree), "-f", "json"])
    assert proc.returncode == 2, proc.stderr
    doc = json.loads(proc.stdout)
    assert [r["run"] for r in doc["runs"]] == ["good.csv"]
    errors = {Path(e["source"]).name: e["error"] for e in doc["errors"]}
    assert errors == {
        "locked": "permission denied: this folder could not be read",
        "secret.csv": "Permission denied",
    }
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 2 and all(ln.startswith("error: ") for ln in lines)


def test_an_explicit_unreadable_file_is_one_line_beside_the_results(open_tree):
    os.chmod(open_tree / "secret.csv", 0)
    proc = _unprivileged(["analyze", str(open_tree / "secret.csv"), str(open_tree / "good.csv")])
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {open_tree / 'secret.csv'}: Permission denied"
    assert "good.csv" in proc.stdout and "Usage" not in proc.stdout + proc.stderr


def test_links_inside_the_tree_are_not_read_twice(tree, tmp_path):
    (tree / "latest.csv").symlink_to(tree / "good.csv")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copy(SAMPLES / "overfit" / "history.json", outside / "history.json")
    (tree / "shared").symlink_to(outside)  # a link out of the tree is followed
    names = sorted(r.name for r in read_paths([tree]).runs)
    assert names == ["good.csv", "shared/history.json"]


@pytest.mark.parametrize(
    "payload, fmt",
    [
        (GOOD, "keras-csv"),
        (SAMPLES / "overfit" / "history.json", "keras-json"),
        (SAMPLES / "console" / "keras-verbose2" / "train.out", "console"),
        (next((SAMPLES / "overfit" / "tensorboard" / "validation").iterdir()), "tensorboard"),
    ],
)
def test_stdin_is_sniffed_like_a_file(payload, fmt):
    res = CliRunner().invoke(
        app, ["analyze", "-", "-f", "json", "--fail-on", "never"], input=payload.read_bytes()
    )
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert {r["format"] for r in doc["runs"]} == {fmt}
    assert doc["runs"][0]["source"] == "<stdin>"


def test_stdin_that_is_not_a_log_is_one_line():
    res = _cli("analyze", "-", input="hello\nworld\n")
    assert res.exit_code == 2
    assert res.stderr.startswith("error: <stdin>: not a training log")


def test_overlapping_arguments_read_each_log_once_under_the_first_arguments_name(tmp_path):
    """A file found by two arguments is read once, named as the first argument that
    found it: relative to a directory argument, or as given when it was named itself;
    a TensorBoard run folder is named relative to the directory it was found in."""
    a = tmp_path / "a"
    (a / "sub").mkdir(parents=True)
    for f in (a / "x.csv", a / "y.csv", a / "sub" / "z.csv"):
        shutil.copy(GOOD, f)
    shutil.copytree(SAMPLES / "healthy" / "tensorboard", a / "sub" / "tb")
    cases = {
        (a / "x.csv", a): [str(a / "x.csv"), "sub/tb", "sub/z.csv", "y.csv"],
        (a, a / "x.csv"): ["sub/tb", "sub/z.csv", "x.csv", "y.csv"],
        (a / "sub", a): ["tb", "x.csv", "y.csv", "z.csv"],
        (a / "sub" / "tb", a): ["sub/z.csv", "tb", "x.csv", "y.csv"],
    }
    for args, want in cases.items():
        names = sorted(r.name for r in read_paths([str(p) for p in args]).runs)
        assert names == want, args
        result = analyze_paths([str(p) for p in args], jobs=2)  # the workers name them
        assert sorted(r.run.name for r in result.runs) == want

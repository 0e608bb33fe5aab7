"""How the ``loganalyzer`` command fails: one line and an exit code that tells the kind
of failure (README, "Exit codes and CI"), never a traceback for bad data or a bad
environment, and never exit 1 (a diagnosis) for a crash."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from loganalyzer import cli

SAMPLES = Path(__file__).resolve().parents[1] / "sample_logs"


def _run(args, *, env=None, stdout=subprocess.PIPE, cwd=None):
    environ = {k: v for k, v in os.environ.items() if k != "LOGANALYZER_DEBUG"}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "loganalyzer.cli", *map(str, args)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=environ,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def logs(tmp_path):
    d = tmp_path / "runs"
    d.mkdir()
    (d / "good.json").write_bytes((SAMPLES / "overfit" / "history.json").read_bytes())
    return d


def test_an_internal_error_exits_70_with_one_line_and_the_traceback_in_a_file(
    logs, monkeypatch, capsys
):
    import loganalyzer.parallel

    def broken(*args, **kwargs):  # a bug, injected where analysis runs
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(loganalyzer.parallel, "analyze_paths", broken)
    with pytest.raises(SystemExit) as out:
        cli.main(["analyze", str(logs)])
    assert out.value.code == cli.EXIT_INTERNAL != 1  # before: a traceback and exit 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    saved = re.search(r"the traceback is in (\S+)", err).group(1)
    text = Path(saved).read_text()
    assert "ZeroDivisionError: float division by zero" in text and "command:" in text
    Path(saved).unlink()
    # --debug (anywhere on the line) prints the traceback instead
    with pytest.raises(SystemExit) as out:
        cli.main(["analyze", str(logs), "--debug"])
    assert out.value.code == cli.EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "traceback above" in err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_full_disk_is_one_line_and_exit_74(logs, fmt):
    with open("/dev/full", "wb") as full:
        out = _run(["analyze", logs, "-f", fmt], stdout=full)
    err = out.stderr.decode()
    assert out.returncode == cli.EXIT_OUTPUT, err  # before: a traceback, exit 1
    assert err.strip() == "error: writing the output: No space left on device"


def test_an_ascii_terminal_gets_escapes_not_a_traceback(logs):
    out = _run(["analyze", logs, "--fail-on", "never"], env={"PYTHONIOENCODING": "ascii"})
    assert out.returncode == 0, out.stderr.decode()
    assert b"Traceback" not in out.stderr and b"good.json" in out.stdout


def test_lone_surrogates_in_names_do_not_crash_any_output(tmp_path):
    p = tmp_path / "h.json"
    good = {"loss": [1.0, 0.6, 0.4, 0.3, 0.25, 0.2], "val_loss": [1.1, 0.7, 0.5, 0.5, 0.6, 0.7]}
    p.write_text(json.dumps({"run\ud800": good, "lo\udfffss": {"loss": [1, 2, 3]}}))
    for args in (["analyze", p, "--fail-on", "never"], ["series", p]):
        out = _run(args)
        assert out.returncode == 0, out.stderr.decode()  # before: UnicodeEncodeError
        assert b"Traceback" not in out.stderr
        # shown escaped (\ud800) or replaced (U+FFFD), never fatal
        assert b"\\ud800" in out.stdout or "\ufffd".encode() in out.stdout
    out = _run(["analyze", p, "-f", "json", "--fail-on", "never"])
    assert out.returncode == 0 and len(json.loads(out.stdout)["runs"]) == 2


def test_select_nothing_is_a_usage_error(logs):
    out = _run(["analyze", logs, "--select", ""])
    assert out.returncode == 2  # before: no rule ran, exit 0
    assert b"--select: selects no rule" in out.stderr


def test_a_truncated_json_inside_a_directory_is_an_error(logs):
    text = (logs / "good.json").read_text()
    (logs / "cut.json").write_text(text[: len(text) // 2])
    (logs / "notes.txt").write_text("just some notes\n")
    out = _run(["analyze", logs, "-f", "json", "--fail-on", "never"])
    assert out.returncode == 2  # before: "skipped", exit 0
    doc = json.loads(out.stdout)
    assert [e["source"].endswith("cut.json") for e in doc["errors"]] == [True]
    assert [s["source"].endswith("notes.txt") for s in doc["skipped"]] == [True]
    assert [r["run"] for r in doc["runs"]] == ["good.json"]


def test_a_bug_in_one_rule_costs_that_rule_on_that_run_not_the_others(
    tmp_path, monkeypatch, capsys
):
    """A detector that raises on some runs (a bug met only by certain curves): each such
    run gets one error line naming its file and the rule, its other findings and every
    other run still come out, in every output, and the exit code says it was a bug."""
    import loganalyzer.diagnose
    from loganalyzer.detectors import detector_for

    d = tmp_path / "runs"
    d.mkdir()
    (d / "overfit.json").write_bytes((SAMPLES / "overfit" / "history.json").read_bytes())
    (d / "healthy.json").write_bytes((SAMPLES / "healthy" / "history.json").read_bytes())

    def buggy(kind):
        if kind == "plateau":  # plateau breaks on the over-fitting run only

            def detect(run, rule, params):
                if "overfit" in run.name:
                    raise IndexError("index 50 is out of bounds")
                return []

            return detect
        return detector_for(kind)

    monkeypatch.setattr(loganalyzer.diagnose, "detector_for", buggy)
    report = tmp_path / "report.md"
    for fmt in ("json", "text", "markdown"):
        command = ["analyze", str(d), "--format", fmt, "-j", "1"]
        if fmt == "markdown":
            command = ["report", str(d), "-o", str(report), "-j", "1"]
        with pytest.raises(SystemExit) as out:
            cli.main(command)
        assert out.value.code == cli.EXIT_INTERNAL
        captured = capsys.readouterr()
        lines = [line for line in captured.err.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and "Traceback" not in captured.err
        assert "overfit.json" in lines[0] and "rule LA104 (plateau)" in lines[0]
        assert "IndexError" in lines[0] and "a bug in loganalyzer" in lines[0]
        if fmt == "json":
            doc = json.loads(captured.out)
            kinds = {r["run"]: [f["kind"] for f in r["findings"]] for r in doc["runs"]}
            assert len(doc["runs"]) == 2 and "overfitting" in kinds["overfit.json"]
            assert doc["errors"][0]["internal"] is True
        elif fmt == "text":
            assert "Overfitting" in captured.out and "1 internal error" in captured.out
        else:
            text = report.read_text()
            assert "## Internal errors" in text and "Could not be read" not in text
            assert "Overfitting" in text
    # --debug lets the exception through with its traceback
    with pytest.raises(SystemExit) as out:
        cli.main(["analyze", str(d), "--debug", "-j", "1"])
    assert out.value.code == cli.EXIT_INTERNAL
    assert "IndexError: index 50 is out of bounds" in capsys.readouterr().err
    assert "LOGANALYZER_DEBUG" not in os.environ


def test_a_bug_in_the_sweep_comparison_costs_the_comparison_only(tmp_path, monkeypatch, capsys):
    """The sweep comparison (sweep-outlier, across runs) raising: every run's own
    findings still come out, one error line names the comparison, exit 70."""
    import loganalyzer.detectors.sweep_outlier as sweep

    d = tmp_path / "sweep"
    for k in range(3):
        (d / f"run{k}").mkdir(parents=True)
        (d / f"run{k}" / "history.json").write_bytes(
            (SAMPLES / "overfit" / "history.json").read_bytes()
        )

    def broken(*args, **kwargs):
        raise KeyError("val_loss")

    monkeypatch.setattr(sweep, "detect_sweep", broken)
    for fmt in ("json", "text"):
        with pytest.raises(SystemExit) as out:
            cli.main(["analyze", str(d), "--format", fmt, "-j", "1"])
        assert out.value.code == cli.EXIT_INTERNAL
        captured = capsys.readouterr()
        lines = [line for line in captured.err.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and "Traceback" not in captured.err
        assert lines[0].startswith("error: the sweep of 3 runs: rule LA1")
        assert "(sweep-outlier)" in lines[0] and "KeyError" in lines[0]
        if fmt == "json":
            doc = json.loads(captured.out)
            assert len(doc["runs"]) == 3
            assert all("overfitting" in [f["kind"] for f in r["findings"]] for r in doc["runs"])

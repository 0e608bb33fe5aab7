"""The command line as a user meets it: one screen per run, a tally as the last line,
empty input as an error, --version, shell completion, rule lookup by kind, clean help
with examples, one meaning of --jobs, and nothing a log contains reaching the terminal
raw (control characters, bidi overrides, rich markup, lone surrogates)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loganalyzer.cli import app

SAMPLES = Path(__file__).resolve().parents[1] / "sample_logs"
runner = CliRunner()
RAW_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def invoke(*args: str, columns: int = 100):
    return runner.invoke(app, list(args), env={"COLUMNS": str(columns), "NO_COLOR": "1"})


def csv(path: Path, rows: int = 12, gap: float = 0.0) -> Path:
    lines = ["epoch,loss,val_loss"] + [
        f"{i},{1 / (1 + i):.4f},{1.05 / (1 + i) + gap:.4f}" for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


# ------------------------------------------------------------------ one screen, a tally
def test_overfit_sample_fits_one_screen_with_verdict_and_snippet():
    res = invoke("analyze", str(SAMPLES / "overfit" / "history.json"), "--fail-on", "never")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert len(lines) <= 40, len(lines)
    assert all(len(line) <= 100 for line in lines)
    assert lines[1].startswith("✗ ") and "verfit" in lines[1]  # the verdict, first
    assert any(line.startswith("→ Stop at epoch ~") for line in lines[:6])
    assert "    early_stopping = keras.callbacks.EarlyStopping(" in lines
    assert lines[-1].startswith("1 run: 1 error")


def test_the_last_line_of_a_folder_run_is_the_tally(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    csv(folder / "a.csv")
    csv(folder / "b.csv", gap=0.5)
    for i in range(5):
        (folder / f"notes{i}.txt").write_text("INFO starting\n")
    broken = tmp_path / "broken.csv"
    broken.write_text("\x00\x01\x02 not a log")
    proc = subprocess.run(
        [sys.executable, "-m", "loganalyzer.cli", "analyze", str(folder), str(broken), "-j", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # as a terminal shows both
        text=True,
        env={**os.environ, "COLUMNS": "100", "NO_COLOR": "1"},
        timeout=120,
    )
    lines = proc.stdout.splitlines()
    assert proc.returncode == 2
    assert any(line.startswith(f"error: {broken}") for line in lines)
    assert not any(line.startswith("skipped:") for line in lines)
    assert re.fullmatch(
        r"2 runs: \d errors?, \d warnings?, \d ok; 1 unreadable; 5 files skipped \(-v to list\)",
        lines[-1],
    ), lines[-1]


def test_verbose_lists_skipped_files_and_quiet_contradicts_verbose(tmp_path):
    csv(tmp_path / "a.csv")
    (tmp_path / "notes.txt").write_text("INFO starting\n")
    res = invoke("analyze", str(tmp_path), "-v")
    assert "skipped: " in res.stdout and res.stdout.splitlines()[-1].endswith("1 file skipped")
    res = invoke("analyze", str(tmp_path), "-q", "-v")
    assert res.exit_code == 2 and "--quiet and --verbose" in res.stderr


# ------------------------------------------------------------------ empty input
def test_empty_input_is_an_error_in_every_command(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    only_text = tmp_path / "notes"
    only_text.mkdir()
    (only_text / "train.log").write_text("INFO epoch 1 done\n")
    for args in (
        ["analyze", str(empty)],
        ["analyze", str(empty), "-f", "json"],
        ["series", str(empty)],
        ["compare", str(empty), str(empty)],
    ):
        res = invoke(*args)
        assert res.exit_code == 2, (args, res.output)
        assert f"error: no training logs found under {empty}" in res.stderr, args
    res = invoke("analyze", str(only_text))
    assert res.exit_code == 2
    assert "no training logs found under" in res.stderr and "1 file skipped" in res.stderr
    out = tmp_path / "r.html"
    res = invoke("report", str(empty), "-o", str(out))
    assert res.exit_code == 2 and "no training logs found under" in res.stderr
    assert not out.exists()  # no 0-run report for a CI gate to pass on


# ------------------------------------------------------------------ version, completion, help
def test_version():
    from loganalyzer import __version__

    for flag in ("--version", "-V"):
        res = invoke(flag)
        assert res.exit_code == 0 and res.stdout == f"loganalyzer {__version__}\n"


def test_shell_completion_completes_commands_and_options():
    env = {**os.environ, "_LOGANALYZER_COMPLETE": "complete_bash"}
    script = Path(sys.executable).with_name("loganalyzer")  # the installed entry point
    if not script.exists():
        pytest.skip("the loganalyzer script is not installed beside this Python")
    proc = subprocess.run(
        [str(script)],
        env={**env, "COMP_WORDS": "loganalyzer rep", "COMP_CWORD": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.split() == ["report"], proc.stderr
    res = runner.invoke(app, ["--show-completion", "bash"], prog_name="loganalyzer")
    assert res.exit_code == 0 and "_LOGANALYZER_COMPLETE=complete_bash" in res.stdout


@pytest.mark.parametrize("command", ["analyze", "report", "compare", "series", "rules"])
def test_help_is_clean_and_has_examples(command):
    res = invoke(command, "--help", columns=100)
    assert res.exit_code == 0
    out = res.stdout
    assert "<bool>" not in out and "{" not in out and "list[Path]" not in out
    usage = next(line for line in out.splitlines() if "Usage:" in line)
    assert re.search(r"\[OPTIONS\] (PATH\.\.\.|\[CODE\|KIND\])$", usage.strip()), usage
    assert "Example" in out
    assert invoke(command, "-h").stdout == out


def test_jobs_means_the_same_in_analyze_report_and_compare(tmp_path):
    a, b = csv(tmp_path / "a.csv"), csv(tmp_path / "b.csv", gap=0.2)
    helps = []
    for command in ("analyze", "report", "compare"):
        text = " ".join(invoke(command, "--help", columns=200).stdout.split())
        helps.append(re.search(r"--jobs -j N (.*?)\[default: all\]", text).group(1))
    assert len(set(helps)) == 1, helps
    out = tmp_path / "r.html"
    for jobs in ("all", "1", "2"):
        assert invoke("analyze", str(a), str(b), "-j", jobs).exit_code == 0
    assert invoke("compare", str(a), str(b), "-j", "2").exit_code == 0
    assert invoke("report", str(a), "-o", str(out), "-j", "1").exit_code == 0
    for command in (["analyze", str(a)], ["report", str(a), "-o", str(out)], ["compare", str(a)]):
        res = invoke(*command, "-j", "many")
        assert res.exit_code == 2
        assert "--jobs: expected a positive number or 'all', not 'many'" in res.stderr


# ------------------------------------------------------------------ hostile names
EVIL = "x\x1b]0;pwned\x07\x1b[2J\x9b31m\u202eevil\nfake line"


def _evil_log(path: Path) -> Path:
    rows = 12
    data = {
        "loss": [1 / (1 + i) for i in range(rows)],
        "val_loss": [1.1 / (1 + i) for i in range(rows)],
        f"acc{EVIL}": [i / rows for i in range(rows)],
    }
    path.write_text(json.dumps(data))
    return path


def test_series_analyze_and_compare_show_control_characters_escaped(tmp_path):
    log = _evil_log(tmp_path / f"run{EVIL}.json")
    other = csv(tmp_path / "plain.csv")
    for args in (["series", str(log)], ["analyze", str(log)], ["compare", str(log), str(other)]):
        res = invoke(*args, columns=300)
        assert res.exit_code == 0, (args, res.output)
        assert not RAW_CONTROLS.search(res.output), (args, res.output)
        assert "\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202eevil\\nfake line" in res.output, args


def test_error_lines_show_control_characters_escaped(tmp_path):
    bad = tmp_path / f"bad{EVIL}.csv"
    bad.write_text("\x00\x01 not a log")
    for command in ("analyze", "series", "report"):
        extra = ["-o", str(tmp_path / "r.html"), "--force"] if command == "report" else []
        res = invoke(command, str(bad), str(csv(tmp_path / "ok.csv")), *extra)
        errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, (command, res.stderr)  # one line: the newline is escaped
        assert not RAW_CONTROLS.search(res.stderr), command
        assert "\\x1b]0;pwned\\x07" in errors[0] and "\\nfake line" in errors[0]


def test_lone_surrogates_are_replaced_not_fatal(tmp_path):
    log = tmp_path / "s.json"
    # json.dumps writes the lone surrogate as the escape "\ud800", as a log can.
    log.write_text(
        json.dumps({"loss\ud800": [1.0, 0.6, 0.5, 0.4], "val_loss": [1.1, 0.7, 0.6, 0.5]})
    )
    for args in (["analyze", str(log)], ["series", str(log)]):
        res = invoke(*args)
        assert res.exit_code == 0, (args, res.output)
        assert not RAW_CONTROLS.search(res.output)
    assert "loss\ufffd" in invoke("series", str(log)).stdout
    out = tmp_path / "s.html"
    res = invoke("report", str(log), "-o", str(out))
    assert res.exit_code == 0, res.output
    assert "loss\ufffd" in out.read_text(encoding="utf-8")
    md = tmp_path / "s.md"
    assert invoke("report", str(log), "-o", str(md)).exit_code == 0


def test_progress_bar_shows_run_names_as_text_not_markup():
    import io

    from rich.console import Console

    from loganalyzer.commands.report import _progress

    for name, shown in (
        ("run[/bold]", "run[/bold]"),  # an unmatched closing tag: a MarkupError as markup
        (
            "[link=http://e.x]x[/link]\x1b]0;t\x07",
            "[link=http://e.x]x[/link]\\x1b]0;t\\x07",
        ),
    ):
        console = Console(file=io.StringIO(), force_terminal=True, width=200, no_color=True)
        with _progress("rendering", console=console) as (start, advance):
            start(2)
            advance(name)
        text = console.file.getvalue()
        assert shown in text
        assert "\x1b]8;" not in text and "\x1b]0;t" not in text  # no hyperlink, no title

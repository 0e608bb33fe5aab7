"""Terminal output: what a user reads for one run, for many runs, quietly, without colour,
and with hostile names."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from test_advice_engine import PACK, TRAIN, VAL, overfit_finding
from test_advice_pack import converged_run

from loganalyzer.advice import advise
from loganalyzer.analysis import Analysis, RunResult, analyze, to_run
from loganalyzer.errors import ReadError
from loganalyzer.findings import Finding
from loganalyzer.renderers.terminal import SUMMARY_ROWS, render


def text_of(analysis, **kw) -> str:
    console = Console(file=io.StringIO(), record=True, width=100, no_color=True)
    render(analysis, console, **kw)
    return console.export_text()


def overfit_rr(name="overfit") -> RunResult:
    run = to_run({"loss": TRAIN, "val_loss": VAL}, name=name)
    findings = [overfit_finding()]
    return RunResult(run, findings, advise(run, findings, rules=PACK.get))


def healthy_rr(name="healthy") -> RunResult:
    run = to_run({"loss": TRAIN, "val_loss": [v + 0.05 for v in TRAIN]}, name=name)
    return RunResult(run, [], [])


def test_one_overfit_run_shows_onset_code_and_snippet_numbers():
    rr = overfit_rr()
    out = text_of(Analysis([rr]))
    es = rr.advice[0]
    assert es.action == "early-stopping"
    # header: name, format, length, best validation index & value
    assert "overfit" in out and "python, 12 epochs" in out
    assert "val_loss 0.58 at epoch 4" in out
    # findings table: severity, code, kind, where (onset first), message
    row = next(line for line in out.splitlines() if "LA101" in line and "overfitting" in line)
    assert "error" in row and "epoch 4–11" in row and "rose 55%" in row
    # ranked advice with the snippet's numbers as printed
    assert "1. early-stopping (LA101)" in out
    assert f"patience={es.params['patience']}," in out
    assert f"min_delta={es.params['min_delta']!r}," in out
    assert "would have stopped at epoch 6" in out
    assert "keras.regularizers.L2(0.0004)" in out
    ranks = [out.index(f"{a.rank}. {a.action}") for a in rr.advice]
    assert ranks == sorted(ranks)
    assert "Nothing to fix" not in out


def test_healthy_run_says_nothing_to_fix():
    out = text_of(Analysis([healthy_rr()]))
    assert "No problems found" in out
    assert "Nothing to fix" in out
    assert "What to do" not in out


def test_healthy_runs_end_to_end():
    out = text_of(analyze(converged_run()))
    assert "Nothing to fix" in out
    sample = Path(__file__).resolve().parents[1] / "sample_logs" / "healthy" / "tensorboard"
    out = text_of(analyze(str(sample)))
    assert "tensorboard, 50 epochs" in out
    assert "Nothing to fix" in out


def test_markup_in_names_and_messages_prints_literally():
    rr = overfit_rr(name="[red]x[/red]")
    rr.findings[0].message = "[bold]rose[/bold] 55% [link=http://evil]here[/link]"
    analysis = Analysis([rr], errors=[ReadError("[red]bad[/red].csv", "not a log")])
    out = text_of(analysis)
    assert "[red]x[/red]" in out
    assert "[bold]rose[/bold] 55% [link=http://evil]here[/link]" in out
    assert "error: [red]bad[/red].csv: not a log" in out
    # and in the summary table too
    many = Analysis([overfit_rr(name="[red]x[/red]") for _ in range(5)])
    assert text_of(many, details=False).count("[red]x[/red]") == 5


def test_no_color_console_emits_no_escape_codes_and_color_console_does():
    analysis = Analysis([overfit_rr()])
    plain = Console(file=io.StringIO(), record=True, width=100, no_color=True, force_terminal=True)
    render(analysis, plain)
    assert "\x1b[31m" not in plain.export_text(styles=True)
    coloured = Console(
        file=io.StringIO(), record=True, width=100, force_terminal=True, color_system="standard"
    )
    render(analysis, coloured)
    assert "\x1b[1;31m" in coloured.export_text(styles=True)  # bold red error


def test_errors_and_skipped_one_line_each():
    analysis = Analysis(
        [healthy_rr()],
        errors=[ReadError("a.csv", "not a training log: plain text (line 1)")],
        skipped=[ReadError("notes.txt", "not a training log")],
    )
    out = text_of(analysis)
    assert "error: a.csv: not a training log: plain text (line 1)\n" in out
    assert "skipped: notes.txt: not a training log\n" in out
    quiet = text_of(analysis, quiet=True)
    assert "error: a.csv" in quiet and "skipped" not in quiet


def test_quiet_shows_only_problems_without_snippets():
    analysis = Analysis([healthy_rr(), overfit_rr()])
    out = text_of(analysis, quiet=True)
    assert "healthy" not in out
    assert "overfit: Overfitting from epoch 4" in out
    assert "LA101" in out and "epoch 4–11" in out
    assert "1. early-stopping (LA101) — Stop at epoch ~6" in out
    assert "import keras" not in out
    assert text_of(Analysis([healthy_rr()]), quiet=True).strip() == ""


def test_info_findings_are_hidden_in_quiet_mode():
    rr = overfit_rr()
    rr.findings.append(Finding("LA100", "too-short", "info", "loss", None, None, "short note"))
    assert "short note" not in text_of(Analysis([rr]), quiet=True)
    assert "short note" in text_of(Analysis([rr]))


def test_many_runs_summary_first_then_details_for_problem_runs_only():
    runs = [healthy_rr(f"ok-{i}") for i in range(4)] + [overfit_rr("bad-run")]
    out = text_of(Analysis(runs))
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if "top finding" in line)
    bad_row = next(i for i, line in enumerate(lines) if line.strip().startswith("bad-run"))
    assert bad_row == header + 2  # problem runs first
    assert "0.58 @ 4" in lines[bad_row] and "error" in lines[bad_row]
    assert "LA101" in lines[bad_row] and "early-stopping" in lines[bad_row]
    assert "5 runs: 1 with errors, 0 with warnings" in out
    # details: only the problem run gets a section
    assert out.count("What to do, in order") == 1
    assert "Nothing to fix" not in out
    # details=True: every run
    assert text_of(Analysis(runs), details=True).count("Nothing to fix") == 4
    # details=False: the table only
    assert "What to do" not in text_of(Analysis(runs), details=False)


def test_summary_table_fits_one_screen():
    runs = [healthy_rr(f"ok-{i}") for i in range(SUMMARY_ROWS + 20)] + [overfit_rr("bad")]
    out = text_of(Analysis(runs), details=False)
    assert out.count("ok-") == SUMMARY_ROWS - 1  # the problem run took a row first
    assert "bad" in out
    assert "21 more not shown (0 with problems)" in out
    assert len(out.splitlines()) <= SUMMARY_ROWS + 10


def test_no_advice_for_problem_findings_is_not_nothing_to_fix():
    run = to_run({"loss": TRAIN, "val_loss": VAL}, name="r")
    f = Finding("LA999", "mystery", "warning", "val_loss", 3, 5, "something odd")
    out = text_of(Analysis([RunResult(run, [f], [])]))
    assert "Nothing to fix" not in out
    assert "No advice for these findings" in out


def test_only_errors_prints_only_errors():
    analysis = Analysis([], errors=[ReadError("a.csv", "empty file")])
    assert text_of(analysis, details=False).strip() == "error: a.csv: empty file"


def test_control_characters_in_names_cannot_reach_the_terminal():
    rr = overfit_rr(name="evil\x1b[2J\x1b[31mred\nsecond line")
    out = text_of(Analysis([rr]))
    assert "\x1b" not in out
    assert "evil [2J [31mred second line" in out


def test_long_source_path_is_printed_whole():
    rr = healthy_rr()
    path = "/very/long/" + "directory/" * 12 + "events.out.tfevents.123.host"
    rr.run.sources = [path]
    out = text_of(Analysis([rr]))
    assert path in out.replace("\n", "").replace(" ", "")

"""Terminal output: what a user reads for one run (one screen, verdict and top action
first), for many runs (summary worst first, a tally last), quietly, verbosely, piped,
without colour, and with hostile names."""

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


def text_of(analysis, width=100, **kw) -> str:
    console = Console(file=io.StringIO(), record=True, width=width, no_color=True)
    render(analysis, console, **kw)
    return console.export_text()


def overfit_rr(name="overfit") -> RunResult:
    run = to_run({"loss": TRAIN, "val_loss": VAL}, name=name)
    findings = [overfit_finding()]
    return RunResult(run, findings, advise(run, findings, rules=PACK.get))


def healthy_rr(name="healthy") -> RunResult:
    run = to_run({"loss": TRAIN, "val_loss": [v + 0.05 for v in TRAIN]}, name=name)
    return RunResult(run, [], [])


def test_one_overfit_run_leads_with_verdict_and_top_action():
    rr = overfit_rr()
    out = text_of(Analysis([rr]))
    lines = out.splitlines()
    es = rr.advice[0]
    assert es.action == "early-stopping"
    # The rule names the run; the verdict and the top action come right after it.
    assert lines[0].startswith("overfit ─")
    assert lines[1].startswith("✗ Overfitting from epoch 4")
    assert "python, 12 epochs" in lines[2] and "best val_loss 0.58 at epoch 4" in lines[2]
    assert lines[3].startswith("→ Stop at epoch ~6 with EarlyStopping(monitor='val_loss'")
    # The top action's snippet, with the numbers it prints.
    assert f"        patience={es.params['patience']}," in lines
    assert f"        min_delta={es.params['min_delta']!r}," in lines
    # The finding, one per line, with its code, kind, where and message.
    row = next(line for line in lines if "LA101" in line)
    assert "error" in row and "overfitting" in row and "epoch 4–11" in row and "rose 55%" in row
    # The other actions: one line each, in rank order, without their snippets.
    ranks = [out.index(f"  {a.rank}. {a.action} (LA101) — ") for a in rr.advice[1:]]
    assert ranks == sorted(ranks) and len(ranks) == len(rr.advice) - 1
    assert "keras.regularizers.L2(" not in out
    assert lines[-1] == "1 run: 1 error, 0 warnings, 0 ok"
    assert len(lines) <= 40


def test_verbose_shows_every_snippet_and_says_why_once():
    rr = overfit_rr()
    out = text_of(Analysis([rr]), verbose=True)
    assert "What to do, in order (for LA101 overfitting, epoch 4–11)" in out
    for a in rr.advice:
        assert f"  {a.rank}. {a.action} — " in out
        first_code_line = a.code.strip().splitlines()[-1].strip()
        assert first_code_line in out
    assert "keras.regularizers.L2(0.0004)" in out
    # No advice repeats "Why: ..."; the findings it answers are named once.
    assert "Why:" not in out and "Why:" not in text_of(Analysis([rr]))


def test_healthy_run_says_nothing_to_fix():
    out = text_of(Analysis([healthy_rr()]))
    assert "No problems found" in out
    assert "Nothing to fix" in out
    assert "What to do" not in out and "If that is not enough" not in out
    assert out.splitlines()[-1] == "1 run: 0 errors, 0 warnings, 1 ok"


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


def test_errors_one_line_each_skipped_counted_and_listed_with_verbose():
    analysis = Analysis(
        [healthy_rr()],
        errors=[ReadError("a.csv", "not a training log: plain text (line 1)")],
        skipped=[ReadError(f"notes{i}.txt", "not a training log") for i in range(12)],
    )
    out = text_of(analysis)
    assert "error: a.csv: not a training log: plain text (line 1)\n" in out
    assert "skipped:" not in out  # a folder run does not end in a screen of skipped files
    assert out.splitlines()[-1] == (
        "1 run: 0 errors, 0 warnings, 1 ok; 1 unreadable; 12 files skipped (-v to list)"
    )
    verbose = text_of(analysis, verbose=True)
    assert verbose.count("skipped: notes") == 12
    assert verbose.splitlines()[-1].endswith("; 12 files skipped")
    quiet = text_of(analysis, quiet=True)
    assert "error: a.csv" in quiet and "skipped:" not in quiet


def test_quiet_shows_only_problems_without_snippets():
    analysis = Analysis([healthy_rr(), overfit_rr()])
    out = text_of(analysis, quiet=True)
    assert "healthy" not in out
    assert "✗ overfit: Overfitting from epoch 4" in out
    assert "LA101" in out and "epoch 4–11" in out
    assert "→ Stop at epoch ~6 with EarlyStopping(" in out
    assert "import keras" not in out
    assert out.splitlines()[-1] == "2 runs: 1 error, 0 warnings, 1 ok"
    assert text_of(Analysis([healthy_rr()]), quiet=True).strip() == ""


def test_info_findings_are_hidden_in_quiet_mode():
    rr = overfit_rr()
    rr.findings.append(Finding("LA100", "too-short", "info", "loss", None, None, "short note"))
    assert "short note" not in text_of(Analysis([rr]), quiet=True)
    assert "short note" in text_of(Analysis([rr]))


def test_many_runs_summary_worst_first_then_problem_details_in_the_same_order():
    runs = [healthy_rr("ok-0"), overfit_rr("bad-a"), healthy_rr("ok-1")]
    warn = healthy_rr("warn-b")
    warn.findings.append(Finding("LA105", "noisy", "warning", "val_loss", 0, 11, "noisy"))
    runs += [warn, overfit_rr("bad-c")]
    out = text_of(Analysis(runs))
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if "top finding" in line)
    names = [lines[header + k].split()[0] for k in range(1, 6)]
    assert names == ["bad-a", "bad-c", "warn-b", "ok-0", "ok-1"]  # worst first, stable
    assert "0.58 @ 4" in lines[header + 1] and "✗ error" in lines[header + 1]
    assert "LA101 overfitting @ 4" in lines[header + 1]
    assert "early-stopping (stop at 6)" in lines[header + 1]
    # details: the problem runs only, in the summary's order
    titles = [line.split(" ─")[0] for line in lines if " ───" in line]
    assert titles == ["bad-a", "bad-c", "warn-b"]
    assert "Nothing to fix" not in out
    assert lines[-1] == "5 runs: 2 errors, 1 warning, 2 ok"
    assert text_of(Analysis(runs), details=True).count("Nothing to fix") == 2
    assert " ───" not in text_of(Analysis(runs), details=False)


def test_summary_table_fits_one_screen():
    runs = [healthy_rr(f"ok-{i}") for i in range(SUMMARY_ROWS + 20)] + [overfit_rr("bad")]
    out = text_of(Analysis(runs), details=False)
    assert out.count("ok-") == SUMMARY_ROWS - 1  # the problem run took a row first
    assert "bad" in out
    assert "21 more not shown (0 with problems)" in out
    assert len(out.splitlines()) <= SUMMARY_ROWS + 10


def test_summary_names_are_cut_from_the_front_never_wrapped():
    names = [
        f"sweeps/2024-11-24/imagenet/resnet50/lr_{lr}/seed_{s}" for lr in (1, 3) for s in (0, 1)
    ]
    runs = [overfit_rr(n) for n in names]
    for width in (80, 100):
        out = text_of(Analysis(runs), width=width, details=False)
        rows = [line for line in out.splitlines() if "✗ error" in line]
        assert len(rows) == 4  # one line per run
        tails = [row.split()[0] for row in rows]
        for tail, name in zip(tails, names, strict=True):
            assert name.endswith(tail.lstrip("…")), (tail, name)
        assert len(set(tails)) == 4  # the distinctive end survives
        assert all(len(line) <= width for line in out.splitlines())


def test_no_advice_for_problem_findings_is_not_nothing_to_fix():
    run = to_run({"loss": TRAIN, "val_loss": VAL}, name="r")
    f = Finding("LA999", "mystery", "warning", "val_loss", 3, 5, "something odd")
    out = text_of(Analysis([RunResult(run, [f], [])]))
    assert "Nothing to fix" not in out
    assert "No advice for these findings" in out


def test_only_errors_prints_errors_and_tally():
    analysis = Analysis([], errors=[ReadError("a.csv", "empty file")])
    out = text_of(analysis, details=False).strip().splitlines()
    assert out == ["error: a.csv: empty file", "0 runs: 0 errors, 0 warnings, 0 ok; 1 unreadable"]


def test_control_characters_in_names_are_shown_escaped():
    evil = "evil\x1b[2J\x1b]0;pwned\x07\x9b31m\u202eenil\nsecond line\ud800"
    rr = overfit_rr(name=evil)
    rr.findings[0].message = f"rose at {evil}"
    analysis = Analysis([rr], errors=[ReadError(f"{evil}.csv", f"bad {evil}")])
    for kw in ({}, {"verbose": True}, {"quiet": True}, {"details": False}):
        out = text_of(analysis, **kw)
        assert not any(c in out for c in "\x1b\x07\x9b\u202e\ud800"), kw
        assert "evil\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m\\u202eenil\\nsecond line\ufffd" in out, kw
    assert "error: evil\\x1b[2J" in text_of(analysis)


def test_long_source_path_is_cut_from_the_front_in_the_heading():
    rr = healthy_rr()
    path = "/very/long/" + "directory/" * 12 + "events.out.tfevents.123.host"
    rr.run.name = "run-a"
    rr.run.sources = [path]
    lines = text_of(Analysis([rr])).splitlines()
    assert lines[0].startswith("run-a ─")
    facts = next(line for line in lines if "source" in line)
    assert "events.out.tfevents.123.host" in " ".join(lines)
    assert facts  # the path is printed (wrapped as prose), not cut
    rr.run.name = path.lstrip("/")  # the name is the path: the heading is the source
    title = text_of(Analysis([rr])).splitlines()[0]
    assert title.startswith("…") and "events.out.tfevents.123.host ─" in title


def test_code_is_never_wrapped_and_prose_has_a_hanging_indent():
    rr = overfit_rr()
    rr.advice[
        0
    ].code += "\n# a comment long enough to wrap at sixty columns, with a 'string' inside it too"
    out = text_of(Analysis([rr]), width=60)
    lines = out.splitlines()
    for code_line in rr.advice[0].code.splitlines():
        if code_line.strip():
            assert "    " + code_line in lines, code_line
    arrow = next(i for i, line in enumerate(lines) if line.startswith("→ "))
    assert lines[arrow + 1].startswith("  ") and not lines[arrow + 1].startswith("   ")
    assert all(len(line) <= 60 for line in lines if not line.startswith("    "))


def test_piped_output_is_not_wrapped_or_padded():
    rr = overfit_rr()
    out = text_of(Analysis([rr, healthy_rr()]), width=80, wrap=False)
    lines = out.splitlines()
    assert all(line == line.rstrip() for line in lines)
    # A paragraph is one line, however long.
    assert any(line.startswith("→ Stop at") and line.endswith("saving 5 epochs.") for line in lines)

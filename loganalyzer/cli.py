"""Command line: ``loganalyzer analyze|series|rules|report|compare|verify``.

A thin layer over :func:`loganalyzer.analyze` and the renderers. Exit codes follow
linters: 0 clean, 1 a finding at or above ``--fail-on``, 2 unreadable input or bad usage.
"""

from __future__ import annotations

import os
import sys
import time
from enum import Enum
from pathlib import Path

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Read deep-learning training logs, diagnose what went wrong, and advise what to change.",
    pretty_exceptions_enable=False,
)


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


class FailOn(str, Enum):
    info = "info"
    warning = "warning"
    error = "error"
    never = "never"


def _error(message: str) -> None:
    """One line on stderr: ``error: FILE: where: why``."""
    sys.stderr.write(f"error: {_one_line(message)}\n")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _codes(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [c.strip() for c in value.split(",") if c.strip()]


def _jobs(value: str) -> int | None:
    if value.strip().lower() in ("all", "0", "auto"):
        return None
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 1:
        raise typer.BadParameter(f"expected a positive number or 'all', not {value!r}")
    return n


#: Show a progress bar (on a terminal) from this many inputs on.
PROGRESS_AFTER = 20


@app.command()
def analyze(
    paths: list[Path] = typer.Argument(
        ...,
        help="Log files or directories (searched recursively), URLs, or - for stdin.",
        readable=False,  # an unreadable file is one error line beside the results
    ),
    format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", help="Output format."),
    fail_on: FailOn | None = typer.Option(
        None,
        "--fail-on",
        help="Exit 1 when a finding reaches this severity [default: error, or the config's].",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only runs with problems."),
    no_color: bool = typer.Option(
        False, "--no-color", help="Plain text, no colours (also when NO_COLOR is set)."
    ),
    config_file: Path | None = typer.Option(
        None, "--config", help="A pyproject.toml or loganalyzer.toml to read settings from."
    ),
    select: str | None = typer.Option(
        None, help="Comma-separated rule codes or prefixes to run (replaces the config's)."
    ),
    ignore: str | None = typer.Option(
        None, help="Comma-separated rule codes or prefixes to leave out (replaces the config's)."
    ),
    train_loss: str | None = typer.Option(None, help="Metric to use as the training loss."),
    val_loss: str | None = typer.Option(None, help="Metric to use as the validation loss."),
    jobs: str = typer.Option(
        "all", "--jobs", "-j", help="Worker processes for many inputs: a number or 'all' cores."
    ),
) -> None:
    """Analyse training logs and print findings and advice.

    Exit status: 0 when no finding reaches --fail-on, 1 when one does, 2 when an input
    could not be read or the usage is wrong (results for the other inputs still print).
    """
    from loganalyzer.config import ConfigError, load_config

    try:
        n_jobs = _jobs(jobs)
        config = load_config(config_file).with_overrides(
            select=_codes(select),
            ignore=_codes(ignore),
            fail_on=fail_on.value if fail_on is not None else None,
        )
    except (ConfigError, typer.BadParameter) as exc:
        _error(str(exc) if isinstance(exc, ConfigError) else f"--jobs: {exc}")
        raise typer.Exit(2) from None
    except Exception as exc:  # noqa: BLE001 - e.g. a broken rule pack: one line, no traceback
        _error(f"configuration: {type(exc).__name__}: {exc}")
        raise typer.Exit(2) from None

    from loganalyzer.parallel import analyze_paths

    kwargs = dict(config=config, train_loss=train_loss, val_loss=val_loss, jobs=n_jobs)
    if sys.stderr.isatty() and _count_inputs(paths) >= PROGRESS_AFTER:
        result = _with_progress(paths, kwargs, no_color=no_color)
    else:
        result = analyze_paths([str(p) for p in paths], **kwargs)

    if format is OutputFormat.json:
        sys.stdout.write(result.to_json() + "\n")
    else:
        _print_text(result, quiet=quiet, no_color=no_color)
    for err in result.errors:
        _error(err.line())
    raise typer.Exit(result.exit_code(config.fail_on or "error"))


def _count_inputs(paths: list[Path]) -> int:
    """A cheap lower bound on the number of inputs (stops counting at PROGRESS_AFTER)."""
    n = 0
    for p in paths:
        if p.is_dir():
            for _root, _dirs, files in os.walk(p):
                n += len(files)
                if n >= PROGRESS_AFTER:
                    return n
        else:
            n += 1
    return n


def _with_progress(paths: list[Path], kwargs: dict, *, no_color: bool):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from loganalyzer.parallel import analyze_paths

    console = Console(stderr=True, no_color=no_color or bool(os.environ.get("NO_COLOR")))
    # auto_refresh=False: no refresh thread, so worker processes can be forked safely;
    # the bar is redrawn from the progress callback, at most ten times a second.
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        auto_refresh=False,
    ) as bar:
        task = bar.add_task("analysing", total=None)
        last = [0.0]

        def tick(done: int, total: int) -> None:
            now = time.monotonic()
            bar.update(task, completed=done, total=total)
            if now - last[0] >= 0.1 or done == total:
                last[0] = now
                bar.refresh()

        return analyze_paths([str(p) for p in paths], progress=tick, **kwargs)


def _print_text(result, *, quiet: bool, no_color: bool) -> None:
    """The rich terminal report on stdout (errors go to stderr, one line each)."""
    from dataclasses import replace

    try:
        from loganalyzer.renderers.terminal import render
    except ImportError:  # terminal renderer not available: plain lines
        for rr in result.runs:
            typer.echo(f"{rr.run.name}: {rr.run.format}, {rr.run.length} {rr.run.index}s")
            for f in rr.findings:
                typer.echo(f"  {f.severity:<8} {f.rule} {f.kind}: {f.message}")
        return
    from rich.console import Console

    console = Console(no_color=no_color or bool(os.environ.get("NO_COLOR")), highlight=False)
    render(replace(result, errors=[]), console, quiet=quiet)


@app.command()
def rules(
    code: str | None = typer.Argument(None, help="A rule code (LA101) to show its docs."),
) -> None:
    """List the rules (code, kind, severity, title), or show one rule's docs."""
    from loganalyzer.rulepack import RulePackError, load_rules, rule_by_code

    try:
        if code is None:
            pack = load_rules()
            typer.echo(f"{'code':<7} {'kind':<20} {'severity':<9} title")
            for r in pack:
                typer.echo(f"{r.code:<7} {r.kind:<20} {r.severity:<9} {r.title}")
            return
        rule = rule_by_code(code.strip().upper())
    except RulePackError as exc:
        _error(str(exc))
        raise typer.Exit(2) from None
    typer.echo(rule_docs(rule))


def rule_docs(rule) -> str:
    """One rule's documentation as plain text (what/why/fix/example, params, advice)."""
    import textwrap

    lines = [
        f"{rule.code}  {rule.title}",
        f"kind: {rule.kind}    default severity: {rule.severity}",
    ]
    for key, label in (("what", "What it flags"), ("why", "Why it matters")):
        if rule.docs.get(key):
            lines += [
                "",
                f"{label}:",
                textwrap.fill(rule.docs[key], 88, initial_indent="  ", subsequent_indent="  "),
            ]
    if rule.docs.get("fix"):
        lines += [
            "",
            "What to do:",
            textwrap.fill(rule.docs["fix"], 88, initial_indent="  ", subsequent_indent="  "),
        ]
    if rule.docs.get("example"):
        lines += ["", "Example:"] + ["  " + ln for ln in rule.docs["example"].splitlines()]
    for key, text in rule.docs.items():
        if key not in ("what", "why", "fix", "example"):
            lines += [
                "",
                f"{key}:",
                textwrap.fill(text, 88, initial_indent="  ", subsequent_indent="  "),
            ]
    lines += ["", "Parameters (set in [tool.loganalyzer.rules." + rule.code + "]):"]
    if rule.params:
        lines += [f"  {name} = {value!r}" for name, value in rule.params.items()]
    else:
        lines += ["  (none)"]
    lines += ["", "Advice it triggers (1 = try first):"]
    if rule.advice:
        lines += [
            f"  {a.priority}  {a.action}" for a in sorted(rule.advice, key=lambda a: a.priority)
        ]
    else:
        lines += ["  (none)"]
    return "\n".join(lines)


@app.command()
def series(
    paths: list[Path] = typer.Argument(
        ..., help="Log files or directories, URLs, or - for stdin.", readable=False
    ),
) -> None:
    """Show how every original metric name was mapped, and what was left out and why."""
    from loganalyzer.readers import read_paths

    read = read_paths([str(p) for p in paths])
    for run in read.runs:
        typer.echo(f"{run.name}  ({run.format}, index: {run.index})")
        for canon, orig in run.original_names.items():
            role = {run.train_loss: " [train loss]", run.val_loss: " [val loss]"}.get(canon, "")
            typer.echo(f"  {orig!s:<32} -> {canon}{role}")
        for orig, why in run.dropped.items():
            typer.echo(f"  {orig!s:<32} -- left out: {why}")
    for err in read.errors:
        typer.echo(f"error: {err.line()}", err=True)
    raise typer.Exit(2 if read.errors else 0)


def _register_commands() -> None:
    """Commands that live in their own modules (``loganalyzer/commands/NAME.py``), each
    exposing ``register(app)``. Those modules import heavy libraries lazily, inside the
    command, so ``analyze`` stays fast."""
    from importlib import import_module

    for name in ("report", "verify", "watch"):
        try:
            module = import_module(f"loganalyzer.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"loganalyzer.commands.{name}":
                raise
            continue
        module.register(app)


_register_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()

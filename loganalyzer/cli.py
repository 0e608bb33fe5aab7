"""Command line: ``loganalyzer analyze|series|rules|report|compare|verify``.

A thin layer over :func:`loganalyzer.analyze` and the renderers. Exit codes follow
linters: 0 clean, 1 a finding at or above ``--fail-on``, 2 unreadable input or bad usage.
"""

from __future__ import annotations

import sys
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


@app.command()
def analyze(
    paths: list[Path] = typer.Argument(
        ..., help="Log files or directories (searched recursively)."
    ),
    format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", help="Output format."),
    train_loss: str | None = typer.Option(None, help="Metric to use as the training loss."),
    val_loss: str | None = typer.Option(None, help="Metric to use as the validation loss."),
) -> None:
    """Analyse training logs and print findings and advice."""
    from loganalyzer.analysis import analyze as run_analysis

    result = run_analysis([str(p) for p in paths], train_loss=train_loss, val_loss=val_loss)
    if format is OutputFormat.json:
        sys.stdout.write(result.to_json() + "\n")
    else:
        for rr in result.runs:
            typer.echo(f"{rr.run.name}: {rr.run.format}, {rr.run.length} {rr.run.index}s")
    for err in result.errors:
        typer.echo(f"error: {err.line()}", err=True)
    raise typer.Exit(result.exit_code())


@app.command()
def series(paths: list[Path] = typer.Argument(..., help="Log files or directories.")) -> None:
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

    for name in ("report", "verify"):
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

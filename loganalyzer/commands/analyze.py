"""``loganalyzer analyze``: the work of the command, and the fast path to it.

:func:`run` is the command itself (options in, exit code out); the typer command in
:mod:`loganalyzer.commands.app` declares its options, help and usage errors and calls
it. :func:`fast_args` reads the command lines people and CI actually type
(``analyze runs/ -f json -j 2 --fail-on warning``) without typer.

Why a fast path: a linter runs on every commit, on one small log at a time, and the
whole process of judging a 100-epoch log should take about what ``import numpy`` takes.
Typer alone (with the pydantic and click it imports) costs about as much as reading
and judging the log. So :func:`loganalyzer.cli.main` first tries :func:`fast_args`: it
accepts only command lines it reads exactly as typer would (known options in their
``--opt value``, ``--opt=value``, ``-o value`` and ``-ovalue`` spellings, valid choices,
at least one path) and returns ``None`` for everything else: ``--help``, ``--version``,
``--``, an unknown or misspelt option, a missing or invalid value, an empty argument,
shell completion. Those go to typer, which prints the help or the usage error. Both
paths run :func:`run`, so the output and exit code are the same
(``tests/test_cli_fast_path.py`` compares them on both paths).

Example:
    >>> fast_args(["analyze", "runs/", "-f", "json", "-j2"])["jobs"]
    '2'
    >>> fast_args(["analyze", "runs/", "--help"]) is None
    True
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

#: Show a progress bar (on a terminal) from this many inputs on.
PROGRESS_AFTER = 20

#: analyze's options: name as typed -> (keyword of :func:`run`, allowed values, or
#: ``None`` for any value; flags take no value and are listed in ``_FLAGS``).
_VALUED = {
    "--format": ("format", ("text", "json")),
    "-f": ("format", ("text", "json")),
    "--fail-on": ("fail_on", ("info", "warning", "error", "never")),
    "--config": ("config_file", None),
    "--select": ("select", None),
    "--ignore": ("ignore", None),
    "--train-loss": ("train_loss", None),
    "--val-loss": ("val_loss", None),
    "--jobs": ("jobs", None),
    "-j": ("jobs", None),
    "--framework": ("framework", ("keras", "hf", "lightning", "pytorch")),
}
_FLAGS = {"--quiet": "quiet", "-q": "quiet", "--verbose": "verbose", "-v": "verbose"}
_FLAGS["--no-color"] = "no_color"


def fast_args(args: list[str], prog_name: str = "loganalyzer") -> dict[str, Any] | None:
    """The keyword arguments of :func:`run` for an ``analyze`` command line that typer
    would read the same way, or ``None`` (typer then reads it; see the module docs)."""
    if not args or args[0] != "analyze":
        return None
    if os.environ.get(f"_{prog_name}_COMPLETE".replace("-", "_").upper()):
        return None  # shell completion is typer's
    opts: dict[str, Any] = {}
    paths: list[Path] = []
    rest = list(args[1:])
    while rest:
        token = rest.pop(0)
        if token == "-" or (token and not token.startswith("-")):
            paths.append(Path(token))
            continue
        if token in _FLAGS:
            opts[_FLAGS[token]] = True
            continue
        name, value = token, None
        if token.startswith("--") and "=" in token:
            name, value = token.split("=", 1)
        elif not token.startswith("--") and len(token) > 2:
            name, value = token[:2], token[2:]  # -fjson, -j2
        if name not in _VALUED:
            return None  # --help, --, an unknown option, -qv: typer's to read or refuse
        if value is None:
            if not rest:
                return None
            value = rest.pop(0)
        key, allowed = _VALUED[name]
        if not value or value.startswith("-") or (allowed is not None and value not in allowed):
            return None
        opts[key] = Path(value) if key == "config_file" else value
    if not paths:
        return None
    return {"paths": paths, **opts}


def invoke(kwargs: dict[str, Any]) -> int:
    """:func:`run`, with the outcomes typer gives a command for what it raises (an
    interrupt exits 130, a closed pipe 1), as the typer path would have them."""
    import errno

    try:
        return run(**kwargs)
    except KeyboardInterrupt:
        return 130
    except EOFError:
        from typer import rich_utils

        print(file=sys.stderr)
        rich_utils.rich_abort_error()
        return 1
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        from typer._click.utils import PacifyFlushWrapper

        sys.stdout = PacifyFlushWrapper(sys.stdout)
        sys.stderr = PacifyFlushWrapper(sys.stderr)
        return 1


def run(
    paths: list[Path],
    *,
    format: str = "text",
    fail_on: str | None = None,
    quiet: bool = False,
    verbose: bool = False,
    no_color: bool = False,
    config_file: Path | None = None,
    select: str | None = None,
    ignore: str | None = None,
    train_loss: str | None = None,
    val_loss: str | None = None,
    jobs: str = "all",
    framework: str | None = None,
) -> int:
    """Analyse ``paths`` and print the result; the exit code (see ``cli.py``)."""
    from loganalyzer.cli import _error, jobs_value, no_logs_message
    from loganalyzer.config import ConfigError, load_config

    if quiet and verbose:
        _error("--quiet and --verbose contradict each other; pass one")
        return 2
    try:
        n_jobs = jobs_value(jobs)
    except ValueError as exc:
        _error(f"--jobs: {exc}")
        return 2
    try:
        config = load_config(config_file).with_overrides(
            select=_codes(select),
            ignore=_codes(ignore),
            fail_on=fail_on,
        )
    except ConfigError as exc:
        _error(str(exc))
        return 2
    except Exception as exc:  # noqa: BLE001 - e.g. a broken rule pack: one line, no traceback
        _error(f"configuration: {type(exc).__name__}: {exc}")
        return 2

    from loganalyzer.parallel import analyze_paths, analyze_to_json

    kwargs = dict(config=config, train_loss=train_loss, val_loss=val_loss, jobs=n_jobs)
    kwargs["framework"] = framework
    # JSON: the runs' texts as they come, none of them held; the terminal report
    # orders runs worst first, so it takes them all at once
    work = analyze_to_json if format == "json" else analyze_paths
    if sys.stderr.isatty() and _count_inputs(paths) >= PROGRESS_AFTER:
        result = _with_progress(work, paths, kwargs, no_color=no_color)
    else:
        result = work([str(p) for p in paths], **kwargs)

    empty = not result.runs and not result.errors
    console = None
    if format == "json":
        result.write(sys.stdout)
    elif not empty:
        console = _print_text(result, quiet=quiet, verbose=verbose, no_color=no_color)
    for err in result.errors:
        _error(err.line())
    if empty:
        _error(no_logs_message(paths, len(result.skipped)))
        return 2
    if console is not None:
        from loganalyzer.renderers.terminal import tally_text

        problems = any(rr.worst_severity in ("warning", "error") for rr in result.runs)
        if not quiet or problems or result.errors:
            sys.stderr.flush()
            console.print(tally_text(result, verbose=verbose), soft_wrap=True)
    return result.exit_code(config.fail_on or "error")


def _codes(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [c.strip() for c in value.split(",") if c.strip()]


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


def _with_progress(work, paths: list[Path], kwargs: dict, *, no_color: bool):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

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

        return work([str(p) for p in paths], progress=tick, **kwargs)


def _print_text(result, *, quiet: bool, verbose: bool, no_color: bool):
    """The terminal report on stdout, without errors and tally (the caller prints the
    errors on stderr, then the tally, so the tally is the last line). Prose is wrapped
    at the terminal's width on a terminal (or at ``COLUMNS``); piped output is not
    wrapped or padded."""
    from dataclasses import replace

    from rich.console import Console

    from loganalyzer.renderers.terminal import render

    console = Console(no_color=no_color or bool(os.environ.get("NO_COLOR")), highlight=False)
    wrap = console.is_terminal or os.environ.get("COLUMNS", "").isdigit()
    render(
        replace(result, errors=[]), console, quiet=quiet, verbose=verbose, wrap=wrap, tally=False
    )
    return console

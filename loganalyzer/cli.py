"""Command line: ``loganalyzer analyze|series|rules|report|compare|verify``.

A thin layer over :func:`loganalyzer.analyze` and the renderers. Exit codes follow
linters: 0 clean, 1 a finding at or above ``--fail-on``, 2 unreadable input, no training
log at all, or bad usage; and two that no diagnosis can give: 70 an internal error (a
bug: the traceback goes to a file, or to stderr with ``--debug``), 74 the output could
not be written (a full disk).
"""

from __future__ import annotations

import os
import sys
import time
from enum import Enum
from pathlib import Path

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup

from loganalyzer.commands.options import Framework


def _clean_params(params: list) -> list:
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""  # a flag takes no value: no "<bool>"
        if isinstance(param, TyperArgument) and param.metavar is not None:
            param.display_type_rich = lambda ctx: None  # the metavar names it
    return params


class HelpCommand(TyperCommand):
    """Help as a user reads it: ``PATH...`` rather than ``{paths}...``, no ``<bool>`` on
    flags and no type column for arguments (their metavar says what they are)."""

    def get_params(self, ctx):  # noqa: ANN001, ANN201 - click's signature
        return _clean_params(super().get_params(ctx))

    def collect_usage_pieces(self, ctx):  # noqa: ANN001, ANN201
        return [p.replace("{", "").replace("}", "") for p in super().collect_usage_pieces(ctx)]


class HelpGroup(TyperGroup):
    """The top level's help, cleaned like :class:`HelpCommand`'s."""

    def get_params(self, ctx):  # noqa: ANN001, ANN201
        return _clean_params(super().get_params(ctx))


app = typer.Typer(
    cls=HelpGroup,
    no_args_is_help=True,
    help="Read deep-learning training logs, diagnose what went wrong, and advise what to change."
    " Add --debug to any command to print the traceback of an internal error.",
    epilog="Run 'loganalyzer COMMAND --help' for a command's options and examples.",
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["--help", "-h"]},
)


def _print_version(value: bool) -> None:
    if value:
        from loganalyzer import __version__

        typer.echo(f"loganalyzer {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        help="Print the version and exit.",
        is_eager=True,
        callback=_print_version,
    ),
) -> None:
    pass


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


class FailOn(str, Enum):
    info = "info"
    warning = "warning"
    error = "error"
    never = "never"


def _error(message: str) -> None:
    """One line on stderr: ``error: FILE: where: why`` (anything a log put in it shown
    escaped: it cannot move the cursor, retitle the terminal or fake a line)."""
    from loganalyzer.renderers._escape import term_text

    try:
        sys.stdout.flush()
        sys.stderr.write(f"error: {term_text(message)}\n")
        sys.stderr.flush()
    except OSError:
        pass  # stderr is gone (a closed pipe): the exit code still tells


def _codes(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [c.strip() for c in value.split(",") if c.strip()]


JOBS_HELP = "Worker processes for reading, analysing and drawing: a number, or 'all' cores."


def parse_jobs(value: str) -> int | None:
    """``--jobs``: a positive number, or ``all`` (also ``auto``/``0``) for every core
    (``None``); raises :class:`typer.BadParameter`. The same in every command."""
    if value.strip().lower() in ("all", "0", "auto"):
        return None
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 1:
        raise typer.BadParameter(f"expected a positive number or 'all', not {value!r}")
    return n


def no_logs_message(paths: list, skipped: int = 0) -> str:
    """``no training logs found under runs/, b.csv (3 files skipped: not training
    logs)``: the one line for an input that holds no training log at all."""
    where = ", ".join(str(p) for p in paths) or "the given paths"
    text = f"no training logs found under {where}"
    if skipped:
        text += f" ({skipped} file{'s' if skipped != 1 else ''} skipped: not training logs)"
    return text


#: Show a progress bar (on a terminal) from this many inputs on.
PROGRESS_AFTER = 20

ANALYZE_EPILOG = """[bold]Examples[/bold]

  loganalyzer analyze runs/                  [dim]# every log below runs/, worst first[/dim]
  loganalyzer analyze history.json -v        [dim]# every action with its snippet[/dim]
  loganalyzer analyze runs/ -q --fail-on warning   [dim]# CI: problems only, exit 1 on a warning[/dim]
  loganalyzer analyze runs/ -f json > findings.json

Exit status: 0 when no finding reaches --fail-on, 1 when one does, 2 when an input could not be read, no training log was found, or the usage is wrong (results for the other inputs still print)."""


@app.command(epilog=ANALYZE_EPILOG)
def analyze(
    paths: list[Path] = typer.Argument(
        ...,
        metavar="PATH",
        help="Log files or directories (searched recursively), URLs, or - for stdin.",
        readable=False,  # an unreadable file is one error line beside the results
    ),
    format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", help="Output format."),
    fail_on: FailOn | None = typer.Option(
        None,
        "--fail-on",
        help="Exit 1 when a finding reaches this severity (default: error, or the config's).",
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="Only runs with problems, without code snippets."
    ),
    verbose: bool = typer.Option(
        False,
        "--verbose",
        "-v",
        help="Every action with its snippet, every finding in full, the skipped files.",
    ),
    no_color: bool = typer.Option(
        False, "--no-color", help="Plain text, no colours (also when NO_COLOR is set)."
    ),
    config_file: Path | None = typer.Option(
        None,
        "--config",
        metavar="FILE",
        help="A pyproject.toml or loganalyzer.toml to read settings from.",
    ),
    select: str | None = typer.Option(
        None,
        metavar="CODES",
        help="Comma-separated rule codes or prefixes to run (replaces the config's).",
    ),
    ignore: str | None = typer.Option(
        None,
        metavar="CODES",
        help="Comma-separated rule codes or prefixes to leave out (replaces the config's).",
    ),
    train_loss: str | None = typer.Option(
        None, metavar="NAME", help="Metric to use as the training loss."
    ),
    val_loss: str | None = typer.Option(
        None, metavar="NAME", help="Metric to use as the validation loss."
    ),
    jobs: str = typer.Option("all", "--jobs", "-j", metavar="N", help=JOBS_HELP),
    framework: Framework | None = typer.Option(
        None, "--framework", help="API of the advice's code (default: guessed from each log)."
    ),
) -> None:
    """Analyse training logs: the verdict, the evidence and what to change, per run."""
    from loganalyzer.config import ConfigError, load_config

    if quiet and verbose:
        _error("--quiet and --verbose contradict each other; pass one")
        raise typer.Exit(2)
    try:
        n_jobs = parse_jobs(jobs)
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
    kwargs["framework"] = framework.value if framework is not None else None
    if sys.stderr.isatty() and _count_inputs(paths) >= PROGRESS_AFTER:
        result = _with_progress(paths, kwargs, no_color=no_color)
    else:
        result = analyze_paths([str(p) for p in paths], **kwargs)

    empty = not result.runs and not result.errors
    console = None
    if format is OutputFormat.json:
        sys.stdout.write(result.to_json() + "\n")
    elif not empty:
        console = _print_text(result, quiet=quiet, verbose=verbose, no_color=no_color)
    for err in result.errors:
        _error(err.line())
    if empty:
        _error(no_logs_message(paths, len(result.skipped)))
        raise typer.Exit(2)
    if console is not None:
        from loganalyzer.renderers.terminal import tally_text

        problems = any(rr.worst_severity in ("warning", "error") for rr in result.runs)
        if not quiet or problems or result.errors:
            sys.stderr.flush()
            console.print(tally_text(result, verbose=verbose), soft_wrap=True)
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


@app.command(
    epilog="[bold]Examples[/bold]\n\n  loganalyzer rules\n  loganalyzer rules overfitting\n  loganalyzer rules LA102"
)
def rules(
    query: str | None = typer.Argument(
        None,
        metavar="CODE|KIND",
        help="A rule code (LA101) or kind (overfitting) to show its documentation.",
    ),
) -> None:
    """List the rules (code, kind, severity, title), or show one rule's documentation."""
    from loganalyzer.rulepack import RulePackError, load_rules

    try:
        pack = load_rules()
    except RulePackError as exc:
        _error(str(exc))
        raise typer.Exit(2) from None
    if query is None:
        typer.echo(f"{'code':<7} {'kind':<20} {'severity':<9} title")
        for r in pack:
            typer.echo(f"{r.code:<7} {r.kind:<20} {r.severity:<9} {r.title}")
        return
    found = find_rules(pack, query)
    if not found:
        kinds = ", ".join(sorted({r.kind for r in pack}))
        codes = ", ".join(r.code for r in pack)
        _error(f"unknown rule {query.strip()!r}: give a code ({codes}) or a kind ({kinds})")
        raise typer.Exit(2)
    typer.echo("\n\n".join(rule_docs(r) for r in found))


def find_rules(pack, query: str) -> list:
    """The rules a user means by ``query``: a code (``la101``), a code prefix that names
    one rule, or a kind as printed everywhere (``overfitting``, ``loss spike``).

    Example:
        >>> from loganalyzer.rulepack import load_rules
        >>> [r.code for r in find_rules(load_rules(), "Overfitting")]
        ['LA101']
    """
    q = query.strip()
    by_code = [r for r in pack if r.code == q.upper()]
    if by_code:
        return by_code
    kind = "-".join(q.lower().replace("_", " ").split())
    return [r for r in pack if r.kind == kind]


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
        lines += [
            f"  {name} = {value!r}"
            + (f"    (in {rule.ranges[name]})" if name in rule.ranges else "")
            for name, value in rule.params.items()
        ]
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


@app.command(epilog="[bold]Example[/bold]\n\n  loganalyzer series runs/exp7/metrics.csv")
def series(
    paths: list[Path] = typer.Argument(
        ..., metavar="PATH", help="Log files or directories, URLs, or - for stdin.", readable=False
    ),
) -> None:
    """Show how every original metric name was mapped, and what was left out and why."""
    from loganalyzer.readers import read_paths
    from loganalyzer.renderers._escape import term_text

    read = read_paths([str(p) for p in paths])
    for run in read.runs:
        typer.echo(
            f"{term_text(run.name)}  ({term_text(run.format)}, index: {term_text(run.index)})"
        )
        for canon, orig in run.original_names.items():
            role = {run.train_loss: " [train loss]", run.val_loss: " [val loss]"}.get(canon, "")
            typer.echo(f"  {term_text(orig):<32} -> {term_text(canon)}{role}")
        for orig, why in run.dropped.items():
            typer.echo(f"  {term_text(orig):<32} -- left out: {term_text(why)}")
    for err in read.errors:
        _error(err.line())
    if not read.runs and not read.errors:
        _error(no_logs_message(paths, len(read.skipped)))
    raise typer.Exit(2 if read.errors or not read.runs else 0)


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


def _clean_help(typer_app: typer.Typer) -> None:
    """Every command (also those registered by ``commands/*``) gets :class:`HelpCommand`."""
    for info in typer_app.registered_commands:
        if info.cls in (None, TyperCommand):
            info.cls = HelpCommand


_clean_help(app)


#: Exit codes of :func:`main` (README, "Exit codes and CI").
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70  # sysexits' EX_SOFTWARE: a bug in loganalyzer, never 1 (a diagnosis)
EXIT_OUTPUT = 74  # sysexits' EX_IOERR: the output could not be written


def main(argv: list[str] | None = None) -> None:
    """The ``loganalyzer`` command. Whatever happens, the user gets one line and an exit
    code that says which kind of failure it was; never a traceback, unless ``--debug``
    (anywhere on the command line, or ``LOGANALYZER_DEBUG=1``) asks for it."""
    args = list(sys.argv[1:] if argv is None else argv)
    end = args.index("--") if "--" in args else len(args)
    debug = "--debug" in args[:end] or bool(os.environ.get("LOGANALYZER_DEBUG"))
    args = [a for a in args[:end] if a != "--debug"] + args[end:]
    for stream in (sys.stdout, sys.stderr):
        # a lone surrogate in a run name, or PYTHONIOENCODING=ascii, is shown escaped
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        code = _run(args)
    except Exception as exc:  # noqa: BLE001 - the one place every failure is turned into a line
        code = _failure(exc, debug)
    sys.exit(code)


def _run(args: list[str]) -> int:
    """Run the command; its output flushed, so a full disk shows here, not at exit."""
    try:
        app(args=args, prog_name="loganalyzer")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    sys.stdout.flush()
    return code


def _failure(exc: Exception, debug: bool) -> int:
    from loganalyzer.config import ConfigError
    from loganalyzer.rulepack import RulePackError

    if isinstance(exc, ConfigError | RulePackError):
        _error(str(exc))  # e.g. a bad pyproject.toml under report/compare
        return EXIT_USAGE
    if isinstance(exc, OSError) and not debug:
        _mute_stdout()
        what = exc.filename if exc.filename else "writing the output"
        _error(f"{what}: {exc.strerror or exc}")
        return EXIT_OUTPUT
    import traceback

    text = "".join(traceback.format_exception(exc))
    where = _save_traceback(text) if not debug else None
    if where is None:
        _quiet_write(sys.stderr, text)
    said = _printable(f"{type(exc).__name__}: {exc}")[:300]
    _error(
        f"internal error ({said}): a bug in loganalyzer, not in your logs; "
        + (f"the traceback is in {where} (--debug prints it)" if where else "traceback above")
    )
    return EXIT_INTERNAL


def _save_traceback(text: str) -> str | None:
    """Write the traceback (with versions and the command) to a temporary file; its path."""
    import platform
    import tempfile
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("loganalyzer")
    except PackageNotFoundError:
        ours = "unknown"
    head = (
        f"loganalyzer {ours}, Python {platform.python_version()}, {platform.platform()}\n"
        f"command: {' '.join(sys.argv)}\n\n"
    )
    try:
        fd, path = tempfile.mkstemp(prefix="loganalyzer-crash-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(head + text)
    except OSError:
        return None
    return path


def _printable(text: str) -> str:
    """Control characters (a log's ESC, BEL) escaped, so an error line cannot act on the terminal."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def _quiet_write(stream, text: str) -> None:
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError):
        pass  # stderr itself is gone: the exit code is all that is left


def _mute_stdout() -> None:
    """After a failed write, send what is still buffered to /dev/null: otherwise Python
    tries again at exit and prints its own traceback."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError, AttributeError):  # no file descriptor (a test's capture)
        pass


if __name__ == "__main__":
    main()

"""The typer application: every command's options, help text and usage errors.

:func:`loganalyzer.cli.main` runs it for every command line the fast path of
``analyze`` does not take (:mod:`loganalyzer.commands.analyze`); ``from loganalyzer.cli
import app`` still gives it. Commands that live in their own modules
(``commands/report.py``, ``verify.py``, ``watch.py``) are registered here.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup

from loganalyzer.cli import _error, no_logs_message
from loganalyzer.commands.options import (
    Framework,
    framework_option,
    jobs_option,
    train_loss_option,
    val_loss_option,
)


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
    train_loss: str | None = train_loss_option(),
    val_loss: str | None = val_loss_option(),
    jobs: str = jobs_option(),
    framework: Framework | None = framework_option(),
) -> None:
    """Analyse training logs: the verdict, the evidence and what to change, per run."""
    from loganalyzer.commands.analyze import run

    code = run(
        paths,
        format=format.value,
        fail_on=fail_on.value if fail_on is not None else None,
        quiet=quiet,
        verbose=verbose,
        no_color=no_color,
        config_file=config_file,
        select=select,
        ignore=ignore,
        train_loss=train_loss,
        val_loss=val_loss,
        jobs=jobs,
        framework=framework.value if framework is not None else None,
    )
    raise typer.Exit(code)


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

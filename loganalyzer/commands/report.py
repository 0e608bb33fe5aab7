"""``loganalyzer report`` and ``loganalyzer compare``: reports for team review.

``report PATH... -o report.html`` (or ``.md``) writes a self-contained HTML page or a
GitHub/GitLab Markdown file with its plots in ``<stem>_files/``. ``compare RUN...``
prints a table of how the runs differ and, with ``-o``, writes the same kind of report
with their validation curves overlaid.

Exit codes follow ``analyze``: 2 when an input could not be read (the report is still
written for the others), when no training log was found at all (no report is written),
when the output exists and ``--force`` was not given, or on bad usage; 1 when a finding
reaches ``--fail-on``; else 0. ``--fail-on`` defaults to
``never`` here: a report is usually wanted precisely for a failed run, and writing it
is a success (use ``--fail-on error`` to gate CI on the report step as ``analyze`` does).

Files are written with the user's umask (an existing report keeps its mode), atomically
(a temporary file beside the target, then a rename); ``--force`` on a symlink writes
the file it points to and leaves the link in place.

Matplotlib is imported only when a report is actually rendered.
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from loganalyzer.commands.options import (
    Framework,
    framework_option,
    jobs_option,
    train_loss_option,
    val_loss_option,
)


class ReportFormat(str, Enum):
    html = "html"
    markdown = "markdown"


class FailOn(str, Enum):
    never = "never"
    info = "info"
    warning = "warning"
    error = "error"


_SUFFIXES = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown"}


def _fail(message: str) -> typer.Exit:
    from loganalyzer.renderers._escape import term_text

    typer.echo(f"error: {term_text(message)}", err=True)
    return typer.Exit(2)


def resolve_format(output: Path, fmt: ReportFormat | None) -> str:
    """``--format`` if given, else from the output's suffix; raises ``typer.Exit(2)``."""
    if fmt is not None:
        return fmt.value
    found = _SUFFIXES.get(output.suffix.lower())
    if found is None:
        raise _fail(
            f"cannot tell the report format from {str(output)!r}: "
            "name it .html or .md, or pass --format html|markdown"
        )
    return found


def files_dir(output: Path) -> Path:
    """Where a Markdown report's images go: ``report.md`` -> ``report_files/``."""
    return output.with_name(f"{output.stem}_files")


def check_writable(output: Path, fmt: str, force: bool) -> None:
    """Refuse (exit 2, one line) to overwrite an existing report without ``--force``."""
    if output.is_dir():
        raise _fail(f"{output} is a directory; give a file name such as {output / 'report.html'}")
    if output.exists() and not force:
        raise _fail(f"{output} already exists; pass --force to overwrite it")
    if fmt == "markdown":
        images = files_dir(output)
        if images.exists() and not images.is_dir():
            raise _fail(f"{images} exists and is not a directory (the report's images go there)")
        if images.is_dir() and any(images.iterdir()) and not force:
            raise _fail(f"{images}/ already holds files; pass --force to overwrite them")


def _write(path: Path, data: bytes, force: bool) -> None:
    """Write with the user's umask. Without ``force`` an exclusive create (never
    clobbers a file that appeared meanwhile); with it, atomically: a temporary file in
    the target's folder, then a rename over the target. A symlink is written through
    (its target is replaced, the link stays), and an existing file keeps its mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not force:
        with open(path, "xb") as fh:
            fh.write(data)
        return
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except OSError:
        mode = None
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as fh:  # 0o666 & ~umask, like any file the user writes
            fh.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def _progress(total_label: str, console: Any = None):
    """A rich progress bar on stderr, shown only when stderr is a terminal (or on
    ``console`` when one is given).

    Yields ``(start, advance)``: ``start(total)`` switches from the reading spinner to
    a bar over ``total`` runs; ``advance(name)`` ticks it.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    from loganalyzer.renderers._escape import shorten, term_text

    shown = console is not None or sys.stderr.isatty()
    console = console or Console(stderr=True)
    progress = Progress(
        SpinnerColumn(),
        # markup=False: run names come from files; "[link=...]" must stay text.
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
        disable=not shown,
    )
    with progress:
        task = progress.add_task("reading logs", total=None)

        def start(total: int) -> None:
            progress.update(task, description=total_label, total=total, completed=0)

        def advance(name: str) -> None:
            label = shorten(term_text(name), 40)
            progress.update(task, advance=1, description=f"{total_label}: {label}")

        yield start, advance


def _analyse(
    paths: list[Path],
    train_loss: str | None,
    val_loss: str | None,
    jobs: int | None = None,
    framework: Any = None,
) -> Any:
    """Read and analyse as ``analyze`` does (same configuration, same ``--jobs``);
    exit 2 with one line on a bad configuration or when no training log was found."""
    from loganalyzer.cli import no_logs_message
    from loganalyzer.config import ConfigError, load_config
    from loganalyzer.parallel import analyze_paths

    try:
        config = load_config()
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    fw = framework.value if framework is not None else None
    result = analyze_paths(
        [str(p) for p in paths],
        config=config,
        train_loss=train_loss,
        val_loss=val_loss,
        jobs=jobs,
        framework=fw,
    )
    if not result.runs and not result.errors:
        raise _fail(no_logs_message(paths, len(result.skipped)))
    return result


def _jobs(value: str) -> int | None:
    from loganalyzer.cli import parse_jobs

    try:
        return parse_jobs(value)
    except typer.BadParameter as exc:
        raise _fail(f"--jobs: {exc}") from None


def _emit(
    result: Any,
    fmt: str,
    output: Path,
    force: bool,
    compare: Any = None,
    title: str | None = None,
    advance: Any = None,
    jobs: int | None = None,
) -> None:
    options: dict[str, Any] = {"progress": advance, "jobs": jobs}
    if title:
        options["title"] = title
    if fmt == "html":
        from loganalyzer.renderers import html

        if compare is not None:
            text = html.render_compare(result, compare, **options)
        else:
            text = html.render(result, **options)
        _write(output, text.encode("utf-8"), force)
        return
    from loganalyzer.renderers import markdown

    rel = files_dir(output).name
    if compare is not None:
        report = markdown.render_compare(result, compare, files_dir=rel, **options)
    else:
        report = markdown.render(result, files_dir=rel, **options)
    for name, data in report.images.items():
        _write(output.parent / name, data, force=True)
    _write(output, report.text.encode("utf-8"), force)


def _report_errors(result: Any) -> None:
    from loganalyzer.renderers._escape import term_text

    for err in result.errors:
        typer.echo(f"error: {term_text(err.line())}", err=True)


REPORT_EPILOG = """[bold]Examples[/bold]

  loganalyzer report runs/ -o report.html          [dim]# one self-contained file[/dim]
  loganalyzer report runs/exp7 -o review.md         [dim]# Markdown + review_files/*.png[/dim]
  loganalyzer report runs/ -o report.html --force   [dim]# overwrite (through a symlink too)[/dim]

Exit status: 2 when an input could not be read (the report is still written for the others), when no training log was found, or when the output exists without --force; 1 when a finding reaches --fail-on; else 0."""

COMPARE_EPILOG = """[bold]Examples[/bold]

  loganalyzer compare runs/lr1e-3 runs/lr1e-4        [dim]# differences on the terminal[/dim]
  loganalyzer compare runs/lr* -o compare.html       [dim]# ... and the curves overlaid[/dim]

Every run is compared on the same loss (validation, else training) and index; a run that cannot be is left out, with the reason."""


def report(
    paths: list[Path] = typer.Argument(
        ..., metavar="PATH", help="Log files or directories (searched recursively)."
    ),
    output: Path = typer.Option(
        ...,
        "--output",
        "-o",
        metavar="FILE",
        help="Report file to write: report.html or report.md.",
    ),
    format: ReportFormat | None = typer.Option(
        None, "--format", "-f", help="html or markdown (default: from the output's suffix)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing report."),
    title: str | None = typer.Option(None, metavar="TEXT", help="Heading of the report."),
    fail_on: FailOn = typer.Option(
        FailOn.never,
        "--fail-on",
        help="Exit 1 when a finding has at least this severity (default never: writing the "
        "report is the job; unreadable inputs still exit 2).",
    ),
    train_loss: str | None = train_loss_option(),
    val_loss: str | None = val_loss_option(),
    jobs: str = jobs_option(),
    framework: Framework | None = framework_option(),
) -> None:
    """Write an HTML or Markdown report with annotated plots, findings and advice."""
    n_jobs = _jobs(jobs)
    fmt = resolve_format(output, format)
    check_writable(output, fmt, force)
    with _progress("rendering") as (start, advance):
        result = _analyse(paths, train_loss, val_loss, jobs=n_jobs, framework=framework)
        start(len(result.runs))
        try:
            _emit(result, fmt, output, force, title=title, advance=advance, jobs=n_jobs)
        except FileExistsError:
            raise _fail(f"{output} already exists; pass --force to overwrite it") from None
        except OSError as exc:
            raise _fail(f"cannot write {output}: {exc.strerror or exc}") from None
    _report_errors(result)
    n = len(result.runs)
    typer.echo(f"wrote {output} ({n} run{'s' if n != 1 else ''})", err=True)
    raise typer.Exit(result.exit_code(fail_on.value))


def _print_comparison(comparison: Any) -> None:
    """The differences table on stdout, and the runs left out with the reason."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from loganalyzer.renderers._escape import shorten, term_text
    from loganalyzer.renderers.view import fmt_num

    console = Console(soft_wrap=False, highlight=False)
    best = comparison.best
    series = sorted({term_text(r.monitor) for r in comparison.rows})
    table = Table(
        title=f"{comparison.what} compared ({' / '.join(series)}; ★ lowest best value)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("", width=1, no_wrap=True)
    table.add_column("Run", no_wrap=True)
    for head in ("Best", "At", "Δ best", "Final", "Final gap"):
        table.add_column(head, justify="right", no_wrap=True)
    table.add_column("Findings", overflow="fold")
    # Names are cut from the front (their end tells sweep runs apart), never mid-word
    # wrapped; what is left of the width goes to the findings.
    name_room = max(20, console.width - 70)
    for r in comparison.rows:
        star = "★" if best is not None and r is best else ""
        values = (r.best_value, r.best_index, r.delta_best, r.final_value, r.final_gap)
        table.add_row(  # Text(), never markup: names come from untrusted files
            star,
            Text(shorten(term_text(r.name), name_room)),
            *(Text(fmt_num(v)) for v in values),
            Text(term_text(", ".join(r.findings) or "none")),
        )
    console.print(table)
    for left in comparison.left_out:
        console.print(
            Text(f"left out: {term_text(left.name)}: {term_text(left.reason)}", style="dim"),
            soft_wrap=True,
        )


def compare(
    paths: list[Path] = typer.Argument(
        ..., metavar="PATH", help="Runs to compare: log files or directories."
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        metavar="FILE",
        help="Also write a report (report.html or report.md).",
    ),
    format: ReportFormat | None = typer.Option(
        None, "--format", "-f", help="Report format (default: from the output's suffix)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing report."),
    fail_on: FailOn = typer.Option(
        FailOn.never, "--fail-on", help="Exit 1 when a finding has at least this severity."
    ),
    train_loss: str | None = train_loss_option(),
    val_loss: str | None = val_loss_option(),
    jobs: str = jobs_option(),
) -> None:
    """Overlay the runs' losses (like with like) and tabulate how they differ."""
    from loganalyzer.comparison import compare as make_comparison

    n_jobs = _jobs(jobs)
    fmt = None
    if output is not None:
        fmt = resolve_format(output, format)
        check_writable(output, fmt, force)
    with _progress("rendering") as (start, advance):
        result = _analyse(paths, train_loss, val_loss, jobs=n_jobs)
        comparison = make_comparison(result)
        if len(comparison.rows) < 2:
            _report_errors(result)
            why = "".join(f"; {x.name}: {x.reason}" for x in comparison.left_out)
            raise _fail(
                "compare needs at least two runs with the same loss on the same index; "
                f"found {len(comparison.rows)} of {len(result.runs)}{why}"
            )
        if output is not None:
            start(len(result.runs))
            try:
                _emit(
                    result,
                    fmt,
                    output,
                    force,
                    compare=comparison,
                    advance=advance,
                    jobs=n_jobs,
                )
            except FileExistsError:
                raise _fail(f"{output} already exists; pass --force to overwrite it") from None
            except OSError as exc:
                raise _fail(f"cannot write {output}: {exc.strerror or exc}") from None
    _print_comparison(comparison)
    _report_errors(result)
    if output is not None:
        typer.echo(f"wrote {output} ({len(result.runs)} runs)", err=True)
    raise typer.Exit(result.exit_code(fail_on.value))


def register(app: typer.Typer) -> None:
    """Add ``report`` and ``compare`` to the ``loganalyzer`` command line."""
    app.command("report", epilog=REPORT_EPILOG)(report)
    app.command("compare", epilog=COMPARE_EPILOG)(compare)

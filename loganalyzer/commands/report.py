"""``loganalyzer report`` and ``loganalyzer compare``: reports for team review.

``report PATH... -o report.html`` (or ``.md``) writes a self-contained HTML page or a
GitHub/GitLab Markdown file with its plots in ``<stem>_files/``. ``compare RUN...``
prints a table of how the runs differ and, with ``-o``, writes the same kind of report
with their validation curves overlaid.

Exit codes follow ``analyze``: 2 when an input could not be read (the report is still
written for the others), when the output exists and ``--force`` was not given, or on
bad usage; 1 when a finding reaches ``--fail-on``; else 0. ``--fail-on`` defaults to
``never`` here: a report is usually wanted precisely for a failed run, and writing it
is a success (use ``--fail-on error`` to gate CI on the report step as ``analyze`` does).

Matplotlib is imported only when a report is actually rendered.
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from loganalyzer.cli import Framework


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
    typer.echo(f"error: {message}", err=True)
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
    """Write atomically: a temporary file in the same folder, then a rename (``--force``)
    or an exclusive create (never clobbers a file that appeared meanwhile)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not force:
        with open(path, "xb") as fh:
            fh.write(data)
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def _progress(total_label: str):
    """A rich progress bar on stderr, shown only when stderr is a terminal.

    Yields ``(start, advance)``: ``start(total)`` switches from the reading spinner to
    a bar over ``total`` runs; ``advance(name)`` ticks it.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    console = Console(stderr=True)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
        disable=not sys.stderr.isatty(),
    )
    with progress:
        task = progress.add_task("reading logs", total=None)

        def start(total: int) -> None:
            progress.update(task, description=total_label, total=total, completed=0)

        def advance(name: str) -> None:
            progress.update(task, advance=1, description=f"{total_label}: {name[-40:]}")

        yield start, advance


def _analyse(
    paths: list[Path], train_loss: str | None, val_loss: str | None, framework: Any = None
) -> Any:
    from loganalyzer.analysis import analyze

    fw = framework.value if framework is not None else None
    return analyze([str(p) for p in paths], train_loss=train_loss, val_loss=val_loss, framework=fw)


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
    for err in result.errors:
        typer.echo(f"error: {err.line()}", err=True)


def report(
    paths: list[Path] = typer.Argument(
        ..., help="Log files or directories (searched recursively)."
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Report file to write: report.html or report.md."
    ),
    format: ReportFormat | None = typer.Option(
        None, "--format", "-f", help="html or markdown (default: from the output's suffix)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing report."),
    title: str | None = typer.Option(None, help="Heading of the report."),
    fail_on: FailOn = typer.Option(
        FailOn.never,
        "--fail-on",
        help="Exit 1 when a finding has at least this severity (default never: writing the "
        "report is the job; unreadable inputs still exit 2).",
    ),
    train_loss: str | None = typer.Option(None, help="Metric to use as the training loss."),
    val_loss: str | None = typer.Option(None, help="Metric to use as the validation loss."),
    jobs: int = typer.Option(
        0, "--jobs", "-j", help="Processes drawing plots for big sweeps (0: every core)."
    ),
    framework: Framework | None = typer.Option(
        None, "--framework", help="API of the advice's code (default: guessed from each log)."
    ),
) -> None:
    """Write an HTML or Markdown report with annotated plots, findings and advice."""
    fmt = resolve_format(output, format)
    check_writable(output, fmt, force)
    with _progress("rendering") as (start, advance):
        result = _analyse(paths, train_loss, val_loss, framework)
        start(len(result.runs))
        try:
            _emit(result, fmt, output, force, title=title, advance=advance, jobs=jobs or None)
        except FileExistsError:
            raise _fail(f"{output} already exists; pass --force to overwrite it") from None
        except OSError as exc:
            raise _fail(f"cannot write {output}: {exc.strerror or exc}") from None
    _report_errors(result)
    n = len(result.runs)
    typer.echo(f"wrote {output} ({n} run{'s' if n != 1 else ''})", err=True)
    raise typer.Exit(result.exit_code(fail_on.value))


def _print_comparison(comparison: Any) -> None:
    """The differences table on stdout (format and monitor are in the written report)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from loganalyzer.renderers.view import fmt_num

    best = comparison.best
    monitors = sorted({str(r.monitor) for r in comparison.rows})
    table = Table(
        title=f"Runs compared on {' / '.join(monitors)} (★ lowest best value)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("", width=1, no_wrap=True)
    table.add_column("Run", overflow="fold")
    for head in ("Best", "At", "Δ best", "Final", "Final gap"):
        table.add_column(head, justify="right", no_wrap=True)
    table.add_column("Findings", overflow="fold")
    for r in comparison.rows:
        star = "★" if best is not None and r is best else ""
        # Text(), never markup: names come from untrusted files.
        values = (r.best_value, r.best_index, r.delta_best, r.final_value, r.final_gap)
        table.add_row(
            star,
            Text(r.name),
            *(Text(fmt_num(v)) for v in values),
            Text(", ".join(r.findings) or "none"),
        )
    Console(soft_wrap=False).print(table)


def compare(
    paths: list[Path] = typer.Argument(..., help="Runs to compare: log files or directories."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Also write a report (report.html or report.md)."
    ),
    format: ReportFormat | None = typer.Option(
        None, "--format", "-f", help="Report format (default: from the output's suffix)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing report."),
    fail_on: FailOn = typer.Option(
        FailOn.never, "--fail-on", help="Exit 1 when a finding has at least this severity."
    ),
    train_loss: str | None = typer.Option(None, help="Metric to use as the training loss."),
    val_loss: str | None = typer.Option(None, help="Metric to use as the validation loss."),
    jobs: int = typer.Option(
        0, "--jobs", "-j", help="Processes drawing plots for big sweeps (0: every core)."
    ),
) -> None:
    """Overlay the runs' validation curves and tabulate how they differ."""
    from loganalyzer.comparison import compare as make_comparison

    fmt = None
    if output is not None:
        fmt = resolve_format(output, format)
        check_writable(output, fmt, force)
    with _progress("rendering") as (start, advance):
        result = _analyse(paths, train_loss, val_loss)
        if len(result.runs) < 2:
            _report_errors(result)
            raise _fail(f"compare needs at least two runs; found {len(result.runs)}")
        comparison = make_comparison(result)
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
                    jobs=jobs or None,
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
    app.command("report")(report)
    app.command("compare")(compare)

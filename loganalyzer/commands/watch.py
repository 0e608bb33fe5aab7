"""``loganalyzer watch PATH``: follow a log while the run is still writing it.

Usage::

    loganalyzer watch logs/training.csv                     # print findings as they appear
    loganalyzer watch runs/ --fail-on error --interval 30   # stop a job script on an error
    loganalyzer watch s3://bucket/run7/ --interval 60       # a run that syncs to a bucket

A job script that starts ``watch --fail-on error`` beside the training (and kills the
training when ``watch`` exits 1) stops a run that diverged an hour ago instead of
burning the rest of its budget.

How it follows a run: it is a loop over the same discovery, readers and analysis as
``analyze`` with an offset per file (:class:`Follower`):

- a single-file log (CSV, JSON Lines, console output, an event file) is read only
  from where the last poll stopped; the bytes before stay in memory. A file that
  shrank, or whose first bytes changed (a History JSON rewritten by ``json.dump``),
  is read again from the start;
- a text log is cut at its last line end: a row still being written is waited for,
  never read half (a ``0.5`` that will become ``0.5123`` is not a value). An event
  file's half-written last record is left out by the reader in the same way;
- run folders (TensorBoard, MLflow, W&B) are followed the same way, file by file, and
  parsed again when one of their files grew;
- a directory (or bucket prefix) is listed again at every poll: new runs join;
- a named file that is not a log yet (only its CSV header, a console log before its
  first epoch ends) is waited for: one ``waiting:`` line, not an error;
- every finding is printed once, the first time it is reported (again only if its
  severity rises); ``--fail-on`` exits 1 at the first one that reaches the level.

Exit codes: 0 when stopped (Ctrl-C, ``--timeout``), 1 when a finding reached
``--fail-on``, 2 for unreadable input or bad usage.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import typer

# What decides that a file was rewritten rather than appended to.
_PROBE = 256


@dataclass
class _Tail:
    """What has been read of one single-file log."""

    data: bytearray = field(default_factory=bytearray)
    probe: bytes = b""
    stamp: tuple = ()
    complete: int = 0  # bytes up to the last line end, for text


@dataclass
class Follower:
    """Poll ``paths`` and hand back the runs whose logs changed since the last poll.

    Args:
        paths: Files, directories, URLs (as for ``analyze``).
    """

    paths: list[str]
    tails: dict[str, _Tail] = field(default_factory=dict)
    #: Named inputs that are not (yet) a readable log, and why: a CSV with only its
    #: header, a console log before its first epoch ends. Not errors while they grow.
    waiting: dict[str, Any] = field(default_factory=dict)

    def poll(self) -> tuple[list[Any], list[Any]]:
        """``(runs that changed, read errors)``."""
        from importlib import import_module

        from loganalyzer import readers
        from loganalyzer.errors import ReadError

        disc = readers.discover(self.paths, prefetch=False)  # only appended bytes are read
        errors = list(disc.missing)
        runs = []
        for unit in readers.units(disc):
            key = str(unit.source)
            try:
                if unit.reader:
                    # Event files and W&B records are binary: their readers leave a
                    # half-written last record out. MLflow metric files are text.
                    text = unit.reader == "mlflow"
                    views = [self._grow(f, text=text) for f in unit.files]
                    if not any(changed for _, changed in views):
                        continue
                    module = import_module(f"loganalyzer.readers.{unit.reader}")
                    got = module.read_group(unit.source, [v for v, _ in views if v is not None])
                else:
                    text = not readers.is_event_file(unit.source)
                    view, changed = self._grow(unit.source, text=text)
                    if not changed or view is None:
                        continue
                    got = readers.read_file(view)
            except OSError as exc:  # missing, unreadable: an error now
                errors.append(ReadError.from_exception(key, exc))
                continue
            except Exception as exc:  # noqa: BLE001 - not (yet) a log: waited for
                if unit.reader or unit.source in disc.explicit:
                    self.waiting[key] = ReadError.from_exception(key, exc)
                continue
            self.waiting.pop(key, None)
            for run in got:
                run.name = readers.display_name(unit.source, run.name, disc, bool(unit.reader))
            runs.extend(got)
        return runs, errors

    def _grow(self, source, *, text: bool) -> tuple[Any, bool]:
        """Read what was appended to ``source`` since the last poll.

        Returns ``(view, changed)``: an in-memory source of everything read so far (for a
        text file, up to its last line end; ``None`` before the first one), and whether
        anything new arrived.
        """
        from loganalyzer.sources import Source, open_binary

        key = str(source)
        tail = self.tails.setdefault(key, _Tail())
        stamp = _stamp(source)
        changed = stamp != tail.stamp
        if changed:
            fh, size = open_binary(source)
            with fh:
                if size < len(tail.data) or (
                    tail.probe and _read_at(fh, 0, len(tail.probe)) != tail.probe
                ):
                    tail.data.clear()  # truncated or rewritten: start again
                if size > len(tail.data):
                    tail.data += _read_at(fh, len(tail.data), size - len(tail.data))
            tail.probe = bytes(tail.data[:_PROBE])
            tail.stamp = stamp
        data = bytes(tail.data)
        if text and not data.startswith(b"SQLite format"):
            end = data.rfind(b"\n")
            if end < 0:
                return None, changed  # not one complete line yet
            if data[end + 1 :] and changed and tail.complete == end + 1:
                changed = False  # only the half-written line grew
            tail.complete = end + 1
            data = data[: end + 1]
        return Source("", key, size=len(data), data=data), changed


def _stamp(f) -> tuple:
    """What tells that a file may have changed: its size (and mtime, when local)."""
    from loganalyzer.sources import Source

    if isinstance(f, Source):
        return (f.size,)
    st = os.stat(f)
    return (st.st_size, st.st_mtime_ns)


def _read_at(fh, offset: int, n: int) -> bytes:
    fh.seek(offset)
    return fh.read(n)


def _line(run_name: str, finding) -> str:
    where = ""
    if finding.start is not None:
        where = f" at {finding.start}" + (
            f"-{finding.end}" if finding.end not in (None, finding.start) else ""
        )
    text = f"{run_name}: {finding.severity} {finding.rule} {finding.kind}{where}: {finding.message}"
    return " ".join(text.split())


def watch(
    paths: list[str] = typer.Argument(..., help="Log files, directories or URLs to follow."),
    interval: float = typer.Option(5.0, "--interval", "-n", help="Seconds between polls."),
    fail_on: str = typer.Option(
        "never",
        "--fail-on",
        help="Exit 1 at the first finding of this severity or worse (info, warning, error).",
    ),
    timeout: float | None = typer.Option(
        None, "--timeout", help="Stop after this many seconds (exit 0 unless --fail-on hit)."
    ),
    config_file: str | None = typer.Option(
        None, "--config", help="A pyproject.toml or loganalyzer.toml to read settings from."
    ),
) -> None:
    """Follow logs that are still being written and print each new finding once."""
    from loganalyzer.analysis import analyze_run
    from loganalyzer.config import load_config
    from loganalyzer.findings import SEVERITIES, severity_rank

    if fail_on not in SEVERITIES + ("never",):
        typer.echo(
            f"error: --fail-on: expected info, warning, error or never, not {fail_on!r}", err=True
        )
        raise typer.Exit(2)
    if interval <= 0:
        typer.echo("error: --interval: expected a positive number of seconds", err=True)
        raise typer.Exit(2)
    try:
        config = load_config(config_file)
    except Exception as exc:  # noqa: BLE001 - one line, no traceback
        typer.echo(f"error: configuration: {exc}", err=True)
        raise typer.Exit(2) from None
    follower = Follower(list(paths))
    shown: dict[tuple, int] = {}
    reported_errors: set[str] = set()
    waited: set[str] = set()
    started = time.monotonic()
    threshold = severity_rank(fail_on) if fail_on != "never" else None
    try:
        while True:
            runs, errors = follower.poll()
            for err in errors:
                if err.line() not in reported_errors:
                    reported_errors.add(err.line())
                    typer.echo(f"error: {' '.join(err.line().split())}", err=True)
            for err in follower.waiting.values():
                if err.line() not in waited:
                    waited.add(err.line())
                    typer.echo(f"waiting: {' '.join(err.line().split())}", err=True)
            for run in runs:
                rr = analyze_run(run, config)
                for err in rr.failures:  # a bug in one rule: said once, the watch goes on
                    if err.line() not in reported_errors:
                        reported_errors.add(err.line())
                        typer.echo(f"error: {' '.join(err.line().split())}", err=True)
                for f in rr.findings:
                    key = (run.name, f.rule, f.kind)
                    rank = severity_rank(f.severity)
                    if key in shown and shown[key] >= rank:
                        continue
                    shown[key] = rank
                    typer.echo(_line(run.name, f))
                    sys.stdout.flush()
                    if threshold is not None and rank >= threshold:
                        raise typer.Exit(1)
            if timeout is not None and time.monotonic() - started + interval > timeout:
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    raise typer.Exit(2 if reported_errors else 0)


def register(app: typer.Typer) -> None:
    """Add ``watch`` to the ``loganalyzer`` command line."""
    app.command("watch")(watch)

"""Readers: files -> canonical :class:`~loganalyzer.run.Run` objects.

One module per format. Each module defines:

- ``FORMAT``: the format name printed in the output (see :data:`loganalyzer.run.FORMATS`);
- ``sniff(path, head) -> bool``: does this file's *content* (``head`` is its first
  64 KiB) look like this format? Formats are detected from content, never from the
  file name alone;
- ``read(path) -> list[Run]``: read it, raising :class:`~loganalyzer.errors.LogReadError`
  for input that cannot be read. Messy-but-readable input gives a run with warnings.

TensorBoard is different in that one run is a *folder* (the Keras ``train/`` +
``validation/`` layout, or several event files after restarts), so its module also
offers ``group(files) -> list[(run_dir, [files])]`` and ``read_group(run_dir, files)``.

Readers know nothing of rules, findings or rendering.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from loganalyzer.errors import LogReadError, ReadError
from loganalyzer.run import Run

HEAD_BYTES = 65536
MAX_HEAD_BYTES = 16 * 1024 * 1024

# Files below a directory with these suffixes are expected to be logs: when no reader
# recognises one, the user is told (as a skipped file), instead of it vanishing.
_LOGLIKE_SUFFIXES = {".csv", ".tsv", ".json", ".log", ".txt", ".jsonl"}


def _text_readers():
    """Content-sniffed single-file readers, most specific first."""
    from loganalyzer.readers import hf_trainer, keras_csv, keras_json, lightning_csv

    return [hf_trainer, keras_json, lightning_csv, keras_csv]


def is_event_file(path: Path) -> bool:
    """TensorBoard event files are recognised by the name every writer gives them
    (``events.out.tfevents.*``) *and* checked by content when read."""
    return "tfevents" in path.name


@dataclass
class Discovery:
    """What a set of command-line paths resolves to."""

    files: list[Path] = field(default_factory=list)  # single-file logs to sniff and read
    tb_files: list[Path] = field(default_factory=list)  # event files, grouped into runs later
    explicit: set[Path] = field(default_factory=set)  # files the user named (errors, not skips)
    roots: dict[Path, Path] = field(
        default_factory=dict
    )  # file -> directory argument it was found in
    missing: list[ReadError] = field(default_factory=list)


def discover(paths: Iterable[str | os.PathLike]) -> Discovery:
    """Expand files and directories into candidate log files (sorted, deduplicated)."""
    found = Discovery()
    seen: set[Path] = set()

    def add(p: Path, explicit: bool, root: Path | None = None) -> None:
        rp = p.resolve()
        if rp in seen:
            return
        seen.add(rp)
        if explicit:
            found.explicit.add(p)
        if root is not None:
            found.roots[p] = root
        (found.tb_files if is_event_file(p) else found.files).append(p)

    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.startswith("."):
                        continue
                    add(Path(root) / name, explicit=False, root=p)
        elif p.is_file():
            add(p, explicit=True)
        else:
            found.missing.append(ReadError(str(p), "no such file or directory"))
    return found


@dataclass
class ReadResult:
    """Runs read, inputs that could not be read, and files passed over (with why)."""

    runs: list[Run] = field(default_factory=list)
    errors: list[ReadError] = field(default_factory=list)
    skipped: list[ReadError] = field(default_factory=list)


def read_file(path: Path) -> list[Run]:
    """Read one single-file log, detecting its format from its content.

    Raises:
        LogReadError: when no reader recognises the content or the reader fails.
    """
    with open(path, "rb") as fh:
        head = _read_head(fh)
    if not head.strip():
        raise LogReadError(str(path), "empty file")
    if is_event_file(path):
        from loganalyzer.readers import tensorboard

        return tensorboard.read_group(path.parent, [path])
    for reader in _text_readers():
        if reader.sniff(path, head):
            return reader.read(path)
    raise LogReadError(str(path), _why_not_a_log(head))


def _read_head(fh) -> bytes:
    """The first ``HEAD_BYTES`` of a file, extended (up to ``MAX_HEAD_BYTES``) until it
    holds two whole lines: a CSV header over 64 KiB (thousands of metric columns) must
    still be sniffed with its first data row. JSON needs no lines and is not extended."""
    head = bytearray(fh.read(HEAD_BYTES))
    if head.lstrip()[:1] in (b"{", b"["):
        return bytes(head)
    lines = head.count(b"\n")
    while lines < 2 and len(head) < MAX_HEAD_BYTES:
        more = fh.read(HEAD_BYTES)
        if not more:
            break
        head += more
        lines += more.count(b"\n")
    return bytes(head)


def _why_not_a_log(head: bytes) -> str:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:
            pass  # a multi-byte character cut by the 64 KiB window
        else:
            return f"not a training log: not UTF-8 text (undecodable byte at offset {exc.start})"
    text = head.decode("utf-8", errors="replace").lstrip()
    if text[:1] in "{[":
        return "not a training log: JSON without per-epoch metric lists or log records"
    return (
        "not a training log: no recognised format (Keras History JSON, CSVLogger, "
        "Lightning metrics.csv, trainer_state.json, TensorBoard events)"
    )


def iter_read(
    discovery: Discovery,
) -> Iterator[tuple[str, list[Run] | None, ReadError | None, bool]]:
    """Yield ``(source, runs, error, explicit)`` for every input, one at a time.

    Exceptions from readers are turned into :class:`ReadError` here: one bad file
    never stops the others.
    """
    for f in discovery.files:
        try:
            yield str(f), read_file(f), None, f in discovery.explicit
        except Exception as exc:  # noqa: BLE001 - last-resort guard, reported as one line
            yield str(f), None, ReadError.from_exception(str(f), exc), f in discovery.explicit
    if discovery.tb_files:
        from loganalyzer.readers import tensorboard

        for run_dir, files in tensorboard.group(discovery.tb_files):
            try:
                yield str(run_dir), tensorboard.read_group(run_dir, files), None, True
            except Exception as exc:  # noqa: BLE001
                yield str(run_dir), None, ReadError.from_exception(str(run_dir), exc), True


def read_paths(paths: Iterable[str | os.PathLike]) -> ReadResult:
    """Discover and read everything below ``paths``.

    Files the user named explicitly that cannot be read are *errors*; files found
    below a directory that are not training logs are *skipped* (reported, but they
    do not fail the command) when their suffix suggests a log, and silently ignored
    otherwise (images, YAML, Python files).
    """
    disc = discover(paths)
    result = ReadResult(errors=list(disc.missing))
    for source, runs, error, explicit in iter_read(disc):
        if error is None:
            for run in runs or []:
                run.name = display_name(Path(source), run.name, disc)
            result.runs.extend(runs or [])
        elif explicit or error.broken:  # a damaged log is an error wherever it is
            result.errors.append(error)
        elif Path(source).suffix.lower() in _LOGLIKE_SUFFIXES or "not UTF-8" in error.error:
            result.skipped.append(error)
    return result


def display_name(source: Path, reader_name: str, disc: Discovery) -> str:
    """The name a run is shown under: its path relative to the directory argument it
    was found in (``overfit/history.json``, ``overfit/tensorboard``), or the path as
    given for a file named on the command line. A reader's ``#k`` suffix (several runs
    in one file) is kept."""
    suffix = reader_name[reader_name.index("#") :] if "#" in reader_name else ""
    root = disc.roots.get(source)
    if root is None:
        # TensorBoard groups are keyed by run folder; find the argument that holds it.
        for f, r in disc.roots.items():
            if source == f.parent or source in f.parents:
                root = r
                break
    if root is not None:
        try:
            rel = source.resolve().relative_to(root.resolve())
        except ValueError:
            rel = source
        name = rel.as_posix()
        if name in ("", "."):
            name = root.resolve().name
    else:
        name = source.as_posix()
    return name + suffix

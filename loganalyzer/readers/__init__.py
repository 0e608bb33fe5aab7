"""Readers: sources -> canonical :class:`~loganalyzer.run.Run` objects.

One module per format. Each module defines:

- ``FORMAT``: the format name printed in the output;
- ``sniff(path, head) -> bool``: does this file's *content* (``head`` is its first
  64 KiB) look like this format? Formats are detected from content, never from the
  file name alone;
- ``read(path) -> list[Run]``: read it, raising :class:`~loganalyzer.errors.LogReadError`
  for input that cannot be read. Messy-but-readable input gives a run with warnings.

``path`` is a :class:`pathlib.Path` for a local file and a
:class:`loganalyzer.sources.Source` (a remote object, standard input) otherwise; both
offer ``name``, ``parent``, ``str()``, ``read_bytes()`` and ``open("rb")``.

Formats whose run is a *folder* of files offer ``group(files) -> [(run_dir, [files])]``
and ``read_group(run_dir, files)`` instead: TensorBoard (the Keras ``train/`` +
``validation/`` layout, or several event files after restarts), the MLflow file store
(``mlruns/<experiment>/<run>/``) and W&B run folders (``wandb/run-*/``).
Their ``claims(files)`` picks the files that belong to such folders out of everything
discovered, so no metric file of a store is sniffed on its own.

This package also does *discovery*: expanding command-line arguments (files,
directories, URLs, ``-`` for standard input) into sources, listing each remote
directory once, never following a symlink loop, never opening a FIFO, device or socket
found below a directory, and naming every path it could not read.

Readers know nothing of rules, findings or rendering.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from loganalyzer.errors import LogReadError, ReadError
from loganalyzer.run import Run
from loganalyzer.sources import MissingExtra, Source, filesystem, is_url, os_error
from loganalyzer.sources import prefetch as fetch_all

HEAD_BYTES = 65536
MAX_HEAD_BYTES = 16 * 1024 * 1024

# Files below a directory with these suffixes are expected to be logs: when no reader
# recognises one, the user is told (as a skipped file), instead of it vanishing.
_LOGLIKE_SUFFIXES = {".csv", ".tsv", ".json", ".log", ".txt", ".jsonl", ".out", ".err"}

#: What stands for standard input on the command line.
STDIN = "-"


@functools.cache
def _text_readers() -> tuple:
    """Content-sniffed single-file readers, most specific first."""
    from loganalyzer.readers import (
        console,
        hf_trainer,
        keras_csv,
        keras_json,
        lightning_csv,
        mlflow,
        wandb_csv,
    )

    return (mlflow, hf_trainer, console, wandb_csv, keras_json, lightning_csv, keras_csv)


def _group_readers():
    """Formats whose run is a folder of files (besides TensorBoard), in claim order."""
    from loganalyzer.readers import mlflow, wandb

    return [wandb, mlflow]


def is_event_file(path: PurePath | Source) -> bool:
    """TensorBoard event files are recognised by the name every writer gives them
    (``events.out.tfevents.*``) *and* checked by content when read."""
    return "tfevents" in path.name


@dataclass
class Discovery:
    """What a set of command-line arguments resolves to."""

    files: list = field(default_factory=list)  # single-file logs to sniff and read
    tb_files: list = field(default_factory=list)  # event files, grouped into runs later
    groups: list = field(default_factory=list)  # (module name, run_dir, [files]) of stores
    explicit: set = field(default_factory=set)  # files the user named (errors, not skips)
    # folder -> the directory argument its files were found in (by folder, not by file:
    # a sweep of 100,000 files kept 100,000 entries; see :func:`root_of`)
    roots: dict = field(default_factory=dict)
    below: dict | None = None  # folder -> the root of the first folder in or below it
    missing: list[ReadError] = field(default_factory=list)  # could not be read: errors
    passed: list[ReadError] = field(default_factory=list)  # FIFOs, devices: not opened


def _restore_url(raw: str | os.PathLike) -> str | None:
    """The URL in ``raw``, also after ``pathlib.Path`` collapsed its ``//``
    (``Path("s3://b/k")`` is ``s3:/b/k``; callers such as the CLI pass Paths)."""
    text = os.fspath(raw) if not isinstance(raw, str) else raw
    if is_url(text):
        return text
    m = re.match(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):/(?!/)", text)
    if not m or len(m.group(1)) < 2 or os.path.exists(text):
        return None
    try:
        from fsspec.registry import known_implementations
    except ImportError:
        known = {"s3", "gs", "gcs", "az", "abfs", "http", "https", "file"}
    else:
        known = set(known_implementations)
    if m.group(1).lower() not in known:
        return None
    rest = text[m.end() - 1 :]
    return f"{m.group(1)}://{rest[1:]}" if m.group(1).lower() != "file" else f"file://{rest}"


def discover(paths: Iterable[str | os.PathLike | Source], *, prefetch: bool = True) -> Discovery:
    """Expand files, directories, URLs and ``-`` into candidate logs (sorted, deduplicated).

    With ``prefetch``, small remote files are fetched here in one concurrent batch.
    """
    found = Discovery()
    # the names seen in each real folder: a sweep's file names are kept once (interned:
    # the paths hold the same strings), not as 100,000 joined paths
    seen: dict[str, set[str]] = {}

    def add(p, explicit: bool, root=None, key: str | None = None) -> None:
        if key is None:
            key = os.path.realpath(p) if isinstance(p, Path) else str(p)
        folder, name = os.path.split(key)
        names = seen.setdefault(folder, set())
        if name in names:
            return
        names.add(sys.intern(name))
        if explicit:
            found.explicit.add(p)
        if root is not None:
            found.roots.setdefault(p.parent, root)
        (found.tb_files if is_event_file(p) else found.files).append(p)

    for raw in paths:
        if isinstance(raw, Source):
            add(raw, explicit=True)
            continue
        if os.fspath(raw) == STDIN:
            from loganalyzer.sources import stdin_source

            add(stdin_source(), explicit=True)
            continue
        url = _restore_url(raw)
        if url is not None:
            _discover_remote(url, found, add)
            continue
        _discover_local(Path(raw), found, add)
    _claim_groups(found)
    if prefetch:
        # Text logs and store files are small: fetched together; event files are streamed.
        grouped = [f for _, _, files in found.groups for f in files]
        fetch_all([s for s in found.files + grouped if isinstance(s, Source) and s.prefix])
    return found


def _discover_local(p: Path, found: Discovery, add) -> None:
    try:
        st = os.stat(p)
    except OSError as exc:
        found.missing.append(ReadError(str(p), _stat_error(p, exc)))
        return
    if stat.S_ISDIR(st.st_mode):
        _walk(p, found, add)
    elif stat.S_ISREG(st.st_mode):
        add(p, explicit=True)
    elif stat.S_ISFIFO(st.st_mode):
        # A pipe the user named (``<(ssh host cat train.log)``): read it once, whole,
        # since a pipe cannot be sniffed and then opened again.
        try:
            add(Source.from_bytes(str(p), p.read_bytes()), explicit=True)
        except OSError as exc:
            found.missing.append(ReadError(str(p), exc.strerror or str(exc)))
    else:
        found.missing.append(ReadError(str(p), f"{_kind(st.st_mode)}, not a file: not read"))


def _walk(top: Path, found: Discovery, add) -> None:
    """Depth-first, sorted, hidden entries left out. A symbolic link that points
    inside ``top`` (W&B's ``latest-run``, a ``best.csv`` shortcut) is not followed:
    its target is read under its own name. Links that lead out of ``top`` are
    followed once (a folder reached again, a loop, is not walked twice)."""
    walked: set[tuple[int, int]] = set()
    st = os.stat(top)
    walked.add((st.st_dev, st.st_ino))
    inside = os.path.realpath(top).rstrip(os.sep) + os.sep
    stack = [top]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            found.missing.append(ReadError(str(d), _os_why(exc, "folder")))
            continue
        real_d = os.path.realpath(d)
        subdirs = []
        for e in entries:
            if e.name.startswith("."):
                continue
            p = Path(d) / e.name
            if not e.is_symlink() and e.is_file(follow_symlinks=False):
                # A plain file (the folder listing says so: no stat call) in a folder
                # whose real path is known: a sweep of 10,000 logs was found in 0.4 s,
                # most of it resolving every file's path component by component.
                add(p, explicit=False, root=top, key=os.path.join(real_d, e.name))
                continue
            try:
                st = os.stat(p)  # follows a symlink (ELOOP for a loop)
            except OSError as exc:
                found.missing.append(ReadError(str(p), _stat_error(p, exc)))
                continue
            if e.is_symlink() and (os.path.realpath(p) + os.sep).startswith(inside):
                continue
            if stat.S_ISDIR(st.st_mode):
                if (st.st_dev, st.st_ino) not in walked:
                    walked.add((st.st_dev, st.st_ino))
                    subdirs.append(p)
            elif stat.S_ISREG(st.st_mode):
                add(p, explicit=False, root=top)
            else:
                found.passed.append(ReadError(str(p), f"{_kind(st.st_mode)}, not a file: not read"))
        stack.extend(reversed(subdirs))


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _os_why(exc: OSError, what: str) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied: this {what} could not be read"
    return exc.strerror or str(exc)


def _stat_error(p: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symbolic link loop: not followed"
    if exc.errno == errno.ENOENT and os.path.islink(p):
        return f"broken symbolic link (to {os.readlink(p)})"
    if exc.errno == errno.ENOENT:
        return "no such file or directory"
    return _os_why(exc, "path")


def _discover_remote(url: str, found: Discovery, add) -> None:
    """One listing of the whole tree below ``url`` (``find``: a flat paginated listing
    on object stores, one call per level on others), never one call per file."""
    try:
        fs, root = filesystem(url)
    except MissingExtra as exc:
        found.missing.append(ReadError(url, exc.why))
        return
    try:
        fs.invalidate_cache(root)  # a fresh listing (watch lists again at every poll)
        listing = fs.find(root, detail=True, withdirs=False)
        if not listing:
            info = fs.info(root)  # an empty folder, or a missing path (raises)
            if info.get("type") == "file":
                listing = {root: info}
    except Exception as exc:  # noqa: BLE001 - the store's error as one line
        err = os_error(exc)
        found.missing.append(ReadError(url, err.strerror or str(err)))
        return
    root = root.rstrip("/")
    if list(listing) == [root] and listing[root].get("type") == "file":
        add(Source.remote(fs, root, listing[root].get("size")), explicit=True)
        return
    top = Source.remote(fs, root)
    for key in sorted(listing):
        rel = key[len(root) + 1 :] if key.startswith(root + "/") else key
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        add(Source.remote(fs, key, listing[key].get("size")), explicit=False, root=top)


def _claim_groups(found: Discovery) -> None:
    """Hand the files of MLflow and W&B run folders to their store readers."""
    for module in _group_readers():
        groups, found.files = module.claims(found.files)
        found.groups += [(module.__name__.rsplit(".", 1)[1], d, fs) for d, fs in groups]


@dataclass
class ReadResult:
    """Runs read, inputs that could not be read, and files passed over (with why)."""

    runs: list[Run] = field(default_factory=list)
    errors: list[ReadError] = field(default_factory=list)
    skipped: list[ReadError] = field(default_factory=list)


def _open(path) -> object:
    return path.open("rb") if isinstance(path, Source) else open(path, "rb")


def read_file(path) -> list[Run]:
    """Read one single-file log, detecting its format from its content.

    Raises:
        LogReadError: when no reader recognises the content or the reader fails.
    """
    with _open(path) as fh:
        head = _read_head(fh)
    if not head.strip():
        raise LogReadError(str(path), "empty file")
    from loganalyzer.readers import tensorboard

    if is_event_file(path) or tensorboard.sniff(path, head):
        return tensorboard.read_group(path.parent, [path])
    for reader in _text_readers():
        if reader.sniff(path, head):
            if len(head) < HEAD_BYTES and isinstance(path, PurePath):
                # A short read of a local file ends it: the head is the whole file,
                # and the reader is handed it instead of reading the file again.
                from loganalyzer.readers._text import holding

                with holding(path, head):
                    return reader.read(path)
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
        "Lightning metrics.csv, trainer_state.json, TensorBoard events, console output "
        "of Keras/HF Trainer/Lightning, MLflow, W&B)"
    )


@dataclass(frozen=True)
class Unit:
    """One thing to read: a single-file log, or the run folder of a multi-file format.

    Args:
        source: The file, or the run folder.
        files: The folder's files (empty for a single file).
        reader: ``""`` for a single file; ``"tensorboard"``, ``"mlflow"``, ``"wandb"``.
    """

    source: object
    files: tuple = ()
    reader: str = ""


def units(discovery: Discovery) -> list[Unit]:
    """Everything to read, in output order: single files, then run folders."""
    out = [Unit(f) for f in discovery.files]
    if discovery.tb_files:
        from loganalyzer.readers import tensorboard

        out += [
            Unit(d, tuple(fs), "tensorboard") for d, fs in tensorboard.group(discovery.tb_files)
        ]
    out += [Unit(d, tuple(fs), name) for name, d, fs in discovery.groups]
    return out


def read_unit(unit: Unit) -> list[Run]:
    """Read one unit (see :func:`units`)."""
    if not unit.reader:
        return read_file(unit.source)
    from importlib import import_module

    module = import_module(f"loganalyzer.readers.{unit.reader}")
    return module.read_group(unit.source, list(unit.files))


def iter_read(
    discovery: Discovery, only: Iterable[Unit] | None = None
) -> Iterator[tuple[object, list[Run] | None, ReadError | None, bool]]:
    """Yield ``(source, runs, error, is_error)`` for every unit, one at a time.

    ``is_error`` says whether a failure is an error (exit 2) rather than a skipped
    file: it is for files the user named, run folders, and any file that could not be
    *opened* (permission denied), wherever it was found.

    Exceptions from readers are turned into :class:`ReadError` here: one bad file
    never stops the others.
    """
    for unit in units(discovery) if only is None else only:
        src = unit.source
        named = bool(unit.reader) or src in discovery.explicit
        try:
            yield src, read_unit(unit), None, named
        except MissingExtra as exc:
            yield src, None, ReadError(str(src), exc.why), True
        except OSError as exc:
            yield src, None, ReadError.from_exception(str(src), exc), True
        except Exception as exc:  # noqa: BLE001 - last-resort guard, reported as one line
            err = ReadError.from_exception(str(src), exc)
            # a damaged log (ReadError.broken, where errors.py marks it) is an error too
            yield src, None, err, named or bool(getattr(err, "broken", False))


def is_skippable(source, error: ReadError) -> bool:
    """A file below a directory that failed as a non-log: listed as skipped when its
    suffix suggests a log (or it is not UTF-8), silently ignored otherwise."""
    return source.suffix.lower() in _LOGLIKE_SUFFIXES or "not UTF-8" in error.error


def read_paths(paths: Iterable[str | os.PathLike]) -> ReadResult:
    """Discover and read everything below ``paths``.

    Files the user named explicitly that cannot be read are *errors*; files found
    below a directory that are not training logs are *skipped* (reported, but they
    do not fail the command) when their suffix suggests a log, and silently ignored
    otherwise (images, YAML, Python files). A path that could not be opened at all
    (an unreadable file or folder, a symlink loop) is an error wherever it is.
    """
    disc = discover(paths)
    result = ReadResult(errors=list(disc.missing), skipped=list(disc.passed))
    for unit in units(disc):
        source, runs, error, is_error = next(iter_read(disc, [unit]))
        if error is None:
            for run in runs or []:
                run.name = display_name(source, run.name, disc, bool(unit.reader))
            result.runs.extend(runs or [])
        elif is_error:  # named, unreadable, or a damaged log: an error wherever it is
            result.errors.append(error)
        elif is_skippable(source, error):
            result.skipped.append(error)
    return result


def _below(source, root) -> str | None:
    """``source`` relative to ``root`` (as written, else with links resolved), or None."""
    if not isinstance(source, PurePath):
        return _relative(str(source), str(root))
    found = _relative(os.path.abspath(source), os.path.abspath(root))
    if found is None:  # links resolved only when needed: two realpath calls cost 0.1 ms
        found = _relative(os.path.realpath(source), os.path.realpath(root))
    return found


def _relative(src: str, top: str) -> str | None:
    top = top.rstrip("/") or "/"
    if src == top:
        return ""
    if src.startswith(top.rstrip("/") + "/"):
        return src[len(top.rstrip("/")) + 1 :]
    return None


def root_of(source, disc: Discovery, folder: bool = False):
    """The directory argument ``source`` was found in: ``None`` for a file named on the
    command line. A run ``folder``'s is that of the first file found in it or below it."""
    if not folder:
        return None if source in disc.explicit else disc.roots.get(source.parent)
    if disc.below is None:  # once: each folder and its ancestors -> the first root below
        disc.below = {}
        for d, root in disc.roots.items():
            for a in (d, *d.parents):
                disc.below.setdefault(a, root)
    return disc.below.get(source)


def display_name(source, reader_name: str, disc: Discovery, folder: bool = False) -> str:
    """The name a run is shown under: its path relative to the directory argument it
    was found in (``overfit/history.json``, ``overfit/tensorboard``), or the path as
    given for a file named on the command line. A reader's ``#k`` suffix (several runs
    in one file) is kept. ``folder``: ``source`` is a run folder, not a file."""
    if isinstance(source, str):
        source = Path(source)
    suffix = reader_name[reader_name.index("#") :] if "#" in reader_name else ""
    root = root_of(source, disc, folder)
    if root is not None:
        name = _below(source, root)
        if name is None:
            name = source.as_posix()
        elif name == "":
            top = os.path.realpath(root) if isinstance(root, PurePath) else str(root)
            name = os.path.basename(top.rstrip("/")) or str(root)
    else:
        name = source.as_posix()
    return name + suffix

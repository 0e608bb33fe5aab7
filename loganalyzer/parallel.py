"""Analyse many log files at once: read and diagnose each input in a worker process.

The result is the same :class:`~loganalyzer.analysis.Analysis` as
:func:`loganalyzer.analysis.analyze` gives for the same paths, in the same order,
whatever the number of workers: inputs are discovered once, in sorted order, one pool
of workers is started, and their results are collected in that order.
:func:`analyze_to_json` gives ``--format json`` the same way without holding the runs: the
parent keeps about 0.6 KB per run (mostly each discovered path; 98 MB at 100,000 runs in
``bench/bench_many_runs.py``), not the runs, their texts or their sweep summaries as objects.

Example:
    >>> from loganalyzer.parallel import analyze_paths
    >>> analyze_paths(["no/such/file.csv"], jobs=1).errors[0].error
    'no such file or directory'
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from loganalyzer.analysis import Analysis, RunResult, analyze_run, compare_siblings
from loganalyzer.errors import ReadError, exit_code_of
from loganalyzer.findings import severity_rank

# Worker state, set once per process by _init (the discovery and the options).
_STATE: dict[str, Any] = {}


def cpu_count() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _init(
    disc: Any,
    config: Any,
    train_loss: str | None,
    val_loss: str | None,
    framework: str | None = None,
    redo: dict | None = None,
) -> None:
    _STATE.update(
        disc=disc,
        config=config,
        train_loss=train_loss,
        val_loss=val_loss,
        framework=framework,
        redo=redo,
    )


def _task(unit: Any) -> tuple[list[RunResult], list[ReadError], list[ReadError], list]:
    """Read one input (a file, or a run folder) and analyse its runs.

    Returns ``(results, read_errors, skipped, override_errors)``, exactly what
    :func:`loganalyzer.analysis.analyze` would collect for this input.
    """
    from loganalyzer import readers

    disc = _STATE["disc"]
    results: list[RunResult] = []
    errors: list[ReadError] = []
    skipped: list[ReadError] = []
    late: list[ReadError] = []
    for source, runs, error, is_error in readers.iter_read(disc, [unit]):
        if error is None:
            for run in runs or []:
                run.name = readers.display_name(source, run.name, disc, bool(unit.reader))
                try:
                    run.override_losses(_STATE["train_loss"], _STATE["val_loss"])
                except KeyError as exc:
                    late.append(ReadError(", ".join(run.sources) or run.name, str(exc.args[0])))
                    continue
                results.append(analyze_run(run, _STATE["config"], _STATE.get("framework")))
                errors.extend(results[-1].failures)
        elif is_error:  # named, unreadable, or a damaged log: an error wherever it is
            errors.append(error)
        elif readers.is_skippable(source, error):
            skipped.append(error)
    return results, errors, skipped, late


def _start_method() -> str:
    """``fork`` (fast: workers inherit the imported modules) when this process has no
    other thread; otherwise ``forkserver``/``spawn``, since forking a threaded process
    (e.g. after TensorFlow started its pools) can deadlock the child."""
    import multiprocessing
    import threading

    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


class _Tasks(Sequence):
    """:func:`loganalyzer.readers.units` of a discovery, the same units in the same
    order, without a :class:`~loganalyzer.readers.Unit` kept per single file: each is
    made when it is handed out (100,000 of them were 10 MB of the parent's memory)."""

    def __init__(self, disc: Any) -> None:
        from loganalyzer.readers import Discovery, units

        self.files = disc.files
        self.folders = units(Discovery(tb_files=disc.tb_files, groups=disc.groups))

    def __len__(self) -> int:
        return len(self.files) + len(self.folders)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        from loganalyzer.readers import Unit

        n = len(self.files)
        if i < 0:
            i += len(self)
        return Unit(self.files[i]) if i < n else self.folders[i - n]


def _outputs(tasks: Sequence, task: Callable, init_args: tuple, jobs: int, progress) -> Iterator:
    """``task`` of every unit, in order: in this process for one job, else from one
    pool of ``jobs`` workers started once (results come back in order, a chunk of
    units at a time, as they are done)."""
    from loganalyzer._collector import resume  # the command paused it for its start-up

    total = len(tasks)
    if jobs == 1:
        _init(*init_args)
        try:
            for done, out in enumerate(map(task, _fetching(tasks)), 1):
                resume()  # the first input is judged: everything it needs is imported
                yield out
                if progress is not None:
                    progress(done, total)
        finally:
            _STATE.clear()
        return
    import multiprocessing  # not for one input: its import costs what judging a log does

    resume()  # before the workers are forked: they collect as usual
    ctx = multiprocessing.get_context(_start_method())
    # Small chunks: the last chunk of a worker is work the other cores wait for
    chunksize = max(1, min(MAX_CHUNK, total // (jobs * 16)))
    with ctx.Pool(jobs, initializer=_init, initargs=init_args) as pool:
        # the pool's task thread pulls units from _fetching as fast as it can: remote
        # batches are downloaded while the workers analyse the ones already here
        for done, out in enumerate(pool.imap(task, _fetching(tasks), chunksize=chunksize), 1):
            yield out
            if progress is not None:
                progress(done, total)


#: The most inputs handed to a worker at once (:func:`_outputs`).
MAX_CHUNK = 16

#: Remote objects fetched per concurrent batch (:func:`_fetching`).
FETCH_BATCH = 64


def _fetching(tasks: Sequence, batch: int = FETCH_BATCH) -> Iterator:
    """The units in order, the small remote files of each batch of ``batch`` units
    fetched together (:func:`loganalyzer.sources.prefetch`) just before the batch is
    handed out. A sweep in a bucket is then read while it is analysed: with every
    object fetched first, ``analyze s3://...`` took the download *plus* the analysis
    (3.1x the same runs on local disk in ``bench/bench_remote.py``). Event files are
    streamed by their reader, never prefetched; local units pass straight through."""
    from loganalyzer.sources import Source, prefetch

    for start in range(0, len(tasks), batch):
        chunk = tasks[start : start + batch]
        remote = [
            f
            for u in chunk
            if u.reader != "tensorboard"
            for f in (u.files or (u.source,))
            if isinstance(f, Source) and f.prefix
        ]
        if remote:
            prefetch(remote)
        yield from chunk


def _prepare(paths, config, jobs) -> tuple[Any, Any, _Tasks, int]:
    from loganalyzer.readers import discover

    if config is None:
        from loganalyzer.config import load_config

        config = load_config()
    disc = discover(paths, prefetch=False)  # remote files are fetched batch by batch
    tasks = _Tasks(disc)
    return config, disc, tasks, max(1, min(jobs or cpu_count(), len(tasks)))


def analyze_paths(
    paths: Iterable[str | os.PathLike],
    *,
    config: Any = None,
    train_loss: str | None = None,
    val_loss: str | None = None,
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    framework: str | None = None,
) -> Analysis:
    """Analyse every log below ``paths`` using ``jobs`` worker processes.

    Args:
        paths: Log files or directories (searched recursively).
        config: A :class:`loganalyzer.config.Config`; ``None`` loads the nearest one.
        train_loss: Override the automatic choice of training-loss series.
        val_loss: Override the automatic choice of validation-loss series.
        jobs: Worker processes (``None``: every core). One input, or ``jobs=1``,
            runs in this process.
        progress: Called as ``progress(done, total)`` after each input.
        framework: The API of the advice's snippets (default: guessed per run).

    Returns:
        The same :class:`~loganalyzer.analysis.Analysis` as
        :func:`loganalyzer.analysis.analyze` would give.
    """
    config, disc, tasks, jobs = _prepare(paths, config, jobs)
    result = Analysis(errors=list(disc.missing), skipped=list(disc.passed))
    late: list[ReadError] = []
    init_args = (disc, config, train_loss, val_loss, framework)
    for runs, errors, skipped, late_errors in _outputs(tasks, _task, init_args, jobs, progress):
        result.runs.extend(runs)
        result.errors.extend(errors)
        result.skipped.extend(skipped)
        late.extend(late_errors)
    result.errors.extend(late)
    return compare_siblings(result, config)


# ------------------------------------------------------------------ --format json
def _rendered(unit: Any) -> tuple[list[tuple[bytes, Any, int]], list, list, list]:
    """:func:`_task`, with every run as its finished JSON text and what the parent
    still needs of it: its sweep summary, packed for a
    :class:`~loganalyzer.detectors.sweep_outlier.SiblingTable`, and its worst severity
    (the parent never unpickles a run)."""
    from loganalyzer.detectors.sweep_outlier import SiblingTable, sibling
    from loganalyzer.renderers.json_text import run_item

    results, errors, skipped, late = _task(unit)
    pack = SiblingTable.pack
    runs = [
        (run_item(rr.to_dict()).encode("ascii"), pack(sibling(rr.run)), _worst(rr))
        for rr in results
    ]
    return runs, errors, skipped, late


def _worst(rr: RunResult) -> int:
    return max((severity_rank(f.severity) for f in rr.findings), default=-1)


@dataclass
class JsonResult:
    """The ``--format json`` document of an analysis, ready to :meth:`write`: the runs'
    texts (kept in order by :class:`_Spool`), the errors and skipped files (printed
    after the document), the count of runs and the worst severity (for the exit code)."""

    runs: int = 0
    errors: list[ReadError] = field(default_factory=list)
    skipped: list[ReadError] = field(default_factory=list)
    worst: int = -1
    texts: Any = None
    redone: dict[int, str] = field(default_factory=dict)

    def write(self, stream: TextIO) -> None:
        """Write the document (``analyze_paths(...).to_json()`` and a line end)."""
        from loganalyzer.analysis import SCHEMA
        from loganalyzer.renderers.json_text import document

        runs = (self.redone.get(i) or t.decode("ascii") for i, t in enumerate(self.texts))
        errors = [e.to_dict() for e in self.errors]
        skipped = [e.to_dict() for e in self.skipped]
        for piece in document(SCHEMA, runs, errors, skipped):
            stream.write(piece)
        stream.write("\n")
        self.texts.close()

    def exit_code(self, fail_on: str = "error") -> int:
        """As :meth:`loganalyzer.analysis.Analysis.exit_code`."""
        code = exit_code_of(self.errors)
        if code is not None:
            return code
        if fail_on != "never" and self.worst >= severity_rank(fail_on):
            return 1
        return 0


def analyze_to_json(
    paths: Iterable[str | os.PathLike],
    *,
    config: Any = None,
    train_loss: str | None = None,
    val_loss: str | None = None,
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    framework: str | None = None,
) -> JsonResult:
    """:func:`analyze_paths` for ``--format json``: its :meth:`JsonResult.write` writes
    ``analyze_paths(...).to_json()``, the same text, but the runs are never held: each
    worker renders its runs' JSON, the texts are kept in order (in memory, or in a
    temporary file for a large sweep), and only the summary the sweep comparison needs
    stays in memory. The runs that comparison flags are analysed again by the workers
    and rendered with their new findings. Arguments as :func:`analyze_paths`.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> analyze_to_json(["no/such/file.csv"], jobs=1).write(out)
        >>> out.getvalue().count("no such file or directory")
        1
    """
    from loganalyzer.analysis import sweep_findings
    from loganalyzer.detectors.sweep_outlier import SiblingTable

    config, disc, tasks, jobs = _prepare(paths, config, jobs)
    out = JsonResult(errors=list(disc.missing), skipped=list(disc.passed), texts=_Spool())
    late: list[ReadError] = []
    siblings = SiblingTable(_Spool())
    unit_of, rank_in_unit = array("l"), array("l")
    init_args = (disc, config, train_loss, val_loss, framework)
    outputs = _outputs(tasks, _rendered, init_args, jobs, progress)
    try:
        for u, (runs, errors, skipped, late_errors) in enumerate(outputs):
            for k, (text, summary, worst) in enumerate(runs):
                out.texts.append(text)
                siblings.append(summary)
                unit_of.append(u)
                rank_in_unit.append(k)
                out.worst = max(out.worst, worst)
            out.errors.extend(errors)
            out.skipped.extend(skipped)
            late.extend(late_errors)
        out.errors.extend(late)
        out.runs = len(siblings)
        found = sweep_findings(siblings, config, out.errors)
    finally:
        siblings.records.close()
    if found:  # flagged runs are analysed again with their new findings, by the workers
        redo: dict = {}
        for i, findings in found.items():
            redo.setdefault(tasks[unit_of[i]], []).append((i, rank_in_unit[i], findings))
        again = list(redo)
        jobs = min(jobs, len(again))
        for texts in _outputs(again, _redo, (*init_args, redo), jobs, None):
            for i, text, worst in texts:
                out.redone[i] = text
                out.worst = max(out.worst, worst)
    return out


def _redo(unit: Any) -> list[tuple[int, str, int]]:
    """The runs of ``unit`` that the sweep comparison flagged, analysed again with
    their new findings: ``(position in the sweep, JSON text, worst severity)``."""
    from loganalyzer.analysis import add_sibling_findings
    from loganalyzer.renderers.json_text import run_item

    results = _task(unit)[0]
    out = []
    for i, rank, findings in _STATE["redo"][unit]:
        rr = results[rank]
        add_sibling_findings(rr, findings)
        out.append((i, run_item(rr.to_dict()), _worst(rr)))
    return out


class _Spool:
    """Byte strings kept in order: in memory up to ``limit`` bytes, then in a temporary
    file (a sweep of 100,000 runs renders about 300 MB of JSON)."""

    def __init__(self, limit: int = 4 << 20):
        self.limit = limit
        self.parts: list[bytes] = []
        self.size = 0
        self.file = None
        self.lengths = array("l")

    def append(self, data: bytes) -> None:
        self.lengths.append(len(data))
        if self.file is None:
            self.parts.append(data)
            self.size += len(data)
            if self.size > self.limit:
                import tempfile

                self.file = tempfile.TemporaryFile()
                self.file.writelines(self.parts)  # not joined: no second copy in memory
                self.parts = []
        else:
            self.file.write(data)

    def __iter__(self) -> Iterator[bytes]:
        if self.file is None:
            yield from self.parts
            return
        self.file.seek(0)
        for n in self.lengths:
            yield self.file.read(n)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()

"""Analyse many log files at once: read and diagnose each input in a worker process.

The result is the same :class:`~loganalyzer.analysis.Analysis` as
:func:`loganalyzer.analysis.analyze` gives for the same paths, in the same order,
whatever the number of workers: inputs are discovered once, in sorted order, and the
workers' results are collected in that order.

Example:
    >>> from loganalyzer.parallel import analyze_paths
    >>> analyze_paths(["no/such/file.csv"], jobs=1).errors[0].error
    'no such file or directory'
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from loganalyzer.analysis import Analysis, RunResult, analyze_run, compare_siblings
from loganalyzer.errors import ReadError

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
) -> None:
    _STATE.update(
        disc=disc, config=config, train_loss=train_loss, val_loss=val_loss, framework=framework
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
                run.name = readers.display_name(source, run.name, disc)
                try:
                    run.override_losses(_STATE["train_loss"], _STATE["val_loss"])
                except KeyError as exc:
                    late.append(ReadError(", ".join(run.sources) or run.name, str(exc.args[0])))
                    continue
                results.append(analyze_run(run, _STATE["config"], _STATE.get("framework")))
        elif is_error:  # named, unreadable, or a damaged log: an error wherever it is
            errors.append(error)
        elif readers.is_skippable(source, error):
            skipped.append(error)
    return results, errors, skipped, late


def _start_method() -> str:
    """``fork`` (fast: workers inherit the imported modules) when this process has no
    other thread; otherwise ``forkserver``/``spawn``, since forking a threaded process
    (e.g. after TensorFlow started its pools) can deadlock the child."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def _tasks(disc: Any) -> list:
    from loganalyzer.readers import units

    return units(disc)


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
    from loganalyzer.readers import discover

    if config is None:
        from loganalyzer.config import load_config

        config = load_config()
    disc = discover(paths)
    tasks = _tasks(disc)
    jobs = max(1, min(jobs or cpu_count(), len(tasks)))
    result = Analysis(errors=list(disc.missing), skipped=list(disc.passed))
    late: list[ReadError] = []
    total = len(tasks)
    init_args = (disc, config, train_loss, val_loss, framework)

    def collect(outputs: Iterable) -> None:
        for done, (runs, errors, skipped, late_errors) in enumerate(outputs, 1):
            result.runs.extend(runs)
            result.errors.extend(errors)
            result.skipped.extend(skipped)
            late.extend(late_errors)
            if progress is not None:
                progress(done, total)

    if jobs == 1:
        _init(*init_args)
        try:
            collect(map(_task, tasks))
        finally:
            _STATE.clear()
    else:
        ctx = multiprocessing.get_context(_start_method())
        chunksize = max(1, min(64, total // (jobs * 16)))
        with ctx.Pool(jobs, initializer=_init, initargs=init_args) as pool:
            collect(pool.imap(_task, tasks, chunksize=chunksize))
    result.errors.extend(late)
    return compare_siblings(result, config)

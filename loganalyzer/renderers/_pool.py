"""Render many runs' sections on every core.

Drawing three matplotlib figures takes about half a second per run, so a sweep of a few
hundred runs is worth spreading over processes. Sections come back in the runs' order;
small reports (and ``jobs=1``) stay in this process.

Example:
    >>> def double(rr, number):
    ...     return rr * 2
    >>> map_runs(double, [1, 2, 3], jobs=1)
    [2, 4, 6]
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

#: Below this many runs, starting worker processes costs more than it saves.
MIN_PARALLEL = 16


def default_jobs() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def map_runs(
    fn: Callable[[Any, int], T],
    results: list[Any],
    progress: Callable[[str], None] | None = None,
    *,
    jobs: int | None = None,
) -> list[T]:
    """``[fn(rr, number) for number, rr in enumerate(results, 1)]``, in worker processes
    when there are many runs.

    Args:
        fn: A picklable (module-level) function of a run result and its 1-based number.
        results: The items (``RunResult`` objects; anything picklable).
        progress: Called with each run's name as its section is done, in order.
        jobs: Worker processes (``None``: every core; ``1``: none).
    """
    jobs = default_jobs() if jobs is None or jobs < 1 else jobs
    jobs = min(jobs, len(results))

    def tick(rr: Any) -> None:
        if progress is not None:
            run = getattr(rr, "run", None)
            progress(getattr(run, "name", str(rr)))

    if jobs < 2 or len(results) < MIN_PARALLEL:
        out = []
        for number, rr in enumerate(results, 1):
            out.append(fn(rr, number))
            tick(rr)
        return out
    # "spawn": the caller may run threads (rich's progress bar does); fork would copy
    # their locks into the workers.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(fn, rr, number) for number, rr in enumerate(results, 1)]
        out = []
        for rr, future in zip(results, futures, strict=True):
            out.append(future.result())
            tick(rr)
        return out

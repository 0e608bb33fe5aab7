"""Where the trainings of a verification run: in this process, or on a Ray cluster.

The experiment (which variants, which seeds, how to compare) does not depend on where
a training runs. A backend takes the (variant, seed) :class:`~loganalyzer.verify.
training.Job` list and yields one :class:`~loganalyzer.verify.training.RunRecord` per
job as it finishes, with the job's logs written under the output directory, exactly
as :func:`~loganalyzer.verify.training.train` writes them locally. A job a backend
cannot bring back (a Ray worker lost more often than the retries allow) is yielded as
a :class:`Lost` instead; the experiment then compares the seeds that are complete.

Backends:
    local: :class:`LocalBackend`, the default; trains the jobs one after the other
        in this process. Never imports Ray.
    ray: :class:`~loganalyzer.verify.backends.ray.RayBackend`; every job is a Ray task
        with its own resource request (``pip install 'loganalyzer[ray]'``).

Example:
    >>> backend = get_backend("local")
    >>> backend.name
    'local'
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loganalyzer.verify.training import Job, RunRecord, train


@dataclass
class Lost:
    """A job whose run never came back."""

    job: Job
    reason: str

    def __str__(self) -> str:
        return f"{self.job.label} seed {self.job.seed}: {self.reason}"


class LocalBackend:
    """Train every job in this process, in order (the experiment orders them seed by
    seed, so Ctrl-C leaves complete pairs behind)."""

    name = "local"

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def run(
        self, spec: Any, jobs: list[Job], out_dir: Path, progress: Any
    ) -> Iterator[RunRecord | Lost]:
        for job in jobs:
            progress.run_started(job.label, job.seed)
            record = train(spec, job, out_dir, tick=progress.epoch_done)
            progress.run_done(record.epochs_budget - record.epochs_run)
            yield record


def get_backend(name: str = "local", **options: Any) -> Any:
    """The backend called ``name`` (``local`` or ``ray``), with its options.

    Args:
        name: ``"local"`` or ``"ray"``.
        **options: For ``ray``: ``address``, ``cpus_per_run``, ``gpus_per_run``,
            ``retries``, ``num_cpus`` (see :class:`~loganalyzer.verify.backends.ray.
            RayBackend`). ``local`` takes none.

    Raises:
        ValueError: an unknown backend name.
        loganalyzer.verify.backends.ray.MissingRay: ``ray`` is not installed.
    """
    if name == "local":
        return LocalBackend()
    if name == "ray":
        from loganalyzer.verify.backends.ray import RayBackend

        return RayBackend(**options)
    raise ValueError(f"unknown backend {name!r}; choose local or ray")

"""The Ray backend: every (variant, seed) training is a Ray task with its own resources.

Retraining is where users outgrow one machine. ``loganalyzer verify ... --backend ray``
submits every job of a round at once; Ray places each on a worker with
``--cpus-per-run`` CPUs and ``--gpus-per-run`` GPUs, on a running cluster
(``--address ray://head:10001`` or ``auto``) or on a local one started for the
command and stopped after it.

What comes back is exactly what a local run leaves: the worker trains with
:func:`~loganalyzer.verify.training.train` in a temporary folder and returns the
record and the bytes of ``training.csv`` and ``history.json``; the driver writes them
to the same ``<output>/<variant>/seed<s>/`` folders and analyses them there. Seeds
fix the numbers (op determinism is on), so a Ray verification gives the same
histories, verdicts and intervals as a local one with the same seeds.

A worker that dies (a preempted node, an out-of-memory kill) loses its task; Ray runs
it again, up to ``retries`` times, and the run is only reported lost after that. An
error in the user's model is not retried: it is the same error the local backend
raises. Ctrl-C cancels the tasks still pending and keeps the finished ones.

Only this module imports Ray, and only when the backend is used.

Example:
    >>> backend = RayBackend(cpus_per_run=1, num_cpus=2)  # doctest: +SKIP
    >>> with backend:  # doctest: +SKIP
    ...     result = verify(spec, [parse_fix("dropout")], backend=backend)
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from loganalyzer.verify.backends import Lost
from loganalyzer.verify.training import LOG_FILES, Job, RunRecord, train

INSTALL_HINT = "pip install 'loganalyzer[ray]'"

#: Seconds between two looks at finished tasks and epoch counts.
POLL = 0.25


class MissingRay(RuntimeError):
    """Ray is not installed; the message names the extra."""

    def __init__(self) -> None:
        super().__init__(f"--backend ray needs Ray, which is not installed: {INSTALL_HINT}")


class ClusterError(RuntimeError):
    """The Ray cluster cannot be reached or started (one line: where and why)."""


def _ray():
    try:
        import ray
    except ImportError:
        raise MissingRay() from None
    return ray


class RayBackend:
    """Run each job as a Ray task.

    Args:
        address: A running cluster (``"auto"``, ``"ray://host:10001"``, ``"host:6379"``);
            ``None`` starts a local cluster for the duration of the ``with`` block.
        cpus_per_run: CPUs each training requests (also TensorFlow's thread count).
        gpus_per_run: GPUs each training requests (fractions allowed, e.g. 0.5).
        retries: How many times a job whose worker died is run again.
        num_cpus: CPUs of a local cluster (default: all of this machine's).
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        cpus_per_run: float = 1,
        gpus_per_run: float = 0,
        retries: int = 3,
        num_cpus: int | None = None,
    ) -> None:
        if cpus_per_run <= 0:
            raise ValueError(f"--cpus-per-run must be positive, not {cpus_per_run}")
        if gpus_per_run < 0:
            raise ValueError(f"--gpus-per-run cannot be negative, not {gpus_per_run}")
        self.address = address
        self.cpus_per_run = cpus_per_run
        self.gpus_per_run = gpus_per_run
        self.retries = retries
        self.num_cpus = num_cpus
        self._started = False

    # ------------------------------------------------------------------ lifetime
    def __enter__(self) -> RayBackend:
        ray = _ray()
        if ray.is_initialized():
            return self
        options: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": logging.ERROR,
        }
        if self.address is not None:
            import loganalyzer

            # A remote cluster need not have loganalyzer installed: ship the package
            # (TensorFlow and Keras must be on the workers, like for any Keras job).
            options["runtime_env"] = {"py_modules": [loganalyzer]}
            where = f"the Ray cluster at {self.address}"
        else:
            options["num_cpus"] = self.num_cpus
            where = "a local Ray cluster"
        try:
            ray.init(address=self.address, **options)
        except Exception as exc:  # Ray's own errors: one line that says where and why
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            hint = ""
            if self.address is not None and os.environ.get("RAY_AUTH_MODE") is None:
                hint = (
                    "; a cluster started with token authentication (Ray's default) also "
                    "needs RAY_AUTH_MODE=token and its token (~/.ray/auth_token or RAY_AUTH_TOKEN)"
                )
            raise ClusterError(f"cannot connect to {where}: {first}{hint}") from None
        self._started = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._started:
            _ray().shutdown()
            self._started = False

    # ------------------------------------------------------------------ running
    def run(
        self, spec: Any, jobs: list[Job], out_dir: Path, progress: Any
    ) -> Iterator[RunRecord | Lost]:
        """Submit every job, then yield records as tasks finish (any order)."""
        ray = _ray()
        if not ray.is_initialized():
            self.__enter__()
        spec_ref = ray.put(spec)
        ticks = ray.remote(_Ticks).options(num_cpus=0).remote()
        task = ray.remote(_train_remote).options(
            num_cpus=self.cpus_per_run,
            num_gpus=self.gpus_per_run,
            max_retries=self.retries,
            retry_exceptions=False,
        )
        threads = max(1, int(self.cpus_per_run))
        pending = {task.remote(spec_ref, job, ticks, threads): job for job in jobs}
        total = len(jobs)
        try:
            while pending:
                progress.describe(
                    f"{total - len(pending)}/{total} runs done, {len(pending)} on Ray"
                )
                done, _ = ray.wait(list(pending), num_returns=1, timeout=POLL)
                for _ in range(ray.get(ticks.take.remote())):
                    progress.epoch_done()
                for ref in done:
                    job = pending.pop(ref)
                    item = _collect(ray, ref, job, out_dir, self.retries)
                    if isinstance(item, RunRecord):
                        progress.run_done(item.epochs_budget - item.epochs_run)
                    yield item
        finally:  # Ctrl-C, an error, or the consumer stopped: nothing keeps running
            for ref in pending:
                ray.cancel(ref, force=True)
            ray.kill(ticks)


def _collect(ray, ref, job: Job, out_dir: Path, retries: int) -> RunRecord | Lost:
    """The job's record with its logs written under ``out_dir``, or why it was lost."""
    try:
        record, files = ray.get(ref)
    except ray.exceptions.RayTaskError as exc:  # the user's code raised: as if local
        cause = getattr(exc, "cause", None)
        if isinstance(cause, BaseException):
            raise cause from None
        raise
    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as exc:
        return Lost(job, f"its worker died {retries + 1} times ({type(exc).__name__})")
    except ray.exceptions.RayError as exc:
        return Lost(job, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    folder = Path(out_dir) / job.folder
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    record.log_dir = str(folder)
    return record


def _train_remote(spec: Any, job: Job, ticks: Any, threads: int) -> tuple[RunRecord, dict]:
    """On a worker: train the job in a temporary folder, return the record and log files."""
    _limit_threads(threads)

    def tick() -> None:
        ticks.add.remote(1)

    with tempfile.TemporaryDirectory(prefix="loganalyzer-verify-") as tmp:
        record = train(spec, job, tmp, tick=tick)
        folder = Path(tmp) / job.folder
        files = {n: (folder / n).read_bytes() for n in LOG_FILES if (folder / n).exists()}
    return record, files


def _limit_threads(threads: int) -> None:
    """Keep TensorFlow within the CPUs the task asked for (a worker's first task only:
    TensorFlow fixes its thread pools when it starts)."""
    from loganalyzer.verify.keras_env import require_keras

    keras = require_keras()
    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # already initialised by an earlier task on this worker
        pass


class _Ticks:
    """A counter the workers bump after every epoch and the driver drains (progress)."""

    def __init__(self) -> None:
        self.count = 0

    def add(self, n: int) -> None:
        self.count += n

    def take(self) -> int:
        n, self.count = self.count, 0
        return n

"""``loganalyzer verify``: retrain the user's Keras model with a fix and measure the effect.

Usage::

    loganalyzer verify experiment.py --fix dropout --fix regularize:factor=1e-4
    loganalyzer verify experiment.py --from-log logs/history.json
    loganalyzer verify model.keras --data data.npz --fix early-stopping --seeds 5
    loganalyzer verify --demo

The spec file defines ``build_model()`` and ``load_data()`` (optionally ``FIT`` and
``compile(model)``); see :mod:`loganalyzer.verify.spec`. Baseline and each fix train
with the same seeds; the table shows, per fix, the mean paired difference with its 95 %
confidence interval and a verdict (helped / no significant change / hurt). Run logs
(CSV + JSON) and the report (``verification.html``, ``verification.md``) go to ``-o``.

TensorFlow and Keras are imported only inside this command. Exit codes: 0 done, 2 bad
usage, a bad spec, or Keras not installed, 130 interrupted (finished runs are kept and
reported).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

#: Seeds of the closed loop unless --seeds says otherwise.
LOOP_SEEDS = 5


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add the ``verify`` command to ``app``."""

    @app.command()
    def verify(
        spec: Path | None = typer.Argument(
            None,
            help="Experiment spec: a .py file with build_model() and load_data(), "
            "or a .keras model (with --data).",
        ),
        fix: list[str] = typer.Option(
            [],
            "--fix",
            help="A fix to verify: ACTION or ACTION:key=value,... (repeatable). Actions: "
            "regularize, dropout, shrink, grow, batch-norm, early-stopping, augment, "
            "lower-lr, raise-lr, fix-lr, lr-schedule, clip-gradients, normalize-inputs, "
            "train-longer, larger-batch, add-data. Without --fix and --from-log: the loop.",
        ),
        from_log: Path | None = typer.Option(
            None, "--from-log", help="Analyse this training log and verify its top advice."
        ),
        rounds: int = typer.Option(
            2,
            "--rounds",
            min=1,
            help="The loop (no --fix): rounds of diagnose, try the advice, apply the best.",
        ),
        top: int | None = typer.Option(
            None,
            "--top",
            min=1,
            help="How many advised fixes to try (default 3 in the loop, 1 with --from-log).",
        ),
        seeds: int | None = typer.Option(
            None,
            "--seeds",
            min=1,
            help="Seeds per variant, paired (default 5 for the loop, 3 with --fix or "
            "--from-log; demo --fix 4).",
        ),
        epochs: int | None = typer.Option(
            None, "--epochs", min=1, help="Epochs per run (default: the spec's FIT)."
        ),
        output: Path = typer.Option(
            Path("loganalyzer-verify"), "-o", "--output", help="Directory for logs and report."
        ),
        data: Path | None = typer.Option(
            None, "--data", help="For a .keras model: .npz with x_train, y_train, x_val, y_val."
        ),
        backend: str = typer.Option(
            "local",
            "--backend",
            help="Where runs train: local (this process) or ray (a task per run; "
            "pip install 'loganalyzer[ray]').",
        ),
        address: str | None = typer.Option(
            None,
            "--address",
            help="With --backend ray: a running cluster (auto, HOST:6379, ray://HOST:10001); "
            "default: a local cluster for this command.",
        ),
        cpus_per_run: float = typer.Option(
            1.0, "--cpus-per-run", help="With --backend ray: CPUs each training requests."
        ),
        gpus_per_run: float = typer.Option(
            0.0, "--gpus-per-run", help="With --backend ray: GPUs each training requests."
        ),
        retries: int = typer.Option(
            3,
            "--retries",
            min=0,
            help="With --backend ray: runs again a training whose worker died, this often.",
        ),
        demo: bool = typer.Option(
            False, "--demo", help="Run the embedded seed example (no spec needed)."
        ),
        show_spec: bool = typer.Option(
            False, "--show-spec", help="With --demo: print the demo as a spec file and exit."
        ),
    ) -> None:
        """Retrain with fixes over several seeds and say, with statistics, whether they helped.

        Without --fix: the closed loop. Train the model over the seeds, analyse its logs,
        verify the top advice, apply the fix that helped most, and repeat (--rounds).
        Examples: `loganalyzer verify experiment.py`;
        `loganalyzer verify experiment.py --fix dropout --fix regularize:factor=1e-4`;
        `loganalyzer verify experiment.py --from-log logs/history.json`;
        `loganalyzer verify --demo`.
        The spec defines build_model() and load_data() (optionally FIT and compile(model)).
        See docs/verify.md.
        """
        if show_spec:
            from loganalyzer.verify.demo import SPEC_SOURCE

            typer.echo(SPEC_SOURCE, nl=False)
            raise typer.Exit(0)
        options = Options(
            rounds=rounds, top=top, seeds=seeds, epochs=epochs, output=output,
            backend=backend, address=address, cpus_per_run=cpus_per_run,
            gpus_per_run=gpus_per_run, retries=retries,
        )  # fmt: skip
        raise typer.Exit(run_verify(spec, fix, from_log, data, demo, options))


@dataclass
class Options:
    """How to verify (the command's options besides what to verify)."""

    rounds: int = 2
    top: int | None = None
    seeds: int | None = None
    epochs: int | None = None
    output: Path = Path("loganalyzer-verify")
    backend: str = "local"
    address: str | None = None
    cpus_per_run: float = 1.0
    gpus_per_run: float = 0.0
    retries: int = 3


def run_verify(
    spec_path: Path | None,
    fixes: list[str],
    from_log: Path | None,
    data: Path | None,
    demo: bool,
    options: Options,
) -> int:
    """The command's body; returns the exit code."""
    from loganalyzer.verify.fixes import FixError, parse_fix
    from loganalyzer.verify.keras_env import MissingKeras, require_keras
    from loganalyzer.verify.spec import SpecError

    if demo and spec_path is not None:
        raise _fail("give a SPEC or --demo, not both")
    if not demo and spec_path is None:
        raise _fail("give an experiment SPEC (a .py or .keras file) or --demo")
    if options.backend not in ("local", "ray"):
        raise _fail(f"--backend must be local or ray, not {options.backend!r}")
    try:
        requests = [parse_fix(f) for f in fixes]
    except FixError as exc:
        raise _fail(str(exc)) from None
    backend = _backend(options)
    try:
        require_keras()
    except MissingKeras as exc:
        raise _fail(str(exc)) from None

    notes: list[str] = []
    motivating: dict[str, list[str]] = {}
    if from_log is not None:
        top = options.top or 1
        advised, motivating, log_notes = requests_from_log(from_log, top)
        notes += log_notes
        requests = advised + requests
    seeds, epochs = options.seeds, options.epochs
    try:
        if demo:
            from loganalyzer.verify import demo as demo_module

            spec = demo_module.demo_spec()
            epochs = demo_module.DEMO_EPOCHS if epochs is None else epochs
            if seeds is None and requests:
                seeds = demo_module.DEMO_SEEDS
        else:
            from loganalyzer.verify.spec import load_spec

            spec = load_spec(spec_path, data)
            spec.new_model()  # check the spec once before the long part
    except SpecError as exc:
        raise _fail(str(exc)) from None
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    if not requests and from_log is None:
        # Holm over three fixes needs more than 3 pairs to see a consistent effect.
        seeds = LOOP_SEEDS if seeds is None else seeds
        return _loop_and_report(spec, options, seeds, epochs, backend)
    seeds = 3 if seeds is None else seeds
    if not requests:
        raise _fail("nothing to verify: the log gave no advice and no --fix was given")
    requests = _dedupe(requests)
    return _run_and_report(spec, requests, seeds, epochs, options.output, motivating, notes,
                           backend)  # fmt: skip


def _backend(options: Options) -> Any:
    from loganalyzer.verify.backends import get_backend

    if options.backend == "local":
        ray_only = {
            "--address": options.address is not None,
            "--cpus-per-run": options.cpus_per_run != 1.0,
            "--gpus-per-run": options.gpus_per_run != 0.0,
        }
        given = [name for name, set_ in ray_only.items() if set_]
        if given:
            raise _fail(f"{', '.join(given)} only apply with --backend ray")
        return get_backend("local")
    from loganalyzer.verify.backends.ray import MissingRay

    try:
        backend = get_backend(
            "ray", address=options.address, cpus_per_run=options.cpus_per_run,
            gpus_per_run=options.gpus_per_run, retries=options.retries,
        )  # fmt: skip
        import ray  # noqa: F401  (fail now, not after the spec is loaded)
    except MissingRay as exc:
        raise _fail(str(exc)) from None
    except ImportError:
        raise _fail(str(MissingRay())) from None
    except ValueError as exc:
        raise _fail(str(exc)) from None
    return backend


def _guarded(body) -> Any:
    """Run ``body()``, turning a bad spec, a fix that does not apply or a model that fails
    to train into one line and exit code 2."""
    from loganalyzer.verify.fixes import FixError
    from loganalyzer.verify.spec import SpecError

    try:
        return body()
    except (SpecError, FixError) as exc:
        raise _fail(str(exc)) from None
    except RuntimeError as exc:
        if type(exc).__name__ != "ClusterError":  # the Ray backend's, without importing it
            raise _fail(f"training failed: {type(exc).__name__}: {_first_line(exc)}") from None
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:  # between runs, outside the experiment's own handler
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None
    except typer.Exit:
        raise
    except Exception as exc:  # the user's model failed to train: one line, not a trace
        raise _fail(f"training failed: {type(exc).__name__}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]


def _run_and_report(spec, requests, seeds, epochs, output, motivating, notes, backend) -> int:
    from loganalyzer.verify.experiment import verify

    bar = _RichProgress()

    def body():
        with backend, bar:
            return verify(
                spec,
                requests,
                seeds=seeds,
                epochs=epochs,
                out_dir=output,
                progress=bar,
                motivating=motivating,
                backend=backend,
            )

    result = _guarded(body)
    result.notes[:0] = notes

    from loganalyzer.renderers.verification import render_terminal, write_reports

    render_terminal(result)
    if result.seeds:
        html_path, md_path = write_reports(result, Path(output))
        typer.echo(f"report: {html_path}  {md_path}", err=True)
    typer.echo(f"run logs: {output}/", err=True)
    return 130 if result.interrupted else 0


def _loop_and_report(spec, options: Options, seeds: int, epochs, backend) -> int:
    from loganalyzer.verify.loop import close_loop

    bar = _RichProgress()

    def body():
        with backend, bar:
            return close_loop(
                spec,
                rounds=options.rounds,
                top=options.top or 3,
                seeds=seeds,
                epochs=epochs,
                out_dir=options.output,
                progress=bar,
                backend=backend,
            )

    result = _guarded(body)

    from loganalyzer.renderers.verification import render_loop_terminal, write_loop_reports

    render_loop_terminal(result)
    if result.seeds:
        html_path, md_path = write_loop_reports(result, Path(options.output))
        typer.echo(f"report: {html_path}  {md_path}", err=True)
    typer.echo(f"run logs: {options.output}/", err=True)
    return 130 if result.interrupted else 0


def requests_from_log(log: Path, top: int) -> tuple[list[Any], dict[str, list[str]], list[str]]:
    """The fixes to verify for a training log: its top advice that retraining can test.

    Returns:
        (requests, motivating rules per request label, notes for the user).
    """
    from loganalyzer.analysis import analyze
    from loganalyzer.verify.fixes import DEFAULTS, UNTESTABLE, FixRequest

    result = analyze(str(log))
    for err in result.errors:
        raise _fail(err.line())
    if not result.runs:
        raise _fail(f"{log}: no training run found")
    notes: list[str] = []
    framework = getattr(result.runs[0], "framework", "keras")
    if framework != "keras":
        from loganalyzer.framework import LABELS

        label = LABELS.get(framework, framework)
        notes.append(
            f"{log} comes from a {label} run; verify retrains Keras models only, so "
            "verification needs a Keras spec (build_model/load_data): the advice's numbers "
            f"are tried on the Keras model in the spec, not on the {label} run itself"
        )
    advice = sorted(result.runs[0].advice, key=lambda a: a.rank)
    testable = [a for a in advice if a.action in DEFAULTS]
    for a in advice:
        if a.action not in DEFAULTS:
            why = UNTESTABLE.get(a.action, "verify cannot apply this action to a model yet")
            notes.append(f"advice #{a.rank} {a.action} is not verified: {why}")
    if not testable:
        kinds = sorted({f.kind for f in result.runs[0].findings})
        found = f" (findings: {', '.join(kinds)})" if kinds else ""
        why = "gave no advice that verify can test"
        try:
            from loganalyzer.advice import advise  # noqa: F401
        except ImportError:
            why = "has no advice because the advice engine is not installed"
        notes.append(
            f"{log}: the analysis {why}{found}; "
            "verifying the default fixes early-stopping and regularize instead"
        )
        return [FixRequest("early-stopping"), FixRequest("regularize")], {}, notes
    requests, motivating = [], {}
    if framework != "keras":  # e.g. a LoRA rank or weight_decay has no Keras twin
        mappable = [
            a
            for a in testable
            if not a.params or (set(a.params) - {"kind"}) & set(DEFAULTS[a.action])
        ]
        skipped = [a.action for a in testable if a not in mappable]
        if skipped:
            notes.append(f"advice with no Keras equivalent was skipped: {', '.join(skipped)}")
        testable = mappable
    for a in testable[:top]:
        params = {k: v for k, v in a.params.items() if k in DEFAULTS[a.action] and v is not None}
        if framework != "keras":
            params.pop("monitor", None)  # the log's name (eval_loss); Keras logs val_loss
        req = FixRequest(a.action, params)
        requests.append(req)
        motivating[req.label] = list(a.rules)
        notes.append(f"verifying advice #{a.rank}: {req.label} ({', '.join(a.rules) or 'no rule'})")
    return requests, motivating, notes


def _dedupe(requests: list[Any]) -> list[Any]:
    seen, out = set(), []
    for r in requests:
        if r.label not in seen:
            seen.add(r.label)
            out.append(r)
    return out


class _RichProgress:
    """Rich progress on stderr (off when not a terminal): the loop's round on one line,
    and a bar over the round's variants x seeds x epochs below it."""

    def __init__(self) -> None:
        self._progress = None
        self._task = None
        self._round = None
        self._prefix = ""
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[unit]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )

    def __enter__(self):
        if self._progress is not None:
            self._progress.__enter__()
        return self

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.__exit__(*exc)
        return False

    def round_started(self, number: int, total: int, what: str) -> None:
        if self._progress is None:
            return
        text = f"round {number}/{total}: {what}"
        if self._round is None:
            self._round = self._progress.add_task(text, total=total, unit="rounds")
        else:
            self._progress.update(self._round, description=text, completed=number - 1)
        self._prefix = f"round {number} · "

    def start(self, total_epochs: int) -> None:
        if self._progress is None:
            return
        if self._task is None:
            self._task = self._progress.add_task("starting", total=total_epochs, unit="epochs")
        else:  # a new verification of the loop: a fresh bar over its runs
            self._progress.reset(self._task, total=total_epochs, description="starting")

    def run_started(self, label: str, seed: int) -> None:
        self.describe(f"{label} · seed {seed}")

    def describe(self, text: str) -> None:
        if self._task is not None:
            self._progress.update(self._task, description=f"{self._prefix}{text}")

    def epoch_done(self) -> None:
        if self._task is not None:
            self._progress.advance(self._task)

    def run_done(self, skipped_epochs: int) -> None:
        if self._task is not None and skipped_epochs > 0:
            self._progress.advance(self._task, skipped_epochs)

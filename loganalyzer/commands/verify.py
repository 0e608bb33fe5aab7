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
from pathlib import Path
from typing import Any

import typer


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
            "regularize, dropout, shrink, batch-norm, early-stopping, augment, lower-lr, "
            "lr-schedule, clip-gradients, add-data.",
        ),
        from_log: Path | None = typer.Option(
            None, "--from-log", help="Analyse this training log and verify its top advice."
        ),
        top: int = typer.Option(1, "--top", min=1, help="With --from-log: how many advice."),
        seeds: int | None = typer.Option(
            None, "--seeds", min=1, help="Seeds per variant, paired (default 3; demo 4)."
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
        demo: bool = typer.Option(
            False, "--demo", help="Run the embedded seed example (no spec needed)."
        ),
        show_spec: bool = typer.Option(
            False, "--show-spec", help="With --demo: print the demo as a spec file and exit."
        ),
    ) -> None:
        """Retrain with a fix over several seeds and say, with statistics, whether it helped.

        Examples: `loganalyzer verify --demo`;
        `loganalyzer verify experiment.py --fix dropout --fix regularize:factor=1e-4`;
        `loganalyzer verify experiment.py --from-log logs/history.json`.
        The spec defines build_model() and load_data() (optionally FIT and compile(model)).
        See docs/verify.md.
        """
        if show_spec:
            from loganalyzer.verify.demo import SPEC_SOURCE

            typer.echo(SPEC_SOURCE, nl=False)
            raise typer.Exit(0)
        raise typer.Exit(run_verify(spec, fix, from_log, top, seeds, epochs, output, data, demo))


def run_verify(
    spec_path: Path | None,
    fixes: list[str],
    from_log: Path | None,
    top: int,
    seeds: int | None,
    epochs: int | None,
    output: Path,
    data: Path | None,
    demo: bool,
) -> int:
    """The command's body; returns the exit code."""
    from loganalyzer.verify.fixes import FixError, parse_fix
    from loganalyzer.verify.keras_env import MissingKeras, require_keras
    from loganalyzer.verify.spec import SpecError

    if demo and spec_path is not None:
        raise _fail("give a SPEC or --demo, not both")
    if not demo and spec_path is None:
        raise _fail("give an experiment SPEC (a .py or .keras file) or --demo")
    try:
        requests = [parse_fix(f) for f in fixes]
    except FixError as exc:
        raise _fail(str(exc)) from None
    try:
        require_keras()
    except MissingKeras as exc:
        raise _fail(str(exc)) from None

    notes: list[str] = []
    motivating: dict[str, list[str]] = {}
    if from_log is not None:
        advised, motivating, log_notes = requests_from_log(from_log, top)
        notes += log_notes
        requests = advised + requests
    try:
        if demo:
            from loganalyzer.verify import demo as demo_module

            spec = demo_module.demo_spec()
            if not requests:
                requests = [parse_fix(f) for f in demo_module.DEMO_FIXES]
            if epochs is None:
                epochs = demo_module.DEMO_EPOCHS
            if seeds is None:
                seeds = demo_module.DEMO_SEEDS
        else:
            from loganalyzer.verify.spec import load_spec

            spec = load_spec(spec_path, data)
            spec.new_model()  # check the spec once before the long part
    except SpecError as exc:
        raise _fail(str(exc)) from None
    if not requests:
        raise _fail("nothing to verify: give --fix ACTION (e.g. --fix dropout) or --from-log LOG")
    requests = _dedupe(requests)
    seeds = 3 if seeds is None else seeds

    for note in notes:
        typer.echo(f"note: {note}", err=True)
    return _run_and_report(spec, requests, seeds, epochs, output, motivating, notes)


def _run_and_report(spec, requests, seeds, epochs, output, motivating, notes) -> int:
    from loganalyzer.verify.experiment import verify
    from loganalyzer.verify.fixes import FixError
    from loganalyzer.verify.spec import SpecError

    bar = _RichProgress()
    try:
        with bar:
            result = verify(
                spec,
                requests,
                seeds=seeds,
                epochs=epochs,
                out_dir=output,
                progress=bar,
                motivating=motivating,
            )
    except (SpecError, FixError) as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:  # between runs, outside the experiment's own handler
        typer.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # the user's model failed to train: one line, not a trace
        first = (str(exc).strip().splitlines() or [""])[0]
        raise _fail(f"training failed: {type(exc).__name__}: {first}") from None
    result.notes[:0] = notes

    from loganalyzer.renderers.verification import render_terminal, write_reports

    render_terminal(result)
    if result.seeds:
        html_path, md_path = write_reports(result, Path(output))
        typer.echo(f"report: {html_path}  {md_path}", err=True)
    typer.echo(f"run logs: {output}/", err=True)
    return 130 if result.interrupted else 0


def requests_from_log(log: Path, top: int) -> tuple[list[Any], dict[str, list[str]], list[str]]:
    """The fixes to verify for a training log: its top advice that retraining can test.

    Returns:
        (requests, motivating rules per request label, notes for the user).
    """
    from loganalyzer.analysis import analyze
    from loganalyzer.verify.fixes import DEFAULTS, FixRequest

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
    untestable = [a.action for a in advice if a.action not in DEFAULTS]
    if untestable:
        notes.append(f"advice that retraining cannot test was skipped: {', '.join(untestable)}")
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
        known = set(DEFAULTS[a.action]) | ({"learning_rate"} if a.action == "lower-lr" else set())
        params = {k: v for k, v in a.params.items() if k in known and v is not None}
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
    """A rich progress bar over variants x seeds x epochs on stderr (off when not a TTY)."""

    def __init__(self) -> None:
        self._progress = None
        self._task = None
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
                TextColumn("epochs"),
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

    def start(self, total_epochs: int) -> None:
        if self._progress is not None:
            self._task = self._progress.add_task("starting", total=total_epochs)

    def run_started(self, label: str, seed: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, description=f"{label} · seed {seed}")

    def epoch_done(self) -> None:
        if self._task is not None:
            self._progress.advance(self._task)

    def run_done(self, skipped_epochs: int) -> None:
        if self._task is not None and skipped_epochs > 0:
            self._progress.advance(self._task, skipped_epochs)

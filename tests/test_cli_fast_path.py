"""``analyze``'s fast path (no typer) behaves as the typer command does.

:func:`loganalyzer.cli.main` reads common ``analyze`` command lines itself and leaves
everything else to typer (:mod:`loganalyzer.commands.analyze`). Each command line below
runs both ways in this process; stdout, stderr and the exit code must be the same, and
the fast path must have taken the lines it claims to read.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from loganalyzer import cli
from loganalyzer.commands.analyze import fast_args

SAMPLES = Path(__file__).resolve().parents[1] / "sample_logs"
LOG = str(SAMPLES / "overfit" / "training.csv")
JSON_LOG = str(SAMPLES / "diverging" / "history.json")

# (argv, does the fast path read it?)
LINES = [
    (["analyze", LOG, "--format", "json"], True),
    (["analyze", LOG, "-f", "json", "-j", "1"], True),
    (["analyze", "-fjson", "-j1", LOG, JSON_LOG], True),
    (["analyze", LOG, "--format=json", "--fail-on", "never"], True),
    (["analyze", LOG, "--fail-on=warning", "-f", "json"], True),
    (["analyze", LOG], True),
    (["analyze", LOG, "-q", "--no-color"], True),
    (["analyze", LOG, "-v", "--no-color", "--framework", "hf"], True),
    (["analyze", LOG, "-q", "-v"], True),  # contradiction: one line, exit 2
    (["analyze", LOG, "--select", "LA101,LA104", "-f", "json"], True),
    (["analyze", LOG, "--ignore=LA1", "-f", "json"], True),
    (["analyze", LOG, "--train-loss", "mae", "--val-loss", "val_mae", "-f", "json"], True),
    (["analyze", LOG, "--val-loss", "nope", "-f", "json"], True),
    (["analyze", LOG, "-j", "0", "-f", "json"], True),
    (["analyze", LOG, "-j", "many", "-f", "json"], True),  # exit 2 from the command
    (["analyze", "no/such/file.csv", "-f", "json"], True),
    (["analyze", str(SAMPLES / "README.md")], True),
    (["analyze", LOG, "--config", "no/such/pyproject.toml"], True),
    (["analyze", LOG, "--format", "xml"], False),  # typer's usage error
    (["analyze", LOG, "--fail-on", "sometimes"], False),
    (["analyze", LOG, "--framework", "jax"], False),
    (["analyze", LOG, "-qv"], False),
    (["analyze", LOG, "--help"], False),
    (["analyze", "-h"], False),
    (["analyze"], False),
    (["analyze", LOG, "--format"], False),
    (["analyze", LOG, "--formt", "json"], False),
    (["analyze", LOG, "--", "-f"], False),
    (["analyze", "", "-f", "json"], False),
    (["analyze", LOG, "--select", "-q"], False),
    (["--version"], False),
    (["rules", "LA101"], False),
]


def _main(argv: list[str], fast: bool, monkeypatch) -> tuple[int, str, str]:
    monkeypatch.setattr(cli, "FAST_PATH", fast)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        with pytest.raises(SystemExit) as exit_:
            cli.main(list(argv))
    return exit_.value.code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(("argv", "fast"), LINES, ids=[" ".join(a[1:])[-60:] for a, _ in LINES])
def test_the_fast_path_and_typer_agree(argv, fast, monkeypatch):
    assert (fast_args(argv) is not None) == fast
    got = _main(argv, True, monkeypatch)
    want = _main(argv, False, monkeypatch)
    assert got == want
    assert got[0] in (0, 1, 2)

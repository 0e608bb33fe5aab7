"""Option types shared by the commands (``cli.py`` and ``commands/*``).

A module of its own so that ``commands/report.py`` does not import ``cli`` (which
registers the commands: a circular import under ``python -m loganalyzer.cli``). The
options several commands take are made here once (typer is imported by whoever asks:
the fast path of ``analyze`` never does).
"""

from __future__ import annotations

from enum import Enum
from typing import Any


class Framework(str, Enum):
    """The API advice snippets use (``--framework``); default: guessed from the log."""

    keras = "keras"
    hf = "hf"
    lightning = "lightning"
    pytorch = "pytorch"


def train_loss_option() -> Any:
    """``--train-loss NAME``."""
    import typer

    return typer.Option(None, metavar="NAME", help="Metric to use as the training loss.")


def val_loss_option() -> Any:
    """``--val-loss NAME``."""
    import typer

    return typer.Option(None, metavar="NAME", help="Metric to use as the validation loss.")


def jobs_option() -> Any:
    """``--jobs/-j N``."""
    import typer

    from loganalyzer.cli import JOBS_HELP

    return typer.Option("all", "--jobs", "-j", metavar="N", help=JOBS_HELP)


def framework_option() -> Any:
    """``--framework``."""
    import typer

    return typer.Option(
        None, "--framework", help="API of the advice's code (default: guessed from each log)."
    )

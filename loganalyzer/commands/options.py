"""Option types shared by the commands (``cli.py`` and ``commands/*``).

A module of its own so that ``commands/report.py`` does not import ``cli`` (which
registers the commands: a circular import under ``python -m loganalyzer.cli``).
"""

from __future__ import annotations

from enum import Enum


class Framework(str, Enum):
    """The API advice snippets use (``--framework``); default: guessed from the log."""

    keras = "keras"
    hf = "hf"
    lightning = "lightning"
    pytorch = "pytorch"

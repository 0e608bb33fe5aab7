"""Errors a user sees as one line: which file, where, and why.

A reader raises :class:`LogReadError` for input it cannot turn into a run; the
discovery loop catches it (and any other exception a reader lets slip, as a last
resort) and reports it next to the results of every other file. No traceback ever
reaches the user for bad data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

#: The exit code of a run whose analysis met a bug (sysexits' EX_SOFTWARE), see ``cli.py``.
EXIT_INTERNAL = 70


def debugging() -> bool:
    """``--debug`` (or ``LOGANALYZER_DEBUG=1``): let a bug's exception through, with its
    traceback, instead of containing it to one line."""
    return bool(os.environ.get("LOGANALYZER_DEBUG"))


def exit_code_of(errors: list) -> int | None:
    """The exit code the errors of an analysis decide, if any: 70 for a bug met while
    analysing a run (it says more than an unreadable file), 2 for unreadable input."""
    if any(e.internal for e in errors):
        return EXIT_INTERNAL
    return 2 if errors else None


class LogReadError(Exception):
    """A file that could not be read as a training log.

    Args:
        source: The path as the user gave it (or as discovered below a directory).
        why: A short reason a user can act on ("not a training log: plain text").
        where: Optional position ("line 12", "byte 4096", "record 3").
        broken: The file is a log of a known format, damaged (a truncated JSON), not
            some other file: found below a directory it is an error, not a skip.
    """

    def __init__(self, source: str, why: str, where: str | None = None, *, broken: bool = False):
        self.source = str(source)
        self.why = why
        self.where = where
        self.broken = broken
        super().__init__(self.line())

    def line(self) -> str:
        where = f" ({self.where})" if self.where else ""
        return f"{self.source}{where}: {self.why}"


@dataclass(frozen=True)
class ReadError:
    """One unreadable input, as it appears in the output's ``errors`` list."""

    source: str
    error: str
    broken: bool = False  # a damaged log (reported even below a directory), see LogReadError
    #: A bug in loganalyzer met while analysing a readable run (exit 70, not 2): see
    #: :meth:`internal_failure`.
    internal: bool = False

    @classmethod
    def from_exception(cls, source: str, exc: BaseException) -> ReadError:
        if isinstance(exc, LogReadError):
            where = f" ({exc.where})" if exc.where else ""
            return cls(exc.source, f"{exc.why}{where}", exc.broken)
        if isinstance(exc, UnicodeDecodeError):
            return cls(str(source), f"not UTF-8 text (byte {exc.start}): not a training log")
        if isinstance(exc, OSError):
            return cls(str(source), exc.strerror or str(exc))
        return cls(str(source), f"could not be read ({type(exc).__name__}: {exc})")

    @classmethod
    def internal_failure(cls, source: str, what: str, exc: BaseException) -> ReadError:
        """A part of the analysis (``what``: one rule, or the advice) failed on a run
        with an exception: a bug in loganalyzer. It is contained to that part, so the
        run's other findings and every other run still come out, and said in one line."""
        said = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(exc))[:200]
        return cls(
            str(source),
            f"{what} failed with an internal error ({type(exc).__name__}: {said}): a bug in "
            "loganalyzer, not in your log; the rest of this run's analysis is shown "
            "(--debug prints the traceback)",
            internal=True,
        )

    def to_dict(self) -> dict:
        if self.internal:
            return {"source": self.source, "error": self.error, "internal": True}
        return {"source": self.source, "error": self.error}

    def line(self) -> str:
        return f"{self.source}: {self.error}"

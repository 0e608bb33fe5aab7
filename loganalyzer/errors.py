"""Errors a user sees as one line: which file, where, and why.

A reader raises :class:`LogReadError` for input it cannot turn into a run; the
discovery loop catches it (and any other exception a reader lets slip, as a last
resort) and reports it next to the results of every other file. No traceback ever
reaches the user for bad data.
"""

from __future__ import annotations

from dataclasses import dataclass


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

    def to_dict(self) -> dict:
        return {"source": self.source, "error": self.error}

    def line(self) -> str:
        return f"{self.source}: {self.error}"

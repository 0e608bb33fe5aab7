"""Sources: where a log's bytes come from (a local file, a URL, standard input).

Readers are format experts and never learn about buckets. A local file reaches them
as a :class:`pathlib.Path`; anything else as a :class:`Source`, which offers the part
of the ``Path`` interface readers use (``name``, ``suffix``, ``parent``, ``str()``,
``read_bytes()``, ``open("rb")``), so one reader serves every place a log lives.

- **Remote files** (``s3://``, ``gs://``, ``az://``, ``http(s)://`` and every other
  protocol fsspec knows) are listed once per directory argument (one recursive listing
  on object stores, one call per level elsewhere; never one call per file) and opened
  through fsspec. Small text logs are fetched in one concurrent batch
  (:func:`prefetch`); event files are *streamed* in blocks, never downloaded whole
  first. Credentials come from where the protocol's own library looks (environment
  variables, ``~/.aws`` profiles, ``GOOGLE_APPLICATION_CREDENTIALS``, fsspec's
  ``FSSPEC_<PROTOCOL>_<OPTION>`` variables), never from the command line, where they
  would land in a shell history.
- **Standard input** (``-``) is read whole into memory and sniffed like a file.

Protocol packages are extras (``pip install "loganalyzer[s3]"``); a missing one is a
one-line error naming the extra (:class:`MissingExtra`).

Example:
    >>> src = Source.from_bytes("<stdin>", b"epoch,loss\\n0,1.0\\n")
    >>> src.name, src.read_bytes()[:5], is_url("s3://bucket/run"), is_url("runs/a.csv")
    ('<stdin>', b'epoch', True, False)
"""

from __future__ import annotations

import errno
import io
import os
import re
from pathlib import Path, PurePath, PurePosixPath
from typing import Any, BinaryIO

#: The extra that installs each protocol's fsspec implementation.
EXTRAS = {
    "s3": "s3",
    "s3a": "s3",
    "gs": "gcs",
    "gcs": "gcs",
    "az": "azure",
    "abfs": "azure",
    "abfss": "azure",
    "adl": "azure",
    "http": "http",
    "https": "http",
}

#: Remote text logs up to this size are fetched in one concurrent batch; larger ones
#: (and every event file) are streamed when read.
PREFETCH_MAX_BYTES = 8 << 20
#: Block size for streamed remote reads (one ranged request per block).
BLOCK_BYTES = 4 << 20

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*)://")


def is_url(raw: str | os.PathLike) -> bool:
    """``s3://b/k``, ``https://h/p``, ``file:///x``: a path fsspec should open."""
    return isinstance(raw, str) and bool(_SCHEME.match(raw))


class MissingExtra(Exception):
    """The protocol of a URL needs a package that is not installed."""

    def __init__(self, url: str, protocol: str, detail: str = ""):
        extra = EXTRAS.get(protocol)
        if extra:
            why = (
                f'reading {protocol}:// needs the {extra} extra: pip install "loganalyzer[{extra}]"'
            )
        elif detail:
            why = f"cannot read {protocol}:// ({detail})"
        else:
            why = f"unknown protocol {protocol}://"
        self.url, self.why = url, why
        super().__init__(f"{url}: {why}")


def filesystem(url: str) -> tuple[Any, str]:
    """``(fsspec filesystem, path inside it)`` for ``url``.

    Raises:
        MissingExtra: fsspec or the protocol's package is not installed, or the
            protocol is unknown.
    """
    protocol = _SCHEME.match(url).group(1).lower() if is_url(url) else "file"
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise MissingExtra(url, protocol) from None
    try:
        return url_to_fs(url)
    except ImportError as exc:
        raise MissingExtra(url, protocol, str(exc)) from None
    except ValueError as exc:
        if "not known" in str(exc) or "protocol" in str(exc).lower():
            raise MissingExtra(url, protocol) from None
        raise


def os_error(exc: BaseException) -> OSError:
    """A remote store's error as the ``OSError`` a local file would give, so a missing
    or forbidden object reads as the same one line as a missing or forbidden file."""
    if isinstance(exc, FileNotFoundError):
        return FileNotFoundError(errno.ENOENT, "no such file or directory")
    if isinstance(exc, PermissionError):
        return PermissionError(errno.EACCES, os.strerror(errno.EACCES))
    if isinstance(exc, OSError) and exc.strerror:
        return exc
    return OSError(errno.EIO, f"{type(exc).__name__}: {_one_line(exc)}")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


class Source:
    """A log that is not a local file: a remote object or standard input.

    Args:
        prefix: What goes before the path in ``str()`` (``s3://``; ``""`` for stdin).
        key: The path below the prefix (``bucket/sweep/run1/training.csv``).
        size: Size in bytes when known from the listing.
        data: The bytes, when already fetched (stdin, prefetched objects).
        fs: The fsspec filesystem to open it with (dropped when pickled to a worker
            process and rebuilt there from the same environment).
    """

    __slots__ = ("prefix", "key", "size", "_data", "_error", "_fs", "_fs_path")

    def __init__(
        self,
        prefix: str,
        key: str | PurePosixPath,
        *,
        size: int | None = None,
        data: bytes | None = None,
        fs: Any = None,
        fs_path: str | None = None,
    ):
        self.prefix = prefix
        self.key = PurePosixPath(key)
        self.size = size
        self._data = data
        self._error: OSError | None = None
        self._fs = fs
        self._fs_path = fs_path

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> Source:
        """An in-memory source (standard input)."""
        return cls("", name, size=len(data), data=data)

    @classmethod
    def remote(cls, fs: Any, fs_path: str, size: int | None = None) -> Source:
        """The object ``fs_path`` of ``fs``, shown as its URL (``s3://bucket/key``)."""
        url = fs.unstrip_protocol(fs_path)
        m = _SCHEME.match(url)
        prefix = m.group(0) if m else ""
        return cls(prefix, url[len(prefix) :], size=size, fs=fs, fs_path=fs_path)

    # ------------------------------------------------------------ Path-like naming
    def __str__(self) -> str:
        return self.prefix + self.key.as_posix()

    def __repr__(self) -> str:
        return f"Source({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Source) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __lt__(self, other: object) -> bool:
        return str(self) < str(other)

    def as_posix(self) -> str:
        return str(self)

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def suffix(self) -> str:
        return self.key.suffix

    @property
    def parent(self) -> Source:
        return Source(
            self.prefix,
            self.key.parent,
            fs=self._fs,
            fs_path=self._fs_path.rsplit("/", 1)[0] if self._fs_path else None,
        )

    @property
    def parents(self) -> list[Source]:
        out, p = [], self.parent
        while p.key != p.key.parent:
            out.append(p)
            p = p.parent
        out.append(p)
        return out

    def resolve(self) -> Source:
        return self

    def relative_to(self, other: Source) -> PurePosixPath:
        if not isinstance(other, Source) or other.prefix != self.prefix:
            raise ValueError(f"{self} is not below {other}")
        return self.key.relative_to(other.key)

    # ------------------------------------------------------------ bytes
    @property
    def fs(self) -> Any:
        if self._fs is None and self.prefix:
            self._fs, self._fs_path = filesystem(str(self))
        return self._fs

    def fetched(self, data: bytes | None = None, error: BaseException | None = None) -> None:
        """Record the result of a batch fetch (:func:`prefetch`)."""
        self._data = data
        self._error = os_error(error) if error is not None else None

    def read_bytes(self) -> bytes:
        """All bytes (from memory when prefetched).

        Raises:
            OSError: as a local file would (``FileNotFoundError``, ``PermissionError``).
        """
        if self._error is not None:
            raise self._error
        if self._data is not None:
            return self._data
        with self.open("rb") as fh:
            return fh.read()

    def open(self, mode: str = "rb") -> BinaryIO:
        """A binary file object; remote objects are streamed in ``BLOCK_BYTES`` blocks."""
        if mode != "rb":
            raise ValueError("sources are read-only (mode 'rb')")
        if self._error is not None:
            raise self._error
        if self._data is not None:
            return io.BytesIO(self._data)
        try:
            return self.fs.open(self._fs_path, "rb", block_size=BLOCK_BYTES)
        except MissingExtra:
            raise
        except Exception as exc:  # noqa: BLE001 - any store error: the OSError a file gives
            raise os_error(exc) from None

    def __getstate__(self):
        return {s: getattr(self, s) for s in self.__slots__ if s != "_fs"}

    def __setstate__(self, state):
        for k, v in state.items():
            setattr(self, k, v)
        self._fs = None


def prefetch(sources: list[Source]) -> None:
    """Fetch the bytes of many small remote objects in one concurrent batch per
    filesystem (``fs.cat`` of a list: asynchronous stores such as s3fs send the
    requests together instead of one round trip after another)."""
    by_fs: dict[int, list[Source]] = {}
    for s in sources:
        if s._data is None and s._error is None and s.prefix:
            if s.size is not None and s.size > PREFETCH_MAX_BYTES:
                continue
            by_fs.setdefault(id(s.fs), []).append(s)
    for group in by_fs.values():
        fs = group[0].fs
        try:
            got = fs.cat([s._fs_path for s in group], on_error="return")
        except Exception:  # noqa: BLE001 - fall back to reading each one when needed
            continue
        for s in group:
            value = got.get(s._fs_path)
            if isinstance(value, bytes | bytearray):
                s.fetched(bytes(value))
            elif isinstance(value, BaseException):
                s.fetched(error=value)


def stdin_source() -> Source:
    """Standard input, read whole (a pipe cannot be sniffed and then re-read)."""
    import sys

    stream = getattr(sys.stdin, "buffer", None)
    data = stream.read() if stream is not None else (sys.stdin.read() or "").encode()
    return Source.from_bytes("<stdin>", data)


def as_path(p: str | os.PathLike | Source) -> Path | Source:
    """``p`` as something readers can open: a :class:`Source` stays one, anything else
    is a local :class:`pathlib.Path` (``Path(source)`` would lose a URL's ``//``)."""
    return p if isinstance(p, Source | PurePath) else Path(p)


def open_binary(p: str | os.PathLike | Source) -> tuple[BinaryIO, int]:
    """``(binary file object, size in bytes)`` of a local file or a source.

    Raises:
        OSError: as for a local file.
    """
    if isinstance(p, Source):
        fh = p.open("rb")
        size = p.size
        if size is None:
            size = getattr(fh, "size", None)
        if size is None:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(0)
        return fh, int(size)
    fh = open(p, "rb")
    return fh, os.fstat(fh.fileno()).st_size

"""Command line: ``loganalyzer analyze|series|rules|report|compare|verify``.

A thin layer over :func:`loganalyzer.analyze` and the renderers. Exit codes follow
linters: 0 clean, 1 a finding at or above ``--fail-on``, 2 unreadable input, no training
log at all, or bad usage; and two that no diagnosis can give: 70 an internal error (a
bug: the traceback goes to a file, or to stderr with ``--debug``), 74 the output could
not be written (a full disk).

This module is the entry point and stays light: the typer application (options, help,
usage errors) is :mod:`loganalyzer.commands.app`, imported only for command lines the
fast path of ``analyze`` does not take (:mod:`loganalyzer.commands.analyze`).
"""

from __future__ import annotations

import os
import sys


def _error(message: str) -> None:
    """One line on stderr: ``error: FILE: where: why`` (anything a log put in it shown
    escaped: it cannot move the cursor, retitle the terminal or fake a line)."""
    from loganalyzer.renderers._escape import term_text

    try:
        sys.stdout.flush()
        sys.stderr.write(f"error: {term_text(message)}\n")
        sys.stderr.flush()
    except OSError:
        pass  # stderr is gone (a closed pipe): the exit code still tells


JOBS_HELP = "Worker processes for reading, analysing and drawing: a number, or 'all' cores."


def jobs_value(value: str) -> int | None:
    """``--jobs``: a positive number, or ``all`` (also ``auto``/``0``) for every core
    (``None``); raises :class:`ValueError` with the one line to show."""
    if value.strip().lower() in ("all", "0", "auto"):
        return None
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 1:
        raise ValueError(f"expected a positive number or 'all', not {value!r}")
    return n


def parse_jobs(value: str) -> int | None:
    """:func:`jobs_value` for typer commands: raises :class:`typer.BadParameter`. The
    same in every command."""
    try:
        return jobs_value(value)
    except ValueError as exc:
        import typer

        raise typer.BadParameter(str(exc)) from None


def no_logs_message(paths: list, skipped: int = 0) -> str:
    """``no training logs found under runs/, b.csv (3 files skipped: not training
    logs)``: the one line for an input that holds no training log at all."""
    where = ", ".join(str(p) for p in paths) or "the given paths"
    text = f"no training logs found under {where}"
    if skipped:
        text += f" ({skipped} file{'s' if skipped != 1 else ''} skipped: not training logs)"
    return text


#: Exit codes of :func:`main` (README, "Exit codes and CI").
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70  # sysexits' EX_SOFTWARE: a bug in loganalyzer, never 1 (a diagnosis)
# (errors.EXIT_INTERNAL says the same for a bug contained to one rule of one run)
EXIT_OUTPUT = 74  # sysexits' EX_IOERR: the output could not be written


def main(argv: list[str] | None = None) -> None:
    """The ``loganalyzer`` command. Whatever happens, the user gets one line and an exit
    code that says which kind of failure it was; never a traceback, unless ``--debug``
    (anywhere on the command line, or ``LOGANALYZER_DEBUG=1``) asks for it."""
    args = list(sys.argv[1:] if argv is None else argv)
    end = args.index("--") if "--" in args else len(args)
    debug = "--debug" in args[:end] or bool(os.environ.get("LOGANALYZER_DEBUG"))
    args = [a for a in args[:end] if a != "--debug"] + args[end:]
    for stream in (sys.stdout, sys.stderr):
        # a lone surrogate in a run name, or PYTHONIOENCODING=ascii, is shown escaped
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    if argv is None and args[:1] == ["analyze"]:  # the process's own command line
        from loganalyzer import _collector

        _collector.pause()  # for the start-up; see loganalyzer._collector
    if not args or args[0] != "verify":  # verify trains models: numpy left as it starts
        _numpy_without_blas_threads()
    before = os.environ.get("LOGANALYZER_DEBUG")
    if debug:  # the analysis lets a bug's exception through (errors.debugging), workers too
        os.environ["LOGANALYZER_DEBUG"] = "1"
    try:
        code = _run(args)
    except Exception as exc:  # noqa: BLE001 - the one place every failure is turned into a line
        code = _failure(exc, debug)
    finally:
        if before is None:  # main() called in-process (tests, notebooks) leaves no trace
            os.environ.pop("LOGANALYZER_DEBUG", None)
    sys.exit(code)


def _numpy_without_blas_threads() -> None:
    """Import numpy with OpenBLAS on one thread, unless the user chose a number.

    At import, numpy's OpenBLAS starts a helper thread per core, and each spins for
    a while waiting for work before it sleeps; reading and judging logs never
    multiplies a matrix, so a one-log run paid about 60 ms of CPU on the other cores
    for nothing (median, this 2-core VM under load). The variable is restored after
    the import: nothing this command starts later inherits it."""
    if "numpy" in sys.modules or "OPENBLAS_NUM_THREADS" in os.environ:
        return
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        import numpy  # noqa: F401
    except ImportError:
        pass  # said where numpy is needed
    finally:
        del os.environ["OPENBLAS_NUM_THREADS"]


#: Take the fast path of ``analyze`` when it can (tests switch it off to compare).
FAST_PATH = True


def _run(args: list[str]) -> int:
    """Run the command; its output flushed, so a full disk shows here, not at exit.

    An ``analyze`` command line the fast path reads exactly as typer would runs
    without importing typer (see :mod:`loganalyzer.commands.analyze` for why);
    everything else, help and usage errors included, goes through the typer app.
    """
    from loganalyzer import _collector
    from loganalyzer.commands import analyze

    fast = analyze.fast_args(args) if FAST_PATH else None
    try:
        if fast is not None:
            code = analyze.invoke(fast)
        else:
            _collector.resume()
            from loganalyzer.commands.app import app

            app(args=args, prog_name="loganalyzer")
            code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        _collector.resume()
    sys.stdout.flush()
    return code


def _failure(exc: Exception, debug: bool) -> int:
    from loganalyzer.config import ConfigError
    from loganalyzer.rulepack import RulePackError

    if isinstance(exc, ConfigError | RulePackError):
        _error(str(exc))  # e.g. a bad pyproject.toml under report/compare
        return EXIT_USAGE
    if isinstance(exc, OSError) and not debug:
        _mute_stdout()
        what = exc.filename if exc.filename else "writing the output"
        _error(f"{what}: {exc.strerror or exc}")
        return EXIT_OUTPUT
    import traceback

    text = "".join(traceback.format_exception(exc))
    where = _save_traceback(text) if not debug else None
    if where is None:
        _quiet_write(sys.stderr, text)
    said = _printable(f"{type(exc).__name__}: {exc}")[:300]
    _error(
        f"internal error ({said}): a bug in loganalyzer, not in your logs; "
        + (f"the traceback is in {where} (--debug prints it)" if where else "traceback above")
    )
    return EXIT_INTERNAL


def _save_traceback(text: str) -> str | None:
    """Write the traceback (with versions and the command) to a temporary file; its path."""
    import platform
    import tempfile
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("loganalyzer")
    except PackageNotFoundError:
        ours = "unknown"
    head = (
        f"loganalyzer {ours}, Python {platform.python_version()}, {platform.platform()}\n"
        f"command: {' '.join(sys.argv)}\n\n"
    )
    try:
        fd, path = tempfile.mkstemp(prefix="loganalyzer-crash-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(head + text)
    except OSError:
        return None
    return path


def _printable(text: str) -> str:
    """Control characters (a log's ESC, BEL) escaped, so an error line cannot act on the terminal."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def _quiet_write(stream, text: str) -> None:
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError):
        pass  # stderr itself is gone: the exit code is all that is left


def _mute_stdout() -> None:
    """After a failed write, send what is still buffered to /dev/null: otherwise Python
    tries again at exit and prints its own traceback."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError, AttributeError):  # no file descriptor (a test's capture)
        pass


def __getattr__(name: str):
    """``from loganalyzer.cli import app`` (and the other typer parts) still works:
    they live in :mod:`loganalyzer.commands.app`, imported only when asked for."""
    if name.startswith("__"):
        raise AttributeError(name)
    from loganalyzer.commands import app as typer_app

    try:
        return getattr(typer_app, name)
    except AttributeError:
        raise AttributeError(f"module 'loganalyzer.cli' has no attribute {name!r}") from None


if __name__ == "__main__":
    main()

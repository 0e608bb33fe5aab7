"""loganalyzer: read a deep-learning run's logs, diagnose it, and advise with evidence.

Example:
    >>> import loganalyzer
    >>> result = loganalyzer.analyze({"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7]})
    >>> result.runs[0].run.length
    3
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loganalyzer.analysis import Analysis, RunResult, analyze
    from loganalyzer.run import Run

__all__ = ["Analysis", "Run", "RunResult", "analyze", "__version__"]
__version__ = "0.1.0"

# The API is imported on first use, not with the package: the command line
# (loganalyzer.cli) decides how numpy starts before anything imports it.
_API = {
    "Analysis": "loganalyzer.analysis",
    "RunResult": "loganalyzer.analysis",
    "analyze": "loganalyzer.analysis",
    "Run": "loganalyzer.run",
}


def __getattr__(name: str):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'loganalyzer' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

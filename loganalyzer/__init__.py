"""loganalyzer: read a deep-learning run's logs, diagnose it, and advise with evidence.

Example:
    >>> import loganalyzer
    >>> result = loganalyzer.analyze({"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7]})
    >>> result.runs[0].run.length
    3
"""

from loganalyzer.analysis import Analysis, RunResult, analyze
from loganalyzer.run import Run

__all__ = ["Analysis", "Run", "RunResult", "analyze", "__version__"]
__version__ = "0.1.0"

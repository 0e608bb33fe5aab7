"""The Examples in the docstrings of the analysis path are true (they are the first
thing a contributor reads about a detector, an advice action or a reader)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import loganalyzer

# verify/ trains Keras models in its examples and has its own tests.
SKIP = ("loganalyzer.verify", "loganalyzer.commands.verify", "loganalyzer.renderers.verification")


def _modules():
    """Modules of the package that have at least one docstring example."""
    finder = doctest.DocTestFinder()
    for info in pkgutil.walk_packages(loganalyzer.__path__, "loganalyzer."):
        if info.name.startswith(SKIP):
            continue
        module = importlib.import_module(info.name)
        if any(t.examples for t in finder.find(module)):
            yield info.name


@pytest.mark.parametrize("name", sorted(_modules()))
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"

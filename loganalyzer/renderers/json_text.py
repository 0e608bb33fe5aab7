"""``--format json``: the analysis as indented JSON text.

:func:`dumps` writes exactly what ``json.dumps(obj, indent=2, allow_nan=False)``
writes (the ``loganalyzer/1`` schema's bytes are a contract: scripts diff them), about
three times faster: with an indent, the standard library falls back from its C encoder
to a generator per nesting level, which costs more than judging a 100-epoch run. Only
what :func:`loganalyzer.findings.jsonable` produces is expected (dicts with string
keys, lists, strings, ints, finite floats, booleans, ``None``); anything else is left
to ``json.dumps``.

Example:
    >>> print(dumps({"runs": [{"best": {"index": 3, "value": 0.5}}], "errors": []}))
    {
      "runs": [
        {
          "best": {
            "index": 3,
            "value": 0.5
          }
        }
      ],
      "errors": []
    }
"""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring_ascii as _string


def dumps(obj, indent: int = 2) -> str:
    """``json.dumps(obj, indent=indent, allow_nan=False)``, faster (see the module)."""
    return _dumps(obj, indent, "")


def _dumps(obj, indent: int, margin: str) -> str:
    """:func:`dumps` with ``margin`` after every line end (the text of ``obj`` as it
    stands nested in a larger document), written so instead of replaced afterwards."""
    out: list[str] = []
    try:
        _write(obj, out, "\n" + margin, " " * indent)
    except _Unusual:
        text = json.dumps(obj, indent=indent, allow_nan=False)
        return text.replace("\n", "\n" + margin) if margin else text
    return "".join(out)


class _Unusual(Exception):
    """A value this writer does not handle (left to ``json.dumps``)."""


def _write(obj, out: list[str], newline: str, step: str) -> None:
    kind = type(obj)
    if kind is str:
        out.append(_string(obj))
    elif kind is dict:
        if not obj:
            out.append("{}")
            return
        inner = newline + step
        first = True
        for key, value in obj.items():
            if type(key) is not str:
                raise _Unusual
            out.append("{" + inner if first else "," + inner)
            first = False
            out.append(_string(key) + ": ")
            _write(value, out, inner, step)
        out.append(newline + "}")
    elif kind is list:
        if not obj:
            out.append("[]")
            return
        inner = newline + step
        first = True
        for value in obj:
            out.append("[" + inner if first else "," + inner)
            first = False
            _write(value, out, inner, step)
        out.append(newline + "]")
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif kind is int:
        out.append(int.__repr__(obj))
    elif kind is float:
        text = _FLOAT_TEXT.get(obj)
        if text is None:
            if not math.isfinite(obj):
                raise _Unusual
            text = float.__repr__(obj)
            if obj and len(_FLOAT_TEXT) < _FLOATS_KEPT:  # not 0.0: -0.0 is equal to it
                _FLOAT_TEXT[obj] = text
        out.append(text)
    else:
        raise _Unusual


#: The text of floats already written: a float's shortest repr costs as much as writing
#: ten other values, and runs repeat many (0.5, 1e-06, thresholds, advice parameters,
#: a sweep's shared values). The first values met are kept, up to a bound.
_FLOAT_TEXT: dict[float, str] = {}
_FLOATS_KEPT = 4096


def run_item(run: dict) -> str:
    """One run of the document's ``"runs"`` list, indented as it stands there (a
    worker renders its runs; :func:`document` puts them in place)."""
    return _dumps(run, 2, "    ")


def document(schema: str, runs, errors: list, skipped: list):
    """The text of ``Analysis.to_dict()`` as :func:`dumps` writes it, in pieces, from
    the runs' :func:`run_item` texts (an iterable: a sweep's runs are never all held)
    and the errors' and skipped files' dicts.

    Example:
        >>> "".join(document("s/1", [run_item({"run": "a"})], [], []))
        '{\\n  "schema": "s/1",\\n  "runs": [\\n    {\\n      "run": "a"\\n    }\\n  ],\\n  "errors": [],\\n  "skipped": []\\n}'
    """
    yield '{\n  "schema": ' + _string(schema) + ',\n  "runs": '
    first = True
    for text in runs:
        yield ("[\n    " if first else ",\n    ") + text
        first = False
    yield "[]" if first else "\n  ]"
    yield ',\n  "errors": ' + dumps(errors).replace("\n", "\n  ")
    yield ',\n  "skipped": ' + dumps(skipped).replace("\n", "\n  ") + "\n}"

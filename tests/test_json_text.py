"""``--format json`` text: the fast writer gives json.dumps(indent=2)'s bytes."""

from __future__ import annotations

import json
from enum import Enum

import pytest

from loganalyzer.renderers.json_text import dumps


class Color(str, Enum):
    red = "red"


CASES = [
    {},
    [],
    {"a": [], "b": {}, "c": [[], [{}]], "d": [1, [2, [3, {"e": None}]]]},
    {"s": 'quote " backslash \\ newline \n tab \t bell \x07 é ü 中 \U0001f600 \udc80'},
    {"f": [0.0, -0.0, 1e-300, 1.5e300, 0.1 + 0.2, -2.5, 1e16, 123456789.123]},
    # written again (the texts of floats met before are kept): still their own text
    {"again": [0.5, -0.0, 0.0, 0.5, 0.0, -0.0, 1e-06, 1e-06, -2.5, 1e16]},
    {"i": [0, -1, 2**64, -(2**70), True, False, None]},
    {"nested": {"k": {"k": {"k": {"k": ["deep"]}}}}},
    [{"run": "a"}, {"run": "b", "findings": [{"evidence": {"spikes": [{"index": 5}]}}]}],
    {"enum": Color.red},  # a str subclass: left to json.dumps
    {1: "int key"},  # a non-string key: left to json.dumps
]


@pytest.mark.parametrize("obj", CASES)
def test_the_same_text_as_json_dumps(obj):
    assert dumps(obj) == json.dumps(obj, indent=2, allow_nan=False)
    assert dumps(obj, 4) == json.dumps(obj, indent=4, allow_nan=False)


def test_non_finite_floats_are_refused_as_json_dumps_refuses_them():
    for _ in range(2):
        for bad in (float("nan"), float("inf"), -float("inf")):
            with pytest.raises(ValueError):
                dumps({"x": [0.5, bad]})


def test_a_document_from_run_items_is_the_analysis_json():
    from pathlib import Path

    from loganalyzer import analyze
    from loganalyzer.analysis import SCHEMA
    from loganalyzer.renderers.json_text import document, run_item

    samples = Path(__file__).resolve().parents[1] / "sample_logs"
    result = analyze([str(samples), str(samples / "no-such.csv")])
    d = result.to_dict()
    assert d["runs"] and d["errors"]
    text = "".join(document(SCHEMA, (run_item(r) for r in d["runs"]), d["errors"], d["skipped"]))
    assert text == result.to_json() == json.dumps(d, indent=2, allow_nan=False)

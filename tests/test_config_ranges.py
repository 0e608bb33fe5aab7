"""Every rule parameter has a range (data in rules/*.toml); a configuration outside it is
one clear line and exit 2, and every value inside it runs without a crash."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from loganalyzer.analysis import analyze
from loganalyzer.config import ConfigError, find_config_file, from_mapping, load_config
from loganalyzer.rulepack import Range, RulePackError, _parse, load_rules
from loganalyzer.run import Run

SAMPLES = Path(__file__).resolve().parents[1] / "sample_logs"
RULES = load_rules()


@pytest.mark.parametrize(
    ("code", "name", "value", "shown"),
    [
        ("LA101", "alpha", 1.0, "(0, 1), got 1.0"),
        ("LA107", "window_fraction", math.nan, "(0, 1], got nan"),
        ("LA108", "min_fraction", math.nan, "(0, 1], got nan"),
        ("LA104", "min_fraction", 0, "(0, 1], got 0.0"),
        ("LA100", "min_points", -5, "[3, inf), got -5"),
        ("LA102", "min_rise_sigma", math.inf, "[0, inf), got inf"),
    ],
)
def test_a_value_outside_its_range_is_one_line(code, name, value, shown):
    # before: accepted, then a traceback (ValueError: cannot convert float NaN to integer)
    with pytest.raises(ConfigError) as err:
        from_mapping({"rules": {code: {name: value}}}, "pyproject.toml")
    assert str(err.value) == f"pyproject.toml: rules.{code}.{name}: must be in {shown}"


def test_every_parameter_has_a_range_holding_its_default():
    for rule in RULES:
        assert set(rule.ranges) == set(rule.params), rule.code
        assert all(rule.params[k] in rule.ranges[k] for k in rule.params)


def test_a_rule_file_without_a_range_is_refused(tmp_path):
    text = Path(RULES[0].path).read_text()
    p = tmp_path / f"{RULES[0].code}.toml"
    p.write_text(text[: text.index("[ranges]")])
    with pytest.raises(RulePackError, match="no range for parameter"):
        _parse(p)
    assert Range.parse("[0, inf)") == Range(0.0, math.inf, True, False)
    with pytest.raises(ValueError):
        Range.parse("0..1")


def _edge(r: Range, integer: bool, low: bool) -> float:
    step = 1 if integer else 1e-6
    if low:
        return r.lo if r.lo_closed else r.lo + step
    if math.isinf(r.hi):
        return 1000 if integer else 1e6
    return r.hi if r.hi_closed else r.hi - step


def _runs() -> list:
    rng = np.random.default_rng(1)
    curves = [
        {"loss": [1.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0], "val_loss": [1.0, 0.6, 0.5, 0.5, 1, 2, 3]},
        {"loss": list(np.linspace(1, 0.1, 60) + 0.05 * rng.standard_normal(60))},
        {"loss": [2.0, 1.0, 0.5, math.nan, math.nan], "accuracy": [0.1, 0.5, 0.9, 0.9, 0.9]},
        {"loss": [1.0] * 30, "val_loss": [-1.0] * 30},
    ]
    runs = [
        Run.from_frame("c", __import__("pandas").DataFrame(c), format="python", index="epoch")
        for c in curves
    ]
    return runs + [str(SAMPLES / d / "history.json") for d in ("overfit", "noisy", "diverging")]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_every_value_inside_the_ranges_runs(rule):
    """Each rule with all its parameters at the low, then the high, end of their ranges."""
    for low in (True, False):
        params = {k: _edge(rule.ranges[k], isinstance(v, int), low) for k, v in rule.params.items()}
        params = {k: int(v) if isinstance(rule.params[k], int) else v for k, v in params.items()}
        config = from_mapping({"select": [rule.code], "rules": {rule.code: params}})
        for obj in _runs():
            analyze(obj, config=config)  # no exception, whatever it finds


def test_a_non_utf8_pyproject_is_an_error_not_ignored(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_bytes(b'[tool.loganalyzer]\nfail-on = "never"\n# \xff\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config()  # before: silently no configuration
    # a foreign pyproject.toml (no loganalyzer table) is still none of our business
    (tmp_path / "pyproject.toml").write_bytes(b"[tool.other]\n# \xff\n")
    assert find_config_file(tmp_path) is None


def test_bad_config_under_report_and_compare_is_one_line_exit_2(tmp_path):
    log = tmp_path / "h.json"
    log.write_bytes((SAMPLES / "overfit" / "history.json").read_bytes())
    (tmp_path / "pyproject.toml").write_text("[tool.loganalyzer.rules.LA101]\nalpha = 1.0\n")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    for args in (["report", str(log), "-o", str(tmp_path / "r.html")], ["compare", str(log)] * 1):
        cmd = [sys.executable, "-m", "loganalyzer.cli", *args]
        if args[0] == "compare":
            cmd.append(str(log))
        out = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=env)
        assert out.returncode == 2, out.stderr
        assert "Traceback" not in out.stderr
        assert (
            out.stderr.strip()
            .splitlines()[-1]
            .endswith("rules.LA101.alpha: must be in (0, 1), got 1.0")
        )

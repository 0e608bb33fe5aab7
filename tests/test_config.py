"""Configuration like ruff: [tool.loganalyzer] in the nearest pyproject.toml or --config FILE,
select/ignore by code or prefix, per-rule parameters checked against the rule pack, and one
clear line for anything wrong."""

from __future__ import annotations

import pytest

from loganalyzer.analysis import analyze
from loganalyzer.config import Config, ConfigError, find_config_file, from_mapping, load_config
from loganalyzer.rulepack import load_rules

CODES = [r.code for r in load_rules()]
# LA100 (too-short) ships as the format example; its parameter is min_points.
TOO_SHORT = {"loss": [1.0, 0.7, 0.6], "val_loss": [1.1, 0.8, 0.75]}


def test_default_selects_every_rule():
    cfg = Config()
    assert all(cfg.is_selected(c) for c in CODES)
    assert cfg.fail_on is None and cfg.params_for("LA100") == {}


def test_prefix_select_and_ignore_with_the_more_specific_winning():
    cfg = from_mapping({"select": ["LA1"], "ignore": ["LA100"]})
    assert not cfg.is_selected("LA100")
    assert all(cfg.is_selected(c) for c in CODES if c != "LA100")
    # ruff semantics: an explicit code in select beats a broader ignore prefix
    cfg = from_mapping({"select": ["LA100"], "ignore": ["LA1"]})
    assert cfg.is_selected("LA100")
    assert not any(cfg.is_selected(c) for c in CODES if c != "LA100")


def test_ignored_rule_produces_no_finding_and_params_reach_the_detector():
    findings = analyze(TOO_SHORT, config=Config()).findings
    if not any(f.rule == "LA100" for f in findings):
        pytest.skip("the too-short detector (LA100) is not registered yet")
    ignored = from_mapping({"ignore": ["LA100"]})
    assert not any(f.rule == "LA100" for f in analyze(TOO_SHORT, config=ignored).findings)
    # with min_points = 3, three points are enough: no too-short finding any more
    relaxed = from_mapping({"rules": {"LA100": {"min_points": 3}}})
    assert not any(f.rule == "LA100" for f in analyze(TOO_SHORT, config=relaxed).findings)


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ({"selct": ["LA1"]}, "unknown key 'selct'"),
        ({"fail_on": "warning"}, "did you mean 'fail-on'"),
        ({"select": ["LA9"]}, "unknown rule code or prefix 'LA9'"),
        ({"ignore": ["XY"]}, "unknown rule code or prefix 'XY'"),
        ({"select": "LA100"}, "select: must be a list"),
        ({"fail-on": "fatal"}, "fail-on: must be one of info, warning, error, never"),
        ({"rules": {"LA999": {"x": 1}}}, "[rules.LA999]: unknown rule code 'LA999'"),
        ({"rules": {"LA100": {"min_pints": 3}}}, "unknown parameter 'min_pints' for LA100"),
        ({"rules": {"LA100": {"min_points": "3"}}}, "[rules.LA100] min_points: must be a number"),
        ({"rules": {"LA100": {"min_points": 2.5}}}, "min_points: must be a number"),
        ({"rules": {"LA100": {"min_points": True}}}, "min_points: must be a number"),
    ],
)
def test_bad_settings_are_one_clear_line(table, needle):
    with pytest.raises(ConfigError) as exc:
        from_mapping(table, "pyproject.toml")
    msg = str(exc.value)
    assert needle in msg and msg.startswith("pyproject.toml: ") and "\n" not in msg


def test_numbers_are_coerced_to_the_default_type():
    cfg = from_mapping({"rules": {"LA100": {"min_points": 4.0}}})
    assert cfg.params_for("LA100") == {"min_points": 4}
    assert isinstance(cfg.params_for("LA100")["min_points"], int)


def test_nearest_pyproject_is_found_upwards(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.loganalyzer]\nignore = ["LA100"]\nfail-on = "warning"\n'
        "\n[tool.loganalyzer.rules.LA100]\nmin_points = 7\n"
    )
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    # a pyproject.toml without [tool.loganalyzer] in between is passed over, like ruff
    (tmp_path / "a" / "pyproject.toml").write_text('[project]\nname = "inner"\n')
    monkeypatch.chdir(sub)
    assert find_config_file() == tmp_path / "pyproject.toml"
    cfg = load_config()
    assert cfg.fail_on == "warning" and not cfg.is_selected("LA100")
    assert cfg.params_for("LA100") == {"min_points": 7}
    assert cfg.source == str(tmp_path / "pyproject.toml")


def test_analyze_without_config_uses_the_nearest_one(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.loganalyzer]\nselect = ["LA100"]\n')
    monkeypatch.chdir(tmp_path)
    result = analyze(TOO_SHORT)
    assert {f.rule for f in result.findings} <= {"LA100"}
    (tmp_path / "pyproject.toml").write_text('[tool.loganalyzer]\nignore = ["LA100"]\n')
    assert "LA100" not in {f.rule for f in analyze(TOO_SHORT).findings}


def test_loganalyzer_toml_has_the_keys_at_top_level(tmp_path):
    path = tmp_path / "loganalyzer.toml"
    path.write_text('select = ["LA1"]\nfail-on = "never"\n[rules.LA100]\nmin_points = 4\n')
    cfg = load_config(path)
    assert cfg.select == ("LA1",) and cfg.fail_on == "never"
    assert cfg.params_for("LA100") == {"min_points": 4}


def test_explicit_pyproject_without_the_table_and_broken_toml_are_errors(tmp_path):
    py = tmp_path / "pyproject.toml"
    py.write_text('[project]\nname = "x"\n')
    with pytest.raises(ConfigError, match=r"no \[tool.loganalyzer\] table"):
        load_config(py)
    bad = tmp_path / "loganalyzer.toml"
    bad.write_text("select = [LA1\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def test_command_line_overrides_replace_the_file_values():
    cfg = from_mapping({"ignore": ["LA100"], "fail-on": "warning"})
    over = cfg.with_overrides(ignore=[], fail_on="never")
    assert over.is_selected("LA100") and over.fail_on == "never"
    with pytest.raises(ConfigError, match="--select: unknown rule code or prefix 'LA7'"):
        cfg.with_overrides(select=["LA7"])

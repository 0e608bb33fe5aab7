"""The rule pack is read from a cache of its parsed TOML when the files are unchanged
(a single-log run then needs no TOML parser), and from the files when they change:
an edited, added or broken rule file is seen at once, with the same rules as parsing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loganalyzer import rulepack
from loganalyzer.rulepack import RulePackError, load_rules, rules_dir


def _fresh(directory: Path) -> tuple:
    load_rules.cache_clear()  # the in-process memo; the on-disk cache is what is tested
    try:
        return load_rules(str(directory))
    finally:
        load_rules.cache_clear()


@pytest.fixture
def pack(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    d = tmp_path / "rules"
    shutil.copytree(rules_dir(), d)
    return d


def test_cached_pack_is_the_parsed_pack(pack, tmp_path):
    parsed = _fresh(pack)  # parses and writes the cache
    assert list((tmp_path / "cache" / "loganalyzer").glob("rulepack-*.json"))
    cached = _fresh(pack)
    assert cached == parsed
    assert [r.code for r in cached] == [r.code for r in load_rules()]


def test_an_edited_rule_file_is_read_again(pack):
    _fresh(pack)
    f = pack / "LA101.toml"
    text = f.read_text()
    f.write_text(text.replace('severity = "warning"', 'severity = "error"', 1) + "\n")
    assert {r.code: r.severity for r in _fresh(pack)}["LA101"] == "error"


def test_a_broken_rule_file_is_one_clear_error_after_a_cached_run(pack):
    _fresh(pack)
    (pack / "LA101.toml").write_text('code = "LA101"\nkind = [')
    with pytest.raises(RulePackError, match="LA101.toml"):
        _fresh(pack)


def test_an_unwritable_cache_only_means_parsing(pack, tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert [r.code for r in _fresh(pack)] == [r.code for r in load_rules()]
    assert rulepack._cache_file(pack) is not None


def test_single_log_run_imports_no_toml_parser(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    log = Path(__file__).resolve().parents[1] / "sample_logs" / "overfit" / "training.csv"
    code = (
        "import sys; from loganalyzer.cli import main\n"
        "try: main(['analyze', sys.argv[1], '--format', 'json'])\n"
        "except SystemExit: pass\n"
        "print('tomllib' in sys.modules, file=sys.stderr)"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code, str(log)],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            check=False,
        )
        for _ in range(2)
    ]
    assert runs[0].stdout == runs[1].stdout
    assert runs[1].stderr.strip().splitlines()[-1] == "False"  # the second reads the cache

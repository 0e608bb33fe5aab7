"""`loganalyzer rules` lists the rule pack; `loganalyzer rules CODE` prints one rule's docs."""

from __future__ import annotations

from typer.testing import CliRunner

from loganalyzer.cli import app
from loganalyzer.rulepack import load_rules

runner = CliRunner()


def test_rules_lists_every_rule_with_kind_severity_and_title():
    res = runner.invoke(app, ["rules"])
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["code", "kind", "severity", "title"]
    pack = load_rules()
    assert len(lines) == len(pack) + 1
    for rule, line in zip(pack, lines[1:], strict=True):
        assert line.split()[:3] == [rule.code, rule.kind, rule.severity]
        assert line.rstrip().endswith(rule.title)


def test_rule_docs_show_what_why_fix_example_params_and_advice():
    for rule in load_rules():
        res = runner.invoke(app, ["rules", rule.code.lower()])
        assert res.exit_code == 0, res.stderr
        out = res.stdout
        assert out.startswith(f"{rule.code}  {rule.title}")
        assert f"kind: {rule.kind}" in out and f"default severity: {rule.severity}" in out
        for key, label in (
            ("what", "What it flags:"),
            ("why", "Why it matters:"),
            ("fix", "What to do:"),
            ("example", "Example:"),
        ):
            if rule.docs.get(key):
                assert label in out
                # the text is all there (wrapped, so compare words)
                assert " ".join(rule.docs[key].split()) in " ".join(out.split())
        for name, value in rule.params.items():
            assert f"  {name} = {value!r}" in out
        for link in rule.advice:
            assert f"  {link.priority}  {link.action}" in out


def test_too_short_rule_docs_name_its_parameter():
    res = runner.invoke(app, ["rules", "LA100"])
    assert "min_points = 5" in res.stdout
    assert "[tool.loganalyzer.rules.LA100]" in res.stdout


def test_unknown_code_is_one_clear_line_and_exit_2():
    res = runner.invoke(app, ["rules", "LA999"])
    assert res.exit_code == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: unknown rule 'LA999'") and "LA100" in lines[0]
    # The line names the kinds too: that is what every output shows.
    assert all(rule.kind in lines[0] for rule in load_rules())


def test_rule_lookup_by_kind_as_shown_everywhere():
    pack = load_rules()
    for kind in sorted({r.kind for r in pack}):
        codes = [r.code for r in pack if r.kind == kind]
        for query in (kind, kind.upper(), kind.replace("-", " "), kind.replace("-", "_")):
            res = runner.invoke(app, ["rules", query])
            assert res.exit_code == 0, (query, res.stderr)
            heads = [line.split()[0] for line in res.stdout.splitlines() if line[:2] == "LA"]
            assert [h for h in heads if h in codes] == codes, query
            assert f"kind: {kind}" in res.stdout

"""Configuration, like ruff: which rules run, with which parameters, and what fails.

Settings live in ``[tool.loganalyzer]`` of the nearest ``pyproject.toml`` (searched
upwards from the current directory), in a ``loganalyzer.toml`` with the same keys at
the top level, or in a file given with ``--config FILE``::

    [tool.loganalyzer]
    select = ["LA1"]              # codes or prefixes; default: every rule
    ignore = ["LA105"]            # codes or prefixes to leave out
    fail-on = "warning"           # info | warning | error | never (default: error)

    [tool.loganalyzer.rules.LA101]
    min_rise_sigma = 4            # any parameter listed in the rule's [params]

When a code matches both ``select`` and ``ignore``, the more specific (longer)
prefix wins, as in ruff: ``select = ["LA101"]`` with ``ignore = ["LA1"]`` keeps LA101.

Anything wrong (an unknown key, rule code, parameter name, or a value of the wrong
type) is a :class:`ConfigError` whose message is one line: file, where, why.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

FAIL_ON = ("info", "warning", "error", "never")
KEYS = ("select", "ignore", "fail-on", "rules")


class ConfigError(Exception):
    """A configuration that cannot be used; ``str(exc)`` is one line: file, where, why."""


@dataclass(frozen=True)
class Config:
    """Rule selection, per-rule parameters and the failure threshold.

    Args:
        select: Codes or prefixes of the rules to run (``None``: all rules).
        ignore: Codes or prefixes of rules to leave out.
        fail_on: Lowest severity that makes ``analyze`` exit 1 (``None``: not set,
            the command line's default ``error`` applies).
        rules: ``{code: {param: value}}`` overriding the rule pack's defaults.
        source: The file these settings came from, if any.

    Example:
        >>> cfg = Config(select=("LA1",), ignore=("LA105",))
        >>> cfg.is_selected("LA101"), cfg.is_selected("LA105")
        (True, False)
    """

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    fail_on: str | None = None
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str | None = None

    def is_selected(self, code: str) -> bool:
        """Does ``code`` run? The longest matching prefix of ``select``/``ignore`` decides."""
        sel = _longest_match(code, self.select) if self.select is not None else 0
        if sel < 0:
            return False
        ign = _longest_match(code, self.ignore)
        return ign < 0 or sel > ign

    def params_for(self, code: str) -> dict[str, Any]:
        """The user's parameter overrides for rule ``code`` (may be empty)."""
        return dict(self.rules.get(code, {}))

    def with_overrides(
        self,
        *,
        select: list[str] | None = None,
        ignore: list[str] | None = None,
        fail_on: str | None = None,
    ) -> Config:
        """A copy with command-line values replacing the file's (validated).

        Raises:
            ConfigError: an unknown code or prefix, or a bad ``fail_on``.
        """
        changes: dict[str, Any] = {}
        if select is not None:
            changes["select"] = tuple(_check_selection(select, "--select", "command line"))
        if ignore is not None:
            changes["ignore"] = tuple(_check_codes(ignore, "--ignore", "command line"))
        if fail_on is not None:
            changes["fail_on"] = _check_fail_on(fail_on, "--fail-on", "command line")
        return replace(self, **changes)


def _longest_match(code: str, prefixes: tuple[str, ...]) -> int:
    """Length of the longest prefix in ``prefixes`` that ``code`` starts with; -1 if none."""
    best = -1
    for p in prefixes:
        if p == "ALL":
            best = max(best, 0)
        elif code.startswith(p):
            best = max(best, len(p))
    return best


def _known_codes() -> list[str]:
    from loganalyzer.rulepack import load_rules

    return [r.code for r in load_rules()]


def _check_codes(values: Any, where: str, source: str) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{source}: {where}: must be a list of rule codes or prefixes")
    known = _known_codes()
    out = []
    for v in values:
        v = v.strip()
        if not v:
            continue
        if v != "ALL" and not any(c.startswith(v) for c in known):
            raise ConfigError(
                f"{source}: {where}: unknown rule code or prefix {v!r} (known: {', '.join(known)})"
            )
        out.append(v)
    return out


def _check_selection(values: Any, where: str, source: str) -> list[str]:
    """``select`` must name at least one rule: an empty selection would run nothing
    and pass every check (``--select ''`` in a CI script)."""
    codes = _check_codes(values, where, source)
    if not codes:
        raise ConfigError(
            f"{source}: {where}: selects no rule (give codes or prefixes such as LA1, or ALL)"
        )
    return codes


def _check_fail_on(value: Any, where: str, source: str) -> str:
    if value not in FAIL_ON:
        raise ConfigError(f"{source}: {where}: must be one of {', '.join(FAIL_ON)}, not {value!r}")
    return value


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string"}.get(
        type(value), type(value).__name__
    )


def _check_param(code: str, name: str, value: Any, rule: Any, source: str) -> Any:
    where = f"[rules.{code}] {name}"
    default = rule.params[name]
    if isinstance(default, bool) or isinstance(value, bool):
        ok = isinstance(default, bool) and isinstance(value, bool)
    elif isinstance(default, (int, float)):
        ok = isinstance(value, (int, float))
        if ok and isinstance(default, int) and not isinstance(value, int):
            ok = float(value).is_integer()
            value = int(value) if ok else value
        elif ok and isinstance(default, float):
            value = float(value)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(
            f"{source}: {where}: must be {_type_name(default)} like the default "
            f"{default!r}, not {value!r}"
        )
    allowed = rule.ranges.get(name)
    if allowed is not None and isinstance(value, int | float) and value not in allowed:
        raise ConfigError(f"{source}: rules.{code}.{name}: must be in {allowed}, got {value!r}")
    return value


def from_mapping(data: dict[str, Any], source: str = "<config>") -> Config:
    """Validate a ``[tool.loganalyzer]`` table (already parsed) into a :class:`Config`.

    Raises:
        ConfigError: an unknown key, code, parameter, or a value of the wrong type.

    Example:
        >>> from_mapping({"ignore": ["LA100"], "fail-on": "warning"}).fail_on
        'warning'
    """
    for key in data:
        if key not in KEYS:
            hint = " (did you mean 'fail-on'?)" if key in ("fail_on", "failon") else ""
            raise ConfigError(f"{source}: unknown key {key!r}{hint} (known: {', '.join(KEYS)})")
    select = data.get("select")
    cfg_select = tuple(_check_selection(select, "select", source)) if select is not None else None
    ignore = tuple(_check_codes(data.get("ignore", []), "ignore", source))
    fail_on = data.get("fail-on")
    if fail_on is not None:
        fail_on = _check_fail_on(fail_on, "fail-on", source)
    rules_table = data.get("rules", {})
    if not isinstance(rules_table, dict):
        raise ConfigError(f"{source}: rules: must be a table of [rules.CODE] tables")
    from loganalyzer.rulepack import load_rules

    by_code = {r.code: r for r in load_rules()}
    params: dict[str, dict[str, Any]] = {}
    for code, table in rules_table.items():
        rule = by_code.get(code)
        if rule is None:
            raise ConfigError(
                f"{source}: [rules.{code}]: unknown rule code {code!r} "
                f"(known: {', '.join(by_code)})"
            )
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [rules.{code}]: must be a table of parameters")
        checked = {}
        for name, value in table.items():
            if name not in rule.params:
                known = ", ".join(rule.params) or "none"
                raise ConfigError(
                    f"{source}: [rules.{code}]: unknown parameter {name!r} for {code} "
                    f"({rule.kind}; parameters: {known})"
                )
            checked[name] = _check_param(code, name, value, rule, source)
        params[code] = checked
    return Config(select=cfg_select, ignore=ignore, fail_on=fail_on, rules=params, source=source)


def _read_toml(path: Path) -> dict[str, Any]:
    from loganalyzer.rulepack import toml_parser

    tomllib = toml_parser()
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: byte {exc.start}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def load_file(path: str | Path) -> Config:
    """Load ``path``: a ``pyproject.toml`` (its ``[tool.loganalyzer]`` table) or any
    other TOML file with the same keys at the top level (``loganalyzer.toml``).

    Raises:
        ConfigError: the file cannot be read or its settings are wrong.
    """
    path = Path(path)
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("loganalyzer")
        if table is None:
            raise ConfigError(f"{path}: no [tool.loganalyzer] table")
        return from_mapping(table, str(path))
    return from_mapping(data, str(path))


def find_config_file(start: str | Path | None = None) -> Path | None:
    """The nearest ``loganalyzer.toml``, or ``pyproject.toml`` with a
    ``[tool.loganalyzer]`` table, in ``start`` (default: the current directory) or
    any parent; ``None`` if there is none."""
    here = Path(start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        own = d / "loganalyzer.toml"
        if own.is_file():
            return own
        py = d / "pyproject.toml"
        if py.is_file():
            try:
                data = py.read_bytes()
            except OSError:
                continue
            # A pyproject.toml with our table that is not UTF-8 is an error, not "no
            # configuration": the user wrote settings and would see them ignored.
            if b"tool.loganalyzer" in data and "loganalyzer" in _read_toml(py).get("tool", {}):
                return py
    return None


def load_config(path: str | Path | None = None) -> Config:
    """``--config FILE`` if given, else the nearest configuration file, else defaults.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "loganalyzer.toml").write_text('ignore = ["LA100"]')
        >>> load_config(d / "loganalyzer.toml").is_selected("LA100")
        False
    """
    if path is not None:
        return load_file(path)
    found = find_config_file()
    return load_file(found) if found is not None else Config()

"""The rule pack: one TOML file per rule in ``rules/`` (carried in the wheel).

A rule file looks like this (``rules/LA101.toml``)::

    code = "LA101"
    kind = "overfitting"            # the detector that runs it
    severity = "warning"            # default; a detector may grade up (mild/clear)
    title = "Validation loss rises after its best epoch"

    [params]                        # detector parameters with their defaults
    min_rise_sigma = 3.0

    [docs]
    what = "..."                    # what it flags
    why = "..."                     # why it matters
    fix = "..."                     # what to do
    example = "..."

    [[advice]]                      # the actions it triggers, 1 = try first
    action = "early-stopping"
    priority = 1

    [ranges]                        # the values each parameter accepts (every one)
    min_rise_sigma = "[0, inf)"     # an interval: [ ] closed, ( ) open, inf allowed

Rules are data: adding one is adding a file (plus, for a new kind, a detector).
"""

from __future__ import annotations

import json
import os
import sys
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

ADVICE_ACTIONS = (
    "early-stopping",
    "regularize",
    "dropout",
    "shrink",
    "grow",
    "batch-norm",
    "augment",
    "add-data",
    "lower-lr",
    "lr-schedule",
    "clip-gradients",
    "train-longer",
    "check-data",
    "larger-batch",
    "normalize-inputs",
    "terminate-on-nan",
    "raise-lr",
    "fix-lr",
)


class RulePackError(Exception):
    """A rule file or a configuration that names rules is wrong (one clear line)."""


@dataclass(frozen=True)
class AdviceLink:
    action: str
    priority: int


@dataclass(frozen=True)
class Range:
    """The values a parameter accepts: an interval such as ``(0, 1)`` or ``[0, inf)``.

    NaN is never inside; an infinite value only when the interval is closed there.

    Example:
        >>> r = Range.parse("(0, 1]")
        >>> 1.0 in r, 0.0 in r, float("nan") in r, str(r)
        (True, False, False, '(0, 1]')
    """

    lo: float
    hi: float
    lo_closed: bool
    hi_closed: bool

    @classmethod
    def parse(cls, text: str) -> Range:
        """Raises ValueError for anything but ``[lo, hi]`` with ``(``/``)`` for open ends."""
        t = str(text).strip()
        if len(t) < 5 or t[0] not in "[(" or t[-1] not in "])" or t.count(",") != 1:
            raise ValueError(f"not an interval such as '[0, 1)': {text!r}")
        lo, hi = (float(x) for x in t[1:-1].split(","))
        if not lo <= hi:
            raise ValueError(f"empty interval {text!r}")
        return cls(lo, hi, t[0] == "[", t[-1] == "]")

    def __contains__(self, value: float) -> bool:
        try:
            v = float(value)
        except OverflowError:  # an integer beyond any float
            v = float("inf") if value > 0 else float("-inf")
        above = v >= self.lo if self.lo_closed else v > self.lo
        below = v <= self.hi if self.hi_closed else v < self.hi
        return above and below

    def __str__(self) -> str:
        return f"{'(['[self.lo_closed]}{_num(self.lo)}, {_num(self.hi)}{')]'[self.hi_closed]}"


def _num(x: float) -> str:
    return "inf" if x == float("inf") else "-inf" if x == float("-inf") else f"{x:g}"


@dataclass(frozen=True)
class Rule:
    code: str
    kind: str
    severity: str
    title: str
    params: dict[str, Any] = field(default_factory=dict)
    docs: dict[str, str] = field(default_factory=dict)
    advice: tuple[AdviceLink, ...] = ()
    path: str = ""
    ranges: dict[str, Range] = field(default_factory=dict)


def rules_dir() -> Path:
    """The installed pack (``loganalyzer/_rules`` in the wheel) or the source tree's."""
    here = Path(__file__).resolve().parent
    for cand in (here / "_rules", here.parent / "rules"):
        if cand.is_dir() and any(cand.glob("*.toml")):
            return cand
    raise RulePackError(
        f"rule pack not found (looked in {here / '_rules'} and {here.parent / 'rules'})"
    )


def toml_parser():
    """Python's TOML parser (``tomllib``; ``tomli`` before 3.11), imported when a file
    is parsed: a rule pack read from its cache, and a run without a configuration
    file, need none."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    return tomllib


def _read_toml(path: Path) -> dict[str, Any]:
    tomllib = toml_parser()
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RulePackError(f"{path}: {exc}") from None


def _parse(path: Path, data: dict[str, Any] | None = None) -> Rule:
    """The rule in ``path`` (its TOML ``data`` when already read), checked."""
    if data is None:
        data = _read_toml(path)
    try:
        links = tuple(
            AdviceLink(str(a["action"]), int(a.get("priority", 5))) for a in data.get("advice", [])
        )
        rule = Rule(
            code=str(data["code"]),
            kind=str(data["kind"]),
            severity=str(data.get("severity", "warning")),
            title=str(data["title"]),
            params=dict(data.get("params", {})),
            docs={k: str(v) for k, v in data.get("docs", {}).items()},
            advice=links,
            path=str(path),
            ranges={k: Range.parse(v) for k, v in data.get("ranges", {}).items()},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RulePackError(f"{path}: missing or bad field {exc}") from None
    for name, default in rule.params.items():
        if name not in rule.ranges:
            raise RulePackError(f"{path}: [ranges] has no range for parameter {name!r}")
        if default not in rule.ranges[name]:
            raise RulePackError(
                f"{path}: default {name} = {default!r} is outside its range {rule.ranges[name]}"
            )
    for name in rule.ranges:
        if name not in rule.params:
            raise RulePackError(f"{path}: [ranges] names {name!r}, which is not a parameter")
    for link in rule.advice:
        if link.action not in ADVICE_ACTIONS:
            raise RulePackError(f"{path}: unknown advice action {link.action!r}")
    if rule.severity not in ("info", "warning", "error"):
        raise RulePackError(f"{path}: severity must be info, warning or error")
    if path.stem != rule.code:
        raise RulePackError(f"{path}: file name must be the rule code {rule.code!r}")
    return rule


@lru_cache(maxsize=4)
def load_rules(directory: str | None = None) -> tuple[Rule, ...]:
    """All rules of the pack, sorted by code."""
    d = Path(directory) if directory else rules_dir()
    files = sorted(d.glob("*.toml"))
    data = _cached_tables(d, files)
    return tuple(sorted((_parse(p, data.get(p.name)) for p in files), key=lambda r: r.code))


# The rule files' TOML tables are kept as JSON in the user's cache folder, keyed by each
# file's name, size and modification time: parsing 14 TOML files (and importing tomllib)
# is ~15 ms of a ~100 ms single-log run; reading one JSON file is well under 1 ms. The
# tables go through the same checks (_parse) either way; a changed, added or removed
# rule file changes the key and the pack is parsed again. Any failure to read or write
# the cache just means parsing.
_CACHE_VERSION = 1


def _cache_file(d: Path) -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None
    tag = zlib.crc32(os.fsencode(os.path.abspath(d)))
    return Path(base) / "loganalyzer" / f"rulepack-{tag:08x}.json"


def _cached_tables(d: Path, files: list[Path]) -> dict[str, dict[str, Any]]:
    """``{file name: TOML table}`` from the cache when it is current, else ``{}`` after
    writing it afresh (the rules are then parsed from their files)."""
    try:
        stamp = [[p.name, st.st_size, st.st_mtime_ns] for p in files for st in [p.stat()]]
    except OSError:
        return {}
    key = {"version": _CACHE_VERSION, "dir": os.path.abspath(d), "files": stamp}
    cache = _cache_file(d)
    if cache is None:
        return {}
    try:
        held = json.loads(cache.read_text(encoding="utf-8"))
        if held.get("key") == key:
            return held["tables"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    try:
        tables = {p.name: _read_toml(p) for p in files}
    except RulePackError:
        return {}  # the error is raised, with its file, by _parse
    try:
        text = json.dumps({"key": key, "tables": tables})
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, cache)
    except (OSError, TypeError, ValueError):
        pass
    return tables


def rule_by_code(code: str) -> Rule:
    for r in load_rules():
        if r.code == code:
            return r
    known = ", ".join(r.code for r in load_rules())
    raise RulePackError(f"unknown rule code {code!r} (known: {known})")

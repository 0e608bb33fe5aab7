"""Keras History JSON, in every shape users save it.

Recognised shapes (each one gives the same run):

- ``json.dump(history.history)``: ``{"loss": [...], "val_loss": [...]}``;
- pandas ``DataFrame(history.history).to_json(orient=...)`` with orient ``columns``
  (``{"loss": {"0": ..}}``), ``index`` (``{"0": {"loss": ..}}``), ``records``
  (``[{"loss": ..}, ...]``) or ``split`` (``{"columns", "index", "data"}``);
- ``{"history": {...}, "params": {...}, "epoch": [...]}`` (a pickled-then-JSON'd
  ``History`` object);
- a history nested under a run key (``{"run_1": {"loss": [...]}}``; several run
  keys give several runs, named ``file#key``);
- a list of per-epoch records;
- plural keys (``train_losses``, ``val_losses``), mapped by :mod:`loganalyzer.naming`;
- an explicit ``epoch``/``epochs`` list (kept as the index, 0- or 1-based as written);
- scalar metadata beside the lists (``"model": "cnn"``, ``"lr": 0.001``): left out,
  and ``loganalyzer series`` says so;
- bare ``NaN``/``Infinity``/``-Infinity`` tokens (what ``json.dump`` writes for a
  diverged run);
- a JSON *string* holding a Python dict repr with single quotes (``json.dump(str(h))``),
  or a file that is such a repr: parsed with :func:`ast.literal_eval`, never ``eval``.

JSON that holds no metric series (a config, ``run_meta.json``) is a
:class:`~loganalyzer.errors.LogReadError`: "not a training log".

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "h.json"
    >>> _ = p.write_text('{"history": {"loss": [1.0, NaN]}, "epoch": [1, 2], "params": {}}')
    >>> run = read(p)[0]
    >>> run.metrics.index.tolist(), run.series("loss").tolist()[0]
    ([1, 2], 1.0)
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loganalyzer.errors import LogReadError
from loganalyzer.naming import _snake
from loganalyzer.readers._text import decode_head, invalid_json, is_number, number, read_text
from loganalyzer.run import Run

FORMAT = "keras-json"

_EPOCH_KEYS = ("epoch", "epochs", "Epoch", "Epochs")
_MAX_LITERAL = 2_000_000  # characters given to ast.literal_eval (~200 bytes each)


def sniff(path: Path, head: bytes) -> bool:
    """Text that starts like JSON: an object, an array, or a string holding one (a
    quoted CSV header such as ``"epoch","loss"`` is not JSON)."""
    text = decode_head(head)
    if text is None:
        return False
    text = text.lstrip()
    if text[:1] == '"':
        return text[1:].lstrip()[:1] in ("{", "[")
    return text[:1] in ("{", "[")


def read(path: Path) -> list[Run]:
    """Read a History JSON file into one run per history found.

    Raises:
        LogReadError: for text that is neither JSON nor a Python dict repr, or JSON
            without metric series.
    """
    source = str(path)
    obj, load_warnings = _load(read_text(path), source)
    if isinstance(obj, dict) and isinstance(obj.get("log_history"), list):
        from loganalyzer.readers import hf_trainer  # its log_history was past the sniffed head

        return hf_trainer.read(path)
    found: list[tuple[str, pd.DataFrame, dict[str, str], list[str]]] = []
    _find(obj, "", found, depth=0)
    if not found:
        raise LogReadError(source, "not a training log: JSON without per-epoch metric lists")
    found = [split for item in found for split in _heads(*item)]
    runs = []
    for key, frame, dropped, warnings in found:
        name = path.name + (f"#{key}" if key and len(found) > 1 else "")
        run = Run.from_frame(
            name,
            frame,
            format=FORMAT,
            index="epoch",
            sources=[source],
            warnings=load_warnings + warnings,
            dropped=dropped,
        )
        unlogged = frame.attrs.get("unlogged_tail", ())
        run.unlogged_tail = {c for c, orig in run.original_names.items() if orig in unlogged}
        if not run.metrics.empty:
            runs.append(run)
    if not runs:
        raise LogReadError(source, "not a training log: JSON series hold no numbers")
    return runs


def _heads(key: str, frame: pd.DataFrame, dropped: dict, warnings: list) -> list[tuple]:
    """Split a history that holds several runs as key prefixes (``reg_loss``,
    ``reg_val_loss``, ``cls_loss``, ``cls_val_loss``: two models trained in one
    notebook and saved in one dict) into one history per prefix, so each is judged
    on its own curves; padded tail rows of the shorter one are dropped.

    Example:
        >>> f = pd.DataFrame({"a_loss": [1.0, 0.5], "a_val_loss": [1.1, 0.6],
        ...                   "b_loss": [2.0, None], "b_val_loss": [2.1, None]})
        >>> [(k, list(fr.columns), len(fr)) for k, fr, _, _ in _heads("", f, {}, [])]
        [('a', ['loss', 'val_loss'], 2), ('b', ['loss', 'val_loss'], 1)]
    """
    cols = [str(c) for c in frame.columns]
    if "loss" in cols or "val_loss" in cols:
        return [(key, frame, dropped, warnings)]
    prefixes = [
        c[: -len("_loss")]
        for c in cols
        if c.endswith("_loss") and f"{c[: -len('_loss')]}_val_loss" in cols
    ]
    if len(prefixes) < 2:
        return [(key, frame, dropped, warnings)]
    out = []
    for pre in prefixes:
        sub = frame[[c for c in frame.columns if str(c).startswith(pre + "_")]]
        sub = sub.rename(columns={c: str(c)[len(pre) + 1 :] for c in sub.columns})
        filled = sub.notna().any(axis=1).to_numpy()
        if filled.any():
            sub = sub.iloc[: int(np.nonzero(filled)[0][-1]) + 1]
        note = [w for w in warnings if "different lengths" not in w]
        out.append((f"{key}.{pre}" if key else pre, sub, dict(dropped), note))
    return out


# ---------------------------------------------------------------------- parsing
def _load(text: str, source: str) -> tuple[Any, list[str]]:
    """Parse the file: JSON, JSON Lines or a Python dict repr; returns (object, warnings)."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        stripped = text.strip()
        if exc.msg == "Extra data" and stripped[:1] == "{":
            return _json_lines(stripped, source)
        if stripped[:1] in "{[" and "'" in stripped[:200]:
            return _literal(stripped, source), []
        raise invalid_json(source, exc) from None
    except (ValueError, RecursionError) as exc:
        raise invalid_json(source, exc) from None
    if isinstance(obj, str):
        inner = obj.strip()
        if inner[:1] in "{[":
            try:
                return json.loads(inner), []
            except (ValueError, RecursionError):
                return _literal(inner, source), []
        raise LogReadError(source, "not a training log: a JSON string, not a history")
    return obj, []


def _json_lines(text: str, source: str) -> tuple[list, list[str]]:
    """JSON Lines: one per-epoch record per line. A last line cut short is dropped
    with a warning; every complete record is kept."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    records = []
    for k, line in enumerate(lines, start=1):
        try:
            rec = json.loads(line)
        except (ValueError, RecursionError) as exc:
            if k == len(lines) and records:
                warning = f"last record truncated (line {k}); kept the {len(records)} complete ones"
                return records, [warning]
            msg = getattr(exc, "msg", "nested too deeply")
            raise LogReadError(
                source, f"invalid JSON Lines record ({msg})", f"line {k}", broken=True
            ) from None
        if not isinstance(rec, dict):
            raise LogReadError(source, "JSON Lines record is not an object", f"line {k}")
        records.append(rec)
    return records, []


_PY_TOKENS = re.compile(r"(?<![\w.'\"])(-?)(nan|inf)(?![\w'\"])")

# What a Python literal spells differently from JSON: strings (either quote), the names
# None/True/False/nan/inf, and tuple parentheses. Each alternative matches one way only
# and a string ends at its line, so the scan is linear; the rest is copied unchanged.
_PY_REPR = re.compile(r"""'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|\b[A-Za-z_]\w*|[()]""")
_PY_NAMES = {"None": "null", "True": "true", "False": "false", "nan": "NaN", "inf": "Infinity"}


def _repr_as_json(text: str) -> str:
    """A Python dict/list repr rewritten as JSON text, token by token.

    Example:
        >>> _repr_as_json("{'loss': [1e-05, nan, -inf], 'ok': (True, None)}")
        '{"loss": [1e-05, NaN, -Infinity], "ok": [true, null]}'
    """

    def sub(m: re.Match) -> str:
        tok = m.group()
        if tok[0] in "'\"":
            return json.dumps(ast.literal_eval(tok))
        if tok in "()":
            return "[" if tok == "(" else "]"
        if tok in _PY_NAMES:
            return _PY_NAMES[tok]
        raise ValueError(f"not a literal: {tok[:40]}")

    return _PY_REPR.sub(sub, text)


def _literal(text: str, source: str) -> Any:
    """A Python dict/list repr (single quotes, ``nan``/``inf``, tuples).

    Rewritten as JSON and parsed as such: linear in time and as lean in memory as
    JSON. Only what that cannot read (integer dict keys, trailing commas) goes to
    ``ast.literal_eval``, whose syntax tree takes ~200x the text's size, so only up
    to ``_MAX_LITERAL`` characters (a 16.5 MB repr took 3.6 GB that way). For it,
    ``inf`` is rewritten as ``1e999`` (which is infinity) and ``nan`` as ``None``
    (read back as NaN). Never ``eval``.
    """
    try:
        return json.loads(_repr_as_json(text))
    except (ValueError, SyntaxError, RecursionError, MemoryError):
        pass
    if len(text) > _MAX_LITERAL:
        raise LogReadError(
            source,
            f"Python repr of {len(text) // 1_000_000} MB that is not a plain dict/list "
            f"of numbers: too large to parse safely (limit {_MAX_LITERAL // 1_000_000} MB)",
            broken=True,
        )

    def sub(m: re.Match) -> str:
        return "None" if m.group(2) == "nan" else f"{m.group(1)}1e999"

    try:
        return ast.literal_eval(_PY_TOKENS.sub(sub, text))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise LogReadError(
            source, f"neither JSON nor a Python dict repr ({type(exc).__name__})", broken=True
        ) from None


# ---------------------------------------------------------------------- shapes
def _is_series(v: Any) -> bool:
    """A list with numbers in it (numbers written as strings count: ``json.dump(...,
    default=str)`` writes numpy floats as ``"0.5"``)."""
    return isinstance(v, list) and any(
        (_is_num(x) and x is not None) or (isinstance(x, str) and is_number(x)) for x in v
    )


def _is_num(x: Any) -> bool:
    return (isinstance(x, int | float) and not isinstance(x, bool)) or x is None


def _is_index_map(v: Any) -> bool:
    """``{"0": 1.2, "1": 0.9}``: one column of ``to_json(orient="columns")``."""
    return (
        isinstance(v, dict)
        and bool(v)
        and all(_intlike(k) for k in v)
        and all(_is_num(x) for x in v.values())
    )


def _intlike(k: Any) -> bool:
    return isinstance(k, str) and k.strip().lstrip("-").isdigit()


def _find(obj: Any, key: str, found: list, depth: int) -> None:
    """Collect every history below ``obj`` (depth-limited)."""
    if depth > 6:
        return
    if isinstance(obj, list):
        if obj and all(isinstance(r, dict) for r in obj):
            got = _from_records(obj)
            if got is not None:
                found.append((key, *got))
        return
    if not isinstance(obj, dict) or not obj:
        return
    got = _from_dict(obj)
    if got is not None:
        found.append((key, *got))
        return
    for k, v in obj.items():
        if isinstance(v, dict | list) and k not in ("params", "config"):
            _find(v, f"{key}.{k}" if key else str(k), found, depth + 1)


def _from_dict(obj: dict) -> tuple[pd.DataFrame, dict, list] | None:
    # {"history": {...}, "params": {...}, "epoch": [...]}
    if isinstance(obj.get("history"), dict):
        got = _from_dict(obj["history"])
        if got is None:
            return None
        frame, dropped, warnings = got
        epochs = obj.get("epoch", obj.get("epochs"))
        if isinstance(epochs, list) and len(epochs) == len(frame) and _all_int(epochs):
            frame.index = pd.Index([int(e) for e in epochs], name="epoch")
        return frame, dropped, warnings
    # pandas orient="split"
    if {"columns", "data"} <= set(obj) and isinstance(obj["data"], list):
        cols, data = obj["columns"], obj["data"]
        if isinstance(cols, list) and all(isinstance(r, list) for r in data):
            records = [dict(zip(map(str, cols), r, strict=False)) for r in data]
            got = _from_records(records)
            if got is not None and isinstance(obj.get("index"), list):
                idx = obj["index"]
                if len(idx) == len(got[0]) and _all_int(idx):
                    got[0].index = pd.Index([int(i) for i in idx], name="epoch")
            return got
    # pandas orient="index": {"0": {"loss": ..}, "1": {...}}
    if all(_intlike(k) for k in obj) and all(isinstance(v, dict) for v in obj.values()):
        order = sorted(obj, key=lambda k: int(k))
        got = _from_records([obj[k] for k in order])
        if got is not None:
            got[0].index = pd.Index([int(k) for k in order], name="epoch")
        return got
    series = {k: v for k, v in obj.items() if _is_series(v)}
    columns = {k: v for k, v in obj.items() if _is_index_map(v)}
    if not series and not columns:
        return None
    if not any(_metricish(k) for k in list(series) + list(columns)):
        return None
    dropped: dict[str, str] = {}
    warnings: list[str] = []
    unlogged: list[str] = []
    epoch_key = next((k for k in _EPOCH_KEYS if k in series), None)
    data: dict[str, pd.Series] = {}
    if series:
        lengths = {len(v) for k, v in series.items() if k != epoch_key}
        if len(lengths) > 1:
            warnings.append(
                f"metric lists of different lengths ({'/'.join(map(str, sorted(lengths)))}); "
                "the shorter ones are padded with NaN at the end"
            )
        longest = max((len(v) for k, v in series.items() if k != epoch_key), default=0)
        for k, v in series.items():
            if k == epoch_key:
                continue
            data[k] = pd.Series([number(x) for x in v], dtype=float)
            if len(v) < longest:  # its padding was not logged (not a loss turned NaN)
                unlogged.append(k)
    for k, v in columns.items():
        s = pd.Series({int(i): number(x) for i, x in v.items()}, dtype=float).sort_index()
        data[k] = s
    frame = pd.DataFrame(data)
    frame.attrs["unlogged_tail"] = unlogged
    if epoch_key is not None:
        epochs = series[epoch_key]
        if len(epochs) == len(frame) and _all_int(epochs):
            frame.index = pd.Index([int(e) for e in epochs], name="epoch")
        else:
            warnings.append(f"{epoch_key!r} list does not match the metric lists; ignored")
    for k, v in obj.items():
        if k in data or k == epoch_key:
            continue
        if isinstance(v, int | float | str | bool) or v is None:
            dropped[k] = "scalar metadata, not a per-epoch series"
        elif isinstance(v, list):
            dropped[k] = "list without numbers"
        else:
            dropped[k] = "nested object, not a per-epoch series"
    return frame, dropped, warnings


def _from_records(records: list[dict]) -> tuple[pd.DataFrame, dict, list] | None:
    """A list of per-epoch records: ``[{"epoch": 0, "loss": 1.0, ...}, ...]``."""
    keys: dict[str, None] = {}
    for r in records:
        for k, v in r.items():
            if _is_num(v) and not isinstance(v, bool):
                keys.setdefault(str(k), None)
    if not keys or not any(_metricish(k) for k in keys):
        return None
    epoch_key = next((k for k in _EPOCH_KEYS if k in keys), None)
    data = {k: [number(r.get(k)) for r in records] for k in keys if k != epoch_key}
    frame = pd.DataFrame(data)
    dropped: dict[str, str] = {}
    for r in records:
        for k in r:
            if str(k) not in keys:
                dropped.setdefault(str(k), "not a number in any record")
    warnings: list[str] = []
    if epoch_key is not None:
        epochs = [r.get(epoch_key) for r in records]
        if _all_int(epochs):
            frame.index = pd.Index([int(e) for e in epochs], name="epoch")
        else:
            warnings.append(f"{epoch_key!r} is missing or not whole in some records; ignored")
    return frame, dropped, warnings


def _all_int(values: list) -> bool:
    """Whole numbers that fit an index (an epoch or step list)."""
    return bool(values) and all(
        isinstance(v, int | float)
        and not isinstance(v, bool)
        and abs(number(v)) < 2**53
        and float(v).is_integer()
        for v in values
    )


def _metricish(name: str) -> bool:
    s = _snake(str(name))
    return any(w in s for w in ("loss", "acc", "error", "mse", "mae", "auc", "lr", "learning"))

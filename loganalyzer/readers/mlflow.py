"""MLflow tracking data, read without importing mlflow: the file store and ``mlflow.db``.

**File store** (``mlruns/``, what ``mlflow.set_tracking_uri("file:./mlruns")`` and
older defaults write)::

    mlruns/<experiment id>/meta.yaml               name: sweep
    mlruns/<experiment id>/<run id>/meta.yaml      run_name: lr0.01, lifecycle_stage
    mlruns/<experiment id>/<run id>/metrics/<key>  "<timestamp ms> <value> <step>" per line
    mlruns/<experiment id>/<run id>/params/<key>   the value
    mlruns/<experiment id>/<run id>/tags/mlflow.runName

- every run folder is one run, indexed by MLflow's ``step``; a metric key with a ``/``
  (``train/acc``) is a nested file (``metrics/train/acc``) and keeps its name;
- a step logged twice keeps the value logged last (by timestamp);
- ``nan``/``inf`` values are kept as the non-finite values they are;
- only the top-level ``key: value`` lines of ``meta.yaml`` are read (the run name and
  whether it was deleted), so no YAML library is needed; deleted runs (MLflow moves
  them to ``.trash`` or marks them ``deleted``) are left out;
- an experiment folder is a sweep: each of its runs is listed on its own; artifacts
  (``artifacts/``) are files like any other and read when they are logs.

**SQLite tracking database** (``mlflow.db``, ``sqlite:///mlflow.db``, MLflow's default
backend from 3.x): read with the standard library's :mod:`sqlite3`, read-only, from the
``experiments``, ``runs`` and ``metrics`` tables. Every run not deleted is one run named
``mlflow.db#<experiment>/<run name>``. MLflow stores a NaN as ``0`` with ``is_nan`` set
and an infinity as the largest float; both are read back as the values logged.

Example:
    >>> import pathlib, tempfile
    >>> run_dir = pathlib.Path(tempfile.mkdtemp()) / "0" / "abc"
    >>> (run_dir / "metrics").mkdir(parents=True)
    >>> _ = (run_dir / "meta.yaml").write_text("run_id: abc\\nrun_name: demo\\n")
    >>> _ = (run_dir / "metrics" / "loss").write_text("1 1.0 0\\n2 0.5 1\\n")
    >>> run = read_group(run_dir, [run_dir / "meta.yaml", run_dir / "metrics" / "loss"])[0]
    >>> run.name, run.index, run.series("loss").tolist()
    ('abc#demo', 'step', [1.0, 0.5])
"""

from __future__ import annotations

import math
import os
import sqlite3
import sys
import tempfile
from pathlib import Path, PurePath

import pandas as pd

from loganalyzer.errors import LogReadError
from loganalyzer.readers._text import number
from loganalyzer.run import Run

FORMAT = "mlflow"

_SQLITE_MAGIC = b"SQLite format 3\x00"
_PARTS = ("metrics", "params", "tags")


# ---------------------------------------------------------------------------- file store
def _rel(f, run_dir) -> tuple[str, ...]:
    """The parts of ``f`` below ``run_dir`` (``("metrics", "train", "acc")``)."""
    return tuple(PurePath(str(f)).parts[len(PurePath(str(run_dir)).parts) :])


def claims(files: list) -> tuple[list[tuple[object, list]], list]:
    """MLflow run folders among ``files``: a folder with a ``meta.yaml`` and files
    under ``metrics/``, ``params/`` or ``tags/``. Returns ``(groups, the other files)``."""
    metas = {f.parent for f in files if f.name == "meta.yaml"}
    if not metas:
        return [], files
    owner_of: dict[int, object] = {}
    for k, f in enumerate(files):
        if f.name == "meta.yaml":
            owner_of[k] = f.parent
            continue
        for anc in f.parents:
            if anc in metas:
                if _rel(f, anc)[0] in _PARTS:
                    owner_of[k] = anc
                break
    runs = {d for k, d in owner_of.items() if files[k].name != "meta.yaml"}
    groups: dict[object, list] = {}
    rest = []
    for k, f in enumerate(files):
        d = owner_of.get(k)
        if d in runs:
            groups.setdefault(d, []).append(f)
        else:  # not in a run folder (or an experiment's own meta.yaml)
            rest.append(f)
    return sorted(
        ((d, sorted(fs, key=str)) for d, fs in groups.items()), key=lambda g: str(g[0])
    ), rest


def group(files: list) -> list[tuple[object, list]]:
    return claims(files)[0]


def _meta(text: str) -> dict[str, str]:
    """Top-level ``key: value`` lines of a ``meta.yaml`` (quotes removed)."""
    out = {}
    for line in text.splitlines():
        if not line or line[0] in " \t#-" or ":" not in line:
            continue
        key, _, value = line.partition(":")
        out[key.strip()] = value.strip().strip("'\"")
    return out


def read_group(run_dir, files: list) -> list[Run]:
    """Read one run folder of the file store.

    Raises:
        LogReadError: when the run logged no metric values.
    """
    source = str(run_dir)
    meta: dict[str, str] = {}
    series: dict[str, dict[int, tuple[float, float]]] = {}
    params: dict[str, str] = {}
    warnings: list[str] = []
    for f in files:
        parts = _rel(f, run_dir)
        if parts == ("meta.yaml",):
            meta = _meta(_decode(f))
        elif parts[:1] == ("tags",) and parts[1:] == ("mlflow.runName",):
            meta.setdefault("run_name", _decode(f).strip())
        elif parts[:1] == ("params",):
            params["/".join(parts[1:])] = _decode(f).strip()
        elif parts[:1] == ("metrics",) and len(parts) > 1:
            key = "/".join(parts[1:])
            points = series.setdefault(key, {})
            bad = 0
            for line in _decode(f).splitlines():
                cells = line.split()
                if len(cells) < 2:
                    bad += bool(line.strip())
                    continue
                ts, value = number(cells[0]), number(cells[1])
                step = number(cells[2]) if len(cells) > 2 else 0.0
                if not (abs(step) < 2**53 and ts == ts):
                    bad += 1
                    continue
                old = points.get(int(step))
                if old is None or ts >= old[0]:
                    points[int(step)] = (ts, value)
            if bad:
                warnings.append(f"metrics/{key}: {bad} line(s) not 'timestamp value step'")
    if meta.get("lifecycle_stage") == "deleted":
        return []  # deleted in MLflow (not yet moved to .trash): left out, as MLflow does
    frame = pd.DataFrame(
        {
            k: pd.Series({s: v for s, (_, v) in pts.items()}, dtype=float)
            for k, pts in series.items()
        }
    )
    if frame.empty:
        raise LogReadError(source, "MLflow run without logged metric values")
    frame = frame.sort_index()
    frame.index.name = "step"
    run_name = meta.get("run_name") or PurePath(source).name
    dropped = {f"params/{k}": "a parameter (configuration), not a metric" for k in params}
    name = f"{PurePath(source).name}#{run_name}"
    return [
        Run.from_frame(
            name,
            frame,
            format=FORMAT,
            index="step",
            sources=[str(f) for f in files],
            warnings=warnings,
            dropped=dropped,
        )
    ]


def _decode(f) -> str:
    return f.read_bytes().decode("utf-8", errors="replace")


# ---------------------------------------------------------------------------- mlflow.db
def sniff(path, head: bytes) -> bool:
    """An SQLite database (its tables are checked when read: MLflow's schema spans
    more pages than the sniffed head)."""
    return head.startswith(_SQLITE_MAGIC)


def _connect(path) -> tuple[sqlite3.Connection, str | None]:
    """A read-only connection: the file itself when local, else its bytes in memory
    (``deserialize``, Python 3.11+; a temporary file before that)."""
    if isinstance(path, PurePath):
        uri = Path(os.path.abspath(path)).as_uri() + "?mode=ro"
        return sqlite3.connect(uri, uri=True), None
    data = path.read_bytes()
    if sys.version_info >= (3, 11):
        con = sqlite3.connect(":memory:")
        con.deserialize(data)
        return con, None
    fd, tmp = tempfile.mkstemp(suffix=".db")  # pragma: no cover - Python 3.10
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return sqlite3.connect(tmp), tmp


def read(path) -> list[Run]:
    """Read every run of an ``mlflow.db``.

    Raises:
        LogReadError: when the database cannot be queried or holds no metric values.
    """
    source = str(path)
    tmp = None
    try:
        con, tmp = _connect(path)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
            if not {"runs", "metrics", "experiments"} <= tables:
                raise LogReadError(
                    source, "not a training log: an SQLite database without MLflow's tables"
                )
            runs = con.execute(
                "SELECT r.run_uuid, r.name, e.name FROM runs r "
                "JOIN experiments e ON e.experiment_id = r.experiment_id "
                "WHERE r.lifecycle_stage != 'deleted' ORDER BY e.experiment_id, r.start_time"
            ).fetchall()
            rows = con.execute(
                "SELECT run_uuid, key, step, value, is_nan FROM metrics "
                "ORDER BY run_uuid, key, step, timestamp"
            ).fetchall()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise LogReadError(source, f"MLflow database could not be read ({exc})") from None
    finally:
        if tmp:
            os.unlink(tmp)
    by_run: dict[str, dict[str, dict[int, float]]] = {}
    for run_uuid, key, step, value, is_nan in rows:
        v = _value(value, is_nan)
        by_run.setdefault(run_uuid, {}).setdefault(key, {})[int(step)] = v
    out = []
    for run_uuid, run_name, experiment in runs:
        series = by_run.get(run_uuid)
        if not series:
            continue
        frame = pd.DataFrame({k: pd.Series(v, dtype=float) for k, v in series.items()})
        frame = frame.sort_index()
        frame.index.name = "step"
        out.append(
            Run.from_frame(
                f"{path.name}#{experiment}/{run_name or run_uuid}",
                frame,
                format=FORMAT,
                index="step",
                sources=[source],
            )
        )
    if not out:
        raise LogReadError(source, "MLflow database without logged metric values")
    return out


def _value(value, is_nan) -> float:
    if is_nan:
        return math.nan
    v = float(value) if value is not None else math.nan
    if abs(v) >= sys.float_info.max:  # MLflow stores +-inf as +-max float
        return math.copysign(math.inf, v)
    return v

"""The fast path (numpy alone) and the pandas/scipy path give the same numbers on every
sample and real log.

Judging a small log imports neither pandas nor scipy: runs are built from numpy
columns (:meth:`loganalyzer.run.Run.from_columns`) and the statistics are numpy
re-implementations (:mod:`loganalyzer.stats`). Here the whole analysis of every log in
``sample_logs/`` and the real-log corpora runs twice: as shipped, and with those parts
switched back to pandas and scipy (a run canonicalised through a DataFrame as before,
``scipy.stats`` for the tests, pandas' rolling median); the ``--format json`` output
must be the same text. A second check runs the Python API on a DataFrame that pandas
read from each clean CSV and JSON history: its findings and advice match the file's.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
from real_corpus import REAL, roots
from scipy import stats as st

import loganalyzer
from loganalyzer import stats as S
from loganalyzer.naming import canonical_name, pick_losses
from loganalyzer.readers.keras_csv import epoch_column
from loganalyzer.run import Run


def _pandas_run(cls, name, index_values, columns, *, format, index, **kw):
    """:meth:`Run.from_columns` as it was written with pandas (the reference)."""
    warnings, dropped = list(kw.get("warnings") or []), dict(kw.get("dropped") or {})
    textual = kw.get("textual") or set()
    frame = pd.DataFrame(dict(columns), index=pd.Index(index_values))
    cols: dict[str, pd.Series] = {}
    original: dict[str, str] = {}
    for col in frame.columns:
        canon = canonical_name(col)
        if canon in cols:
            cols[canon] = cols[canon].combine_first(frame[col].astype(float))
            dropped[col] = f"same metric as {original[canon]!r} (both map to {canon!r})"
            continue
        if col in textual:
            dropped[col] = "no numeric values"
            continue
        cols[canon], original[canon] = frame[col].astype(float), col
    metrics = pd.DataFrame(cols, index=frame.index)
    if not metrics.index.is_monotonic_increasing or metrics.index.has_duplicates:
        metrics = metrics[~metrics.index.duplicated(keep="last")].sort_index()
    empty = [c for c in metrics.columns if metrics[c].isna().all()]
    if empty and len(metrics):
        filled = metrics.drop(columns=empty)
        dense = bool(len(filled.columns)) and bool(filled.notna().all(axis=0).any())
        losses = set(pick_losses(list(metrics.columns))) if dense else set()
        metrics = metrics[[c for c in metrics.columns if c not in empty or c in losses]]
    train, val = pick_losses(list(metrics.columns))
    return cls(
        name=name,
        sources=list(kw.get("sources") or []),
        format=format,
        index=index,
        data={c: metrics[c].to_numpy(dtype=float) for c in metrics.columns},
        index_values=metrics.index.to_numpy(),
        train_loss=train,
        val_loss=val,
        learning_rate="learning_rate" if "learning_rate" in metrics.columns else None,
        original_names={k: v for k, v in original.items() if k in metrics.columns},
        dropped=dropped,
        warnings=warnings,
    )


def _theilslopes(x, y, alpha=0.95):
    ok = np.isfinite(np.asarray(x, float)) & np.isfinite(np.asarray(y, float))
    x, y = np.asarray(x, float)[ok], np.asarray(y, float)[ok]
    if len(x) < 2:
        return S.Slope(0.0, 0.0, 0.0, float(y[0]) if len(y) else 0.0)
    if len(x) > 3000:
        idx = np.unique(np.linspace(0, len(x) - 1, 3000).round().astype(int))
        x, y = x[idx], y[idx]
    r = st.theilslopes(y, x, alpha=0.95 if alpha is None else alpha)
    if alpha is None:  # the slope and intercept alone, as theil_sen(alpha=None)
        return S.Slope(float(r[0]), np.nan, np.nan, float(r[1]))
    return S.Slope(float(r[0]), float(r[2]), float(r[3]), float(r[1]))


REFERENCE = {
    S.normal_sf: lambda z: float(st.norm.sf(z)),
    S.normal_cdf: lambda z: float(st.norm.cdf(z)),
    S.mann_whitney_greater: lambda a, b: float(st.mannwhitneyu(a, b, alternative="greater").pvalue),
    S.kendall_tau: lambda y: float(st.kendalltau(np.arange(len(y)), y).statistic),
    S.theil_sen: _theilslopes,
    S.running_median: lambda y, w: (
        np.asarray(y, float).copy()
        if len(y) < 3 or (int(w) | 1) == 1
        else pd.Series(np.asarray(y, float))
        .rolling(int(w) | 1, center=True, min_periods=1)
        .median()
        .to_numpy()
    ),
}


@contextmanager
def pandas_and_scipy():
    """Every reference to a fast function in loganalyzer's modules switched to the
    pandas/scipy one, and runs built through a DataFrame."""
    saved = []
    for mod in [m for n, m in sys.modules.items() if n.startswith("loganalyzer") and m]:
        for attr, value in list(vars(mod).items()):
            ref = REFERENCE.get(value) if callable(value) else None
            if ref is not None:
                saved.append((mod, attr, value))
                setattr(mod, attr, ref)
    fast = Run.__dict__["from_columns"]
    Run.from_columns = classmethod(_pandas_run)
    try:
        yield
    finally:
        Run.from_columns = fast
        for mod, attr, value in saved:
            setattr(mod, attr, value)


def _analysis_json() -> str:
    return loganalyzer.analyze([str(p) for p in roots()]).to_json()


def test_every_log_gives_the_same_json_on_the_pandas_and_scipy_path():
    if not REAL.is_dir():
        pytest.skip(f"real logs not found at {REAL}")
    import loganalyzer.detectors as D

    for kind in D._MODULES:  # load every detector, so each one's references switch
        D.detector_for(kind)
    fast = _analysis_json()
    with pandas_and_scipy():
        slow = _analysis_json()
    assert json.loads(fast)["runs"], "nothing was analysed"
    assert fast == slow


def _clean_frames():
    """(path, DataFrame as pandas reads it) for every CSVLogger and History JSON file
    that needs no repair (loganalyzer's reader warns about nothing)."""
    from loganalyzer.readers import read_file

    for root in roots():
        for path in sorted(root.rglob("*")):
            if path.suffix not in (".csv", ".json") or not path.is_file():
                continue
            try:
                runs = read_file(path)
            except Exception:  # noqa: BLE001 - not a log: nothing to compare
                continue
            if (
                len(runs) != 1
                or runs[0].warnings
                or runs[0].format
                not in (
                    "keras-csv",
                    "keras-json",
                )
            ):
                continue
            if path.suffix == ".csv":
                frame = pd.read_csv(path, sep=None, engine="python")
            else:
                obj = json.loads(path.read_text())
                history = obj.get("history", obj) if isinstance(obj, dict) else obj
                try:
                    frame = pd.DataFrame(history)
                except ValueError:
                    continue
                if history is not obj and len(obj.get("epoch", [])) == len(frame):
                    frame.index = pd.Index(obj["epoch"], name="epoch")
            yield path, frame


def _comparable(result) -> list:
    rr = result.runs[0]
    return [
        [(f.rule, f.severity, f.start, f.end, f.evidence) for f in rr.findings],
        [(a.action, a.params) for a in rr.advice],
        rr.best,
    ]


def test_the_dataframe_api_judges_a_clean_log_as_the_file_path_does():
    checked = 0
    for path, frame in _clean_frames():
        from_file = loganalyzer.analyze(str(path))
        epoch = epoch_column([str(c) for c in frame.columns])  # epoch, Epochs, an index
        if epoch is not None:
            frame = frame.set_index(frame.columns[epoch])
            frame.index.name = "epoch"
        from_frame = loganalyzer.analyze(frame)
        assert _comparable(from_frame) == _comparable(from_file), path
        checked += 1
    assert checked >= 10

"""PyTorch Lightning ``CSVLogger`` files (``metrics.csv``).

Lightning writes one row per ``log`` call site and moment, with ``epoch`` and
``step`` columns and the metric columns sorted by name, so the file is sparse:

- training and validation values sit on separate rows that share ``epoch``/``step``;
  they are merged;
- ``LearningRateMonitor`` rows (``lr-Adam``) have an empty ``epoch``; they get the
  epoch of the nearest training row by step;
- ``self.log(..., on_step=True, on_epoch=True)`` gives ``train_loss_step`` and
  ``train_loss_epoch``. When any ``*_epoch`` column exists the run is indexed by
  epoch: ``train_loss_epoch`` becomes the training loss (``loss``) and the
  ``*_step`` columns are kept aside as step-indexed series (``side_series``), never
  as the main loss. Without ``*_epoch`` columns the run is still indexed by epoch
  when every row has one: a metric logged several times in an epoch (a per-step
  training loss) gets fractional positions ``epoch + k/m``; only a log without
  epochs is indexed by global step;
- trailing rows written after ``fit`` by ``trainer.validate()``/``trainer.test()``
  (``test_*`` metrics, or a validation value at a step that already has one) are not
  part of training: they are dropped with a warning.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "metrics.csv"
    >>> _ = p.write_text("epoch,step,train_loss_epoch,train_loss_step,val_loss\\n"
    ...     "0,9,,1.1,\\n0,9,,,1.3\\n0,9,1.2,,\\n1,19,,0.7,\\n1,19,,,1.0\\n1,19,0.8,,\\n")
    >>> run = read(p)[0]
    >>> run.index, run.train_loss, run.series("loss").tolist(), sorted(run.side_series)
    ('epoch', 'loss', [1.2, 0.8], ['loss_step'])
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

from loganalyzer.errors import LogReadError
from loganalyzer.naming import canonical_name
from loganalyzer.readers._text import csv_head, number, parse_csv_file
from loganalyzer.run import Run

FORMAT = "lightning-csv"


def sniff(path: Path, head: bytes) -> bool:
    """A CSV header with both an ``epoch`` and a ``step`` column."""
    table = csv_head(head)
    if table is None:
        return False
    names = {h.strip().lower() for h in table.header}
    return {"epoch", "step"} <= names


def read(path: Path) -> list[Run]:
    """Read a Lightning ``metrics.csv`` into one run.

    Raises:
        LogReadError: when there are no metric rows.
    """
    import pandas as pd

    source = str(path)
    table = parse_csv_file(path, source)
    warnings = list(table.warnings)
    lower = [h.strip().lower() for h in table.header]
    if "step" not in lower or "epoch" not in lower or not table.rows:
        raise LogReadError(source, "Lightning metrics.csv without epoch/step columns or rows")
    i_epoch, i_step = lower.index("epoch"), lower.index("step")
    metric_cols = [h for i, h in enumerate(table.header) if i not in (i_epoch, i_step)]
    raw = pd.DataFrame(
        {
            h: [number(r[i]) for r in table.rows]
            for i, h in enumerate(table.header)
            if i not in (i_epoch, i_step)
        }
    )
    epoch = pd.Series([number(r[i_epoch]) for r in table.rows], dtype=float)
    epoch = epoch.where(epoch.abs() < 2**53)  # an infinite epoch is a missing one
    step = pd.Series([number(r[i_step]) for r in table.rows], dtype=float)
    keep = (step.abs() < 2**53).to_numpy()  # NaN or infinite steps are not steps
    if not keep.all():
        warnings.append(f"{int((~keep).sum())} row(s) without a step number were skipped")
    raw, epoch, step = raw[keep], epoch[keep], step[keep]
    if raw.empty:
        raise LogReadError(source, "Lightning metrics.csv without rows that have a step")

    dropped: dict[str, str] = {}
    n_post = _post_fit_rows(raw, step)
    if n_post:
        warnings.append(
            f"dropped {n_post} trailing row(s) written after fit (trainer.validate/test); "
            "not part of training"
        )
        raw, epoch, step = raw.iloc[:-n_post], epoch.iloc[:-n_post], step.iloc[:-n_post]
    for col in metric_cols:
        if col.lower().startswith("test_") or col.lower().startswith("test/"):
            dropped[col] = "test-set metric, logged outside training"
            raw = raw.drop(columns=col)

    # Learning-rate monitor rows have no epoch: the monitor logs when an epoch (or step)
    # starts, so they belong to the epoch of the next row by step.
    if epoch.isna().any() and epoch.notna().any():
        order = np.argsort(step.to_numpy(), kind="stable")
        e_sorted = epoch.iloc[order].bfill().ffill()
        epoch = e_sorted.reindex(epoch.index)

    epoch_cols = [c for c in raw.columns if c.endswith("_epoch")]
    step_cols = [c for c in raw.columns if c.endswith("_step")]
    side: dict[str, pd.Series] = {}
    if epoch_cols and epoch.notna().any():
        index_kind = "epoch"
        renamed: dict[str, str] = {}
        for c in epoch_cols:
            base = c[: -len("_epoch")]
            if base in raw.columns:
                dropped[base] = f"same metric as {c!r}, which is logged per epoch"
                raw = raw.drop(columns=base)
            renamed[c] = base
        for c in step_cols:
            s = pd.Series(raw[c].to_numpy(), index=step.to_numpy().astype(np.int64))
            s = s[s.notna()]
            s = s[~s.index.duplicated(keep="last")].sort_index()
            s.index.name = "step"
            side[canonical_name(c[: -len("_step")]) + "_step"] = s
            raw = raw.drop(columns=c)
        frame = raw.rename(columns=renamed)
        frame.index = epoch.to_numpy()
        frame = frame[~np.isnan(frame.index.to_numpy(dtype=float))]
        frame = frame.groupby(level=0, sort=True).last()
        frame.index = frame.index.astype(np.int64)
        # A learning rate holds until the monitor logs a new one.
        for c in frame.columns:
            if canonical_name(c) == "learning_rate":
                frame[c] = frame[c].ffill()
        original = {v: k for k, v in renamed.items()}
    elif epoch.notna().all():
        # Every row knows its epoch: index by epoch, the numbering Lightning users read
        # (the progress bar, checkpoints). A metric logged once per epoch sits at the
        # epoch itself; one logged k times in an epoch (a per-step training loss) at
        # epoch + 0, 1/k, ..., (k-1)/k in step order, so no point is lost.
        index_kind = "epoch"
        frame = _by_epoch(raw, epoch, step)
        for c in frame.columns:
            if canonical_name(c) == "learning_rate":
                frame[c] = frame[c].ffill()
        original = {}
    else:
        index_kind = "step"
        frame = raw.copy()
        frame.index = step.to_numpy().astype(np.int64)
        frame = frame.groupby(level=0, sort=True).last()
        original = {}
    frame.index.name = index_kind
    run = Run.from_frame(
        path.parent.name or path.name,
        frame,
        format=FORMAT,
        index=index_kind,
        sources=[source],
        warnings=warnings,
        dropped=dropped,
    )
    run.original_names = {k: original.get(v, v) for k, v in run.original_names.items()}
    run.side_series = side
    if run.empty:
        raise LogReadError(source, "Lightning metrics.csv without numeric metric values")
    return [run]


def _by_epoch(raw: pd.DataFrame, epoch: pd.Series, step: pd.Series) -> pd.DataFrame:
    """Each metric on a fractional-epoch index: ``epoch + k / m`` for its ``k``-th of
    ``m`` values in that epoch (by step; the last value wins at a repeated step).

    Example:
        >>> import pandas as pd
        >>> raw = pd.DataFrame({"train_loss": [1.0, 0.9, None, 0.8, 0.7, None],
        ...                     "val_loss": [None, None, 1.2, None, None, 1.1]})
        >>> f = _by_epoch(raw, pd.Series([0, 0, 0, 1, 1, 1.0]), pd.Series([4, 9, 9, 14, 19, 19.0]))
        >>> f.index.tolist(), f["val_loss"].dropna().tolist()
        ([0.0, 0.5, 1.0, 1.5], [1.2, 1.1])
    """
    import pandas as pd

    cols = {}
    e_all, s_all = epoch.to_numpy(dtype=float), step.to_numpy(dtype=float)
    for c in raw.columns:
        v = raw[c].to_numpy(dtype=float)
        m = ~np.isnan(v)
        if not m.any():
            continue
        one = pd.DataFrame({"e": e_all[m], "s": s_all[m], "v": v[m]})
        one = one.groupby(["e", "s"], sort=True).last().reset_index()
        k = one.groupby("e").cumcount().to_numpy()
        size = one.groupby("e")["v"].transform("size").to_numpy()
        index = one["e"].to_numpy() + k / size
        cols[c] = pd.Series(one["v"].to_numpy(), index=index)
    frame = pd.DataFrame(cols).sort_index()
    return frame


def _post_fit_rows(raw: pd.DataFrame, step: pd.Series) -> int:
    """How many rows at the end were logged after ``fit``: rows that hold only
    ``test_*`` metrics, or a validation metric at a step where it was already logged."""
    cols = list(raw.columns)
    seen: dict[tuple[str, float], int] = {}
    values = raw.to_numpy(dtype=float)
    steps = step.to_numpy(dtype=float)
    for i in range(len(values)):
        for j, c in enumerate(cols):
            if not math.isnan(values[i, j]):
                seen.setdefault((c, steps[i]), i)
    n = 0
    for i in range(len(values) - 1, -1, -1):
        logged = [c for j, c in enumerate(cols) if not math.isnan(values[i, j])]
        if not logged:
            n += 1
            continue
        only_test = all(c.lower().startswith("test") for c in logged)
        repeat = all(
            canonical_name(c).startswith("val_") and seen[(c, steps[i])] < i for c in logged
        )
        if only_test or repeat:
            n += 1
            continue
        break
    return n if n < len(values) else 0

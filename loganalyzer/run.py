"""The canonical run: what every reader produces and every detector consumes.

Readers turn a log file (or a TensorBoard run folder) into one or more :class:`Run`
objects; nothing downstream knows which format a run came from except through
``Run.format``. Detectors, advice and renderers only ever see a ``Run``.

Example:
    >>> import pandas as pd
    >>> from loganalyzer.run import Run
    >>> df = pd.DataFrame({"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.8]},
    ...                   index=pd.Index([0, 1, 2], name="epoch"))
    >>> run = Run.from_frame("demo", df, format="keras-json", index="epoch")
    >>> run.train_loss, run.val_loss, run.length
    ('loss', 'val_loss', 3)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from loganalyzer.naming import canonical_name, pick_losses

#: The formats a reader may report, as printed in ``--format json`` output.
FORMATS = ("keras-json", "keras-csv", "lightning-csv", "hf-trainer", "tensorboard", "python")

#: What the index of ``Run.metrics`` counts.
INDEX_KINDS = ("epoch", "step")


@dataclass
class Run:
    """One training run as a table of metrics on a single index.

    Args:
        name: A short human name (folder or file stem; for several runs in one file,
            a suffix such as ``#2``).
        sources: The file(s) the run was read from, as given on the command line.
        format: One of :data:`FORMATS`.
        index: ``"epoch"`` or ``"step"``: what the index of ``metrics`` counts.
        metrics: One float column per canonical metric name, indexed by the log's own
            numbering (epoch 0, 1, ... as Keras writes it, 1-based if the log is, or the
            global step). Missing values are NaN; non-finite losses stay non-finite
            (a NaN loss is evidence, not noise). Sorted by index, no duplicate index.
        train_loss: The column holding the training loss, or ``None``.
        val_loss: The column holding the validation loss, or ``None``.
        learning_rate: The column holding the learning rate, or ``None``.
        original_names: canonical column name -> metric name as written in the log.
        dropped: original metric name -> why it was left out of ``metrics``.
        side_series: Series on another index than ``metrics`` (for example Keras
            TensorBoard ``batch_*`` tags on the batch step); name -> Series.
        warnings: Reader warnings a user should see ("resumed at epoch 0 twice;
            analysing the last segment", "last record truncated at byte 1234").
        writer: The framework that wrote the log when the reader can tell from the file
            itself (``"keras"``, ``"hf"``, ``"lightning"``: console output says which
            printed it); ``None`` when only the format says.
        unlogged_tail: Columns whose NaN after their last value were *not logged*
            (a validation not run at the last epoch, a row or record cut while the file
            was written), as the reader knows; :meth:`series` never reads them as a
            loss that turned non-finite.
    """

    name: str
    sources: list[str]
    format: str
    index: str
    metrics: pd.DataFrame
    train_loss: str | None = None
    val_loss: str | None = None
    learning_rate: str | None = None
    original_names: dict[str, str] = field(default_factory=dict)
    dropped: dict[str, str] = field(default_factory=dict)
    side_series: dict[str, pd.Series] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    unlogged_tail: set[str] = field(default_factory=set)
    writer: str | None = None

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_frame(
        cls,
        name: str,
        frame: pd.DataFrame,
        *,
        format: str,
        index: str,
        sources: list[str] | None = None,
        warnings: list[str] | None = None,
        dropped: dict[str, str] | None = None,
    ) -> Run:
        """Build a run from a frame whose columns carry the log's *original* names.

        Columns are renamed to canonical names (:func:`loganalyzer.naming.canonical_name`),
        coerced to float (cells that are not numbers become NaN and the column is kept
        only if something numeric is left), the index is sorted and de-duplicated (last
        value wins, as a resumed run overwrites), and the training/validation loss and
        learning-rate columns are picked.
        """
        warnings = list(warnings or [])
        dropped = dict(dropped or {})
        columns: dict[str, pd.Series] = {}
        original: dict[str, str] = {}
        for col in frame.columns:
            orig = str(col)
            canon = canonical_name(orig)
            if canon in columns:
                # Two spellings of one metric ("acc" and "accuracy"): keep the first,
                # fill its gaps from the second.
                other = pd.to_numeric(frame[col], errors="coerce").astype(float)
                columns[canon] = columns[canon].combine_first(other)
                dropped[orig] = f"same metric as {original[canon]!r} (both map to {canon!r})"
                continue
            values = pd.to_numeric(frame[col], errors="coerce").astype(float)
            if values.notna().sum() == 0 and frame[col].notna().any():
                dropped[orig] = "no numeric values"
                continue
            columns[canon] = values
            original[canon] = orig
        metrics = pd.DataFrame(columns, index=frame.index)
        metrics.index = pd.Index(metrics.index, name=index)
        if not metrics.index.is_monotonic_increasing or metrics.index.has_duplicates:
            metrics = metrics[~metrics.index.duplicated(keep="last")].sort_index()
        metrics = metrics[_kept_columns(metrics)]
        train, val = pick_losses(list(metrics.columns))
        lr = "learning_rate" if "learning_rate" in metrics.columns else None
        return cls(
            name=name,
            sources=list(sources or []),
            format=format,
            index=index,
            metrics=metrics,
            train_loss=train,
            val_loss=val,
            learning_rate=lr,
            original_names={k: v for k, v in original.items() if k in metrics.columns},
            dropped=dropped,
            warnings=warnings,
        )

    # ------------------------------------------------------------------ queries
    @property
    def length(self) -> int:
        """Number of index points (rows) in ``metrics``."""
        return int(len(self.metrics))

    def series(self, name: str | None) -> pd.Series | None:
        """The column ``name`` with its NaN-padding removed (non-finite losses kept).

        Sparse logs (Lightning writes train and validation on separate rows) leave
        NaN gaps; a detector wants the points that were actually logged. Only ``NaN``
        that stands for "not logged" is dropped: ``inf`` is kept, and a NaN *after*
        the last finite point of a training loss is kept too, because a loss that
        turned NaN is the divergence a user needs to see.
        """
        if name is None or name not in self.metrics.columns:
            return None
        s = self.metrics[name]
        if name in self.unlogged_tail:
            return s[s.notna()]
        return s[s.notna() | _nan_tail(s)]

    def counts(self) -> dict[str, int]:
        """Canonical metric name -> number of logged points (for the JSON output)."""
        out = {c: int(self.metrics[c].notna().sum()) for c in self.metrics.columns}
        for name, s in self.side_series.items():
            out[name] = int(s.notna().sum())
        return out

    def override_losses(self, train: str | None = None, val: str | None = None) -> None:
        """Apply ``--train-loss`` / ``--val-loss``: accept canonical or original names.

        Raises:
            KeyError: when the name is neither a canonical nor an original metric name.
        """
        if train is not None:
            self.train_loss = self._resolve(train)
        if val is not None:
            self.val_loss = self._resolve(val)

    def _resolve(self, name: str) -> str:
        if name in self.metrics.columns:
            return name
        for canon, orig in self.original_names.items():
            if orig == name:
                return canon
        known = ", ".join(sorted(self.metrics.columns))
        raise KeyError(f"no metric named {name!r} in run {self.name!r} (known: {known})")


def _kept_columns(metrics: pd.DataFrame) -> list[str]:
    """Columns with a value, plus a loss that is NaN on every row of a dense log.

    An empty column is "not logged" and goes. But a training loss that was NaN from
    the first epoch (SGD with a learning rate of 5) is the most diverged run there
    is, and a validation loss that is NaN at every epoch is a broken validation
    pipeline: when another column has a value on every row, each row was really
    logged, so its NaN losses were logged too and stay, for ``divergence`` to report.
    (Readers drop columns that were never logged at all, such as a CSV column that
    is empty or ``NA`` everywhere, before they get here.)
    """
    empty = [c for c in metrics.columns if metrics[c].isna().all()]
    if not empty or not len(metrics):
        return list(metrics.columns)
    filled = metrics.drop(columns=empty)
    dense = bool(len(filled.columns)) and bool(filled.notna().all(axis=0).any())
    losses = set(pick_losses(list(metrics.columns))) if dense else set()
    return [c for c in metrics.columns if c not in empty or c in losses]


def _nan_tail(s: pd.Series) -> np.ndarray:
    """Mask of NaN points that a *diverged* run left: NaN after some finite values
    at the end of the log, with no finite value after them."""
    values = s.to_numpy(dtype=float)
    mask = np.zeros(len(values), dtype=bool)
    finite = np.isfinite(values)
    if np.isnan(values).all():  # only a logged all-NaN loss survives Run.from_frame
        return ~mask
    if not finite.any() or finite[-1]:
        return mask
    last_finite = int(np.nonzero(finite)[0][-1])
    # Only when something non-finite (inf or NaN) was actually logged right after:
    # a NaN tail that is merely "not logged" (sparse rows) looks the same, so we
    # accept it only for all-NaN tails of a column that had no gaps before.
    had_gaps = np.isnan(values[: last_finite + 1]).any()
    if not had_gaps:
        mask[last_finite + 1 :] = True
    return mask

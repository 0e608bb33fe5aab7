"""The canonical run: what every reader produces and every detector consumes.

Readers turn a log file (or a TensorBoard run folder) into one or more :class:`Run`
objects; nothing downstream knows which format a run came from except through
``Run.format``. Detectors, advice and renderers only ever see a ``Run``.

A run holds its metrics as numpy arrays (:attr:`Run.data` on :attr:`Run.index_values`):
judging a log of 100 points must not pay for importing pandas (0.26 s), so the hot
path (readers of small logs, detectors, advice, JSON output) reads :meth:`Run.points`
and :meth:`Run.column`. :attr:`Run.metrics` and :meth:`Run.series` give the same
numbers as a pandas DataFrame and Series for the Python API, reports and notebooks.

Example:
    >>> import pandas as pd
    >>> from loganalyzer.run import Run
    >>> df = pd.DataFrame({"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.8]},
    ...                   index=pd.Index([0, 1, 2], name="epoch"))
    >>> run = Run.from_frame("demo", df, format="keras-json", index="epoch")
    >>> run.train_loss, run.val_loss, run.length
    ('loss', 'val_loss', 3)
    >>> run.points("val_loss").y.tolist()
    [1.1, 0.7, 0.8]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from loganalyzer.naming import canonical_name, pick_losses

if TYPE_CHECKING:
    import pandas as pd

#: The formats a reader may report, as printed in ``--format json`` output.
FORMATS = (
    "keras-json",
    "keras-csv",
    "lightning-csv",
    "hf-trainer",
    "tensorboard",
    "mlflow",
    "wandb",
    "wandb-csv",
    "console",
    "python",
)

#: What the index of ``Run.metrics`` counts.
INDEX_KINDS = ("epoch", "step")


class Points(NamedTuple):
    """The logged points of one metric: log indices ``x`` (the log's own numbering,
    ints for whole epochs or steps) and float values ``y`` (non-finite losses kept)."""

    x: np.ndarray
    y: np.ndarray


@dataclass
class Run:
    """One training run as a table of metrics on a single index.

    Args:
        name: A short human name (folder or file stem; for several runs in one file,
            a suffix such as ``#2``).
        sources: The file(s) the run was read from, as given on the command line.
        format: One of :data:`FORMATS`.
        index: ``"epoch"`` or ``"step"``: what the index of ``metrics`` counts.
        data: One float64 array per canonical metric name, all as long as
            ``index_values``. Missing values are NaN; non-finite losses stay non-finite
            (a NaN loss is evidence, not noise). :attr:`metrics` is the same as a
            pandas DataFrame.
        index_values: The log's own numbering of the rows (epoch 0, 1, ... as Keras
            writes it, 1-based if the log is, or the global step): sorted, no duplicates.
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
    data: dict[str, np.ndarray]
    index_values: np.ndarray
    train_loss: str | None = None
    val_loss: str | None = None
    learning_rate: str | None = None
    original_names: dict[str, str] = field(default_factory=dict)
    dropped: dict[str, str] = field(default_factory=dict)
    side_series: dict[str, pd.Series] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    unlogged_tail: set[str] = field(default_factory=set)
    writer: str | None = None
    #: What detectors and advice computed once and share (its curves and their
    #: statistics: :func:`loganalyzer.detectors._curves.curve`); never pickled.
    _memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_memo"] = {}
        return state

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

        Cells that are not numbers become NaN, and a column is kept only if something
        numeric is left; then as :meth:`from_columns`.
        """
        import pandas as pd

        columns: dict[str, np.ndarray] = {}
        textual: set[str] = set()
        for col in frame.columns:
            orig = str(col)
            values = pd.to_numeric(frame[col], errors="coerce").astype(float)
            if values.notna().sum() == 0 and frame[col].notna().any():
                textual.add(orig)
            columns[orig] = values.to_numpy(dtype=float)
        return cls.from_columns(
            name,
            np.asarray(frame.index),
            columns,
            format=format,
            index=index,
            sources=sources,
            warnings=warnings,
            dropped=dropped,
            textual=textual,
        )

    @classmethod
    def from_columns(
        cls,
        name: str,
        index_values: np.ndarray,
        columns: dict[str, np.ndarray],
        *,
        format: str,
        index: str,
        sources: list[str] | None = None,
        warnings: list[str] | None = None,
        dropped: dict[str, str] | None = None,
        textual: set[str] | frozenset = frozenset(),
    ) -> Run:
        """Build a run from float columns under the log's *original* names, each as long
        as ``index_values`` (the log's numbering of the rows, in file order).

        Columns are renamed to canonical names (:func:`loganalyzer.naming.canonical_name`;
        of two spellings of one metric the first is kept and its gaps filled from the
        second); a column named in ``textual`` had values but no numbers and is left
        out; the rows are sorted and de-duplicated by index (last value wins, as a
        resumed run overwrites), and the training/validation loss and learning-rate
        columns are picked.

        Example:
            >>> run = Run.from_columns("r", np.array([0, 1, 1]),
            ...     {"Loss": np.array([1.0, 0.8, 0.7]), "acc": np.array([0.5, 0.6, 0.7])},
            ...     format="python", index="epoch")
            >>> run.index_values.tolist(), run.data["loss"].tolist(), run.train_loss
            ([0, 1], [1.0, 0.7], 'loss')
        """
        warnings = list(warnings or [])
        dropped = dict(dropped or {})
        data: dict[str, np.ndarray] = {}
        original: dict[str, str] = {}
        for orig, values in columns.items():
            canon = canonical_name(orig)
            if canon in data:
                # Two spellings of one metric ("acc" and "accuracy"): keep the first,
                # fill its gaps from the second.
                first = data[canon]
                data[canon] = np.where(np.isnan(first), values, first)
                dropped[orig] = f"same metric as {original[canon]!r} (both map to {canon!r})"
                continue
            if orig in textual:
                dropped[orig] = "no numeric values"
                continue
            data[canon] = np.array(values, dtype=float)  # its own copy
            original[canon] = orig
        labels = np.array(index_values)
        if len(labels) > 1 and (labels[1:] <= labels[:-1]).any():
            # keep the last row of every index value, in index order
            _, first_in_reversed = np.unique(labels[::-1], return_index=True)
            keep = len(labels) - 1 - first_in_reversed
            labels = labels[keep]
            data = {k: v[keep] for k, v in data.items()}
        kept = _kept_columns(data, len(labels))
        data = {k: data[k] for k in kept}
        for arr in (labels, *data.values()):
            arr.flags.writeable = False  # shared by every detector: nobody may change them
        train, val = pick_losses(list(data))
        lr = "learning_rate" if "learning_rate" in data else None
        return cls(
            name=name,
            sources=list(sources or []),
            format=format,
            index=index,
            data=data,
            index_values=labels,
            train_loss=train,
            val_loss=val,
            learning_rate=lr,
            original_names={k: v for k, v in original.items() if k in data},
            dropped=dropped,
            warnings=warnings,
        )

    # ------------------------------------------------------------------ pandas views
    @property
    def metrics(self) -> pd.DataFrame:
        """The metrics as a pandas DataFrame (one column per canonical name, indexed by
        :attr:`index_values` named after :attr:`index`); built on each access (a copy:
        assign ``run.metrics = frame`` to change the run)."""
        import pandas as pd

        return pd.DataFrame(
            {k: v.copy() for k, v in self.data.items()},
            index=pd.Index(self.index_values.copy(), name=self.index),
        )

    @metrics.setter
    def metrics(self, frame: pd.DataFrame) -> None:
        self.data = {str(c): frame[c].to_numpy(dtype=float) for c in frame.columns}
        self.index_values = np.asarray(frame.index)
        self._memo.clear()

    def series(self, name: str | None) -> pd.Series | None:
        """:meth:`points` of ``name`` as a pandas Series (``None`` when not logged)."""
        p = self.points(name)
        if p is None:
            return None
        import pandas as pd

        return pd.Series(p.y, index=pd.Index(p.x, name=self.index), name=name)

    # ------------------------------------------------------------------ queries
    @property
    def length(self) -> int:
        """Number of index points (rows)."""
        return int(len(self.index_values))

    @property
    def empty(self) -> bool:
        """No metric column, or no row (as ``DataFrame.empty``)."""
        return not self.data or not len(self.index_values)

    @property
    def names(self) -> list[str]:
        """The canonical metric names, in column order."""
        return list(self.data)

    def column(self, name: str | None) -> np.ndarray | None:
        """The whole column ``name`` (NaN where not logged), or ``None``."""
        return self.data.get(name) if name is not None else None

    def points(self, name: str | None) -> Points | None:
        """The points of ``name`` that were logged: its NaN-padding removed (non-finite
        losses kept), or ``None`` when it is not a column.

        Sparse logs (Lightning writes train and validation on separate rows) leave
        NaN gaps; a detector wants the points that were actually logged. Only ``NaN``
        that stands for "not logged" is dropped: ``inf`` is kept, and a NaN *after*
        the last finite point of a training loss is kept too, because a loss that
        turned NaN is the divergence a user needs to see.
        """
        y = self.column(name)
        if y is None:
            return None
        key = ("points", name, name in self.unlogged_tail)
        found = self._memo.get(key)
        if found is None:
            logged = ~np.isnan(y)
            if name not in self.unlogged_tail:
                logged |= _nan_tail(y)
            if logged.all():
                found = Points(self.index_values, y)
            else:
                found = Points(self.index_values[logged], y[logged])
                for arr in found:
                    arr.flags.writeable = False
            self._memo[key] = found
        return found

    def counts(self) -> dict[str, int]:
        """Canonical metric name -> number of logged points (for the JSON output)."""
        out = {c: int(np.count_nonzero(~np.isnan(v))) for c, v in self.data.items()}
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
        if name in self.data:
            return name
        for canon, orig in self.original_names.items():
            if orig == name:
                return canon
        known = ", ".join(sorted(self.data))
        raise KeyError(f"no metric named {name!r} in run {self.name!r} (known: {known})")


def _kept_columns(data: dict[str, np.ndarray], rows: int) -> list[str]:
    """Columns with a value, plus a loss that is NaN on every row of a dense log.

    An empty column is "not logged" and goes. But a training loss that was NaN from
    the first epoch (SGD with a learning rate of 5) is the most diverged run there
    is, and a validation loss that is NaN at every epoch is a broken validation
    pipeline: when another column has a value on every row, each row was really
    logged, so its NaN losses were logged too and stay, for ``divergence`` to report.
    (Readers drop columns that were never logged at all, such as a CSV column that
    is empty or ``NA`` everywhere, before they get here.)
    """
    empty = [c for c, v in data.items() if all_nan(v)]
    if not empty or not rows:
        return list(data)
    filled = [v for c, v in data.items() if c not in empty]
    dense = any(not np.isnan(v).any() for v in filled)
    losses = set(pick_losses(list(data))) if dense else set()
    return [c for c in data if c not in empty or c in losses]


def all_nan(values: np.ndarray) -> bool:
    """``np.isnan(values).all()`` of a float array, a fifth of the cost when its first
    value is a number (the usual column)."""
    return (not len(values) or values[0] != values[0]) and bool(np.isnan(values).all())


def _nan_tail(values: np.ndarray) -> np.ndarray:
    """Mask of NaN points that a *diverged* run left: NaN after some finite values
    at the end of the log, with no finite value after them."""
    mask = np.zeros(len(values), dtype=bool)
    finite = np.isfinite(values)
    if np.isnan(values).all():  # only a logged all-NaN loss survives Run.from_columns
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

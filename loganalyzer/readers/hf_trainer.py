"""Hugging Face ``trainer_state.json``.

``log_history`` is a list of records, each with the global ``step``:

- training records hold ``loss`` (plus ``learning_rate``, ``grad_norm``, ``epoch``);
- evaluation records hold ``eval_loss`` or, with several evaluation sets,
  ``eval_<set>_loss`` (plus timing such as ``eval_runtime``);
- the final summary record (``train_loss``, ``train_runtime``, ``total_flos``) is the
  mean over the whole run, not a training point, and is left out.

The run is indexed by global step: ``epoch`` can go back when training is resumed,
while the step keeps growing. Bare ``NaN``/``Infinity`` tokens (Python's ``json``
writes them for a diverged fp16 run) are read as the non-finite values they are.

Example:
    >>> import json, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "trainer_state.json"
    >>> _ = p.write_text(json.dumps({"global_step": 20, "log_history": [
    ...     {"loss": 1.0, "step": 10, "epoch": 0.5}, {"eval_loss": 1.2, "step": 10},
    ...     {"loss": 0.8, "step": 20, "epoch": 1.0},
    ...     {"train_loss": 0.9, "train_runtime": 3.0, "step": 20}]}))
    >>> run = read(p)[0]
    >>> run.index, run.counts()["loss"], run.counts()["val_loss"], run.train_loss
    ('step', 2, 1, 'loss')
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from loganalyzer.errors import LogReadError
from loganalyzer.readers._text import decode_head, invalid_json, number, read_text
from loganalyzer.run import Run

FORMAT = "hf-trainer"

# Per-record bookkeeping that is not a metric of the model.
_TIMING = ("_runtime", "_samples_per_second", "_steps_per_second", "total_flos")


def sniff(path: Path, head: bytes) -> bool:
    """A JSON object with a ``log_history`` key."""
    text = decode_head(head)
    return text is not None and text.lstrip().startswith("{") and '"log_history"' in text


def read(path: Path) -> list[Run]:
    """Read ``log_history`` into one step-indexed run.

    Raises:
        LogReadError: for invalid JSON or a ``log_history`` without training or
            evaluation records.
    """
    source = str(path)
    text = read_text(path)
    try:
        state = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise invalid_json(source, exc) from None
    history = state.get("log_history") if isinstance(state, dict) else None
    if not isinstance(history, list):
        raise LogReadError(source, "trainer_state.json without a log_history list")
    rows: dict[int, dict[str, float]] = {}
    dropped: dict[str, str] = {}
    warnings: list[str] = []
    last_epoch = None
    for k, rec in enumerate(history):
        if not isinstance(rec, dict):
            continue
        step = number(rec.get("step"))
        if not abs(step) < 2**53:  # NaN, infinite or absurd: not a step
            dropped.setdefault("(record without step)", f"log_history[{k}] has no step")
            continue
        if "train_runtime" in rec or "train_loss" in rec:
            for key in rec:
                if key not in ("step", "epoch"):
                    dropped.setdefault(key, "final summary of the whole run, not a training point")
            continue
        epoch = number(rec.get("epoch"))
        if last_epoch is not None and epoch == epoch and epoch < last_epoch:
            warnings.append(
                f"epoch went back from {last_epoch:g} to {epoch:g} at step {int(step)} "
                "(resumed); indexed by global step"
            )
        if epoch == epoch:
            last_epoch = epoch
        row = rows.setdefault(int(step), {})
        for key, value in rec.items():
            if key in ("step", "epoch"):
                continue
            if key.endswith(_TIMING) or key == "total_flos":
                dropped.setdefault(key, "timing/throughput, not a training metric")
                continue
            v = number(value)
            if v != v and not (isinstance(value, float) or value is None):
                dropped.setdefault(key, "not a number")
                continue
            row[key] = v
    rows = {s: r for s, r in rows.items() if r}
    if not rows:
        raise LogReadError(
            source, "trainer_state.json whose log_history has no training or evaluation records"
        )
    frame = pd.DataFrame.from_dict(rows, orient="index").sort_index()
    frame.index.name = "step"
    run = Run.from_frame(
        path.parent.name or path.name,
        frame,
        format=FORMAT,
        index="step",
        sources=[source],
        warnings=warnings,
        dropped=dropped,
    )
    # Records name what was logged, NaN values included: a metric whose last record
    # comes before the last step (evaluation not run at the end) was not logged there.
    last_logged = {key: step for step in sorted(rows) for key in rows[step]}
    end = frame.index.max()
    run.unlogged_tail = {
        c for c, orig in run.original_names.items() if last_logged.get(orig, end) < end
    }
    return [run]

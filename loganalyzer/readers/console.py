"""Console output of a training run: what Keras ``fit``, the Hugging Face Trainer and
Lightning print (a Slurm ``.out`` file, a CI log, a notebook cell saved to text).

What real console logs look like, and what this reader does with it:

- **Keras ``fit(verbose=1)``** prints ``Epoch 3/50`` and then redraws one progress line
  with ``\\r`` and backspaces (``\\b``), coloured with ANSI escapes; the last drawing of
  an epoch, ``8/8 ━━━━ 0s 15ms/step - loss: 4.6272 - val_loss: 4.6748``, holds the
  epoch's metrics. Escapes are removed, each line is cut at ``\\r``/``\\b`` and only its
  last drawing is read. Keras 2's ``[=====]`` bars read the same.
- **Keras ``fit(verbose=2)``** prints one line per epoch, ``8/8 - 1s - 99ms/step -
  loss: 4.8466 - val_loss: 4.8958``.
- Keras prints ``Epoch 1/3`` as the first epoch; the run is indexed as History JSON and
  ``CSVLogger`` index it, from 0 (printed epoch minus one), so the same run read from
  its console output and from its History JSON has the same index.
- **Several ``fit`` calls** in one file: the printed epoch drops back (``Epoch 1/...``
  again) where a new ``fit`` starts; every ``fit`` is a run of its own, named
  ``file#1``, ``file#2``. A ``fit(initial_epoch=k)`` that continues the numbering
  continues the run.
- Lines in between (warnings, ``print`` output, tracebacks, TensorFlow's start-up
  chatter) are ignored, also when they land on a progress line.
- **Hugging Face Trainer** prints each log record as a Python dict repr,
  ``{'loss': 0.693, 'grad_norm': 0.08, 'learning_rate': 4.3e-05, 'epoch': 0.5}`` and
  ``{'eval_loss': 0.69, ..., 'epoch': 1.0}`` (transformers 5 prints the numbers as
  strings: ``{'loss': '0.693', ...}``). They are parsed with :func:`ast.literal_eval`,
  never ``eval``. The printed record has no ``step``, so the run is indexed by the
  (fractional) ``epoch`` it prints; training and evaluation records of the same epoch
  share a row, as they share a step in ``trainer_state.json``. The final summary
  (``train_runtime``, ``train_loss``) is not a training point and timing fields are left
  out, as in ``trainer_state.json``.
- **Lightning's progress bar** (``TQDMProgressBar``, the default without ``rich``)
  redraws ``Epoch 3: 100%|███| 8/8 [00:00<00:00, v_num=0, train_loss_step=0.00872,
  val_loss=0.00636, train_loss_epoch=0.018]``; the last drawing of each epoch holds
  that epoch's validation and ``*_epoch`` values. ``train_loss_epoch`` is the training
  loss; ``*_step`` values (the last batch only) and ``v_num`` are left out, and
  ``loganalyzer series`` says why. Lightning, like Keras' History, numbers epochs from 0.
- The values are what was printed: 4 decimals (Keras), 4 significant digits
  (transformers 5), 3 (Lightning).
- **An epoch still being written** (the log ends inside it: a running job, or one killed
  mid-epoch) is not read; a warning says so. ``loganalyzer watch`` waits for it.

Plain logging text without such lines (``INFO epoch 1 loss=0.5``) is not claimed.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "train.out"
    >>> _ = p.write_text("Epoch 1/2\\n8/8 - 1s - loss: 1.0000 - val_loss: 1.2000\\n"
    ...                  "Epoch 2/2\\n8/8 - 0s - loss: 0.5000 - val_loss: 0.9000\\n")
    >>> run = read(p)[0]
    >>> run.metrics.index.tolist(), run.series("val_loss").tolist()
    ([0, 1], [1.2, 0.9])
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

import pandas as pd

from loganalyzer.errors import LogReadError
from loganalyzer.readers._text import decode_head, number
from loganalyzer.run import Run

FORMAT = "console"

# ANSI CSI sequences (colours, cursor moves such as tqdm's ESC[A) and OSC titles.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_REDRAW = re.compile(r"[\r\b]+")

_KERAS_EPOCH = re.compile(r"^\s*Epoch (\d{1,9})/(\d{1,9})\s*$")
_KERAS_BAR = re.compile(r"^\s*(\d{1,12})/(\d{1,12}|Unknown)\b")
_NUM = r"[-+]?(?:\d{1,30}(?:\.\d{0,30})?(?:[eE][-+]?\d{1,4})?|nan|inf|NaN|Inf)"
_KERAS_PAIR = re.compile(r"\s-\s([A-Za-z_][\w./\-]{0,200}): (" + _NUM + r")(?=\s|$)")

_HF_LINE = re.compile(r"^\s*\{'[A-Za-z_][\w./\-]{0,200}': .{0,20000}\}\s*$")
_HF_TIMING = ("_runtime", "_samples_per_second", "_steps_per_second", "total_flos")

_PL_BAR = re.compile(r"^\s*Epoch (\d{1,9}):\s+\d{1,3}%\|[^|]{0,400}\|\s*(\d{1,12})/(\d{1,12}|\?)")
_PL_PAIR = re.compile(r"(?:,\s*|\[)([A-Za-z_][\w./\-]{0,200})=(" + _NUM + r")(?=[,\]\s])")


@dataclass
class _Line:
    """One physical line: its drawings (cut at ``\\r``/``\\b``), whether a line end
    closed it, and its 1-based number."""

    drawings: list[str]
    closed: bool
    number: int


def _lines(text: str) -> list[_Line]:
    text = _ANSI.sub("", text)
    raw = text.split("\n")
    closed_last = text.endswith("\n")
    if closed_last:
        raw.pop()
    out = []
    for i, line in enumerate(raw):
        drawings = [d for d in _REDRAW.split(line) if d.strip()]
        out.append(_Line(drawings, closed=i < len(raw) - 1 or closed_last, number=i + 1))
    return out


# ---------------------------------------------------------------------------- sniff
def sniff(path, head: bytes) -> bool:
    """Keras ``Epoch n/N`` plus a metrics line, HF Trainer dict lines, or Lightning
    epoch bars with metrics."""
    text = decode_head(head)
    if text is None or ("Epoch" not in text and "{'" not in text):
        return False
    lines = _lines(text)
    keras_epoch = False
    for line in lines:
        for d in line.drawings:
            if _KERAS_EPOCH.match(d):
                keras_epoch = True
            elif keras_epoch and _KERAS_BAR.match(d) and _KERAS_PAIR.search(d):
                return True
            elif _PL_BAR.match(d) and _PL_PAIR.search(d):
                return True
        if line.drawings and _is_hf_record(line.drawings[-1]) is not None:
            return True
    return False


# ---------------------------------------------------------------------------- read
def read(path) -> list[Run]:
    """Read every Keras ``fit``, HF Trainer run and Lightning run printed in the file.

    Raises:
        LogReadError: when no complete epoch or log record is found.
    """
    source = str(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")  # a console log may hold a stray byte
    text = text.lstrip("\ufeff")
    lines = _lines(text)
    # (frame, warnings, dropped, renamed: name in frame -> name as printed)
    found: list[tuple[pd.DataFrame, list[str], dict[str, str], dict[str, str]]] = []
    writers: list[str] = []
    for frame, warnings in _keras(lines):
        found.append((frame, warnings, {}, {}))
        writers.append("keras")
    for writer, got in (("hf", _hf(lines)), ("lightning", _lightning(lines))):
        if got is not None:
            found.append(got)
            writers.append(writer)
    if not found:
        raise LogReadError(source, "console output without a complete epoch or log record")
    runs = []
    for k, (frame, warnings, dropped, renamed) in enumerate(found, start=1):
        name = path.name + (f"#{k}" if len(found) > 1 else "")
        run = Run.from_frame(
            name,
            frame,
            format=FORMAT,
            index="epoch",
            sources=[source],
            warnings=warnings,
            dropped=dropped,
        )
        run.original_names = {c: renamed.get(o, o) for c, o in run.original_names.items()}
        run.writer = writers[k - 1]
        if not run.metrics.empty:
            runs.append(run)
    if not runs:
        raise LogReadError(source, "console output without numeric metric values")
    return runs


@dataclass
class _Fit:
    epochs: dict[int, dict[str, float]] = field(default_factory=dict)
    last: int = -1
    warnings: list[str] = field(default_factory=list)


def _keras(lines: list[_Line]) -> list[tuple[pd.DataFrame, list[str]]]:
    """One frame per ``fit`` call: the last complete drawing of every epoch."""
    fits: list[_Fit] = []
    epoch: int | None = None
    final: dict[str, float] | None = None  # the epoch's last complete drawing
    open_at: int | None = None  # line where the current epoch's drawing is unfinished

    def close() -> None:
        if epoch is not None and final is not None:
            fits[-1].epochs[epoch] = final

    for line in lines:
        for d in line.drawings:
            m = _KERAS_EPOCH.match(d)
            if m:
                close()
                printed = int(m.group(1))
                if not fits or printed - 1 <= fits[-1].last:
                    fits.append(_Fit())
                epoch, final, open_at = printed - 1, None, None
                fits[-1].last = epoch
                continue
            if epoch is None:
                continue
            bar = _KERAS_BAR.match(d)
            if not bar:
                continue
            pairs = {k: number(v) for k, v in _KERAS_PAIR.findall(d)}
            if not pairs or bar.group(1) != bar.group(2):
                continue  # a batch in the middle of the epoch: running averages
            # The epoch's last drawing; only the file's last line can be unfinished
            # (a job still running, or killed inside the epoch's validation).
            final = pairs if line.closed else None
            open_at = None if line.closed else line.number
    if epoch is not None and final is not None:
        close()
    elif epoch is not None and fits:
        where = f" (line {open_at})" if open_at else ""
        fits[-1].warnings.append(
            f"the log ends inside epoch {epoch}{where}: that epoch is not read"
        )
    out = []
    for fit in fits:
        if not fit.epochs:
            continue
        frame = pd.DataFrame.from_dict(fit.epochs, orient="index").sort_index()
        frame.index.name = "epoch"
        out.append((frame, fit.warnings))
    return out


def _is_hf_record(drawing: str) -> dict | None:
    """A printed HF Trainer log record (a dict repr with an ``epoch``), or ``None``."""
    if not _HF_LINE.match(drawing):
        return None
    try:
        rec = ast.literal_eval(drawing.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if not isinstance(rec, dict) or "epoch" not in rec:
        return None
    return rec


def _hf(lines: list[_Line]):
    rows: dict[float, dict[str, float]] = {}
    dropped: dict[str, str] = {}
    warnings: list[str] = []
    for line in lines:
        if not line.drawings:
            continue
        rec = _is_hf_record(line.drawings[-1])
        if rec is None:
            continue
        if not line.closed:
            warnings.append(f"the last log record (line {line.number}) is unfinished: not read")
            continue
        epoch = number(rec.get("epoch"))
        if epoch != epoch:
            continue
        if "train_runtime" in rec or "train_loss" in rec:
            for key in rec:
                if key != "epoch":
                    dropped.setdefault(key, "final summary of the whole run, not a training point")
            continue
        row = rows.setdefault(epoch, {})
        for key, value in rec.items():
            if key == "epoch":
                continue
            if str(key).endswith(_HF_TIMING):
                dropped.setdefault(key, "timing/throughput, not a training metric")
                continue
            v = number(value)
            if v != v and str(value).strip().lower() != "nan":
                dropped.setdefault(key, "not a number")
                continue
            row[key] = v
    rows = {e: r for e, r in rows.items() if r}
    if not rows:
        return None
    frame = pd.DataFrame.from_dict(rows, orient="index").sort_index()
    frame.index.name = "epoch"
    return frame, warnings, dropped, {}


def _lightning(lines: list[_Line]):
    epochs: dict[int, dict[str, float]] = {}
    last_epoch = None
    last_closed = True
    for line in lines:
        for d in line.drawings:
            m = _PL_BAR.match(d)
            if not m:
                continue
            pairs = dict(_PL_PAIR.findall(d))
            e = int(m.group(1))
            if pairs:
                epochs[e] = {k: number(v) for k, v in pairs.items()}
            last_epoch = e
            last_closed = line.closed
    if not epochs:
        return None
    warnings = []
    if last_epoch is not None and not last_closed and last_epoch in epochs:
        del epochs[last_epoch]
        warnings.append(f"the log ends inside epoch {last_epoch}: that epoch is not read")
    dropped: dict[str, str] = {}
    renamed: dict[str, str] = {}
    rows: dict[int, dict[str, float]] = {}
    for e, pairs in epochs.items():
        row = {}
        for k, v in pairs.items():
            if k == "v_num":
                dropped[k] = "the logger's version number, not a metric"
            elif k.endswith("_step"):
                dropped[k] = "the bar shows only the last batch's value, not a per-epoch one"
            elif k.endswith("_epoch") and k[: -len("_epoch")] not in pairs:
                row[k[: -len("_epoch")]] = v
                renamed[k[: -len("_epoch")]] = k
            else:
                row[k] = v
        if row:
            rows[e] = row
    if not rows:
        return None
    frame = pd.DataFrame.from_dict(rows, orient="index").sort_index()
    frame.index.name = "epoch"
    return frame, warnings, dropped, renamed

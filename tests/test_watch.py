"""``loganalyzer watch``: a log appended while it is watched. Poll by poll, the
divergence is reported at the first poll after the row that shows it, a half-written
row is never read, and only appended bytes are read."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from loganalyzer.analysis import analyze_run
from loganalyzer.commands.watch import Follower
from loganalyzer.config import load_config

HEADER = "epoch,loss,val_loss\n"


def _row(e: int) -> str:
    """A run that trains well for 20 epochs, then blows up by 10x per epoch."""
    loss = 1 / (e + 1) if e < 20 else 1 / (e + 1) * 10 ** (e - 19)
    return f"{e},{loss:.6f},{loss * 1.1:.6f}\n"


def _kinds(runs) -> set[str]:
    config = load_config(None)
    return {f.kind for run in runs for f in analyze_run(run, config).findings}


def _first_row_showing_divergence() -> int:
    """Offline: the last row of the shortest prefix of the log whose analysis reports
    the divergence (found by bisection; once shown, longer prefixes show it too)."""
    import tempfile

    from loganalyzer.readers import read_file

    d = Path(tempfile.mkdtemp())

    def shows(n: int) -> bool:
        p = d / f"{n}.csv"
        p.write_text(HEADER + "".join(_row(e) for e in range(n)))
        return "divergence" in _kinds(read_file(p))

    lo, hi = 1, 40  # not shown with lo rows, shown with hi rows
    assert not shows(lo) and shows(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if shows(mid) else (mid, hi)
    return hi - 1


def test_each_poll_reads_only_whole_rows_and_finds_the_divergence_at_once(tmp_path):
    shows = _first_row_showing_divergence()
    log = tmp_path / "training.csv"
    log.write_text(HEADER)
    follower = Follower([str(log)])
    assert follower.poll() == ([], [])  # a header alone: nothing complete yet
    for e in range(shows + 1):
        row = _row(e)
        with open(log, "a") as fh:  # half a row: the writer has not finished it
            fh.write(row[: len(row) // 2])
        runs, errors = follower.poll()
        assert errors == [] and runs == []  # half a row: nothing new to report
        with open(log, "a") as fh:
            fh.write(row[len(row) // 2 :])
        runs, _ = follower.poll()
        assert [run.metrics.index.max() for run in runs] == [e]
        if e == shows - 1:
            assert "divergence" not in _kinds(runs)
    assert "divergence" in _kinds(runs)  # at the first poll after the row that shows it
    assert len(follower.tails[str(log)].data) == log.stat().st_size


def test_a_rewritten_file_is_read_again(tmp_path):
    log = tmp_path / "history.csv"
    log.write_text(HEADER + _row(0) + _row(1))
    follower = Follower([str(log)])
    assert follower.poll()[0][0].length == 2
    log.write_text(HEADER + _row(0) + _row(1) + _row(2) + _row(3))  # same start, grown
    assert follower.poll()[0][0].length == 4
    log.write_text("epoch,loss\n0,5.0\n")  # rewritten shorter
    runs, _ = follower.poll()
    assert runs[0].series("loss").tolist() == [5.0]


def test_watch_command_stops_a_diverging_run(tmp_path):
    """End to end: a background writer appends rows in two halves; ``watch --fail-on
    error`` exits 1 with one line for the divergence, and nothing from half rows."""
    log = tmp_path / "training.csv"
    log.write_text(HEADER)
    done = threading.Event()

    def writer():
        for e in range(40):
            if done.is_set():
                return
            row = _row(e)
            with open(log, "a") as fh:
                fh.write(row[:4])
                fh.flush()
                time.sleep(0.05)
                fh.write(row[4:])
            time.sleep(0.1)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "loganalyzer.cli", "watch", str(log), "--interval", "0.2"]
            + ["--fail-on", "error", "--timeout", "120"],
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        done.set()
        t.join()
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert "error LA102 divergence" in lines[-1]
    assert len(lines) == len(set(lines))  # each finding once
    # the header alone is waited for, never an error
    assert all(ln.startswith("waiting: ") for ln in proc.stderr.splitlines()), proc.stderr


def test_a_growing_tensorboard_run_is_followed_file_by_file(tmp_path):
    """Keras' TensorBoard callback appends records to two event files; a poll in the
    middle of a record keeps every whole record, the next poll reads only the rest."""
    import shutil

    src = Path(__file__).resolve().parents[1] / "sample_logs" / "overfit" / "tensorboard"
    run = tmp_path / "tensorboard"
    shutil.copytree(src, run)
    val = next((run / "validation").iterdir())
    full = val.read_bytes()
    val.write_bytes(full[: len(full) // 2 + 3])  # cut inside a record
    follower = Follower([str(run)])
    first = follower.poll()[0][0]
    assert 0 < first.metrics["val_loss"].notna().sum() < 50 and first.length == 50
    with open(val, "ab") as fh:
        fh.write(full[len(full) // 2 + 3 :])
    again = follower.poll()[0][0]
    assert again.metrics["val_loss"].notna().sum() == 50
    assert bytes(follower.tails[str(val)].data) == full
    assert follower.poll() == ([], [])  # nothing new: nothing read, nothing reported

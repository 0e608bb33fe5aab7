"""EarlyStopping's trace (computed once per curve) answers as a replay per patience does.

``advice/early_stopping.py`` reads every patience it tries off one
:class:`~loganalyzer.advice.early_stopping.Trace` of the curve instead of replaying
Keras's ``on_epoch_end`` once per patience; here each answer is checked against that
replay, written out as Keras does it, on curves with ties and NaN.
"""

from __future__ import annotations

import numpy as np

from loganalyzer.advice.early_stopping import Trace


def replay(values, patience: int, min_delta: float, mode: str):
    """Keras 3 ``EarlyStopping.on_epoch_end``, epoch by epoch: (stop, best epoch)."""
    best, best_epoch, wait = None, None, 0
    for epoch, current in enumerate(values):
        if best_epoch is None:
            best_epoch = epoch
        wait += 1
        if best is None or (
            current + min_delta < best if mode == "min" else current - min_delta > best
        ):
            best, best_epoch, wait = current, epoch, 0
            continue
        if wait >= patience and epoch > 0:
            return epoch, best_epoch
    return None, best_epoch


def test_every_patience_read_off_the_trace_matches_a_replay():
    rng = np.random.default_rng(3)
    for k in range(300):
        n = int(rng.integers(0, 40))
        y = np.round(rng.normal(size=n), 1)  # ties
        if k % 7 == 0 and n:
            y[int(rng.integers(n))] = np.nan
        for mode in ("min", "max"):
            for delta in (-0.1, 0.0, 0.1):  # a negative min_delta improves off the records
                trace = Trace.of(y, delta, mode)
                for patience in range(1, 8):
                    sim = trace.simulate(patience)
                    assert (sim.stop_pos, sim.restored_pos) == replay(
                        y.tolist(), patience, delta, mode
                    )
                for target in range(n):
                    p = trace.min_patience(target)
                    stop, best = replay(y.tolist(), p, delta, mode)
                    assert stop is None or stop > target  # p does not stop by target
                    # ... so the simulation may skip the epochs up to the target
                    sim = trace.simulate(p, after=target)
                    assert (sim.stop_pos, sim.restored_pos) == (stop, best)
                    if p > 1:
                        stop, _ = replay(y.tolist(), p - 1, delta, mode)
                        assert stop is not None and stop <= target  # and p is the least


def test_reruns_longest_waits_match_a_replay_of_each():
    from loganalyzer.advice.early_stopping import _longest_waits

    rng = np.random.default_rng(4)
    for _ in range(60):
        reps, n = int(rng.integers(1, 12)), int(rng.integers(1, 30))
        curves = np.round(rng.normal(size=(reps, n)), 1)
        for mode in ("min", "max"):
            for delta in (0.0, 0.2):
                until = int(rng.integers(0, n + 1))
                got = _longest_waits(curves, delta, mode, until)
                for row, longest in zip(curves, got, strict=True):
                    trace = Trace.of(row, delta, mode)
                    waits = [
                        w
                        for w, b in zip(trace.wait[1 : until + 1], trace.improved[1:], strict=False)
                        if not b
                    ]
                    assert longest == (max(waits) if waits else -1)

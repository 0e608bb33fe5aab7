"""Precision and recall of every detector on the labelled synthetic suite.

Runs the suite of ``tests/synthetic_curves.py`` (known truth over a grid of lengths,
noise levels and offsets) through ``loganalyzer.analysis.analyze_run`` and prints,
per kind, TP/FP/FN, precision, recall and (for overfitting) the share of onsets
within max(1, 5 % of the length) of the truth; then where the errors come from
(kind found x kind generated) and the worst misclassified runs, to help tuning.

Usage (from the repository root)::

    .venv/bin/python bench/bench_detectors.py
    .venv/bin/python bench/bench_detectors.py --seed 3 --size 2   # 2 replicates per grid point
    .venv/bin/python bench/bench_detectors.py --worst 40 --kind plateau
    .venv/bin/python bench/bench_detectors.py --keras-lag   # train loss as an epoch mean

The issue's bar: precision and recall >= 0.95 for every kind, onset >= 90 %.
"""

from __future__ import annotations

import argparse
import collections
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from synthetic_curves import KINDS, build_suite, evaluate  # noqa: E402

BAR = 0.95
ONSET_BAR = 0.90


def _fmt(x: float) -> str:
    return "  -  " if math.isnan(x) else f"{x:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="suite seed (default 0)")
    parser.add_argument(
        "--size", type=int, default=1, help="replicates per grid point (default 1, ~400 runs)"
    )
    parser.add_argument(
        "--keras-lag",
        action="store_true",
        help="epoch logs with the training loss half an epoch behind validation, as Keras logs it",
    )
    parser.add_argument("--worst", type=int, default=25, help="misclassified runs to list")
    parser.add_argument("--kind", default=None, help="list only errors involving this kind")
    args = parser.parse_args(argv)

    runs = build_suite(seed=args.seed, reps=args.size, keras_lag=args.keras_lag)
    t0 = time.perf_counter()
    scores, outcomes = evaluate(runs)
    elapsed = time.perf_counter() - t0
    n_kind = collections.Counter(r.kind for r in runs)
    print(
        f"{len(runs)} runs (seed {args.seed}, {args.size} per grid point"
        f"{', Keras half-epoch lag' if args.keras_lag else ''}), "
        f"analysed in {elapsed:.1f} s"
    )
    print()
    head = f"{'kind':<21} {'pos':>4} {'TP':>4} {'FP':>4} {'FN':>4} {'prec':>6} {'recall':>6}"
    print(head + "  onset   bar")
    print("-" * (len(head) + 14))
    for kind in KINDS:
        s = scores[kind]
        ok = s.precision >= BAR and s.recall >= BAR
        onset = ""
        if s.onset_total:
            onset = f"{s.onset_accuracy:.3f}"
            ok = ok and s.onset_accuracy >= ONSET_BAR
        print(
            f"{kind:<21} {s.tp + s.fn:>4} {s.tp:>4} {s.fp:>4} {s.fn:>4} "
            f"{_fmt(s.precision):>6} {_fmt(s.recall):>6}  {onset:<6}  {'ok' if ok else 'BELOW'}"
        )
    healthy = [o for o in outcomes if o.run.kind == "healthy"]
    clean = sum(1 for o in healthy if not o.false_positives)
    print(f"{'healthy (no finding)':<21} {len(healthy):>4}  clean {clean}/{len(healthy)}")
    print()

    print("Errors (FP + FN) per kind by length and by offset (errors / runs at that value):")
    lengths = sorted({r.length for r in runs})
    offsets = sorted({r.params["offset"] for r in runs})
    cols = [f"n={n}" for n in lengths] + offsets
    print(f"  {'kind':<21}" + "".join(f"{c:>11}" for c in cols))
    for kind in KINDS:
        cells = []
        for axis, values in (("n", lengths), ("offset", offsets)):
            for v in values:
                sel = [
                    o
                    for o in outcomes
                    if (o.run.length if axis == "n" else o.run.params["offset"]) == v
                ]
                bad_here = sum(
                    1 for o in sel if kind in o.false_positives or kind in o.false_negatives
                )
                cells.append(f"{bad_here}/{len(sel)}")
        if any(not c.startswith("0/") for c in cells):
            print(f"  {kind:<21}" + "".join(f"{c:>11}" for c in cells))
    print()

    errors = collections.Counter()
    for o in outcomes:
        for k in o.false_positives:
            errors[("FP", k, o.run.kind)] += 1
        for k in o.false_negatives:
            errors[("FN", k, o.run.kind)] += 1
    print("Errors by kind found/missed x kind generated (count / runs of that kind):")
    for (what, k, truth), c in sorted(errors.items(), key=lambda kv: (-kv[1], kv[0])):
        if args.kind and args.kind not in (k, truth):
            continue
        print(f"  {what} {k:<20} on {truth:<20} {c:>3}/{n_kind[truth]}")
    print()

    bad = [o for o in outcomes if o.false_positives or o.false_negatives]
    if args.kind:
        bad = [
            o
            for o in bad
            if args.kind in o.false_positives | o.false_negatives or o.run.kind == args.kind
        ]
    bad.sort(key=lambda o: (-(len(o.false_positives) + len(o.false_negatives)), o.run.id))
    print(f"Worst misclassified runs ({min(args.worst, len(bad))} of {len(bad)}):")
    for o in bad[: args.worst]:
        truth = ",".join(sorted(o.run.labels)) or "healthy"
        found = ",".join(sorted(o.found)) or "-"
        extra = {k: v for k, v in o.run.params.items() if k not in ("n", "noise", "offset")}
        extra_s = " ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in extra.items()
        )
        print(f"  {o.run.id:<42} truth={truth:<32} found={found}")
        if extra_s:
            print(f"      {extra_s}")

    missed_onsets = [
        o
        for o in outcomes
        if "overfitting" in o.run.labels and "overfitting" in o.found and o.onset_start is not None
    ]
    off = [(o.run.id, o.run.onset, o.onset_start) for o in missed_onsets if not _onset_ok(o)]
    if off:
        print()
        print(f"Detected overfits with the onset off by more than max(1, 5 %) ({len(off)}):")
        for rid, true, found in off[: args.worst]:
            print(f"  {rid:<42} true onset {true}, found {found}")
    return 0


def _onset_ok(outcome) -> bool:
    from synthetic_curves import onset_ok

    return onset_ok(outcome.run, outcome.onset_start)


if __name__ == "__main__":
    raise SystemExit(main())

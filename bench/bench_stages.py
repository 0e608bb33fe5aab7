"""Where a sweep's time goes: milliseconds per run of each stage, in one process.

``bench_many_runs.py`` times the whole command against other tools; this script says
which stage to work on. It generates the same runs (Keras ``CSVLogger`` files of 100
epochs: healthy, overfitting and noisy curves), then runs the pipeline of
:func:`loganalyzer.parallel.analyze_to_json` stage by stage on each and prints the CPU
time per run of:

- ``read``: finding the format and reading the file into a ``Run``;
- ``detect:<kind>``: each rule's detector, timed inside
  :func:`loganalyzer.diagnose.diagnose` itself (its lookup of detectors wrapped in a
  timer), so they share the run's memoised curves as they do in a real run;
- ``advise``: the ranked advice with its snippets;
- ``render``: the run's JSON text and its sweep summary.

Usage:
    python bench/bench_stages.py                  # 600 runs
    python bench/bench_stages.py --runs 2000 --top 8
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_many_runs import write_runs  # noqa: E402

from loganalyzer import diagnose as diagnosis  # noqa: E402
from loganalyzer import readers  # noqa: E402
from loganalyzer.advice import advise  # noqa: E402
from loganalyzer.analysis import RunResult  # noqa: E402
from loganalyzer.detectors import detector_for  # noqa: E402
from loganalyzer.detectors.sweep_outlier import sibling  # noqa: E402
from loganalyzer.framework import guess  # noqa: E402
from loganalyzer.renderers.json_text import run_item  # noqa: E402


def stages(directory: Path) -> tuple[Counter, int]:
    """CPU seconds per stage over every run below ``directory``, and the run count."""
    clock = time.process_time
    spent: Counter = Counter()

    def timed(kind: str):
        detect = detector_for(kind)
        if detect is None:
            return None

        def run_timed(*args):
            t = clock()
            try:
                return detect(*args)
            finally:
                spent[f"detect:{kind}"] += clock() - t

        return run_timed

    disc = readers.discover([directory], prefetch=False)
    n = 0
    # diagnose itself, each detector it looks up wrapped in a timer
    with mock.patch.object(diagnosis, "detector_for", timed):
        for unit in readers.units(disc):
            t = clock()
            read = list(readers.iter_read(disc, [unit]))
            spent["read"] += clock() - t
            for _, runs, _, _ in read:
                for run in runs or []:
                    n += 1
                    with np.errstate(all="ignore"):
                        findings = diagnosis.diagnose(run)
                        t = clock()
                        name = guess(run).name
                        advice = advise(run, findings, framework=name)
                        spent["advise"] += clock() - t
                    t = clock()
                    rr = RunResult(run=run, findings=findings, advice=advice, framework=name)
                    run_item(rr.to_dict()).encode("ascii")
                    sibling(run)
                    spent["render"] += clock() - t
    return spent, n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=600)
    ap.add_argument("--top", type=int, default=0, help="detectors shown (0: all)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        write_runs(Path(tmp), args.runs)
        stages(Path(tmp))  # warm: imports, rule pack, memo structures
        spent, n = stages(Path(tmp))
    detect = {k: v for k, v in spent.items() if k.startswith("detect:")}
    total = sum(spent.values())
    print(f"{n} runs of 100 epochs, CPU ms per run (one process):")
    print(f"  {'read':<28} {spent['read'] / n * 1e3:7.3f}")
    print(f"  {'detect (all rules)':<28} {sum(detect.values()) / n * 1e3:7.3f}")
    shown = sorted(detect.items(), key=lambda kv: -kv[1])
    for kind, s in shown[: args.top or None]:
        print(f"    {kind[7:]:<26} {s / n * 1e3:7.3f}")
    print(f"  {'advise':<28} {spent['advise'] / n * 1e3:7.3f}")
    print(f"  {'render':<28} {spent['render'] / n * 1e3:7.3f}")
    print(f"  {'total':<28} {total / n * 1e3:7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

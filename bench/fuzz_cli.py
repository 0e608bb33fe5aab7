"""Fuzz the whole command line with mutated real logs of every format, mixed with good ones.

The bar (issue 13): 10,000 mutated real logs (Keras JSON and CSV, Lightning CSV, HF
``trainer_state.json``, TensorBoard event files, plus random bytes), under random file
names, beside a directory of good logs: zero tracebacks, zero hangs, every good log's
result identical to its clean run, exit 2 exactly when something was unreadable.

Inputs go in batches (one ``loganalyzer analyze DIR -f json`` per batch, in a fresh
subprocess). A batch that runs past its timeout is re-run file by file, each with
``--per-file-timeout``, to name the input that hangs. Reader exceptions the discovery
loop turned into an error line ("could not be read (ZeroDivisionError: ...)") are
counted too: they are bugs even though the user saw no traceback.

    .venv/bin/python bench/fuzz_cli.py                      # 10,000 inputs, 100 per batch
    .venv/bin/python bench/fuzz_cli.py --inputs 500 --seed 3
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from hostile_corpus import (  # noqa: E402
    KINDS,
    NASTY,
    good_runs,
    make_good_dir,
    mutate,
    place,
    run_cli,
    seeds,
)

NAME_CHARS = "abcXYZ019 _-.,;'\"()[]{}$&!#%+=~é中😀\u202e\u200b\x1b\x07\t\n\x9b\\"
SUFFIXES = ["", ".json", ".csv", ".log", ".txt", ".jsonl"]


def hostile_input(rng: random.Random, seed_files: dict) -> tuple[str, str, bytes]:
    """(format label, file name, bytes) of one mutated real log (or random bytes)."""
    label = rng.choice(sorted(seed_files))
    name, data = seed_files[label]
    if rng.random() < 0.1:
        data = rng.randbytes(rng.randint(0, 3000))
    else:
        ops = []
        for _ in range(rng.randint(1, 4)):
            payload = rng.choice(NASTY) if rng.random() < 0.6 else rng.randbytes(rng.randint(1, 16))
            ops.append((rng.choice(KINDS), rng.random(), payload))
        data = mutate(data, ops)
    if rng.random() < 0.5:
        name = "".join(rng.choice(NAME_CHARS) for _ in range(rng.randint(1, 24)))
        name = name.lstrip(".") or "x"
        name += rng.choice(SUFFIXES)
    return label, name, data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", action="store_true", help="keep the batch folders (to debug)")
    ap.add_argument("--batch-timeout", type=float, default=600.0)
    ap.add_argument("--per-file-timeout", type=float, default=60.0)
    args = ap.parse_args()

    seed_files = seeds()
    work = Path(tempfile.mkdtemp(prefix="fuzz-cli-"))
    good = make_good_dir(work / "good")
    code, out, err = run_cli(["analyze", str(good), "-f", "json", "--fail-on", "never"], 300)
    assert code == 0, err.decode(errors="replace")
    clean = json.dumps(good_runs(json.loads(out)))

    stats = collections.Counter()
    by_format = collections.Counter()
    problems: list[str] = []
    reader_bugs = collections.Counter()
    t0 = time.perf_counter()
    slowest = 0.0
    n_batches = -(-args.inputs // args.batch)
    for b in range(n_batches):
        rng = random.Random(args.seed * 1_000_003 + b)
        d = work / f"batch{b}"
        shutil.copytree(good, d)
        placed = []
        for i in range(min(args.batch, args.inputs - b * args.batch)):
            label, name, data = hostile_input(rng, seed_files)
            placed.append(place(d, label, f"{i:03d}-{name}", data))
            by_format[label] += 1
        t = time.perf_counter()
        code, out, err = run_cli(
            ["analyze", str(d), "-f", "json", "--fail-on", "never"], args.batch_timeout
        )
        slowest = max(slowest, time.perf_counter() - t)
        stats["inputs"] += len(placed)
        if code == -1:
            stats["batch timeouts"] += 1
            for p in placed:  # find the input that hangs
                one = p.parent if "tfevents" in p.name else p
                c, _, _ = run_cli(["analyze", str(one)], args.per_file_timeout)
                if c == -1:
                    stats["hangs"] += 1
                    problems.append(f"hang: {p}")
            continue
        text = err.decode("utf-8", errors="replace")
        if "Traceback" in text or code not in (0, 2):
            stats["tracebacks or crashes"] += 1
            problems.append(f"batch {b}: exit {code}: {text[-800:]}")
            continue
        try:
            doc = json.loads(out)
        except ValueError:
            stats["output not JSON"] += 1
            problems.append(f"batch {b}: exit {code}, stdout not JSON: {text[-800:]}")
            continue
        if json.dumps(good_runs(doc)) != clean.replace(str(good), str(d)):
            stats["good results changed"] += 1
            problems.append(f"batch {b}: a good log's result changed")
        if (code == 2) != bool(doc["errors"]):
            stats["wrong exit code"] += 1
            problems.append(f"batch {b}: exit {code} with {len(doc['errors'])} errors")
        hostile_runs = [r for r in doc["runs"] if r["run"].startswith("hostile")]
        stats["hostile read as runs"] += len(hostile_runs)
        stats["hostile errors (exit 2)"] += len(doc["errors"])
        stats["hostile skipped (not logs)"] += len(doc["skipped"])
        for e in doc["errors"] + doc["skipped"]:
            if "could not be read (" in e["error"]:
                kind = e["error"].split("could not be read (", 1)[1].split(":")[0]
                reader_bugs[kind] += 1
                problems.append(f"reader exception: {e['source']}: {e['error'][:200]}")
        done = b + 1
        if done % 10 == 0 or done == n_batches:
            rate = stats["inputs"] / (time.perf_counter() - t0)
            print(f"{stats['inputs']:>6} inputs, {rate:.1f}/s, {dict(stats)}", flush=True)

    elapsed = time.perf_counter() - t0
    print()
    print(f"inputs: {stats['inputs']} in {n_batches} batches, {elapsed:.0f} s")
    print(f"formats mutated: {dict(sorted(by_format.items()))}")
    for key in (
        "tracebacks or crashes",
        "hangs",
        "batch timeouts",
        "good results changed",
        "wrong exit code",
        "output not JSON",
    ):
        print(f"{key}: {stats[key]}")
    print(
        f"reader exceptions turned into error lines: {sum(reader_bugs.values())} {dict(reader_bugs)}"
    )
    print(
        f"hostile inputs: {stats['hostile read as runs']} runs read, "
        f"{stats['hostile errors (exit 2)']} errors, {stats['hostile skipped (not logs)']} skipped"
    )
    print(f"slowest batch: {slowest:.1f} s")
    for p in problems[:30]:
        print("  " + p.replace("\n", "\\n")[:300])
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"batches kept in {work}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

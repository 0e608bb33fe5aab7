"""The sweep comparison at scale. A large ``--format json`` sweep keeps its run
summaries as columns (:class:`~loganalyzer.detectors.sweep_outlier.SiblingTable`): 16
bytes per run in memory, the rest written away. It must flag the very runs, with the
very evidence, that the comparison of the summaries as objects flags. Each run's
reference (the median of the better half of its siblings) is read off one sorted list,
not from a list of the others built per run, and must be the same number."""

from __future__ import annotations

import random

from loganalyzer.detectors.sweep_outlier import Sibling, SiblingTable, _reference, detect_sweep
from loganalyzer.rulepack import rule_by_code
from loganalyzer.stats import median


def _summaries(seed: int, n: int) -> list[Sibling]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        key = rng.choice(
            [
                None,
                ("csv", "epoch", "val_loss", "log.csv", 50, b"a"),
                ("csv", "epoch", "val_loss", "log.csv", 50, b"b"),
                ("trainer_state", "step", "loss", "trainer_state.json", 7, b"c"),
            ]
        )
        folder = rng.choice(["s", "s/a", "s/a/b", "s/a/b/c", "t/x", "t/y", None])
        level = rng.choice([None, 0.5, 0.52, 0.49, 0.55, 2.5, 9.0, rng.uniform(0.1, 5)])
        end = rng.choice([49, 49.0, 1e3, None])
        out.append(Sibling(f"run {i} é", key, folder, level, "val_loss", "val/loss", end))
    return out


def test_the_table_flags_what_the_objects_flag():
    rule = rule_by_code("LA113")
    flagged = 0
    for seed in range(40):
        runs = _summaries(seed, random.Random(seed).randint(0, 60))
        table = SiblingTable([])
        for s in runs:
            table.append(SiblingTable.pack(s))
        for params in ({}, {"min_runs": 2}, {"min_runs": 9, "max_depth": 1}):
            want = detect_sweep(runs, rule, params)
            got = detect_sweep(table, rule, params)
            assert sorted(got) == sorted(want)
            for i in want:
                assert [f.to_dict() for f in got[i]] == [f.to_dict() for f in want[i]]
            flagged += len(want)
    assert flagged > 20  # the comparison had outliers to find


def test_only_runs_that_share_a_key_are_read_back():
    table = SiblingTable([])
    shared = ("csv", "epoch", "loss", "log.csv", 10, b"x")
    for i in range(6):
        key = shared if i % 2 else ("csv", "epoch", "loss", f"{i}.csv", 10, b"x")
        table.append(SiblingTable.pack(Sibling(str(i), key, "d", 1.0, "loss", "loss", 9)))
    assert sorted(table.sharing(3)) == [1, 3, 5]
    assert table.sharing(4) == {}
    assert [s.name for s in table.sharing(1).values()] == [str(i) for i in range(6)]


def test_each_runs_reference_is_the_median_of_the_better_half_of_the_others():
    rng = random.Random(0)
    for _ in range(3000):
        n = rng.randint(2, 40)
        pool = [rng.choice([0.1, 0.5, 1.0, 2.0, 7.5]) for _ in range(3)]
        levels = [
            rng.choice(pool) if rng.random() < 0.5 else rng.uniform(0.01, 9) for _ in range(n)
        ]
        ordered = sorted(levels)
        for i, level in enumerate(levels):
            others = sorted(v for j, v in enumerate(levels) if j != i)
            want = float(median(others[: max(1, (len(others) + 1) // 2)]))
            assert _reference(ordered, level) == want


def test_a_sweep_of_thousands_is_compared_in_one_pass():
    rule = rule_by_code("LA113")
    key = ("csv", "epoch", "loss", "log.csv", 10, b"x")
    runs = [
        Sibling(f"s{i}", key, f"sweep/{i}", 1.0 + (i % 7) / 100, "loss", "loss", 9)
        for i in range(20000)
    ]
    runs[123] = Sibling("broken", key, "sweep/123", 5.0, "loss", "loss", 9)
    found = detect_sweep(runs, rule, {})
    assert list(found) == [123]
    evidence = found[123][0].evidence
    # the better half of the 19,999 others ends at 1.00-1.03; its median is 1.01
    assert evidence["reference"] == 1.01 and evidence["sibling_count"] == 19999
    # the evidence lists the best 50 siblings, not 19,999 names in each finding
    assert evidence["siblings"] == [f"s{i}" for i in range(0, 350, 7)]
    assert evidence["sibling_levels"] == [1.0] * 50

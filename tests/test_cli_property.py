"""The promise, as a property over the whole command line: whatever hostile file sits
beside good logs (random bytes, a real log of any format mutated, any file name), the
command ends in time, prints no traceback, gives every good log exactly the result it
has alone, and exits 2 exactly when something could not be read.

``bench/fuzz_cli.py`` runs the same check on 10,000 inputs in subprocesses."""

from __future__ import annotations

import io
import json
import shutil
import signal
import sys
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hostile_corpus import KINDS, NASTY, good_runs, make_good_dir, mutate, place, seeds
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from loganalyzer import cli

SEEDS = seeds()
PER_INPUT_SECONDS = 30

names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
    min_size=1,
    max_size=40,
).filter(lambda s: s not in (".", "..") and not s.startswith(".") and len(s.encode()) < 200)
ops = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.floats(0, 1, exclude_max=True),
        st.one_of(st.sampled_from(NASTY), st.binary(min_size=1, max_size=16)),
    ),
    min_size=1,
    max_size=4,
)
hostile = st.one_of(
    st.tuples(st.sampled_from(sorted(SEEDS)), ops).map(
        lambda t: (t[0], mutate(SEEDS[t[0]][1], t[1]))
    ),
    st.tuples(st.sampled_from(sorted(SEEDS)), st.binary(max_size=2000)),
)
suffixes = st.sampled_from(["", ".json", ".csv", ".log", ".txt", ".jsonl"])


def _main(args: list[str]) -> tuple[int, str, str]:
    """``cli.main`` in this process, its output through a strict UTF-8 stream (like a
    terminal's), bounded in time by an alarm."""
    out_bytes, err = io.BytesIO(), io.StringIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8")

    def expired(*_):
        raise TimeoutError(f"{args}: still running after {PER_INPUT_SECONDS} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(PER_INPUT_SECONDS)
    try:
        with redirect_stdout(out), redirect_stderr(err), pytest.raises(SystemExit) as code:
            cli.main(args)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    out.flush()
    return code.value.code, out_bytes.getvalue().decode("utf-8"), err.getvalue()


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    d = make_good_dir(tmp_path_factory.mktemp("good") / "logs")
    code, out, err = _main(["analyze", str(d), "-f", "json", "--fail-on", "never", "-j", "1"])
    assert code == 0, err
    runs = good_runs(json.loads(out))
    assert len(runs) >= 5, sorted(runs)
    return d, runs


@settings(
    max_examples=40,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: minutes per step
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(item=hostile, name=names, suffix=suffixes, text=st.booleans())
def test_a_hostile_file_beside_good_logs(good, item, name, suffix, text):
    src, clean = good
    label, data = item
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "logs"
        shutil.copytree(src, d)
        place(d, label, name + suffix, data)
        args = ["analyze", str(d), "--fail-on", "never", "-j", "1"]
        code, out, err = _main(args if text else [*args, "-f", "json"])
    assert "Traceback" not in err and "internal error" not in err, err
    assert code in (0, 2), err
    if text:
        assert (code == 2) == ("error: " in err)
        return
    doc = json.loads(out)
    assert (code == 2) == bool(doc["errors"]), (code, doc["errors"])
    moved = json.loads(json.dumps(clean).replace(json.dumps(str(src))[1:-1], str(d)))
    assert good_runs(doc) == moved  # every good log's result, unchanged


def test_the_corpus_covers_every_format():
    assert {"keras-json", "keras-csv", "lightning-csv", "hf-trainer", "tensorboard"} <= set(SEEDS)
    assert sys.version_info >= (3, 10)

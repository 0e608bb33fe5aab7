"""``--format json`` of many runs: rendered by the workers, the same document.

:func:`loganalyzer.parallel.analyze_to_json` never holds the runs (each worker renders
its runs' JSON; the parent keeps the texts in order, spilling them to a temporary file
past a size, and a summary per run for the sweep comparison). Its document must be the
text of :func:`~loganalyzer.parallel.analyze_paths` on one core, also when the sweep
comparison flags runs (real sweeps are in the real-log corpus) and when the texts spill.
"""

from __future__ import annotations

import io

import pytest
from real_corpus import REAL, analysis, roots

from loganalyzer import parallel
from loganalyzer.parallel import analyze_to_json


@pytest.mark.parametrize("limit", [16 << 20, 4096])  # in memory, spilled to a file
def test_the_streamed_document_is_the_analysis_json(limit, monkeypatch):
    if not REAL.is_dir():
        pytest.skip(f"real logs not found at {REAL}")
    monkeypatch.setattr(parallel._Spool.__init__, "__defaults__", (limit,))
    paths = [str(p) for p in roots()]
    want = analysis()  # loganalyzer.analyze of the same paths, in this process
    assert any(f.kind == "sweep-outlier" for f in want.findings)  # the flagged-run path
    got = analyze_to_json(paths, jobs=2)
    out = io.StringIO()
    got.write(out)
    assert out.getvalue() == want.to_json() + "\n"
    assert (got.runs, len(got.errors), len(got.skipped)) == (
        len(want.runs),
        len(want.errors),
        len(want.skipped),
    )
    for fail_on in ("info", "warning", "error", "never"):
        assert got.exit_code(fail_on) == want.exit_code(fail_on)

"""``--backend ray``: a real local Ray cluster (2 CPUs) gives the local backend's numbers.

One verification runs on both backends with the same seeds; the histories, verdicts
and intervals must be identical, and the logs must land in the same folders. The
spec kills the first Ray worker that builds a model (``os._exit``, as a node loss
would), so the test also shows that a lost worker's run is retried, not lost.
"""

from __future__ import annotations

import json
import textwrap

import pytest

pytest.importorskip("keras", reason="needs the verify extra (keras)")
pytest.importorskip("ray", reason="needs the ray extra")

from test_verify_cli import TINY  # noqa: E402

pytestmark = pytest.mark.slow

# The CLI tests' tiny spec, with a build_model that kills the first Ray worker using it.
SPEC = (
    TINY
    + """
import os
from pathlib import Path

MARKER = Path(__file__).with_name("worker-killed")
_build = build_model


def build_model():
    if os.environ.get("RAY_RAYLET_PID") and not MARKER.exists():
        MARKER.write_text("the first Ray worker to build a model died here")
        os._exit(1)  # the worker process dies: Ray must run the task again
    return _build()
"""
)


def test_ray_backend_matches_local_and_retries_a_lost_worker(tmp_path):
    from loganalyzer.verify.backends.ray import RayBackend
    from loganalyzer.verify.experiment import verify
    from loganalyzer.verify.fixes import parse_fix
    from loganalyzer.verify.spec import load_spec

    path = tmp_path / "spec.py"
    path.write_text(textwrap.dedent(SPEC))
    spec = load_spec(path)
    fixes = [parse_fix("dropout:rate=0.2"), parse_fix("early-stopping:patience=1")]
    local = verify(spec, fixes, seeds=2, out_dir=tmp_path / "local")
    with RayBackend(num_cpus=2, cpus_per_run=1, retries=2) as backend:
        remote = verify(spec, fixes, seeds=2, out_dir=tmp_path / "ray", backend=backend)

    assert (tmp_path / "worker-killed").exists(), "no worker was killed: retry not exercised"
    assert remote.backend == "ray" and not remote.lost and remote.seeds == [1, 2]
    key = lambda r: (r.label, r.seed)  # noqa: E731
    assert sorted(map(key, remote.runs)) == sorted(map(key, local.runs))
    for a, b in zip(sorted(local.runs, key=key), sorted(remote.runs, key=key), strict=True):
        assert a.history == b.history, (a.label, a.seed)
        assert a.kept_epoch == b.kept_epoch
        assert a.findings == b.findings
        rel = b.log_dir.replace(str(tmp_path / "ray"), "")
        assert rel == a.log_dir.replace(str(tmp_path / "local"), "")
        on_disk = json.loads((tmp_path / "ray" / rel.strip("/") / "history.json").read_text())
        assert on_disk == a.history
        csv = (tmp_path / "ray" / rel.strip("/") / "training.csv").read_text().splitlines()
        assert csv[0].startswith("epoch,") and len(csv) == 1 + len(a.history["loss"])
    for lv, rv in zip(local.variants, remote.variants, strict=True):
        assert lv.verdict == rv.verdict
        assert lv.comparisons == rv.comparisons
        assert lv.p_holm == rv.p_holm

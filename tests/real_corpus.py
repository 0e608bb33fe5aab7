"""Every committed and real log, analysed once per test process.

``sample_logs/`` (real Keras training, committed) and ``../shared/real_logs*/`` (real
logs from public projects, beside the repository as CI lays it out). The advice tests
walk all of them: snippets, contradictions, the issue's cases.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_logs"
SHARED = ROOT.parent / "shared"
REAL = SHARED / "real_logs"
LABELED = SHARED / "real_logs_labeled"
GALLERY = REAL / "Mormolykos__trainproof" / "examples" / "gallery"
FACIAL = REAL / "Wardat-ISU__DeepLocalize/Benchmark/GitHub/Buggy Model/FacialKeypointsDetection"
BLOB = REAL / "DeepDiagnosis__ICSE2022/difference threshold/Blob_normal"


def roots() -> list[Path]:
    return [SAMPLES] + sorted(SHARED.glob("real_logs*"))


@lru_cache(maxsize=1)
def analysis():
    """The analysis of every log below :func:`roots` (one call: sweeps are compared)."""
    from loganalyzer.analysis import analyze

    return analyze([str(p) for p in roots()])


def need_real() -> None:
    if not REAL.is_dir():
        pytest.skip(f"real logs not found at {REAL}")


def result_for(path: Path):
    """The analysed run read from ``path`` (a file, or a TensorBoard run folder)."""
    need_real()
    want = str(path)
    for rr in analysis().runs:
        if any(s == want or s.startswith(want + "/") for s in rr.run.sources):
            return rr
    raise AssertionError(f"no analysed run from {path}")

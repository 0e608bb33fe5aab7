"""The built wheel works on its own: installed into a fresh virtual environment (with its
dependencies, from pip's configured index), `loganalyzer analyze` reads a sample log with the
rule pack the wheel carries (`loganalyzer/_rules`), and `loganalyzer rules` lists it.

Takes about 25 s (building, a new venv, installing numpy/pandas/scipy/... without byte-compiling).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from loganalyzer.rulepack import load_rules

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _run(cmd: list, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    pytest.importorskip("build", reason="the 'build' package is needed to build the wheel")
    tmp = tmp_path_factory.mktemp("wheel")
    dist = tmp / "dist"
    res = _run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)])
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    wheels = list(dist.glob("loganalyzer-*.whl"))
    assert len(wheels) == 1
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    # --no-compile: byte-compiling pandas, scipy and matplotlib is 15 of the 40 s, and
    # says nothing about the wheel
    res = _run(
        [str(bindir / "python"), "-m", "pip", "install", "-q", "--no-compile", str(wheels[0])]
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return bindir


def _clean_env() -> dict:
    # nothing from the source tree or the development venv may leak in
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["NO_COLOR"] = "1"
    return env


def test_installed_package_is_the_wheel_with_its_rule_pack(installed, tmp_path):
    res = _run(
        [
            str(installed / "python"),
            "-c",
            "import loganalyzer, loganalyzer.rulepack as rp; "
            "print(loganalyzer.__file__); print(rp.rules_dir())",
        ],
        cwd=tmp_path,
        env=_clean_env(),
    )
    assert res.returncode == 0, res.stderr
    pkg_file, rules_dir = res.stdout.splitlines()
    venv_root = installed.parent.resolve()
    assert Path(pkg_file).resolve().is_relative_to(venv_root)
    assert Path(rules_dir).name == "_rules" and Path(rules_dir).resolve().is_relative_to(venv_root)
    shipped = sorted(p.stem for p in Path(rules_dir).glob("*.toml"))
    assert shipped == [r.code for r in load_rules()]


def test_installed_cli_analyses_a_sample_log_and_lists_rules(installed, tmp_path):
    log = tmp_path / "history.json"
    log.write_bytes((ROOT / "sample_logs" / "overfit" / "history.json").read_bytes())
    exe = str(installed / "loganalyzer")
    res = _run([exe, "analyze", str(log), "--format", "json"], cwd=tmp_path, env=_clean_env())
    assert "Traceback" not in res.stderr, res.stderr
    doc = json.loads(res.stdout)
    assert doc["schema"] == "loganalyzer/1"
    assert doc["errors"] == [], doc["errors"]
    (run,) = doc["runs"]
    assert run["length"] == 50 and run["best"]["index"] == 8
    assert res.returncode in (0, 1)
    rules = _run([exe, "rules"], cwd=tmp_path, env=_clean_env())
    assert rules.returncode == 0, rules.stderr
    listed = [ln.split()[0] for ln in rules.stdout.splitlines()[1:]]
    assert listed == [r.code for r in load_rules()]
    one = _run([exe, "rules", "LA100"], cwd=tmp_path, env=_clean_env())
    assert one.returncode == 0 and "min_points" in one.stdout

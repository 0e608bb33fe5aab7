"""Remote paths against a real S3 API server on 127.0.0.1 (moto's threaded server,
started once for this module): the sample logs, a 1,000-run sweep, a missing object,
a permission error and truncated objects give the same result, or the same one-line
error, as the same files read from local disk."""

from __future__ import annotations

import errno
import importlib.util
import json
import logging
import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("s3fs", reason="the s3 extra (s3fs) is not installed")
pytest.importorskip("moto.server", reason="moto[server] is not installed")

import s3_server  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from loganalyzer.cli import app  # noqa: E402
from loganalyzer.parallel import analyze_paths  # noqa: E402
from loganalyzer.readers import read_paths  # noqa: E402
from loganalyzer.sources import EXTRAS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_logs"
SWEEP_RUNS = 1000


class _Requests(logging.Handler):
    """The server's request lines (werkzeug logs one per request)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def _sweep_values(k: int) -> tuple[list[float], list[float]]:
    """Run ``k`` of the sweep: half over-fit after epoch 5, half keep improving."""
    loss = [round(0.9 / (e + 1), 6) for e in range(12)]
    val = [
        round(1.0 / (e + 1) + (0.08 * (e - 5) if k % 2 and e > 5 else 0.0) + 0.001 * (k % 7), 6)
        for e in range(12)
    ]
    return loss, val


def _sweep(d: Path) -> None:
    """1,000 tiny CSVLogger runs."""
    for k in range(SWEEP_RUNS):
        loss, val = _sweep_values(k)
        rows = ["epoch,loss,val_loss"] + [
            f"{e},{a},{b}" for e, (a, b) in enumerate(zip(loss, val, strict=True))
        ]
        run = d / f"run{k:04d}"
        run.mkdir(parents=True)
        (run / "training.csv").write_text("\n".join(rows) + "\n")


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    server = s3_server.start(auth=True)
    saved = {k: os.environ.get(k) for k in server.env}
    os.environ.update(server.env)
    local = tmp_path_factory.mktemp("local")
    shutil.copytree(SAMPLES, local / "samples", ignore=shutil.ignore_patterns("*.py", "*.md"))
    _sweep(local / "sweep")
    bad = local / "bad"
    bad.mkdir()
    csv = (SAMPLES / "healthy" / "training.csv").read_bytes()
    (bad / "cut.csv").write_bytes(csv[: len(csv) // 2 + 7])  # cut inside a row
    event = next((SAMPLES / "overfit" / "tensorboard" / "train").iterdir())
    (bad / "tb" / "train").mkdir(parents=True)
    (bad / "tb" / "train" / event.name).write_bytes(event.read_bytes()[:-40])
    (local / "secret").mkdir()
    shutil.copy(SAMPLES / "overfit" / "history.json", local / "secret" / "history.json")

    s3_server.upload_tree(str(local), "")
    yield server, local
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    server.stop()


def _doc(result, prefix: str) -> dict:
    """The JSON document with the location prefix taken out of every source."""
    text = result.to_json() if hasattr(result, "to_json") else json.dumps(result)
    return json.loads(text.replace(prefix, "<root>"))


def _url(key: str) -> str:
    return f"s3://{s3_server.BUCKET}/{key}"


def test_sample_logs_bucket_reads_as_local(s3):
    _, local = s3
    remote = analyze_paths([_url("samples/")], jobs=1)
    here = analyze_paths([str(local / "samples")], jobs=1)
    assert len(remote.runs) == len(here.runs) >= 15
    assert _doc(remote, _url("samples")) == _doc(here, str(local / "samples"))


def test_sweep_of_1000_runs_one_listing_call(s3):
    log = logging.getLogger("werkzeug")
    handler = _Requests()
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        remote = read_paths([_url("sweep/")])
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    assert len(remote.runs) == SWEEP_RUNS and not remote.errors and not remote.skipped
    for k, run in enumerate(remote.runs):  # named and valued as the local files are
        assert run.name == f"run{k:04d}/training.csv"
        loss, val = _sweep_values(k)
        assert run.series("loss").tolist() == loss and run.series("val_loss").tolist() == val
    listings = [ln for ln in handler.lines if "list-type=2" in ln]
    per_file = [ln for ln in handler.lines if "HEAD /" in ln]
    assert len(listings) == 1, listings  # one paginated listing of the whole sweep
    assert per_file == []  # no call per file to find out what it is


def test_missing_object_same_line_as_missing_file(s3):
    _, local = s3
    remote = read_paths([_url("samples/overfit/nope.json")])
    here = read_paths([str(local / "samples" / "overfit" / "nope.json")])
    assert [e.error for e in remote.errors] == [e.error for e in here.errors]
    assert remote.errors[0].source == _url("samples/overfit/nope.json")


def test_permission_error_is_one_line_and_exit_2(s3):
    res = CliRunner().invoke(
        app, ["analyze", _url("secret/history.json"), _url("samples/healthy/training.csv")]
    )
    assert res.exit_code == 2
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert errors == [f"error: {_url('secret/history.json')}: {os.strerror(errno.EACCES)}"]
    assert "Traceback" not in res.output and "healthy" in res.stdout
    # found below a directory: an error too (not a skipped non-log)
    below = read_paths([_url("secret/")])
    assert [e.error for e in below.errors] == [os.strerror(errno.EACCES)]


def test_truncated_objects_read_as_local(s3):
    _, local = s3
    remote = analyze_paths([_url("bad/")], jobs=1)
    here = analyze_paths([str(local / "bad")], jobs=1)
    doc = _doc(remote, _url("bad"))
    assert doc == _doc(here, str(local / "bad"))
    warnings = {r["run"]: r["warnings"] for r in doc["runs"]}
    assert any("truncated" in w for w in warnings["cut.csv"])
    assert any("truncated" in w for w in warnings["tb"])


def test_event_files_are_streamed_in_blocks(s3, monkeypatch):
    from loganalyzer import sources
    from loganalyzer.readers._tfrecord import read_scalars
    from loganalyzer.sources import Source, filesystem

    key = "samples/overfit/tensorboard/validation/"
    local = next((SAMPLES / "overfit" / "tensorboard" / "validation").iterdir())
    monkeypatch.setattr(sources, "BLOCK_BYTES", 4096)  # 4 MiB blocks for real files
    fs, path = filesystem(_url(key + local.name))
    log = logging.getLogger("werkzeug")
    handler = _Requests()
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        remote = read_scalars(Source.remote(fs, path), chunk_bytes=4096)
    finally:
        log.removeHandler(handler)
    gets = [ln for ln in handler.lines if f"GET /{s3_server.BUCKET}/{key}" in ln]
    assert local.stat().st_size > 3 * 4096
    # several ranged reads (206 Partial Content), not one download of the 15 KiB file
    assert len(gets) >= 2 and all('" 206 ' in ln for ln in gets)
    assert remote.triples() == read_scalars(local, chunk_bytes=4096).triples()


def test_missing_protocol_package_names_the_extra():
    missing = [
        p
        for p, mod in (("gs", "gcsfs"), ("az", "adlfs"), ("http", "aiohttp"))
        if importlib.util.find_spec(mod) is None
    ]
    if not missing:
        pytest.skip("every optional protocol package is installed here")
    proto = missing[0]
    res = CliRunner().invoke(app, ["analyze", f"{proto}://bucket/runs/"])
    assert res.exit_code == 2
    line = res.stderr.strip()
    assert "\n" not in line and f'pip install "loganalyzer[{EXTRAS[proto]}]"' in line


def test_watch_reads_only_what_was_appended_to_an_object(s3):
    """A run that syncs its log to the bucket: each upload replaces the object with a
    longer one; ``watch`` fetches only the new bytes (a ranged GET)."""
    from loganalyzer.commands.watch import Follower

    server, _ = s3
    client = server.client()
    rows = (SAMPLES / "overfit" / "training.csv").read_text().splitlines(keepends=True)
    key = "live/training.csv"
    client.put_object(Bucket=s3_server.BUCKET, Key=key, Body="".join(rows[:11]).encode())
    follower = Follower([_url("live/")])
    assert follower.poll()[0][0].length == 10
    client.put_object(Bucket=s3_server.BUCKET, Key=key, Body="".join(rows[:31]).encode())
    log = logging.getLogger("werkzeug")
    handler = _Requests()
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        runs, errors = follower.poll()
    finally:
        log.removeHandler(handler)
    assert errors == [] and runs[0].length == 30 and runs[0].name == "training.csv"
    gets = [ln for ln in handler.lines if f"GET /{s3_server.BUCKET}/{key}" in ln]
    assert gets and all('" 206 ' in ln for ln in gets)  # ranged reads, not the whole object

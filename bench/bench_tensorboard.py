"""Benchmark: read every scalar of a large TensorBoard event file.

Compares, in one run and each in its own fresh subprocess (so one tool's imports,
caches and memory do not flatter or burden another):

- ``loganalyzer``: :func:`loganalyzer.readers.tensorboard.read_group` (the canonical
  ``Run``, a pandas frame with every point) and the lower-level
  :func:`loganalyzer.readers._tfrecord.read_scalars` (numpy columns);
- ``tbparse``: ``SummaryReader(path).scalars`` (reads through TensorBoard);
- ``EventAccumulator``: TensorBoard's own, with size guidance 0 for every kind (keep
  everything, no reservoir sampling), then every scalar and scalar tensor taken out.

The file is generated here with the same TFRecord framing TensorFlow writes (much
faster than a ``SummaryWriter``): by default half the events are TF2 tensor summaries
exactly as ``tf.summary.scalar``/Keras writes them (with ``scalars`` plugin metadata on
each event) and half legacy ``simple_value`` scalars as tensorboardX/PyTorch write
them. Before timing, the first events are checked against TensorBoard's own
``EventFileLoader`` so the file is known to be one TensorBoard reads.

Run by hand (not in CI)::

    .venv/bin/python bench/bench_tensorboard.py                 # 1,000,000 events
    .venv/bin/python bench/bench_tensorboard.py --events 200000 # quicker
    .venv/bin/python bench/bench_tensorboard.py --style tensor --tools loganalyzer

Time is wall-clock seconds of the read alone (imports excluded, reported apart);
memory is the process's peak resident set size (``VmHWM``) and the growth of that
peak over the resident size right after the imports (what the read itself costs).
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))

from loganalyzer.readers._tfrecord import _masked_crc_rows  # noqa: E402

TAGS = ("epoch_loss", "epoch_accuracy", "val_loss", "grad_norm")
# The scalars-plugin SummaryMetadata tf.summary.scalar attaches to every event.
_SCALARS_META = b"\x4a\x0b\x0a\x09\x0a\x07scalars"


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _len(b: bytes) -> bytes:
    return _varint(len(b))


def event_bytes(wall: float, step: int, tag: str, value: float, tensor: bool) -> bytes:
    """One serialized ``Event`` holding one scalar, as TF2 (tensor) or tensorboardX
    (``simple_value``) lays it out."""
    t = tag.encode()
    if tensor:
        proto = b"\x08\x01\x12\x00\x22\x04" + struct.pack("<f", value)  # DT_FLOAT, shape []
        val = b"\x0a" + _len(t) + t + b"\x42" + _len(proto) + proto + _SCALARS_META
    else:
        val = b"\x0a" + _len(t) + t + b"\x15" + struct.pack("<f", value)
    summary = b"\x0a" + _len(val) + val
    head = b"\x09" + struct.pack("<d", wall) + (b"\x10" + _varint(step) if step else b"")
    return head + b"\x2a" + _len(summary) + summary


def frame(payloads: list[bytes]) -> bytes:
    """TFRecord framing (length, masked CRC32C of length, data, masked CRC32C of data),
    with the CRCs computed column-wise for speed."""
    lengths = np.array([len(p) for p in payloads], dtype=np.int64)
    blob = b"".join(payloads)
    b = np.frombuffer(blob, dtype=np.uint8)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    dcrc = np.zeros(len(payloads), dtype=np.uint32)
    for n in np.unique(lengths).tolist():
        sel = np.nonzero(lengths == n)[0]
        dcrc[sel] = _masked_crc_rows(b, starts[sel], n)
    heads = lengths.astype("<u8").tobytes()
    hb = np.frombuffer(heads, dtype=np.uint8)
    hcrc = _masked_crc_rows(hb, np.arange(len(payloads), dtype=np.int64) * 8, 8)
    parts = []
    for i, p in enumerate(payloads):
        parts.append(heads[8 * i : 8 * i + 8])
        parts.append(struct.pack("<I", int(hcrc[i])))
        parts.append(p)
        parts.append(struct.pack("<I", int(dcrc[i])))
    return b"".join(parts)


def generate(path: Path, events: int, style: str = "mixed", seed: int = 0) -> None:
    """Write an event file with ``events`` scalar events (plus the file-version header).

    Args:
        path: Output file (name it ``events.out.tfevents.*``).
        events: Number of scalar events.
        style: ``"tensor"`` (TF2/Keras), ``"simple"`` (tensorboardX) or ``"mixed"``
            (tags alternate between the two).
        seed: For the values.

    Example:
        >>> generate(Path("/tmp/b/events.out.tfevents.1.bench"), 1000)  # doctest: +SKIP
    """
    rng = np.random.default_rng(seed)
    values = rng.random(events, dtype=np.float32).tolist()
    t0 = 1.7e9
    header = b"\x09" + struct.pack("<d", t0) + b"\x1a\x0dbrain.Event:2"
    payloads = [header]
    ntags = len(TAGS)
    for i in range(events):
        k = i % ntags
        tensor = style == "tensor" or (style == "mixed" and k < 2)
        payloads.append(event_bytes(t0 + i * 1e-3, i // ntags, TAGS[k], values[i], tensor))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(frame(payloads))


def check_with_tensorboard(path: Path, n: int = 2000) -> None:
    """Assert TensorBoard's own loader reads the first ``n`` events to the same
    (tag, step, value) triples as ours."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.util import tensor_util

    from loganalyzer.readers._tfrecord import read_scalars

    ref = []
    for ev in EventFileLoader(str(path)).Load():
        for v in ev.summary.value:
            ref.append((v.tag, ev.step, float(tensor_util.make_ndarray(v.tensor).item())))
        if len(ref) >= n:
            break
    ours = read_scalars(path).triples()[: len(ref)]
    if ours != ref:
        raise SystemExit("generated file: our reader and TensorBoard's loader disagree")


# ----------------------------------------------------------------------------- tools


def _status_mb(key: str) -> float:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of this process, in MB.
    (``ru_maxrss`` is not used: Linux carries it over from the parent across exec.)"""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _measure(tool: str, path: Path, check_crc: bool) -> dict:
    t_import = time.perf_counter()
    if tool == "loganalyzer":
        from loganalyzer.readers import tensorboard

        def read():
            runs = tensorboard.read_group(path.parent, [path], check_crc=check_crc)
            counts = [sum(r.counts().values()) for r in runs]
            return sum(counts)

    elif tool == "loganalyzer-scalars":
        from loganalyzer.readers._tfrecord import read_scalars

        def read():
            return len(read_scalars(path, check_crc=check_crc).value)

    elif tool == "tbparse":
        from tbparse import SummaryReader

        def read():
            # TF2 tensor summaries are tbparse "tensors", simple_value ones "scalars"
            reader = SummaryReader(str(path), event_types={"scalars", "tensors"})
            return len(reader.scalars) + len(reader.tensors)

    elif tool == "EventAccumulator":
        from tensorboard.backend.event_processing import event_accumulator as ea
        from tensorboard.util import tensor_util

        def read():
            guidance = {
                k: 0
                for k in (
                    ea.COMPRESSED_HISTOGRAMS,
                    ea.IMAGES,
                    ea.AUDIO,
                    ea.SCALARS,
                    ea.HISTOGRAMS,
                    ea.TENSORS,
                )
            }
            acc = ea.EventAccumulator(str(path), size_guidance=guidance)
            acc.Reload()
            tags = acc.Tags()
            points = [(e.step, e.value) for t in tags["scalars"] for e in acc.Scalars(t)]
            points += [
                (e.step, tensor_util.make_ndarray(e.tensor_proto).item())
                for t in tags["tensors"]
                for e in acc.Tensors(t)
            ]
            return len(points)

    else:
        raise SystemExit(f"unknown tool {tool}")
    if tool in ("tbparse", "EventAccumulator"):
        # TensorBoard loads TensorFlow lazily on first use (for its C++ record reader);
        # load it here so that its import time is not counted as reading time.
        from tensorboard.compat import tf

        tf.__version__  # noqa: B018 - forces the lazy import
    import_s = time.perf_counter() - t_import
    base = _status_mb("VmRSS")
    t0 = time.perf_counter()
    points = read()
    seconds = time.perf_counter() - t0
    peak = _status_mb("VmHWM")
    return {
        "tool": tool,
        "seconds": seconds,
        "import_seconds": import_s,
        "points": points,
        "peak_rss_mb": peak,
        "read_mb": max(peak - base, 0.0),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000, help="scalar events to generate")
    ap.add_argument("--style", choices=("mixed", "tensor", "simple"), default="mixed")
    ap.add_argument(
        "--tools",
        default="loganalyzer,loganalyzer-scalars,tbparse,EventAccumulator",
        help="comma-separated subset",
    )
    ap.add_argument("--file", type=Path, help="use this event file instead of generating one")
    ap.add_argument("--no-crc", action="store_true", help="our reader without data-CRC checks")
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.measure:
        print(json.dumps(_measure(args.measure, args.file, not args.no_crc)))
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        path = args.file
        if path is None:
            path = Path(tmp) / "run" / "events.out.tfevents.1700000000.bench.1.0.v2"
            t0 = time.perf_counter()
            generate(path, args.events, args.style)
            print(
                f"generated {args.events:,} {args.style} scalar events: "
                f"{path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s"
            )
        check_with_tensorboard(path)
        results = []
        for tool in args.tools.split(","):
            cmd = [sys.executable, str(HERE), "--measure", tool, "--file", str(path)]
            if args.no_crc:
                cmd.append("--no-crc")
            env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                print(f"{tool}: failed\n{proc.stderr[-2000:]}")
                continue
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append(res)
            print(
                f"{tool:>20}: {res['seconds']:8.2f} s  peak RSS {res['peak_rss_mb']:7.0f} MB  "
                f"(read +{res['read_mb']:6.0f} MB)  points {res['points']:,}  "
                f"[imports {res['import_seconds']:.1f} s]",
                flush=True,
            )
    by = {r["tool"]: r for r in results}
    ours = by.get("loganalyzer")
    if ours:
        for other, target in (("tbparse", 20), ("EventAccumulator", 10)):
            if other in by:
                o = by[other]
                speed = o["seconds"] / ours["seconds"]
                mem = ours["peak_rss_mb"] / o["peak_rss_mb"]
                mem_read = ours["read_mb"] / max(o["read_mb"], 1e-9)
                print(
                    f"vs {other}: {speed:.1f}x faster (target >= {target}x: "
                    f"{'met' if speed >= target else 'NOT met'}); peak RSS {mem:.3f} of theirs, "
                    f"read growth {mem_read:.3f} of theirs (target < 0.1: "
                    f"{'met' if max(mem, mem_read) < 0.1 else 'NOT met'})"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

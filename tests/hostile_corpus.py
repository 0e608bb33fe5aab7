"""Real logs of every format, good and mutated, for the whole-CLI property test
(``test_cli_property.py``) and the 10,000-input fuzz run (``bench/fuzz_cli.py``).

A *good* directory holds one real log of each format; a *hostile* input is a real
log mutated by a list of operations (cut, flip, insert, delete, duplicate) or random
bytes, under a random file name, placed beside the good logs. The CLI must read the
good logs exactly as it does alone, report the hostile one in one line at most, and
never crash or hang.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_logs"
REAL = ROOT.parent / "shared" / "real_logs"

#: Lightning ``metrics.csv`` as Lightning's CSVLogger writes it (sparse rows, an
#: ``lr-Adam`` monitor row without an epoch).
LIGHTNING = (
    b"epoch,lr-Adam,step,train_loss_epoch,train_loss_step,val_loss\n,0.001,0,,,\n"
    + b"".join(
        f"{e},,{50 * e + 49},,{1 / (e + 1):.4f},\n{e},,{50 * e + 49},,,{1.2 / (e + 1):.4f}\n"
        f"{e},,{50 * e + 49},{1.05 / (e + 1):.4f},,\n".encode()
        for e in range(8)
    )
)


def seeds() -> dict[str, tuple[str, bytes]]:
    """Format label -> (file name, bytes) of the real logs that get mutated."""
    out = {
        "keras-json": ("history.json", (SAMPLES / "overfit" / "history.json").read_bytes()),
        "keras-csv": ("training.csv", (SAMPLES / "noisy" / "training.csv").read_bytes()),
        "lightning-csv": ("metrics.csv", LIGHTNING),
    }
    tb = sorted((SAMPLES / "diverging" / "tensorboard" / "validation").glob("*tfevents*"))
    out["tensorboard"] = ("events.out.tfevents.1.host.v2", tb[0].read_bytes())
    hf = REAL / "Mormolykos__trainproof" / "examples" / "gallery" / "overfit" / "trainer_state.json"
    if hf.is_file():
        out["hf-trainer"] = ("trainer_state.json", hf.read_bytes())
    else:  # the shape the HF Trainer writes
        out["hf-trainer"] = ("trainer_state.json", _hf_state())
    csv_real = sorted(REAL.glob("shiningrain__AUTOTRAINER/**/log.csv"))
    if csv_real:
        out["keras-csv-real"] = ("log.csv", csv_real[0].read_bytes())
    return out


def _hf_state() -> bytes:
    history = []
    for s in range(1, 21):
        history.append({"epoch": s / 10, "loss": 2 / s, "learning_rate": 1e-4, "step": 10 * s})
        if s % 5 == 0:
            history.append({"epoch": s / 10, "eval_loss": 2.2 / s, "step": 10 * s})
    return json.dumps({"global_step": 200, "log_history": history}).encode()


def make_good_dir(target: Path) -> Path:
    """One real log of each format in ``target`` (TensorBoard as a Keras run folder)."""
    target.mkdir(parents=True, exist_ok=True)
    for label, (name, data) in seeds().items():
        if label == "tensorboard":
            continue
        (target / label).mkdir(exist_ok=True)
        (target / label / name).write_bytes(data)
    shutil.copytree(SAMPLES / "overfit" / "tensorboard", target / "tensorboard")
    return target


#: Mutation operations: (kind, position in [0, 1), payload).
KINDS = ("cut", "flip", "insert", "delete", "duplicate", "replace")
#: Bytes that break parsers in interesting ways.
NASTY = [
    b"\x00",
    b"\xff\xfe",
    b"\xed\xa0\x80",  # a UTF-8 encoded surrogate
    b"NaN",
    b"-Infinity",
    b"1e999",
    b'"',
    b"'",
    b",",
    b"\n",
    b"\r",
    b"{",
    b"[" * 50,
    b"9" * 400,
    b"\x1b]0;pwned\x07",
    b"\xe2\x80\xae",
    b"[link=http://x]x[/link]",
    b"\x09" + b"\xff" * 8,
]


def mutate(data: bytes, ops: list[tuple[str, float, bytes]]) -> bytes:
    """Apply ``ops`` in order. Example: ``mutate(b"abcdef", [("cut", 0.5, b"")]) == b"abc"``."""
    buf = bytearray(data)
    for kind, where, payload in ops:
        i = int(where * len(buf)) if buf else 0
        if kind == "cut":
            del buf[i:]
        elif kind == "flip" and buf:
            buf[min(i, len(buf) - 1)] ^= 1 << (payload[0] % 8 if payload else 0)
        elif kind == "insert":
            buf[i:i] = payload
        elif kind == "delete":
            del buf[i : i + max(1, len(payload))]
        elif kind == "duplicate":
            buf[i:i] = buf[i : i + 64 + len(payload) * 16]
        elif kind == "replace":
            buf[i : i + len(payload)] = payload
    return bytes(buf)


def place(root: Path, label: str, name: str, data: bytes) -> Path:
    """Put a hostile input below ``root/hostile``: an event file in a run folder of its
    own (named ``name``), any other log as the file ``name``."""
    d = root / "hostile"
    d.mkdir(exist_ok=True)
    if label == "tensorboard":
        p = d / name / "events.out.tfevents.2.host.v2"
        p.parent.mkdir(parents=True, exist_ok=True)
    else:
        p = d / name
    p.write_bytes(data)
    return p


def run_cli(args: list[str], timeout: float) -> tuple[int, bytes, bytes]:
    """``loganalyzer ARGS`` in a subprocess; (exit code, stdout, stderr). A run past
    ``timeout`` seconds is killed and reported as exit code -1 (a hang)."""
    try:
        out = subprocess.run(
            [sys.executable, "-m", "loganalyzer.cli", *args],
            capture_output=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return -1, b"", b"timeout"
    return out.returncode, out.stdout, out.stderr


def good_runs(doc: dict) -> dict[str, dict]:
    """The runs of a JSON document that come from the good logs, by name."""
    return {r["run"]: r for r in doc["runs"] if not r["run"].startswith("hostile")}

"""Runs, findings and advice built per CONTRACTS (evidence keys, advice params), so the
report tests do not depend on the detectors' tuning. The real pipeline is exercised
on ``sample_logs/`` in the same tests when it produces findings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from loganalyzer.analysis import Analysis, RunResult, analyze
from loganalyzer.findings import Advice, Finding
from loganalyzer.run import Run

SAMPLES = Path(__file__).resolve().parents[1] / "sample_logs"
SCENARIOS = ("overfit", "healthy", "diverging", "underfitting", "noisy")

EVIL = "<script>alert(1)</script>"
EVIL_LINK = "](javascript:alert(1))"


def overfit_result(
    name: str = "overfit/history.json", *, val_name: str = "val_loss", extra: str = "accuracy"
) -> RunResult:
    """40 epochs, best val at 14, rising after; one spike; a plateau; LR logged."""
    epochs = np.arange(40)
    rng = np.random.default_rng(0)
    loss = 1.2 * np.exp(-epochs / 8) + 0.02 + rng.normal(0, 0.004, 40)
    val = 0.9 * np.exp(-epochs / 6) + 0.12 + 0.004 * np.clip(epochs - 14, 0, None) ** 1.3
    val[25] += 0.15  # a spike
    lr = np.where(epochs < 30, 1e-3, 1e-4)
    acc = 1 - loss / 2
    frame = pd.DataFrame(
        {"loss": loss, val_name: val, "lr": lr, extra: acc, "val_" + extra: 1 - val / 2},
        index=pd.Index(epochs, name="epoch"),
    )
    run = Run.from_frame(name, frame, format="keras-json", index="epoch", sources=[name])
    run.val_loss = run._resolve(val_name) if val_name != "val_loss" else "val_loss"
    best = int(np.argmin(val))
    findings = [
        Finding(
            rule="LA101",
            kind="overfitting",
            severity="error",
            metric=run.val_loss,
            start=best,
            end=39,
            message=f"{run.val_loss} rose 110% from its best at epoch {best} while loss kept falling",
            evidence={
                "best_index": best,
                "best_value": float(val[best]),
                "last_index": 39,
                "last_value": float(val[39]),
                "rise_pct": 110.0,
                "rise_sigma": 25.0,
                "noise_sigma": 0.004,
                "trend_p": 1e-6,
                "train_trend_p": 1e-9,
                "gap_at_best": 0.05,
                "gap_at_end": 0.4,
                "gl": 110.0,
                "grade": "clear",
            },
        ),
        Finding(
            rule="LA103",
            kind="loss-spike",
            severity="warning",
            metric=run.val_loss,
            start=25,
            end=25,
            message="1 spike in val_loss at epoch 25 (6.1 sigma)",
            evidence={
                "spikes": [
                    {"index": 25, "value": float(val[25]), "local_level": 0.2, "height_sigma": 6.1}
                ]
            },
        ),
        Finding(
            rule="LA104",
            kind="plateau",
            severity="info",
            metric="loss",
            start=30,
            end=38,
            message="loss flat from epoch 30 to 38",
            evidence={
                "metric": "loss",
                "start": 30,
                "end": 38,
                "length": 9,
                "improvement": 0.001,
                "lr_drop_index": 30,
            },
        ),
    ]
    advice = [
        Advice(
            action="early-stopping",
            rank=1,
            rules=["LA101"],
            summary=f"Stop when {run.val_loss} has not improved for 4 epochs",
            code=(
                "callback = keras.callbacks.EarlyStopping(\n"
                f"    monitor={run.val_loss!r}, patience=4, min_delta=0.001,\n"
                "    restore_best_weights=True)\nmodel.fit(..., callbacks=[callback])"
            ),
            params={
                "monitor": run.val_loss,
                "patience": 4,
                "min_delta": 0.001,
                "restore_best_weights": True,
                "mode": "min",
                "would_stop_at": best + 4,
                "best_index": best,
                "epochs_saved": 39 - best - 4,
            },
        ),
        Advice(
            action="regularize",
            rank=2,
            rules=["LA101"],
            summary="Add L2 weight decay of 1e-4 to the Dense layers",
            code="keras.layers.Dense(64, kernel_regularizer=keras.regularizers.L2(1e-4))",
            params={"kind": "l2", "factor": 1e-4},
        ),
    ]
    return RunResult(run=run, findings=findings, advice=advice)


def healthy_result(name: str = "healthy/history.json") -> RunResult:
    epochs = np.arange(30)
    frame = pd.DataFrame(
        {"loss": 1 / (1 + epochs / 3), "val_loss": 1.05 / (1 + epochs / 3) + 0.02},
        index=pd.Index(epochs, name="epoch"),
    )
    run = Run.from_frame(name, frame, format="keras-json", index="epoch", sources=[name])
    return RunResult(run=run)


def diverging_result(name: str = "diverging/training.csv") -> RunResult:
    epochs = np.arange(20)
    loss = np.concatenate(
        [np.linspace(2, 1.5, 12), [5, 80, 4e4, 3e9, np.inf, np.nan, np.nan, np.nan]]
    )
    val = loss * 1.1
    frame = pd.DataFrame({"loss": loss, "val_loss": val}, index=pd.Index(epochs, name="epoch"))
    run = Run.from_frame(name, frame, format="keras-csv", index="epoch", sources=[name])
    f = Finding(
        rule="LA102",
        kind="divergence",
        severity="error",
        metric="loss",
        start=12,
        end=19,
        message="loss exploded at epoch 12 and became non-finite at 16",
        evidence={
            "first_nonfinite_index": 16,
            "explosion_index": 12,
            "value_before": 1.5,
            "value_at": 5.0,
            "learning_rate": None,
        },
    )
    a = Advice(
        action="lower-lr",
        rank=1,
        rules=["LA102"],
        summary="Lower the learning rate 10x",
        code="optimizer = keras.optimizers.Adam(learning_rate=1e-4)",
        params={"factor": 0.1},
    )
    return RunResult(run=run, findings=[f], advice=[a])


def negative_result(name: str = "negative/metrics.csv") -> RunResult:
    """Negative losses (a log-likelihood), which must not break the plots."""
    steps = np.arange(0, 500, 10)
    loss = -2 - np.log1p(steps / 50)
    frame = pd.DataFrame({"loss": loss, "val_loss": loss + 0.3}, index=pd.Index(steps, name="step"))
    run = Run.from_frame(name, frame, format="lightning-csv", index="step", sources=[name])
    return RunResult(run=run)


def synthetic_analysis() -> Analysis:
    return Analysis(
        runs=[overfit_result(), healthy_result(), diverging_result(), negative_result()]
    )


def sample_analysis() -> Analysis | None:
    """The real pipeline on sample_logs/, or None while it finds nothing to report."""
    if not SAMPLES.is_dir():
        return None
    result = analyze(str(SAMPLES))
    if not result.runs or not any(rr.findings for rr in result.runs):
        return None
    return result

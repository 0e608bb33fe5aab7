"""Lightning ``metrics.csv``: sparse rows merged, per-epoch series preferred."""

from __future__ import annotations

import pytest

from loganalyzer.readers import lightning_csv, read_file

# What CSVLogger writes for self.log("train_loss", on_step=True, on_epoch=True),
# self.log("val_loss"), a LearningRateMonitor, then trainer.validate() and trainer.test().
METRICS = """\
epoch,lr-Adam,step,test_loss,train_acc_epoch,train_acc_step,train_loss_epoch,train_loss_step,val_acc,val_loss
,0.001,0,,,,,,,
0,,49,,,0.50,,0.95,,
0,,99,,,,,,0.60,0.80
0,,99,,0.55,,0.85,,,
,0.0005,100,,,,,,,
1,,149,,,0.70,,0.58,,
1,,199,,,,,,0.70,0.70
1,,199,,0.68,,0.62,,,
2,,249,,,0.75,,0.41,,
2,,299,,,,,,0.72,0.75
2,,299,,0.74,,0.45,,,
2,,299,,,,,,0.73,0.69
2,,299,0.71,,,,,,
"""


def test_epoch_series_are_the_main_series(tmp_path):
    p = tmp_path / "metrics.csv"
    p.write_text(METRICS)
    assert lightning_csv.sniff(p, p.read_bytes())
    (run,) = read_file(p)
    assert run.format == "lightning-csv" and run.index == "epoch"
    assert run.train_loss == "loss" and run.val_loss == "val_loss"
    assert run.series("loss").tolist() == [0.85, 0.62, 0.45]  # train_loss_epoch, not _step
    assert run.series("val_loss").tolist() == [0.80, 0.70, 0.75]  # the post-fit 0.69 is not in
    assert run.original_names["loss"] == "train_loss_epoch"
    assert run.original_names["accuracy"] == "train_acc_epoch"
    assert run.side_series["loss_step"].tolist() == [0.95, 0.58, 0.41]
    assert run.side_series["loss_step"].index.tolist() == [49, 149, 249]


def test_lr_monitor_rows_without_epoch_are_placed(tmp_path):
    p = tmp_path / "metrics.csv"
    p.write_text(METRICS)
    (run,) = read_file(p)
    assert run.learning_rate == "learning_rate"
    assert run.series("learning_rate").tolist() == [0.001, 0.0005, 0.0005]


def test_post_fit_validate_and_test_rows_are_dropped_with_a_warning(tmp_path):
    p = tmp_path / "metrics.csv"
    p.write_text(METRICS)
    (run,) = read_file(p)
    assert any("dropped 2 trailing row(s) written after fit" in w for w in run.warnings)
    assert "test_loss" in run.dropped and "test_loss" not in run.metrics.columns


def test_per_step_logging_is_indexed_by_fractional_epochs(tmp_path):
    # Lightning users read epochs (progress bar, checkpoints, the real-log labels): a
    # metric logged once per epoch sits on the epoch, a per-step loss logged twice in
    # an epoch at epoch + 0 and epoch + 1/2, so nothing is lost.
    p = tmp_path / "metrics.csv"
    p.write_text(
        "epoch,step,train_loss,val_loss\n0,9,1.0,\n0,19,0.9,\n0,19,,1.1\n1,29,0.7,\n1,39,0.6,\n1,39,,0.95\n"
    )
    (run,) = read_file(p)
    assert run.index == "epoch"
    assert run.series("loss").index.tolist() == [0, 0.5, 1, 1.5]
    assert run.series("loss").tolist() == [1.0, 0.9, 0.7, 0.6]
    assert run.series("val_loss").index.tolist() == [0, 1]
    assert run.series("val_loss").tolist() == [1.1, 0.95]
    assert run.warnings == []


def test_rows_without_an_epoch_are_indexed_by_step(tmp_path):
    p = tmp_path / "metrics.csv"
    p.write_text("epoch,step,train_loss,val_loss\n,9,1.0,\n,19,0.9,\n,19,,1.1\n,29,0.7,\n")
    (run,) = read_file(p)
    assert run.index == "step"
    assert run.series("loss").index.tolist() == [9, 19, 29]


def test_keras_csv_with_epoch_only_is_not_lightning(tmp_path):
    p = tmp_path / "training.csv"
    p.write_text("epoch,loss,val_loss\n0,1.0,1.1\n")
    assert not lightning_csv.sniff(p, p.read_bytes())
    (run,) = read_file(p)
    assert run.format == "keras-csv"


@pytest.mark.parametrize("tail", ["", "3,,349,,,0.8,,0.3"])
def test_truncated_last_line(tmp_path, tail):
    p = tmp_path / "metrics.csv"
    p.write_text(METRICS.rsplit("\n", 3)[0] + "\n" + tail)
    (run,) = read_file(p)
    assert run.series("loss").tolist() == [0.85, 0.62, 0.45]
    if tail:
        assert any("truncated" in w for w in run.warnings)

"""Keras CSVLogger files and pandas-written CSV histories."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from loganalyzer.errors import LogReadError
from loganalyzer.readers import keras_csv, read_file


def write(tmp_path, text: str, name: str = "training.csv"):
    p = tmp_path / name
    p.write_bytes(text.encode())
    return p


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_separator_is_sniffed(tmp_path, sep):
    rows = ["epoch,loss,val_loss", "0,1.0,1.2", "1,0.5,0.8", "2,0.25,0.9"]
    p = write(tmp_path, "\r\n".join(r.replace(",", sep) for r in rows) + "\r\n")
    (run,) = read_file(p)
    assert run.format == "keras-csv"
    assert run.series("loss").tolist() == [1.0, 0.5, 0.25]
    assert run.series("val_loss").tolist() == [1.2, 0.8, 0.9]
    assert run.warnings == []


def test_missing_value_spellings(tmp_path):
    p = write(
        tmp_path,
        "epoch,loss,val_loss\n0,1.0,NA\n1,0.9,nan\n2,0.8,NaN\n3,0.7,\n4,0.6, \n5,0.5,0.4\n",
    )
    (run,) = read_file(p)
    assert run.counts() == {"loss": 6, "val_loss": 1}
    assert run.series("val_loss").index.tolist() == [5]


def test_append_segments_analyse_the_last_and_warn(tmp_path):
    seg = lambda k, n: [f"{e},{k + 1.0 / (e + 1)},{k + 1.5 / (e + 1)}" for e in range(n)]  # noqa: E731
    p = write(
        tmp_path, "\n".join(["epoch,loss,val_loss", *seg(5, 4), *seg(3, 2), *seg(0, 6)]) + "\n"
    )
    (run,) = read_file(p)
    assert run.length == 6
    assert run.series("loss").iloc[0] == 1.0  # the last run, not the first (5 + 1.0)
    (w,) = run.warnings
    assert "resumed at epoch 0 twice" in w and "3 segments" in w and "4/2/6" in w


def test_resume_from_checkpoint_continues_the_run(tmp_path):
    p = write(tmp_path, "epoch,loss\n0,1.0\n1,0.9\n2,0.8\n3,0.7\n2,0.85\n3,0.75\n4,0.6\n")
    (run,) = read_file(p)
    assert run.series("loss").tolist() == [1.0, 0.9, 0.85, 0.75, 0.6]
    assert any("resumed from a checkpoint at epoch 2" in w for w in run.warnings)


def test_truncated_last_line_keeps_complete_rows(tmp_path):
    p = write(tmp_path, "epoch,loss,val_loss,mae\n0,1.0,1.2,0.5\n1,0.5,0.8,0.4\n2,0.4,0.")
    (run,) = read_file(p)
    assert run.length == 2
    assert any("last line truncated (line 4)" in w and "2 complete rows" in w for w in run.warnings)


def test_quoted_list_cells_are_left_out_with_a_reason(tmp_path):
    p = write(tmp_path, 'epoch,loss,per_class\n0,1.0,"[0.1, 0.2]"\n1,0.5,"[0.3, 0.4]"\n')
    (run,) = read_file(p)
    assert list(run.metrics.columns) == ["loss"]
    assert "per_class" in run.dropped and "no numeric values" in run.dropped["per_class"]


def test_learning_rate_column_and_one_based_epochs(tmp_path):
    p = write(tmp_path, "epoch,loss,val_loss,learning_rate\n1,1.0,1.1,0.01\n2,0.5,0.6,0.001\n")
    (run,) = read_file(p)
    assert run.learning_rate == "learning_rate"
    assert run.metrics.index.tolist() == [1, 2]


@pytest.mark.parametrize(
    "header",
    [
        "Epoch,Train Loss,Val Loss",
        "epoch,TrainLoss,ValLoss",
        "epoch,main/loss,validation/main/loss",
    ],
)
def test_header_spellings(tmp_path, header):
    p = write(tmp_path, f"{header}\n0,1.0,1.2\n1,0.5,0.7\n")
    (run,) = read_file(p)
    assert (run.train_loss, run.val_loss) == ("loss", "val_loss")
    assert run.series("val_loss").tolist() == [1.2, 0.7]
    assert run.original_names["loss"] == header.split(",")[1]


def test_pandas_to_csv_with_unnamed_index(tmp_path):
    p = tmp_path / "hist.csv"
    pd.DataFrame({"loss": [1.0, 0.5], "val_loss": [1.2, float("nan")]}).to_csv(p)
    (run,) = read_file(p)
    assert run.series("loss").tolist() == [1.0, 0.5]
    assert run.counts()["val_loss"] == 1


def test_nonfinite_values_are_kept(tmp_path):
    p = write(tmp_path, "epoch,loss\n0,1.0\n1,inf\n2,nan\n")
    (run,) = read_file(p)
    values = run.metrics["loss"].tolist()
    assert values[1] == math.inf and math.isnan(values[2])


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-01 10:00:00,123 INFO epoch 1 loss=0.5\n2024-05-01 10:00:01,456 INFO done\n",
        "checktype,current_epoch,issue_list,time_usage,Describe\nepoch,0,[],1.5,No Issue now\n",
        "name,owner\nalpha,bob\n",
    ],
)
def test_text_that_is_not_a_csv_log_is_not_sniffed(tmp_path, text):
    p = write(tmp_path, text, "x.log")
    assert not keras_csv.sniff(p, p.read_bytes())
    with pytest.raises(LogReadError, match="not a training log"):
        read_file(p)


def test_header_only_is_a_clear_error(tmp_path):
    p = write(tmp_path, "epoch,loss,val_loss\n0,1.0")
    with pytest.raises(LogReadError, match="no complete data rows"):
        keras_csv.read(p)


def test_last_line_without_line_end_is_kept_with_a_warning(tmp_path):
    p = write(tmp_path, "epoch,loss\n0,1.0\n1,0.9\n2,0.8")
    (run,) = read_file(p)
    assert run.series("loss").tolist() == [1.0, 0.9, 0.8]
    assert any("has no line end" in w for w in run.warnings)


def test_decimal_commas_with_semicolons(tmp_path):
    p = write(tmp_path, "epoch;loss;val_loss\n0;1,5;1,75\n1;0,5;0,8\n")
    (run,) = read_file(p)
    assert run.series("loss").tolist() == [1.5, 0.5]
    assert any("decimal commas" in w for w in run.warnings)


def test_repeated_header_without_epoch_column_keeps_the_last_run(tmp_path):
    p = write(
        tmp_path, "loss,val_loss\n3.0,3.1\n2.0,2.1\nloss,val_loss\n1.0,1.1\n0.5,0.6\n0.4,0.5\n"
    )
    (run,) = read_file(p)
    assert run.series("loss").tolist() == [1.0, 0.5, 0.4]
    assert run.metrics.index.tolist() == [0, 1, 2]
    assert any("header repeated once" in w and "2 segments" in w for w in run.warnings)


def test_rows_with_a_non_finite_epoch_are_skipped(tmp_path):
    p = write(tmp_path, "epoch,loss\n0,1.0\ninf,0.9\n1,0.8\n")
    (run,) = read_file(p)
    assert run.series("loss").tolist() == [1.0, 0.8]
    assert any("without an epoch number" in w for w in run.warnings)


def test_the_longest_appended_segment_is_the_run(tmp_path):
    # A 6-epoch run, then a restart that crashed after 2 epochs (CSVLogger append=True):
    # the run to judge is the long one, whatever came after it.
    p = tmp_path / "training.csv"
    rows = [f"{e},{1 - 0.1 * e},{1 - 0.05 * e}" for e in range(6)] + ["0,1.0,1.0", "1,0.9,0.9"]
    p.write_text("epoch,loss,val_loss\n" + "\n".join(rows) + "\n")
    (run,) = read_file(p)
    assert run.length == 6 and run.series("loss").iloc[-1] == pytest.approx(0.5)
    assert any("analysing segment 1 (6 rows), the longest" in w for w in run.warnings)

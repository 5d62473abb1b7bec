"""CSVLogger: the file keras 3.15.1 writes (same header, column order, NA cells)."""

import csv

import numpy as np
import pytest
from callback_helpers import data, small_model

from cornu.callbacks import CSVLogger


def read(path, sep=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=sep))


def test_rows_match_the_history(tmp_path):
    x, y = data()
    model = small_model()
    path = tmp_path / "log.csv"
    history = model.fit(x, y, epochs=3, validation_split=0.25, verbose=0,
                        callbacks=[CSVLogger(path)])
    rows = read(path)
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [int(r[0]) for r in rows[1:]] == [0, 1, 2]
    for k, name in enumerate(rows[0][1:], start=1):
        np.testing.assert_array_equal([float(r[k]) for r in rows[1:]], history.history[name])


def test_without_validation_val_columns_are_na_as_in_keras(tmp_path):
    x, y = data()
    model = small_model()
    path = tmp_path / "log.csv"
    model.fit(x, y, epochs=2, verbose=0, callbacks=[CSVLogger(path)])
    text = path.read_text()
    assert text.splitlines()[0] == "epoch,accuracy,loss,val_accuracy,val_loss"
    assert all(line.endswith(",NA,NA") for line in text.splitlines()[1:])
    assert "\r" not in text


def test_overwrite_by_default_and_append_without_second_header(tmp_path):
    x, y = data()
    model = small_model()
    path = tmp_path / "log.csv"
    model.fit(x, y, epochs=2, verbose=0, callbacks=[CSVLogger(path)])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[CSVLogger(path)])
    assert len(read(path)) == 2  # header + 1 row: overwritten
    model.fit(x, y, epochs=2, verbose=0, callbacks=[CSVLogger(path, append=True)])
    rows = read(path)
    assert [r[0] for r in rows] == ["epoch", "0", "0", "1"]


def test_append_to_an_empty_file_writes_the_header(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("")
    x, y = data()
    small_model().fit(x, y, epochs=1, verbose=0, callbacks=[CSVLogger(path, append=True)])
    assert read(path)[0][0] == "epoch"


def test_separator_and_list_values(tmp_path):
    x, y = data()
    model = small_model()
    path = tmp_path / "log.tsv"

    class Extra(CSVLogger):
        def on_epoch_end(self, epoch, logs=None):
            logs["sizes"] = np.array([1, 2])
            super().on_epoch_end(epoch, logs)

    model.fit(x, y, epochs=1, verbose=0, callbacks=[Extra(path, separator="\t")])
    rows = read(path, "\t")
    assert rows[1][rows[0].index("sizes")] == "[1, 2]"


def test_file_is_flushed_each_epoch(tmp_path):
    x, y = data()
    model = small_model()
    path = tmp_path / "log.csv"
    seen = []
    from cornu.callbacks import LambdaCallback

    model.fit(x, y, epochs=2, verbose=0, callbacks=[
        CSVLogger(path), LambdaCallback(on_epoch_end=lambda e, logs: seen.append(
            len(path.read_text().splitlines())))])
    assert seen == [2, 3]


def test_bad_arguments():
    with pytest.raises(ValueError, match="separator must be a one-character string"):
        CSVLogger("x.csv", separator=", ")
    with pytest.raises(TypeError, match="filename must be a str or a path"):
        CSVLogger(3)

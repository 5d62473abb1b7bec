"""History: the logs of each epoch, its state for BackupAndRestore, and History.plot."""

import sys

import pytest
from callback_helpers import data, small_model

from cornu.callbacks import History


def fitted(validation: bool = True):
    x, y = data()
    return small_model().fit(x, y, epochs=3, verbose=0,
                             validation_split=0.25 if validation else 0.0)


def test_history_records_every_epoch():
    history = fitted()
    assert history.epoch == [0, 1, 2]
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(v) == 3 for v in history.history.values())


def test_state_round_trip():
    history = fitted()
    other = History()
    other.set_state(history.get_state())
    assert other.history == history.history and other.epoch == history.epoch


def test_plot_to_png(tmp_path):
    path = tmp_path / "history.png"
    assert fitted().plot(path) is None
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_returns_a_figure_with_train_and_val_on_the_same_axes():
    figure = fitted().plot()
    axes = figure.get_axes()
    assert [a.get_title() for a in axes] == ["loss", "accuracy"]
    labels = [[line.get_label() for line in a.get_lines()] for a in axes]
    assert labels == [["loss", "val_loss"], ["accuracy", "val_accuracy"]]
    xs, ys = axes[0].get_lines()[0].get_data()
    assert list(xs) == [1, 2, 3]  # epochs counted from 1, as the progress bar does


def test_plot_selected_metrics_and_without_validation():
    figure = fitted(validation=False).plot(metrics=["loss"])
    (axes,) = figure.get_axes()
    assert [line.get_label() for line in axes.get_lines()] == ["loss"]
    figure = fitted().plot(metrics=["val_accuracy"])
    assert [a.get_title() for a in figure.get_axes()] == ["accuracy"]


def test_plot_unknown_metric_lists_what_there_is():
    with pytest.raises(ValueError, match="'mae'.*accuracy, loss, val_accuracy, val_loss"):
        fitted().plot(metrics=["mae"])


def test_plot_of_an_empty_history():
    with pytest.raises(ValueError, match="nothing to plot.*fit"):
        History().plot()


def test_plot_without_matplotlib_says_how_to_install_it(monkeypatch):
    history = fitted()
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        history.plot()

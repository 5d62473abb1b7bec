"""ModelCheckpoint: Keras' file templates, save_best_only, weights-only and model files,
step frequency; the files load back with cornu.saving."""

import os

import numpy as np
import pytest
from callback_helpers import Recorder, Scripted, data, small_model

import cornu
from cornu.callbacks import ModelCheckpoint


def test_filepath_template_with_epoch_and_val_loss(tmp_path):
    x, y = data()
    model = small_model()
    template = str(tmp_path / "ckpt" / "w.{epoch:02d}-{val_loss:.2f}.cornu")
    history = model.fit(x, y, epochs=3, validation_split=0.25, verbose=0,
                        callbacks=[ModelCheckpoint(template)])
    want = {f"w.{e + 1:02d}-{v:.2f}.cornu" for e, v in enumerate(history.history["val_loss"])}
    assert set(os.listdir(tmp_path / "ckpt")) == want  # the folder was created
    last = max(want)
    loaded = cornu.saving.load_model(tmp_path / "ckpt" / last)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_save_best_only_saves_only_improvements(tmp_path):
    x, y = data()
    model = small_model()
    recorder = Recorder()
    model.fit(x, y, epochs=4, verbose=0, callbacks=[
        Scripted("score", [3.0, 1.0, 2.0, 0.5]), recorder,
        ModelCheckpoint(str(tmp_path / "e{epoch}.weights.safetensors"), monitor="score",
                        mode="min", save_best_only=True, save_weights_only=True)])
    assert sorted(os.listdir(tmp_path)) == ["e1.weights.safetensors", "e2.weights.safetensors",
                                            "e4.weights.safetensors"]
    fresh = small_model(seed=5)
    fresh.load_weights(tmp_path / "e2.weights.safetensors")
    for got, want in zip(fresh.get_weights(), recorder.weights[1], strict=True):
        np.testing.assert_array_equal(got, want)


def test_fixed_name_keeps_the_best_model(tmp_path):
    x, y = data()
    model = small_model()
    recorder = Recorder()
    path = tmp_path / "best.cornu"
    model.fit(x, y, epochs=4, verbose=0, callbacks=[
        Scripted("acc_score", [0.5, 0.9, 0.7, 0.8]), recorder,
        ModelCheckpoint(path, monitor="acc_score", mode="max", save_best_only=True)])
    best = cornu.saving.load_model(path)
    for got, want in zip(best.get_weights(), recorder.weights[1], strict=True):
        np.testing.assert_array_equal(got, want)


def test_initial_value_threshold(tmp_path):
    x, y = data()
    model = small_model()
    model.fit(x, y, epochs=3, verbose=0, callbacks=[
        Scripted("score", [1.0, 0.7, 0.4]),
        ModelCheckpoint(str(tmp_path / "e{epoch}.cornu"), monitor="score", mode="min",
                        save_best_only=True, initial_value_threshold=0.5)])
    assert os.listdir(tmp_path) == ["e3.cornu"]


def test_integer_save_freq_saves_every_n_steps(tmp_path):
    x, y = data(96)
    model = small_model()
    calls = []
    model.fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=[
        ModelCheckpoint(str(tmp_path / "s-{epoch}-{batch}.weights.safetensors"),
                        save_weights_only=True, save_freq=2),
        cornu.callbacks.LambdaCallback(on_chunk_end=lambda step, logs: calls.append(step))])
    # 3 steps per epoch; compiled calls of at most 2 steps; a save once 2 steps have passed
    assert calls == [2, 3] * 3
    assert sorted(os.listdir(tmp_path)) == [f"s-{e}-2.weights.safetensors" for e in (1, 2, 3)]


def test_missing_monitor_with_save_best_only_warns_and_saves(tmp_path):
    x, y = data()
    model = small_model()
    with pytest.warns(UserWarning, match="Can save best model only with val_loss available"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[
            ModelCheckpoint(str(tmp_path / "m.cornu"), save_best_only=True)])
    assert (tmp_path / "m.cornu").exists()


def test_verbose_messages(tmp_path, capsys):
    x, y = data()
    model = small_model()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[
        Scripted("score", [1.0, 2.0]),
        ModelCheckpoint(str(tmp_path / "m.cornu"), monitor="score", mode="min",
                        save_best_only=True, verbose=1)])
    out = capsys.readouterr().out
    assert "Epoch 1: score improved from None to 1.00000, saving model to" in out
    assert "Epoch 2: score did not improve from 1.00000" in out


def test_unknown_template_key_names_the_filepath(tmp_path):
    x, y = data()
    model = small_model()
    with pytest.raises(KeyError, match="Failed to format this callback filepath.*val_acc"):
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[ModelCheckpoint(str(tmp_path / "m-{val_acc}.cornu"))])


def test_directory_as_filepath_is_an_error(tmp_path):
    (tmp_path / "m.cornu").mkdir()
    x, y = data()
    model = small_model()
    with pytest.raises(OSError, match="non-directory filepath"):
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[ModelCheckpoint(str(tmp_path / "m.cornu"))])


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(filepath="m.h5"), "must end in .cornu or .keras"),
    (dict(filepath="m.cornu", save_weights_only=True), "must end in .weights.safetensors"),
    (dict(filepath="m.keras", save_weights_only=True), r"\.weights\.h5\)"),
    (dict(filepath="m.weights.h5"), "must end in .cornu or .keras"),
    (dict(filepath="m.cornu", save_freq="batch"), "save_freq must be 'epoch' or a positive"),
    (dict(filepath="m.cornu", save_freq=0), "save_freq"),
    (dict(filepath="m.cornu", mode="best"), "mode must be"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ModelCheckpoint(**kwargs)


def test_state_round_trip():
    callback = ModelCheckpoint("m.cornu", save_best_only=True)
    callback.best = 0.25
    other = ModelCheckpoint("m.cornu", save_best_only=True)
    other.set_state(callback.get_state())
    assert other.best == 0.25

"""fit, evaluate and predict on sources of batches (generators, iterators, iterables),
against Keras 3 on the same batches from the same weights."""

from __future__ import annotations

import os
import warnings

import jax
import numpy as np
import pytest

import cornu
from cornu.data import sources

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(120, 6)).astype(np.float32)
Y = (X[:, 0] + 0.3 * X[:, 1] > 0).astype(np.float32)


def endless(batch=32, x=X, y=Y):
    while True:
        for i in range(0, len(x), batch):
            yield x[i:i + batch], y[i:i + batch]


def one_pass(batch=40, x=X, y=Y):
    for i in range(0, len(x), batch):
        yield x[i:i + batch], y[i:i + batch]


class Reiterable:
    """What a torch DataLoader or a tf.data Dataset looks like to cornu: a length, and a
    fresh pass at each iter()."""

    def __init__(self, batch=48):
        self.batch = batch

    def __len__(self):
        return -(-len(X) // self.batch)

    def __iter__(self):
        return one_pass(self.batch)


def models(lr=0.05):
    cornu.utils.set_random_seed(1)
    ours = cornu.Sequential([cornu.Input((6,)), cornu.layers.Dense(8, activation="relu"),
                             cornu.layers.Dense(1, activation="sigmoid")])
    theirs = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                               keras.layers.Dense(1, activation="sigmoid")])
    theirs.set_weights(ours.get_weights())
    for model, lib in ((ours, cornu), (theirs, keras)):
        model.compile(optimizer=lib.optimizers.SGD(lr), loss="binary_crossentropy",
                      metrics=["accuracy"])
    return ours, theirs


def test_what_is_a_stream():
    assert not sources.is_stream(X) and not sources.is_stream([X, X])
    assert not sources.is_stream({"a": X}) and not sources.is_stream(None)
    assert not sources.is_stream(jax.numpy.ones(3))
    assert sources.is_stream(one_pass()) and sources.is_stream(Reiterable())
    assert sources.is_stream(iter([(X, Y)]))


def test_fit_on_an_endless_generator_matches_keras():
    ours, theirs = models()
    kwargs = dict(steps_per_epoch=3, epochs=3, verbose=0)
    got = ours.fit(endless(), **kwargs).history
    with jax.numpy_rank_promotion("allow"):
        want = theirs.fit(endless(), shuffle=False, **kwargs).history
    assert set(got) == set(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=2e-4, atol=1e-6, err_msg=key)
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_validation_reads_the_first_batches_of_a_fresh_pass_each_time():
    ours, _ = models()
    history = ours.fit(endless(), steps_per_epoch=2, epochs=2, verbose=0,
                       validation_data=Reiterable(32), validation_steps=2).history
    first_two = ours.evaluate(X[:64], Y[:64], verbose=0, return_dict=True)
    assert history["val_loss"][-1] == pytest.approx(first_two["loss"], rel=1e-5)
    assert history["val_accuracy"][-1] == pytest.approx(first_two["accuracy"], rel=1e-5)


def test_a_generator_that_runs_out_stops_training_with_keras_warning():
    ours, theirs = models()
    with pytest.warns(UserWarning, match="ran out of data"):
        got = ours.fit(one_pass(), steps_per_epoch=2, epochs=5, verbose=0).history
    with warnings.catch_warnings(), jax.numpy_rank_promotion("allow"):
        warnings.simplefilter("ignore")
        want = theirs.fit(one_pass(), steps_per_epoch=2, epochs=5, verbose=0,
                           shuffle=False).history
    # the epochs up to the one that ran out are Keras'; then training stops, as the warning
    # says (Keras goes on with the generator's first batch, which it kept when it peeked)
    assert len(got["loss"]) == 2
    np.testing.assert_allclose(got["loss"], want["loss"][:2], rtol=2e-4)


def test_an_iterable_is_read_again_each_epoch_and_evaluate_predict_take_sources():
    ours, _ = models()
    twin, _ = models()
    got = ours.fit(Reiterable(), epochs=2, verbose=0).history
    want = twin.fit(X, Y, batch_size=48, shuffle=False, epochs=2, verbose=0).history
    np.testing.assert_allclose(got["loss"], want["loss"], rtol=1e-5)
    on_source = ours.evaluate(one_pass(), verbose=0, return_dict=True)
    on_arrays = ours.evaluate(X, Y, verbose=0, return_dict=True)
    assert on_source == pytest.approx(on_arrays, rel=1e-5)
    predicted = ours.predict(endless(32), steps=2, verbose=0)
    np.testing.assert_allclose(predicted, ours.predict(X[:64], verbose=0), rtol=1e-6)


def test_an_unbuilt_model_is_built_from_the_first_batch():
    model = cornu.Sequential([cornu.layers.Dense(4, activation="relu"), cornu.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(one_pass(), epochs=1, verbose=0).history
    assert model.built and np.isfinite(history["loss"][0])


def test_targets_beside_a_source_are_refused_naming_them():
    ours, _ = models()
    with pytest.raises(ValueError, match=r"y is not supported when x is a generator"):
        ours.fit(one_pass(), Y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="class_weight"):
        ours.fit(one_pass(), class_weight={0: 1.0, 1: 2.0}, verbose=0)
    with pytest.raises(ValueError, match=r"steps_per_epoch must be a positive integer.*0"):
        ours.fit(one_pass(), steps_per_epoch=0, verbose=0)


def test_a_generator_consumed_before_fit_is_an_error_not_a_silent_no_op():
    ours, _ = models()
    spent = one_pass()
    list(spent)
    with pytest.raises(ValueError, match="read no batch"):
        ours.fit(spent, epochs=1, verbose=0)


def test_validation_freq_runs_validation_every_nth_epoch():
    ours, theirs = models()
    got = ours.fit(X, Y, epochs=4, validation_data=(X, Y), validation_freq=2,
                   verbose=0).history
    with jax.numpy_rank_promotion("allow"):
        want = theirs.fit(X, Y, epochs=4, validation_data=(X, Y), validation_freq=2,
                          shuffle=False, verbose=0).history
    assert len(got["val_loss"]) == len(want["val_loss"]) == 2
    assert len(got["loss"]) == 4


def test_hooks_of_evaluation_and_prediction_fire_as_in_keras():
    ours, _ = models()
    events = []

    class Spy(cornu.callbacks.Callback):
        def on_test_begin(self, logs=None):
            events.append("test_begin")

        def on_test_end(self, logs=None):
            events.append(("test_end", sorted(logs)))

        def on_test_batch_end(self, batch, logs=None):
            events.append("test_batch")

        def on_predict_batch_end(self, batch, logs=None):
            events.append("predict_batch")

    ours.fit(X, Y, epochs=1, batch_size=40, validation_data=(X, Y), callbacks=[Spy()],
             verbose=0)
    assert "test_begin" in events and ("test_end", ["accuracy", "loss"]) in events
    events.clear()
    ours.evaluate(X, Y, batch_size=50, callbacks=[Spy()], verbose=0)
    assert events.count("test_batch") == 3
    events.clear()
    ours.predict(X, batch_size=50, callbacks=[Spy()], verbose=0)
    assert events.count("predict_batch") == 3


class Batches(cornu.utils.PyDataset):
    def __init__(self, batch=32, **kwargs):
        super().__init__(**kwargs)
        self.batch, self.ends = batch, 0

    def __len__(self):
        return -(-len(X) // self.batch)

    def __getitem__(self, i):
        return X[i * self.batch:(i + 1) * self.batch], Y[i * self.batch:(i + 1) * self.batch]

    def on_epoch_end(self):
        self.ends += 1


class KerasBatches(keras.utils.PyDataset):
    def __init__(self, batch=32, **kwargs):
        super().__init__(**kwargs)
        self.batch = batch

    def __len__(self):
        return -(-len(X) // self.batch)

    def __getitem__(self, i):
        return X[i * self.batch:(i + 1) * self.batch], Y[i * self.batch:(i + 1) * self.batch]


@pytest.mark.parametrize("workers", [1, 3])
def test_a_pydataset_trains_as_in_keras(workers):
    ours, theirs = models()
    data = Batches(workers=workers)
    got = ours.fit(data, epochs=3, shuffle=False, verbose=0,
                   validation_data=Batches(48)).history
    with jax.numpy_rank_promotion("allow"):
        want = theirs.fit(KerasBatches(), epochs=3, shuffle=False, verbose=0,
                          validation_data=KerasBatches(48)).history
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=2e-4, atol=1e-6, err_msg=key)
    assert data.ends == 3
    shuffled = models()[0].fit(Batches(), epochs=2, verbose=0).history  # batch order shuffled
    assert np.isfinite(shuffled["loss"]).all()


def test_image_folders_train_a_model(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for k, name in enumerate(["cats", "dogs"]):
        (tmp_path / name).mkdir()
        for i in range(6):
            pixels = (rng.random((10, 12, 3)) * 80 + 120 * k).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / name / f"{i}.png")
    data = cornu.utils.image_dataset_from_directory(tmp_path, image_size=(8, 8), batch_size=4,
                                                    seed=1, verbose=False)
    assert data.class_names == ["cats", "dogs"]
    model = cornu.Sequential([cornu.Input((8, 8, 3)), cornu.layers.Flatten(),
                              cornu.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(data, epochs=2, verbose=0).history
    assert len(history["loss"]) == 2 and np.isfinite(history["loss"]).all()
    assert model.predict(data, verbose=0).shape == (12, 2)


def test_backup_and_restore_refuses_a_run_it_cannot_resume(tmp_path):
    ours, _ = models()
    with pytest.raises(ValueError, match="a generator or plain iterable cannot"):
        ours.fit(endless(), steps_per_epoch=2, epochs=1, verbose=0,
                 callbacks=[cornu.callbacks.BackupAndRestore(str(tmp_path / "b"),
                                                             save_freq=1)])
    checkpoint = cornu.callbacks.ModelCheckpoint(str(tmp_path / "m.cornu"))
    ours.fit(endless(), steps_per_epoch=2, epochs=1, verbose=0, callbacks=[checkpoint])
    assert (tmp_path / "m.cornu").exists()

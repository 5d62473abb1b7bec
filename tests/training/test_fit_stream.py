"""Streams through the compiled programs (training/fit_stream.py): the same numbers as the
arrays' fit, no recompilation for a short last chunk, errors and stops from the reading
thread, NaN rewind inside a chunk."""

from __future__ import annotations

import threading

import jax
import numpy as np
import pytest

import cornu
from cornu.layers import Dense
from cornu.training import fit_stream


def _model(seed: int = 0) -> cornu.Sequential:
    cornu.utils.set_random_seed(seed)
    model = cornu.Sequential([cornu.Input((6,)), Dense(8, activation="relu"),
                              Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _data(n: int = 70):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, n)]
    return x, y


def _batches(x, y, batch_size):
    for i in range(0, len(x), batch_size):
        yield x[i:i + batch_size], y[i:i + batch_size]


class Rows(cornu.utils.PyDataset):
    def __init__(self, x, y, batch_size):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[s], self.y[s]


def _weights(model):
    return [np.asarray(w) for w in model.get_weights()]


def test_a_stream_trains_as_the_arrays_do():
    x, y = _data()
    arrays = _model()
    h1 = arrays.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    stream = _model()
    h2 = stream.fit(Rows(x, y, 16), epochs=2, shuffle=False, verbose=0)
    for a, b in zip(_weights(arrays), _weights(stream), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-6)
    np.testing.assert_allclose(h1.history["accuracy"], h2.history["accuracy"])
    assert stream._engine.traces["train"] == 1  # 5 steps, the last one short: one program


def test_a_generator_of_unknown_length_compiles_once_and_skips_empty_steps(monkeypatch):
    monkeypatch.setattr(fit_stream, "MAX_CHUNK_STEPS", 4)  # 5 batches: chunks of 4 and 1+3
    x, y = _data()
    arrays = _model()
    arrays.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    stream = _model()
    stream.fit(_batches(x, y, 16), epochs=1, verbose=0)
    assert stream._engine.traces["train"] == 1
    for a, b in zip(_weights(arrays), _weights(stream), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert int(stream.optimizer.iterations.numpy()) == 5  # the 3 empty steps did nothing


def test_evaluate_and_predict_on_a_stream_equal_the_arrays():
    x, y = _data()
    model = _model()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    expected = model.evaluate(x, y, batch_size=16, verbose=0)
    got = model.evaluate(Rows(x, y, 16), verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    np.testing.assert_allclose(model.predict(Rows(x, y, 16), verbose=0),
                               model.predict(x, batch_size=16, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(model.predict(_batches(x, y, 9), verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6, atol=1e-7)


def test_an_error_in_the_source_reaches_the_caller_and_the_thread_ends():
    x, y = _data()

    def broken():
        yield x[:16], y[:16]
        raise RuntimeError("disk went away")

    model = _model()
    before = threading.active_count()
    with pytest.raises(RuntimeError, match="disk went away"):
        model.fit(broken(), epochs=1, verbose=0)
    assert threading.active_count() == before


def test_a_bad_batch_is_named():
    x, y = _data()

    def bad():
        yield x[:16], y[:16]
        yield x[:16, :5], y[:16]

    model = _model()
    with pytest.raises(ValueError, match="a batch of x"):
        model.fit(bad(), epochs=1, verbose=0)


def test_stop_training_mid_epoch_stops_the_reader():
    x, y = _data(400)
    seen = []

    class Stop(cornu.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)
            if batch == 2:
                self.model.stop_training = True

    model = _model()
    before = threading.active_count()
    model.fit(_batches(x, y, 10), epochs=3, verbose=0, callbacks=[Stop()])
    assert seen == [0, 1, 2]
    assert threading.active_count() == before


def test_nan_in_a_chunk_keeps_the_last_finite_step(capsys):
    x, y = _data(80)
    bad = x.copy()
    bad[50] = 3e38  # batch 3 of 16 rows: the products overflow
    model = _model()
    model.fit(_batches(bad, y, 16), epochs=2, verbose=0)
    assert model.nan_stop == (0, 3)
    assert "epoch 1, step 4" in capsys.readouterr().err
    reference = _model()
    reference.fit(x[:48], y[:48], batch_size=16, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(_weights(reference), _weights(model), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_steps_per_epoch_with_arrays_runs_the_chunked_program():
    x, y = _data()
    model = _model()
    history = model.fit(x, y, batch_size=10, epochs=2, steps_per_epoch=3, verbose=0)
    assert len(history.history["loss"]) == 2
    assert model._engine.traces["train"] == 1
    assert int(model.optimizer.iterations.numpy()) == 6
    assert np.isfinite(jax.device_get(model.get_weights()[0])).all()


def test_the_next_epochs_first_chunk_is_read_ahead_only_for_side_effect_free_sources():
    """grain's passes (and arrays') have no side effects: one thread reads the epochs in a
    row, the next epoch's first batches read before this epoch's end; a PyDataset's
    pass waits for the epoch's end (its on_epoch_end comes first, as in Keras)."""
    grain = pytest.importorskip("grain")
    x, y = _data(40)
    events = []
    changed = threading.Condition()

    class Logged(Rows):
        def __getitem__(self, i):
            if i == 0:
                with changed:
                    events.append(("read", 0))
                    changed.notify_all()
            return super().__getitem__(i)

    class Ends(cornu.callbacks.Callback):
        """At the end of epochs 0 and 1, waits (up to `wait` seconds) for the next epoch's
        first batch to be read: a reader that reads ahead gives it during the wait, one
        that waits for the epoch's end cannot (the order then shows which it was, however
        fast or slow the machine)."""

        def __init__(self, wait):
            super().__init__()
            self.wait = wait

        def on_epoch_end(self, epoch, logs=None):
            with changed:
                if epoch < 2:
                    changed.wait_for(lambda: events.count(("read", 0)) > epoch + 1,
                                     timeout=self.wait)
                events.append(("end", epoch))

    def run(source, wait):
        events.clear()
        history = _model().fit(source, epochs=3, verbose=0, callbacks=[Ends(wait)],
                               shuffle=False)
        # the reading thread has ended (grain keeps threads of its own)
        assert not [t for t in threading.enumerate() if t.name == "cornu-prefetch"]
        return list(events), history

    ahead, h_ahead = run(grain.MapDataset.source(Logged(x, y, 10)), wait=60)
    # epoch 1's and 2's first batch are read before epoch 0's and 1's end; no pass past
    # the last epoch is read
    assert ahead == [("read", 0), ("read", 0), ("end", 0), ("read", 0), ("end", 1),
                     ("end", 2)], ahead
    in_turn, h_in_turn = run(Logged(x, y, 10), wait=0.5)
    assert in_turn == [("read", 0), ("end", 0), ("read", 0), ("end", 1), ("read", 0),
                       ("end", 2)], in_turn
    np.testing.assert_allclose(h_ahead.history["loss"], h_in_turn.history["loss"], rtol=1e-6)


def test_a_grain_map_dataset_is_read_by_index_as_grain_iterates_it(monkeypatch):
    """A MapDataset of known length is read by index (grain's own iteration starts read-ahead
    threads that cost more than the training on two cores): the same batches in the same
    order as iterating it, elements a filter dropped skipped, and evaluate, predict too."""
    grain = pytest.importorskip("grain")
    x, y = _data(80)
    rows = grain.MapDataset.source(list(range(8))).filter(lambda i: i != 3).map(
        lambda i: (x[i * 10:(i + 1) * 10], y[i * 10:(i + 1) * 10]))
    iterated = list(rows)  # grain's order, the filtered batch left out
    assert len(iterated) == 7

    def no_iteration(self):
        raise AssertionError("the MapDataset was iterated, not read by index")

    expected = _model()
    h1 = expected.fit(_batches(np.concatenate([b[0] for b in iterated]),
                               np.concatenate([b[1] for b in iterated]), 10),
                      epochs=1, verbose=0, steps_per_epoch=7)
    monkeypatch.setattr(type(rows), "__iter__", no_iteration)
    model = _model()
    h2 = model.fit(rows, epochs=1, verbose=0)
    np.testing.assert_allclose(h2.history["loss"], h1.history["loss"], rtol=1e-6)
    for a, b in zip(_weights(model), _weights(expected), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.predict(rows, verbose=0),
                               model.predict(np.concatenate([b[0] for b in iterated]),
                                             verbose=0), rtol=1e-6, atol=1e-7)
    assert model.evaluate(rows, verbose=0)[0] == pytest.approx(
        model.evaluate(np.concatenate([b[0] for b in iterated]),
                       np.concatenate([b[1] for b in iterated]), batch_size=10,
                       verbose=0)[0], rel=1e-6)


@pytest.mark.parametrize("bad, message", [
    ("nan", "a batch of x contains NaN or infinity \\(first at index \\(3, 2\\)"),
    ("label", "its targets has labels out of range"),
    ("rows", "must have the same number of samples"),
])
def test_a_bad_value_in_a_later_batch_is_named_as_in_the_first(bad, message):
    # later batches of the first one's structure skip the per-batch checks; their values
    # are checked with their chunk's, and a bad chunk is checked batch by batch again
    x, y = _data(64)
    x, y = x.copy(), y.copy()
    if bad == "nan":
        x[16 * 2 + 3, 2] = np.nan
    elif bad == "label":
        y[16 * 2 + 5, 0] = 2.0
    seen = []

    def batches():
        for i in range(0, 64, 16):
            seen.append(i)
            yb = y[i:i + 16] if bad != "rows" or i != 32 else y[i:i + 15]
            yield x[i:i + 16], yb

    model = _model()
    with pytest.raises(ValueError, match=message):
        model.fit(batches(), epochs=1, verbose=0)


def test_a_later_batch_of_another_structure_takes_the_full_checks():
    x, y = _data(64)

    def batches():  # float64 and a list batch: converted as the first batch was
        yield x[:16], y[:16]
        yield x[16:32].astype(np.float64), y[16:32]
        yield [x[32:48], y[32:48]]
        yield x[48:], y[48:].astype(np.float64)

    arrays = _model()
    arrays.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    stream = _model()
    stream.fit(batches(), epochs=1, verbose=0)
    for a, b in zip(_weights(arrays), _weights(stream), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_chunks_reuse_their_host_arrays_only_once_released(monkeypatch):
    # many chunks of 2 steps: the pool's arrays are reused, and never while a chunk that
    # reads them is still alive (the numbers equal the arrays' path)
    monkeypatch.setattr(fit_stream, "MAX_CHUNK_STEPS", 2)
    x, y = _data(400)
    arrays = _model()
    arrays.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0)
    stream = _model()
    stream.fit(Rows(x, y, 10), epochs=2, shuffle=False, verbose=0)
    for a, b in zip(_weights(arrays), _weights(stream), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(stream.predict(Rows(x, y, 10), verbose=0),
                               stream.predict(x, batch_size=10, verbose=0), rtol=1e-6)
    kept = fit_stream._Buffers()
    first = kept.take((4, 3), np.float32)
    second = kept.take((4, 3), np.float32)
    assert not np.shares_memory(first, second)  # the first is still held
    address = first.ctypes.data
    del first
    third = kept.take((4, 3), np.float32)
    assert third.ctypes.data == address and third.ctypes.data % 64 == 0

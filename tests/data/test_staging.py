"""Host memory for the compiled programs: fit, evaluate and predict read the caller's arrays
in place (no copy, nothing kept; evaluate and predict copy only the last, partial batch);
the values are always the caller's current ones."""

import gc
import tracemalloc

import jax
import numpy as np
import pytest

import cornu
from cornu.data import staging
from cornu.data.arrays import is_aligned

pytestmark = pytest.mark.skipif(jax.default_backend() != "cpu", reason="staging is CPU-only")


def unaligned(shape, seed=0):
    """A float32 array whose data starts 16 bytes past a 64-byte boundary."""
    values = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    raw = np.empty(values.nbytes + 128, np.uint8)
    start = (-raw.ctypes.data % 64) + 16
    array = raw[start:start + values.nbytes].view(np.float32).reshape(shape)
    array[...] = values
    assert not is_aligned(array)
    return array


@pytest.fixture
def small_net(classifier):
    return lambda: classifier(7, 6, 3, "sigmoid", seed=5)


def test_large_arrays_are_read_in_place_from_the_boundary_before_them(monkeypatch):
    monkeypatch.setattr(staging, "IN_PLACE_MIN_BYTES", 1000)
    x, y, small = unaligned((300, 7)), unaligned((300, 2), seed=1), unaligned((20, 2))
    aligned = aligned_zeros((64, 16))
    out = staging.device_put([x, y, small, aligned, None])
    assert isinstance(out[0], staging.InPlace) and isinstance(out[1], staging.InPlace)
    assert out[0].offset == 4 and out[0].shape == (300, 7)  # 16 bytes of float32
    # the device reads the host's memory: no copy
    assert out[0].flat.unsafe_buffer_pointer() == x.ctypes.data - 16
    assert out[1].flat.unsafe_buffer_pointer() == y.ctypes.data - 16
    np.testing.assert_array_equal(np.asarray(jax.jit(staging.whole)(out[0])), x)
    np.testing.assert_array_equal(np.asarray(out[1].whole()), y)
    assert not isinstance(out[2], staging.InPlace)  # small: copied
    assert out[3].unsafe_buffer_pointer() == aligned.ctypes.data  # aligned: in place as is
    assert out[4] is None
    strided = unaligned((300, 14))[:, ::2]  # not contiguous: copied
    assert not isinstance(staging.device_put([strided])[0], staging.InPlace)


def test_in_place_memory_keeps_its_array_alive(monkeypatch):
    monkeypatch.setattr(staging, "IN_PLACE_MIN_BYTES", 1000)
    x = unaligned((300, 7))
    want = x.copy()
    flat = staging.device_put([x])[0]
    del x
    gc.collect()
    np.testing.assert_array_equal(np.asarray(flat.whole()), want)


def aligned_zeros(shape):
    array = cornu.data.arrays.empty_aligned(shape, np.float32)
    array[...] = 0
    return array


def test_fit_in_place_trains_as_fit_on_copies(monkeypatch, small_net):
    """fit calls that read x and y in place give the weights of calls that copy them; a
    change to x between calls is used; nothing of the data stays on the device."""

    def train(limit):
        monkeypatch.setattr(staging, "IN_PLACE_MIN_BYTES", limit)
        model = small_net()
        x = unaligned((96, 7))
        y = unaligned((96, 3), seed=3)
        y[...] = np.eye(3, dtype=np.float32)[np.arange(96) % 3]
        for _ in range(3):
            model.fit(x, y, batch_size=16, epochs=2, verbose=0)
            x *= 0.5  # in place, between calls
        assert not [a for a in jax.live_arrays() if a.shape in ((96, 7), (96 * 7 + 4,))]
        return [np.asarray(w) for w in model.get_weights()]

    for a, b in zip(train(100), train(1 << 30), strict=True):
        np.testing.assert_array_equal(a, b)


def test_in_place_is_cpu_only_and_can_be_turned_off(monkeypatch):
    monkeypatch.setattr(staging, "IN_PLACE_MIN_BYTES", 100)
    monkeypatch.setenv("CORNU_HOST_BUFFERS", "0")
    assert not isinstance(staging.device_put([unaligned((30, 4))])[0], staging.InPlace)


def seen(leaf):
    """What a program is handed for one array (read at the call: the arrays are deleted
    when the call returns)."""
    if not isinstance(leaf, staging.Batches):
        return np.asarray(leaf)
    rows = leaf.rows
    return {"size": leaf.size, "shape": rows.shape, "in_place": isinstance(rows, staging.InPlace),
            "memory": (rows.flat if isinstance(rows, staging.InPlace) else rows
                       ).unsafe_buffer_pointer(),
            "tail": None if leaf.tail is None else np.asarray(staging.whole(leaf.tail))}


def spy(monkeypatch, owner, name):
    """What each call of `owner.name` (a compiled program) is handed (`seen`)."""
    calls = []
    program = getattr(owner, name)

    def record(*args):
        calls.append(jax.tree.map(seen, args[2:], is_leaf=lambda a: isinstance(
            a, staging.Batches)))
        return program(*args)

    monkeypatch.setattr(owner, name, record)
    return calls


def assert_read_in_place(batches, array, size):
    """A program read `array`'s whole batches from its memory and had a copy of its last,
    partial batch alone, padded with zeros."""
    full = array.shape[0] // size * size
    assert batches["size"] == size and batches["in_place"]
    assert batches["shape"] == (full, *array.shape[1:])
    assert batches["memory"] == array.ctypes.data - 16  # from the 64-byte boundary
    tail = batches["tail"]
    assert tail.shape == (size, *array.shape[1:])
    np.testing.assert_array_equal(tail[:array.shape[0] - full], array[full:])
    np.testing.assert_array_equal(tail[array.shape[0] - full:], 0)


def test_predict_and_evaluate_read_the_callers_arrays_in_place(monkeypatch, small_net):
    """The programs get the caller's memory for the whole batches and a padded copy of the
    last, partial one, and give what copies of the arrays give (the padding rows are
    neither predicted into the output nor counted in the metrics)."""
    monkeypatch.setattr(staging, "IN_PLACE_MIN_BYTES", 64)  # the 8 rows of x and y
    model = small_net()
    x, y, w = unaligned((10, 7), seed=1), unaligned((10, 3)), unaligned((10,), seed=2)
    y[...] = np.eye(3, dtype=np.float32)[np.arange(10) % 3]
    w[...] = np.abs(w)
    predicted = spy(monkeypatch, model._predictor, "predict_all")
    evaluated = spy(monkeypatch, model._engine, "evaluate_all")
    out = model.predict(x, batch_size=4, verbose=0)
    logs = model.evaluate(x, y, batch_size=4, sample_weight=w, verbose=0, return_dict=True)
    ((xb,),), = predicted
    assert_read_in_place(xb, x, 4)
    ((xe,), (ye,), mask, we), = evaluated
    assert_read_in_place(xe, x, 4)
    assert_read_in_place(ye, y, 4)
    assert not we["in_place"]  # 32 bytes: copied
    np.testing.assert_array_equal(mask.ravel(), np.arange(12) < 10)
    np.testing.assert_allclose(out, np.asarray(model(x)), rtol=1e-6, atol=1e-7)
    monkeypatch.setattr(staging, "IN_PLACE_MIN_BYTES", 1 << 30)  # copied
    np.testing.assert_array_equal(model.predict(x, batch_size=4, verbose=0), out)
    assert model.evaluate(x, y, batch_size=4, sample_weight=w, verbose=0,
                          return_dict=True) == pytest.approx(logs, rel=1e-6)
    assert not evaluated[-1][0][0]["in_place"]


def test_predict_and_evaluate_allocate_no_padded_copy_of_the_data(monkeypatch, classifier):
    """Host memory numpy and Python allocate during a call (tracemalloc), its compilation
    included: the outputs and the last, partial batch, not the data padded to whole
    batches."""
    monkeypatch.setattr(staging, "IN_PLACE_MIN_BYTES", 1000)
    x = unaligned((40_000, 64), seed=1)  # 10 MB
    y = np.eye(3, dtype=np.float32)[np.arange(40_000) % 3]  # 0.5 MB, as predict's outputs
    other = classifier(64, 6, 3, "sigmoid", seed=5)  # the modules a compilation imports
    other.predict(x[:5], verbose=0)
    other.evaluate(x[:5], y[:5], verbose=0)
    model = classifier(64, 6, 3, "sigmoid", seed=5)
    for call in (lambda: model.predict(x, batch_size=300, verbose=0),
                 lambda: model.evaluate(x, y, batch_size=300, verbose=0)):
        tracemalloc.start()
        try:
            call()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < x.nbytes / 4, peak


def test_a_second_call_of_the_same_size_compiles_nothing(monkeypatch, small_net):
    monkeypatch.setattr(staging, "IN_PLACE_MIN_BYTES", 100)
    model = small_net()
    y = np.eye(3, dtype=np.float32)[np.arange(30) % 3]
    for seed in range(3):  # new arrays each time, read in place
        x = unaligned((30, 7), seed=seed)
        model.predict(x, batch_size=8, verbose=0)
        model.evaluate(x, y, batch_size=8, verbose=0)
    assert model._predictor.traces["predict"] == 1
    assert model._engine.traces["evaluate"] == 1


def test_predict_and_evaluate_use_the_current_values_and_keep_nothing(monkeypatch, small_net):
    import copy

    monkeypatch.setattr(staging, "IN_PLACE_MIN_BYTES", 100)
    model = small_net()
    x = unaligned((10, 7), seed=1)
    y = np.eye(3, dtype=np.float32)[np.arange(10) % 3]
    first = model.predict(x, batch_size=4, verbose=0)
    one = model.evaluate(x, y, batch_size=4, verbose=0)
    x *= 2  # in place, between calls
    second = model.predict(x, batch_size=4, verbose=0)
    np.testing.assert_allclose(second, np.asarray(model(x)), rtol=1e-6, atol=1e-7)
    assert not np.allclose(first, second)
    assert model.evaluate(x, y, batch_size=4, verbose=0) != one
    assert not [a for a in jax.live_arrays() if a.shape in ((8, 7), (8 * 7 + 4,), (4, 7))]
    twin = copy.deepcopy(model)
    np.testing.assert_allclose(twin.predict(x, verbose=0), second)


def test_an_evaluate_in_a_callback_leaves_fit_validation_data_alone(small_net):
    """A callback that evaluates other data during fit does not change what fit validates
    on."""
    x, xv, other = unaligned((40, 7), 1), unaligned((12, 7), 2), unaligned((12, 7), 3)
    y = np.eye(3, dtype=np.float32)[np.arange(40) % 3]
    yv = y[:12]

    def run(with_callback):
        model = small_net()
        callbacks = [cornu.callbacks.LambdaCallback(
            on_epoch_begin=lambda epoch, logs: model.evaluate(other, yv, batch_size=5,
                                                              verbose=0))] \
            if with_callback else []
        history = model.fit(x, y, batch_size=5, epochs=3, verbose=0,
                            validation_data=(xv, yv), callbacks=callbacks)
        return history.history["val_loss"]

    assert run(True) == run(False)


def test_large_arrays_go_to_an_accelerator_in_pieces_joined_on_the_device(monkeypatch):
    joined = []
    join = staging._join
    monkeypatch.setattr(staging, "_join", lambda pieces: joined.append(len(pieces))
                        or join(pieces))
    rng = np.random.default_rng(0)
    big = rng.random((1000, 30), dtype=np.float32)  # 120 kB: pieces of 16 kB below
    small = rng.random((3, 2), dtype=np.float32)
    labels = rng.integers(0, 5, 1000).astype(np.int32)
    out = staging.put_in_pieces([big, None, small, labels], piece_bytes=16 << 10)
    assert out[1] is None
    for got, want in zip([out[0], out[2], out[3]], [big, small, labels], strict=True):
        assert isinstance(got, jax.Array)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_array_equal(np.asarray(got), want)
    assert joined == [8]  # 120,000 bytes in pieces of at most 16 KiB; the others whole


def test_the_padded_last_batch_is_aligned(monkeypatch):
    """evaluate's and predict's padded last batch starts on a 64-byte boundary, so a large
    one is read in place the same way on every call (its offset never changes the traced
    program: a test saw predict traced twice, once in three suite runs)."""
    monkeypatch.setattr(staging, "IN_PLACE_MIN_BYTES", 100)
    for seed in range(20):
        x = unaligned((30, 7), seed=seed)
        rows, tail = staging.put_batches([x], 8)[0].rows, staging.put_batches([x], 8)[0].tail
        assert isinstance(rows, staging.InPlace) and not isinstance(tail, staging.InPlace)
        np.testing.assert_array_equal(np.asarray(tail)[:6], x[24:])
        np.testing.assert_array_equal(np.asarray(tail)[6:], 0)
        padded = staging._padded_tail(x[24:], 8)
        assert is_aligned(padded), padded.ctypes.data % 64

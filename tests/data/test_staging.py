"""Host memory for the compiled programs: fit reads its training arrays in place (no copy,
nothing kept), evaluate and predict pad into bounded kept buffers; the values are always
the caller's current ones."""

import gc

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


def test_copies_of_a_model_and_the_opt_out(monkeypatch, small_net):
    import copy

    model = small_net()
    x = unaligned((10, 7))
    model.predict(x, batch_size=4, verbose=0)
    twin = copy.deepcopy(model)  # the kept buffers and the lock are not copied
    assert twin._padded._kept == {}
    np.testing.assert_allclose(twin.predict(x, verbose=0), model.predict(x, verbose=0))
    monkeypatch.setenv("CORNU_HOST_BUFFERS", "0")
    fresh = small_net()
    fresh.predict(x, batch_size=4, verbose=0)
    assert fresh._padded._kept == {}


def test_predict_and_evaluate_reuse_their_padded_buffers_with_current_values(small_net):
    model = small_net()
    x1, x2 = unaligned((10, 7), seed=1), unaligned((10, 7), seed=2)
    y = np.eye(3, dtype=np.float32)[np.arange(10) % 3]
    first = model.predict(x1, batch_size=4, verbose=0)
    kept = model._padded._kept[("x", 0)]  # evaluate and predict share the inputs' buffers
    assert kept.shape == (12, 7) and is_aligned(kept)
    second = model.predict(x2, batch_size=4, verbose=0)
    assert model._padded._kept[("x", 0)] is kept  # the same buffer, refilled
    np.testing.assert_allclose(first, np.asarray(model(x1)), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(second, np.asarray(model(x2)), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(kept[10:], 0)  # the padding rows are zeros again
    one = model.evaluate(x1, y, batch_size=4, verbose=0)
    again = model.evaluate(x2, y, batch_size=4, verbose=0)
    model._padded = staging.PaddedBuffers()
    with model._padded._lock:  # held elsewhere: this call pads into fresh buffers
        fresh = model.evaluate(x2, y, batch_size=4, verbose=0)
    assert model._padded._kept == {}
    assert again == fresh and one != again


def test_padded_buffers_respect_the_limit_and_are_cpu_only(monkeypatch):
    buffers = staging.PaddedBuffers()
    with buffers.lease() as pad:
        pad("a", unaligned((10, 7)), 4)
    assert list(buffers._kept) == ["a"]
    monkeypatch.setattr(staging, "PADDED_LIMIT_BYTES", 12 * 7 * 4 + 10)
    with buffers.lease() as pad:
        out = pad("b", unaligned((10, 7)), 4)  # would exceed the limit with "a"
    assert list(buffers._kept) == ["a"] and out.shape == (3, 4, 7)
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    with buffers.lease() as pad:
        assert pad is staging.fresh_batches


def test_an_evaluate_in_a_callback_leaves_fit_validation_data_alone(small_net):
    """Validation batches are padded into fresh buffers: a callback that evaluates other
    data during fit (into the kept buffers) does not change what fit validates on."""
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

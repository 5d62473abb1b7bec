"""fit's host staging: later calls copy the training arrays into kept aligned buffers that
XLA:CPU reads in place; the values are always the caller's current ones."""

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


def no_wait():
    pass


def test_third_call_reads_kept_buffers_in_place_with_current_values():
    stage = staging.HostStaging()
    x, y = unaligned((300, 7)), unaligned((300, 2), seed=1)
    first = stage.device_put([x, y, None], no_wait)
    np.testing.assert_array_equal(np.asarray(first[0]), x)
    assert first[2] is None
    assert stage._worker is None  # a single fit call makes no buffers
    stage.device_put([x, y, None], no_wait)
    stage._worker.join()  # they are made in the background during the second call
    buffers = stage._buffers
    assert sorted(buffers) == [0, 1] and buffers[0].shape == (300, 7)
    x[0, 0] = 42.0  # the caller changes its array between the calls
    third = stage.device_put([x, y, None], no_wait)
    assert third[0].unsafe_buffer_pointer() == buffers[0].ctypes.data  # no device copy
    assert third[1].unsafe_buffer_pointer() == buffers[1].ctypes.data
    np.testing.assert_array_equal(np.asarray(third[0]), x)
    np.testing.assert_array_equal(np.asarray(third[1]), y)


def aligned_zeros(shape):
    array = cornu.data.arrays.empty_aligned(shape, np.float32)
    array[...] = 0
    return array


def test_alignment_changes_keep_the_buffers_and_new_shapes_replace_them():
    """A fresh array per call is 64-byte aligned in some calls only: the buffers stay."""
    stage = staging.HostStaging()
    for _ in range(3):
        stage.device_put([aligned_zeros((64, 16))], no_wait)
    assert stage._worker is None and stage._buffers == {}  # nothing to stage
    stage.device_put([unaligned((64, 16))], no_wait)  # same shapes, now unaligned
    stage._worker.join()
    kept = stage._buffers[0]
    out = stage.device_put([aligned_zeros((64, 16))], no_wait)  # aligned: used in place
    assert out[0].unsafe_buffer_pointer() != kept.ctypes.data
    out = stage.device_put([unaligned((64, 16), seed=4)], no_wait)
    assert stage._buffers[0] is kept and out[0].unsafe_buffer_pointer() == kept.ctypes.data
    stage.device_put([unaligned((50, 16))], no_wait)  # other shapes: the old ones go
    assert stage._worker is None and stage._buffers == {}


def test_arrays_over_the_limit_are_copied_per_call(monkeypatch):
    monkeypatch.setattr(staging, "LIMIT_BYTES", 100)
    stage = staging.HostStaging()
    stage.device_put([unaligned((40, 3))], no_wait)
    out = stage.device_put([unaligned((40, 3))], no_wait)
    assert stage._worker is None and stage._buffers == {}
    assert out[0].shape == (40, 3)


def test_no_memory_for_the_buffers_means_copies_per_call(monkeypatch):
    def no_memory(shape, dtype):
        raise MemoryError

    monkeypatch.setattr(staging, "empty_aligned", no_memory)
    stage = staging.HostStaging()
    x = unaligned((30, 4))
    stage.device_put([x], no_wait)
    stage.device_put([x], no_wait)
    out = stage.device_put([x], no_wait)
    assert stage._failed and stage._worker is None and stage._buffers == {}
    np.testing.assert_array_equal(np.asarray(out[0]), x)
    stage.device_put([unaligned((20, 4))], no_wait)  # other shapes: tried again
    assert not stage._failed


def test_the_buffers_are_overwritten_only_after_earlier_work_ends():
    stage = staging.HostStaging()
    x = unaligned((30, 4))
    for _ in range(3):
        stage.device_put([x], no_wait)
    seen, other = [], unaligned((30, 4), seed=9)
    stage.device_put([other], lambda: seen.append(stage._buffers[0].copy()))
    np.testing.assert_array_equal(seen[0], x)  # still the previous call's values
    np.testing.assert_array_equal(stage._buffers[0], other)


def test_copies_of_a_model_and_the_opt_out(monkeypatch, small_net):
    import copy

    model = small_net()
    x = unaligned((10, 7))
    y = np.eye(3, dtype=np.float32)[np.arange(10) % 3]
    for _ in range(3):
        model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    model.predict(x, batch_size=4, verbose=0)
    twin = copy.deepcopy(model)  # the kept buffers and the lock are not copied
    assert twin._staging._buffers == {} and twin._padded._kept == {}
    np.testing.assert_allclose(twin.predict(x, verbose=0), model.predict(x, verbose=0))
    monkeypatch.setenv("CORNU_HOST_BUFFERS", "0")
    fresh = small_net()
    for _ in range(3):
        fresh.fit(x, y, batch_size=4, epochs=1, verbose=0)
    fresh.predict(x, batch_size=4, verbose=0)
    assert fresh._staging._buffers == {} and fresh._staging._worker is None
    assert fresh._padded._kept == {}


def test_fit_with_staging_trains_as_fit_without(monkeypatch, small_net):
    """Four fit calls (the later two through the kept buffers) give the weights of four
    fit calls that copy per call; a change to x between calls is used by both."""

    def train(limit):
        monkeypatch.setattr(staging, "LIMIT_BYTES", limit)
        model = small_net()
        x = unaligned((96, 7))
        y = np.eye(3, dtype=np.float32)[np.arange(96) % 3]
        for _ in range(4):
            model.fit(x, y, batch_size=16, epochs=1, verbose=0)
            x *= 0.5  # in place, between calls
        return [np.asarray(w) for w in model.get_weights()], model._staging._buffers

    staged, buffers = train(staging.LIMIT_BYTES)
    copied, none = train(0)
    assert 0 in buffers and none == {}
    for a, b in zip(staged, copied, strict=True):
        np.testing.assert_array_equal(a, b)


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

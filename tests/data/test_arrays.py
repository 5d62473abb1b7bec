"""Host arrays on their way to the device."""

import numpy as np
import pytest

from cornu.data import arrays


def test_padded_batches_are_aligned_for_the_device(monkeypatch):
    """pad_batches' arrays start on a 64-byte boundary, so XLA:CPU reads them in place."""
    from cornu.data import arrays
    from cornu.data.arrays import _ALIGN, empty_aligned, pad_batches

    for shape, dtype in [((7, 3), np.float32), ((0, 4), np.int32), ((5,), np.uint8)]:
        a = empty_aligned(shape, dtype)
        assert a.shape == shape and a.dtype == dtype and a.flags.c_contiguous
        assert a.size == 0 or a.ctypes.data % _ALIGN == 0
    x = np.arange(10 * 12, dtype=np.float32).reshape(10, 12)
    padded = pad_batches(x, 4)
    np.testing.assert_array_equal(padded.reshape(12, 12)[:10], x)
    assert not padded.reshape(12, 12)[10:].any()

    def dirty(shape, dtype):  # memory that is not zero already: the padding must be written
        out = empty_aligned(shape, dtype)
        out.fill(7)
        return out

    monkeypatch.setattr(arrays, "empty_aligned", dirty)
    padded = arrays.pad_batches(x, 4)
    assert padded.ctypes.data % _ALIGN == 0 and padded.shape == (3, 4, 12)
    np.testing.assert_array_equal(padded.reshape(12, 12)[:10], x)
    assert not padded.reshape(12, 12)[10:].any()


@pytest.mark.parametrize("where", [0, 65535, 65536, 200_000 - 1])
def test_non_finite_values_are_found_across_the_chunks_of_the_check(where):
    """The finite check runs over chunks of 65,536 values (no array-sized temporary): a NaN
    or infinity anywhere, first or last in a chunk, in any memory order, is found, and the
    error names the first one in row-major order, as np.argwhere would."""
    x = np.zeros((2000, 100), np.float32)
    for view in (x, np.asfortranarray(x), x.T, x[:, ::3], x[:, :50]):
        assert arrays._first_non_finite(view) is None
    x.flat[where] = np.nan
    if where < x.size - 1:
        x.flat[-1] = np.inf  # a later one: not the one reported
    expected = tuple(int(i) for i in np.argwhere(~np.isfinite(x))[0])
    with pytest.raises(ValueError, match=rf"x contains NaN or infinity \(first at index "
                                         rf"\({expected[0]}, {expected[1]}\): np.float32\(nan\)"):
        arrays.as_numeric(x, "x")
    for view in (np.asfortranarray(x), x.T, x[:, ::3], x[:, 1:]):
        first = np.argwhere(~np.isfinite(view))
        assert arrays._first_non_finite(view) == tuple(int(i) for i in first[0])
    assert arrays._first_non_finite(np.zeros((3, 0), np.float32)) is None
    assert arrays._first_non_finite(np.array([1, np.nan], np.float16)) == (1,)


def test_the_finite_check_of_an_array_in_another_memory_order_makes_no_copy_of_it():
    import tracemalloc

    x = np.asfortranarray(np.zeros((3000, 784), np.float64))  # 18.8 MB
    tracemalloc.start()
    try:
        assert arrays._first_non_finite(x) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000  # a chunk and its flags, not a copy of x


def test_bfloat16_arrays_are_numbers_and_train_as_their_float32_values(classifier):
    """NumPy does not count ml_dtypes' bfloat16 as floating; Keras trains on it."""
    import ml_dtypes

    rng = np.random.default_rng(0)
    x = rng.random((48, 6)).astype(ml_dtypes.bfloat16)
    y = np.eye(3, dtype=np.float32)[np.arange(48) % 3]
    assert arrays.as_numeric(x, "x").dtype == ml_dtypes.bfloat16
    losses = []
    for features in (x, x.astype(np.float32)):
        model = classifier(6, 8, 3, "sigmoid", seed=5)
        history = model.fit(features, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        losses.append(history.history["loss"])
    assert losses[0] == losses[1]

    # sparse labels and sample weights in bfloat16 too, and predict answers in float32
    sparse = classifier(6, 8, 3, "sigmoid", seed=5)
    sparse.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = sparse.fit(x, (np.arange(48) % 3).astype(ml_dtypes.bfloat16), batch_size=16,
                         sample_weight=np.ones(48, ml_dtypes.bfloat16), shuffle=False,
                         verbose=0)
    assert history.history["loss"][0] == pytest.approx(losses[1][0], rel=1e-6)
    assert sparse.predict(x, verbose=0).dtype == np.float32

    bad = x.copy()
    bad[4, 1] = np.nan
    with pytest.raises(ValueError, match=r"x contains NaN or infinity \(first at index \(4, 1\)"):
        arrays.as_numeric(bad, "x")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_first_non_finite_by_the_dot_product_and_its_overflow(dtype):
    x = np.ones((6, 5), dtype)
    x[1, 1] = np.finfo(dtype).max / 2  # squares overflow: the values are searched instead
    assert arrays._first_non_finite(x) is None
    for bad in (np.nan, np.inf, -np.inf):
        y = x.copy()
        y[4, 3] = bad
        assert arrays._first_non_finite(y) == (4, 3)

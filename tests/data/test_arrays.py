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
    or infinity anywhere, first or last in a chunk, in a strided view, is still found."""
    x = np.zeros((2000, 100), np.float32)
    assert arrays._all_finite(x) and arrays._all_finite(x[:, ::3])
    x.flat[where] = np.nan
    with pytest.raises(ValueError, match=r"x contains NaN or infinity \(first at index"):
        arrays.as_numeric(x, "x")
    x.flat[where] = -np.inf
    assert not arrays._all_finite(x)
    assert arrays._all_finite(x[:, ::3]) == (where % 100 % 3 != 0)

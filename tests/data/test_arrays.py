"""Host arrays on their way to the device."""

import numpy as np


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

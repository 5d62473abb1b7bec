"""Host arrays on their way to the device."""

import numpy as np


def test_to_device_aligns_host_arrays_and_keeps_values():
    import jax

    from cornu.data.arrays import _ALIGN, empty_aligned, pad_batches, to_device

    for shape, dtype in [((7, 3), np.float32), ((0, 4), np.int32), ((5,), np.uint8)]:
        a = empty_aligned(shape, dtype)
        assert a.shape == shape and a.dtype == dtype and a.flags.c_contiguous
        assert a.size == 0 or a.ctypes.data % _ALIGN == 0
    x = np.arange(1000 * 12, dtype=np.float32).reshape(1000, 12)
    shifted = np.frombuffer(x.tobytes() + b"\0" * 4, np.float32, offset=4)  # misaligned
    x_dev, none = to_device((shifted, None))
    assert none is None and isinstance(x_dev, jax.Array)
    np.testing.assert_array_equal(np.asarray(x_dev), shifted)
    padded = pad_batches(x[:10], 4)
    assert padded.ctypes.data % _ALIGN == 0 and padded.shape == (3, 4, 12)
    np.testing.assert_array_equal(padded.reshape(12, 12)[:10], x[:10])
    assert not padded.reshape(12, 12)[10:].any()

"""cornu/devices.py without a distribution: the plain one-device placement of before."""

import jax
import numpy as np

from cornu import devices


def test_one_device_placement_is_plain_device_put():
    assert devices.active() is None and devices.data_devices() == 1
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    for put in (devices.put, devices.put_replicated, devices.put_batch_sharded):
        out = put(a)
        assert isinstance(out, jax.Array) and out.shape == (2, 3)  # no padding
        assert out.sharding == jax.device_put(a).sharding
        np.testing.assert_array_equal(out, a)
    assert not devices.put_like(np.float32(1), jax.device_put(a)).committed


def test_one_device_adds_no_annotation():
    tree = (np.ones(3), None, [np.zeros(2)])
    assert devices.constrain_batch(tree) is tree
    assert devices.on_mesh(tree) is tree
    trees = [{"kernel": np.ones(2)}]
    assert devices.shard_params(trees, [{"kernel": object()}]) is trees
    value = jax.device_put(np.ones(2))
    assert devices.put_variable(value, object()) is value


def test_pad_axis():
    a = np.ones((2, 5), np.float32)
    assert devices.pad_axis(a, 1, 4).shape == (2, 8)
    assert devices.pad_axis(a, 1, 4)[:, 5:].sum() == 0
    assert devices.pad_axis(a, 0, 2) is a

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


def test_one_device_programs_carry_no_sharding():
    # without a distribution the lowered training, evaluate and predict programs are the
    # ones of before devices.py: no sharding annotation, no placed program
    import cornu
    from cornu.training import loop

    rng = np.random.default_rng(0)
    x = rng.random((30, 5), dtype=np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 30)]
    m = cornu.Sequential([cornu.layers.Input((5,)), cornu.layers.Dense(3)])
    m.compile(loss="categorical_crossentropy", optimizer="sgd")
    texts = []
    train_chunk = loop.Engine.train_chunk

    def spy(self, ts, sums, x, y, sw, order, mask, start, steps, *rest):
        texts.append(self.train_program(order.shape[1]).lower(
            ts, sums, x, y, sw, order, mask, start, steps, start, False).as_text())
        return train_chunk(self, ts, sums, x, y, sw, order, mask, start, steps, *rest)

    loop.Engine.train_chunk = spy
    try:
        m.fit(x, y, batch_size=7, epochs=1, verbose=0)
    finally:
        loop.Engine.train_chunk = train_chunk
    texts.append(m._engine.evaluate_all.lower(
        m._params, m._state, *m._eval_batches([x], [y], None, 7)).as_text())
    texts.append(m._predictor.predict_all.lower(
        m._params, m._state, (jax.device_put(x.reshape(5, 6, 5)),)).as_text())
    assert texts and not any("sharding" in t for t in texts)
    assert not m._engine._placed_programs

"""cornu.distribution: Keras 3's names and meaning (keras.distribution), on this process's
devices; the several-device runs are in test_multi_device.py."""

import contextlib

import jax
import numpy as np
import pytest

import cornu
from cornu import devices, layers
from cornu import distribution as dist


@pytest.fixture(autouse=True)
def _no_distribution():
    yield
    dist.set_distribution(None)


def test_names_match_keras():
    from keras import distribution as kd

    for name in ("list_devices", "initialize", "DeviceMesh", "TensorLayout", "LayoutMap",
                 "DataParallel", "ModelParallel", "set_distribution", "distribution",
                 "distribute_tensor", "get_device_count"):
        assert hasattr(kd, name) and hasattr(dist, name), name
    assert dist.list_devices() == kd.list_devices()
    assert dist.get_device_count() == len(jax.devices())


def test_layout_map_lookup_as_keras():
    from keras import distribution as kd

    ours = dist.LayoutMap(dist.DeviceMesh((1,), ("model",), dist.list_devices()[:1]))
    theirs = kd.LayoutMap(kd.DeviceMesh((1,), ("model",), kd.list_devices()[:1]))
    for m in (ours, theirs):
        m[".*dense.*kernel"] = (None, "model")
        m[".*dense.*bias"] = ("model",)
        m["conv2d/kernel"] = (None, None, None, "model")
        m[".*conv2d.*"] = (None,)
    for key in ("dense/kernel", "dense_1/bias", "seq/dense_2/kernel", "conv2d/kernel",
                "conv3d/kernel", "dense/gamma"):
        a, b = ours[key], theirs[key]
        assert (a is None) == (b is None), key
        if a is not None:
            assert a.axes == b.axes and a.device_mesh is ours.device_mesh, key
    for m in (ours, theirs):
        with pytest.raises(ValueError, match="multiple|several"):
            m["conv2d_1/kernel/conv2d/kernel"] = (None,)
            m["dense/conv2d/kernel"]  # matches two keys
        with pytest.raises(ValueError):
            m[".*dense.*kernel"] = (None,)  # a key given twice
    assert len(ours) == len(theirs) and list(ours) == list(theirs)


def test_mesh_and_layout_errors_name_the_argument():
    with pytest.raises(ValueError, match="same length"):
        dist.DeviceMesh((1,), ("a", "b"))
    with pytest.raises(ValueError, match=r"shape must hold as many devices"):
        dist.DeviceMesh((len(jax.devices()) + 1,), ("batch",))
    mesh = dist.DeviceMesh((len(jax.devices()),), ("batch",))
    with pytest.raises(ValueError, match="axes must name axes"):
        dist.TensorLayout(("model",), mesh)
    with pytest.raises(ValueError, match="layout_map must be a LayoutMap"):
        dist.ModelParallel(layout_map={"dense": (None,)})
    with pytest.raises(ValueError, match="set_distribution takes"):
        dist.set_distribution("data_parallel")
    with pytest.raises(ValueError, match="device_type must be"):
        dist.list_devices("npu")
    assert isinstance(mesh.backend_mesh, jax.sharding.Mesh)
    assert mesh.backend_mesh.shape == {"batch": len(jax.devices())}


def test_data_parallel_and_model_parallel_layouts_as_keras():
    from keras import distribution as kd

    n = len(jax.devices())
    ours, theirs = dist.DataParallel(), kd.DataParallel()
    assert ours.batch_dim_name == theirs.batch_dim_name == "batch"
    assert ours.num_model_replicas == theirs.num_model_replicas == n
    assert ours.device_mesh.shape == tuple(theirs.device_mesh.shape)
    assert ours.get_data_layout((8, 3)).axes == theirs.get_data_layout((8, 3)).axes
    v = cornu.Variable(np.zeros((4, 2), np.float32), name="kernel")
    assert ours.get_variable_layout(v).axes == (None, None)
    mesh = dist.DeviceMesh((n, 1), ("data", "model"))
    lm = dist.LayoutMap(mesh)
    lm[".*kernel"] = (None, "model")
    mp = dist.ModelParallel(layout_map=lm, batch_dim_name="data")
    assert mp.get_variable_layout(v).axes == (None, "model")
    assert mp.get_variable_layout(cornu.Variable(np.zeros(2), name="bias")).axes == (None,)
    assert mp.num_model_replicas == n and mp.device_mesh is mesh


def test_set_distribution_and_scope():
    assert dist.distribution() is None and devices.active() is None
    a, b = dist.DataParallel(), dist.DataParallel()
    dist.set_distribution(a)
    assert dist.distribution() is a and devices.active() is a
    with b.scope() as inside:
        assert inside is b and dist.distribution() is b
    assert dist.distribution() is a
    dist.set_distribution(None)
    assert dist.distribution() is None


def test_distribute_tensor():
    mesh = dist.DeviceMesh((len(jax.devices()),), ("batch",))
    layout = dist.TensorLayout(("batch", None), mesh)
    out = dist.distribute_tensor(np.ones((len(jax.devices()) * 2, 3), np.float32), layout)
    assert out.sharding == layout.backend_layout


def test_initialize_checks_its_arguments(monkeypatch):
    with pytest.raises(ValueError, match="process_id must be in"):
        dist.initialize("localhost:1234", num_processes=2, process_id=2)
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "two")
    with pytest.raises(ValueError, match="KERAS_DISTRIBUTION_NUM_PROCESSES must be"):
        dist.initialize("localhost:1234")
    calls = []
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "1")
    monkeypatch.setattr(jax.distributed, "initialize", lambda **kw: calls.append(kw))
    dist.initialize("10.0.0.1:1234,10.0.0.2:2345")
    assert calls == [{"coordinator_address": "10.0.0.1:1234", "num_processes": 2,
                      "process_id": 1, "initialization_timeout": 300,
                      "heartbeat_timeout_seconds": 60}]


def _model():
    cornu.utils.set_random_seed(4)
    m = cornu.Sequential([layers.Input((6,)), layers.Dense(5, activation="sigmoid"),
                          layers.Dense(3, activation="softmax")])
    m.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return m


def test_data_parallel_on_one_device_trains_as_without():
    # the sharded programs on a mesh of one device: the same numbers as the plain path
    rng = np.random.default_rng(0)
    x = rng.normal(size=(23, 6)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 23)]
    plain = _model()
    h1 = plain.fit(x, y, batch_size=5, epochs=2, verbose=0)
    placed = _model()
    with dist.DataParallel(devices=jax.devices()[:1]).scope():
        h2 = placed.fit(x, y, batch_size=5, epochs=2, verbose=0)
        e2 = placed.evaluate(x, y, batch_size=4, verbose=0)
        p2 = placed.predict(x, batch_size=4, verbose=0)
    assert devices.active() is None
    for a, b in zip(plain.get_weights(), placed.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-6)
    np.testing.assert_allclose(plain.evaluate(x, y, batch_size=4, verbose=0), e2, rtol=1e-6)
    np.testing.assert_allclose(plain.predict(x, batch_size=4, verbose=0), p2, atol=1e-6)


def test_streams_under_a_one_device_mesh_train_as_without():
    # a generator with steps_per_epoch, a validation generator and steps= of evaluate and
    # predict: the stream path on a mesh of one device gives the plain path's numbers
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 6)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 20)]

    def batches():
        while True:
            for i in range(0, 20, 7):
                yield x[i:i + 7], y[i:i + 7]

    def run(distribution):
        m = _model()
        with dist.DataParallel(devices=jax.devices()[:1]).scope() if distribution \
                else contextlib.nullcontext():
            h = m.fit(batches(), steps_per_epoch=3, epochs=2, verbose=0,
                      validation_data=batches(), validation_steps=2)
            e = m.evaluate(batches(), steps=3, verbose=0)
            p = m.predict(x, batch_size=7, steps=2, verbose=0)
        return m, h.history, e, p

    (m1, h1, e1, p1), (m2, h2, e2, p2) = run(False), run(True)
    for a, b in zip(m1.get_weights(), m2.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    for key in h1:
        np.testing.assert_allclose(h1[key], h2[key], rtol=1e-6)
    np.testing.assert_allclose(e1, e2, rtol=1e-6)
    np.testing.assert_allclose(p1, p2, atol=1e-6)
    assert p2.shape == (14, 3)


def test_own_train_step_refuses_a_distribution_clearly():
    class Own(cornu.Sequential):
        def train_step(self, data):
            return super().train_step(data)

    cornu.utils.set_random_seed(4)
    m = Own([layers.Input((6,)), layers.Dense(3, activation="softmax")])
    m.compile(loss="categorical_crossentropy", optimizer="adam")
    x = np.ones((8, 6), np.float32)
    y = np.eye(3, dtype=np.float32)[np.zeros(8, int)]
    with dist.DataParallel(devices=jax.devices()[:1]).scope():
        with pytest.raises(NotImplementedError, match="own train_step"):
            m.fit(x, y, epochs=1, verbose=0)


def test_initialize_checks_its_bounds_before_joining():
    with pytest.raises(ValueError, match="heartbeat_timeout_seconds must be a positive"):
        dist.initialize("localhost:1", 2, 0, heartbeat_timeout_seconds=0)
    with pytest.raises(ValueError, match="process_timeout_seconds must be a positive"):
        dist.initialize("localhost:1", 2, 0, process_timeout_seconds=-1)
    with pytest.raises(ValueError, match="stall_timeout_seconds must be a positive"):
        dist.initialize("localhost:1", 2, 0, stall_timeout_seconds=True)


def test_only_the_writing_process_writes_files(tmp_path, monkeypatch):
    # in a job of several processes only process 0 writes; here this process plays
    # another one: saving, checkpoints, backups and CSV logs write nothing
    monkeypatch.setattr(devices, "writes_files", lambda: False)
    m = _model()
    x = np.ones((8, 6), np.float32)
    y = np.eye(3, dtype=np.float32)[np.zeros(8, int)]
    m.fit(x, y, epochs=2, verbose=0, callbacks=[
        cornu.callbacks.BackupAndRestore(str(tmp_path / "backup"), save_freq=1,
                                         delete_checkpoint=False),
        cornu.callbacks.ModelCheckpoint(str(tmp_path / "m.cornu")),
        cornu.callbacks.CSVLogger(str(tmp_path / "log.csv"))])
    m.save(str(tmp_path / "model.cornu"))
    m.save_weights(str(tmp_path / "w.weights.safetensors"))
    m.save(str(tmp_path / "model.keras"))
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    m.save(str(tmp_path / "model.cornu"))
    assert [p.name for p in tmp_path.iterdir()] == ["model.cornu"]

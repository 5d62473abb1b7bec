"""cornu.applications against keras.applications: the same parameter counts, layer names,
types and order; a Keras .weights.h5 of the same architecture loads and predicts the same;
Keras' argument errors; one training step of each builder; preprocessing."""

from __future__ import annotations

import hashlib
import json
import os

import jax
import numpy as np
import pytest

import cornu
from cornu import applications
from cornu.applications import imagenet_utils, mobilenet_v2, resnet, resnet50

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

BUILDERS = {"MobileNetV2": applications.MobileNetV2, "ResNet50": applications.ResNet50}


def keras_builder(name):
    return getattr(keras.applications, name)


def structure(model):
    return [(layer.name, type(layer).__name__, layer.count_params()) for layer in model.layers]


@pytest.mark.parametrize(("name", "kwargs", "count"), [
    ("ResNet50", {}, 25_636_712),
    ("MobileNetV2", {}, 3_538_984),
    ("ResNet50", {"include_top": False}, 23_587_712),
    ("MobileNetV2", {"include_top": False}, 2_257_984),
])
def test_parameter_counts_are_keras(name, kwargs, count):
    model = BUILDERS[name](weights=None, **kwargs)
    assert model.count_params() == count


def test_deeper_resnets_have_keras_parameter_counts():
    assert applications.ResNet101(weights=None).count_params() == 44_707_176
    assert applications.ResNet152(weights=None, include_top=False,
                                  input_shape=(32, 32, 3)).count_params() == 58_370_944


@pytest.mark.parametrize(("name", "kwargs"), [
    ("MobileNetV2", {"input_shape": (32, 32, 3), "classes": 7}),
    pytest.param("MobileNetV2", {"alpha": 0.35, "include_top": False, "pooling": "max"},
                 marks=pytest.mark.slow),
    pytest.param("MobileNetV2", {"alpha": 1.4, "input_shape": (96, 96, 3),
                                 "include_top": False, "pooling": "avg"},
                 marks=pytest.mark.slow),
    ("ResNet50", {"input_shape": (32, 32, 3), "classes": 7}),
    ("ResNet50", {"include_top": False, "pooling": "max"}),
])
def test_layers_are_keras_layers(name, kwargs):
    keras.utils.clear_session()
    with jax.numpy_rank_promotion("allow"):
        expected = keras_builder(name)(weights=None, **kwargs)
    model = BUILDERS[name](weights=None, **kwargs)
    assert model.name == expected.name
    assert structure(model) == structure(expected)
    assert model.count_params() == expected.count_params()
    assert model.output_shape == expected.output_shape


@pytest.mark.slow
@pytest.mark.parametrize("name", ["MobileNetV2", "ResNet50"])
def test_keras_weights_file_loads_and_predicts_the_same(name, tmp_path):
    kwargs = {"input_shape": (32, 32, 3), "classes": 5, "classifier_activation": None}
    with jax.numpy_rank_promotion("allow"):
        expected = keras_builder(name)(weights=None, **kwargs)
        rng = np.random.default_rng(0)
        # random weights everywhere, moving variances kept positive
        expected.set_weights([
            (np.abs(rng.normal(1.0, 0.2, w.shape)) if "moving_variance" in w.path
             else rng.normal(0.0, 0.1, w.shape)).astype("float32") for w in expected.weights])
        path = tmp_path / f"{name}.weights.h5"
        expected.save_weights(path)
        x = rng.uniform(-1, 1, (1, 32, 32, 3)).astype("float32")
        want = np.asarray(expected(x, training=False))
    model = BUILDERS[name](weights=str(path), **kwargs)  # weights= loads the file
    got = np.asarray(model(x, training=False))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["MobileNetV2", "ResNet50"])
def test_one_training_step_on_cpu(name):
    cornu.utils.set_random_seed(1)
    model = BUILDERS[name](weights=None, input_shape=(32, 32, 3), classes=3)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = [np.asarray(w.value).copy() for w in model.trainable_weights]
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    loss = model.train_on_batch(x, np.array([0, 2]))
    assert np.isfinite(loss)
    after = [np.asarray(w.value) for w in model.trainable_weights]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))


@pytest.mark.slow
def test_saved_model_loads_in_keras_and_in_cornu(tmp_path):
    model = applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), classes=3)
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.cornu")
    assert structure(cornu.models.load_model(tmp_path / "m.cornu")) == structure(model)
    assert structure(cornu.models.load_model(tmp_path / "m.keras")) == structure(model)
    with jax.numpy_rank_promotion("allow"):
        assert structure(keras.models.load_model(tmp_path / "m.keras")) == structure(model)


def test_input_tensor_is_used_and_its_inputs_are_the_models():
    inputs = cornu.Input(shape=(40, 40, 3))
    x = cornu.layers.Rescaling(1 / 255)(inputs)
    model = applications.MobileNetV2(input_tensor=x, include_top=False, pooling="avg")
    assert model.inputs[0] is inputs
    assert model.name == "mobilenetv2_1.00_40"
    assert model.output_shape == (None, 1280)


# ------------------------------------------------------------------ argument errors


@pytest.mark.parametrize("name", ["MobileNetV2", "ResNet50"])
def test_imagenet_weights_are_refused_with_what_to_do(name):
    with pytest.raises(ValueError, match=r"does not download.*save_weights.*weights=None"):
        BUILDERS[name](weights="imagenet")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"weights": "missing.weights.h5"}, r"existing weights file.*missing\.weights\.h5"),
    ({"input_shape": (31, 64, 3)}, r"at least 32x32.*\(31, 64, 3\)"),
    ({"input_shape": (64, 64)}, r"three integers.*\(64, 64\)"),
    ({"input_shape": (None, None, 3)}, r"static input_shape"),
    ({"classes": 0}, r"classes must be a positive integer.*classes=0"),
    ({"include_top": False, "pooling": "mean"}, r"pooling must be.*'mean'"),
    ({"classifier_activation": "nope"}, r"classifier_activation"),
])
@pytest.mark.parametrize("name", ["MobileNetV2", "ResNet50"])
def test_bad_arguments_are_refused(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        BUILDERS[name](**kwargs)


def test_bad_alpha_is_refused():
    with pytest.raises(ValueError, match=r"alpha must be a positive number.*alpha=0"):
        applications.MobileNetV2(alpha=0, weights=None)


def test_unusual_channel_count_warns_as_keras():
    with pytest.warns(UserWarning, match="1 or 3 input channels"):
        applications.ResNet50(weights=None, include_top=False, input_shape=(32, 32, 4))


def test_input_tensor_must_be_symbolic():
    with pytest.raises(ValueError, match="input_tensor must be a symbolic tensor"):
        applications.ResNet50(input_tensor=np.zeros((1, 32, 32, 3)), include_top=False)


# ------------------------------------------------------------------ preprocessing


@pytest.mark.parametrize(("ours", "theirs"), [
    (mobilenet_v2.preprocess_input, "mobilenet_v2"),
    (resnet.preprocess_input, "resnet"),
    (resnet50.preprocess_input, "resnet50"),
])
def test_preprocess_input_is_keras(ours, theirs):
    images = np.random.default_rng(0).integers(0, 256, (2, 4, 4, 3)).astype("uint8")
    with jax.numpy_rank_promotion("allow"):
        want = getattr(keras.applications, theirs).preprocess_input(images.copy())
        want_tensor = getattr(keras.applications, theirs).preprocess_input(
            jax.numpy.asarray(images, "float32"))
    got = ours(images)
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(np.asarray(ours(jax.numpy.asarray(images))), want_tensor,
                               rtol=1e-6, atol=1e-4)


def test_preprocess_input_leaves_a_float_array_alone():
    images = np.full((1, 2, 2, 3), 255.0, "float32")
    assert np.all(mobilenet_v2.preprocess_input(images) == 1.0)
    assert np.all(images == 255.0)


def test_preprocess_input_torch_mode_and_errors():
    images = np.full((1, 1, 1, 3), 255.0, "float32")
    with jax.numpy_rank_promotion("allow"):
        want = keras.applications.imagenet_utils.preprocess_input(images.copy(), mode="torch")
    np.testing.assert_allclose(imagenet_utils.preprocess_input(images, mode="torch"), want,
                               rtol=1e-6)
    with pytest.raises(ValueError, match="mode must be one of.*'bgr'"):
        imagenet_utils.preprocess_input(images, mode="bgr")
    with pytest.raises(ValueError, match="channels_first"):
        resnet.preprocess_input(images, data_format="channels_first")


# ------------------------------------------------------------------ decode_predictions


def test_decode_predictions_reads_the_class_index_from_disk(tmp_path, monkeypatch):
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    data = json.dumps(index).encode()
    (tmp_path / "imagenet").mkdir()
    (tmp_path / "imagenet" / imagenet_utils.CLASS_INDEX_FILE).write_bytes(data)
    monkeypatch.setenv("CORNU_DATA", str(tmp_path))
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_MD5", hashlib.md5(data).hexdigest())
    preds = np.zeros((2, 1000), "float32")
    preds[0, [3, 7]] = [0.9, 0.1]
    preds[1, 999] = 1.0
    decoded = resnet.decode_predictions(preds, top=2)
    assert [entry[:2] for entry in decoded[0]] == [("n00000003", "class_3"),
                                                   ("n00000007", "class_7")]
    assert decoded[1][0][1] == "class_999" and decoded[1][0][2] == 1.0


def test_decode_predictions_refuses_a_wrong_file(tmp_path, monkeypatch):
    (tmp_path / "imagenet").mkdir()
    (tmp_path / "imagenet" / imagenet_utils.CLASS_INDEX_FILE).write_text("{}")
    monkeypatch.setenv("CORNU_DATA", str(tmp_path))
    with pytest.raises(ValueError, match="is not ImageNet's class index"):
        mobilenet_v2.decode_predictions(np.zeros((1, 1000)))


def test_decode_predictions_without_the_file_says_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(imagenet_utils, "_class_index_candidates",
                        lambda: [tmp_path / imagenet_utils.CLASS_INDEX_FILE])
    with pytest.raises(FileNotFoundError, match=r"does not download.*imagenet_class_index"):
        resnet.decode_predictions(np.zeros((1, 1000)))
    with pytest.raises(ValueError, match=r"\(samples, 1000\).*\(1, 10\)"):
        resnet.decode_predictions(np.zeros((1, 10)))

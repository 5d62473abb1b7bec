"""Round trips: every layer type, every optimizer, weights alone, compile=False, custom layers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import pytest
from saving_helpers import assert_same_weights, data, members, small_model, trained_model

import cornu
from cornu import activations
from cornu import layers as L
from cornu.layers import Activation, Dense, Layer
from cornu.saving import CornuFileError, load_model, register_layer

Example = Callable[[], tuple[cornu.Model, Any]]  # (built model, inputs for predict)


def _x(*shape: int) -> np.ndarray:
    return np.random.default_rng(1).normal(size=(7, *shape)).astype(np.float32)


def _branches() -> tuple[cornu.Model, Any]:
    a = cornu.Input(shape=(3,))
    added = L.Add()([L.Dense(4)(a), L.Dense(4, activation="relu")(a)])
    joined = L.Concatenate()([added, L.Dense(2, activation="tanh")(a)])
    return cornu.Model(a, L.Dense(2, activation="softmax")(joined)), _x(3)


def _two_inputs() -> tuple[cornu.Model, Any]:
    a, b = cornu.Input(shape=(3,)), cornu.Input(shape=(2,), name="second")
    merged = L.Concatenate()([L.Dense(4)(a), L.Dense(4, activation="relu")(b)])
    return cornu.Model([a, b], [L.Dense(2)(merged), L.Dense(1)(a)]), [_x(3), _x(2)]


def _merges() -> tuple[cornu.Model, Any]:
    a = cornu.Input(shape=(3,))
    ha, hb = L.Dense(4)(a), L.Dense(4, activation="relu")(a)
    merged = [L.Subtract()([ha, hb]), L.Multiply()([ha, hb]), L.Average()([ha, hb]),
              L.Maximum()([ha, hb]), L.Minimum()([ha, hb])]
    return cornu.Model(a, L.Concatenate()(merged)), _x(3)


def _attention() -> tuple[cornu.Model, Any]:
    q, v = cornu.Input(shape=(5, 4)), cornu.Input(shape=(3, 6), name="values")
    x = L.MultiHeadAttention(2, 3, name="cross")(q, v, use_causal_mask=True)
    x, scores = L.MultiHeadAttention(2, 2, value_dim=3, output_shape=(2, 2),
                                     name="self")(x, x, return_attention_scores=True)
    x = L.Reshape((5, 4))(x)
    x = L.Attention(use_scale=True)([x, q])
    x = L.AdditiveAttention()([x, x, q])
    x = L.EinsumDense("abc,cd->abd", output_shape=(None, 2), bias_axes="d")(x)
    x = L.Conv1D(2, 2, padding="causal")(x)
    return cornu.Model([q, v], [x, scores]), [_x(5, 4), _x(3, 6)]
def _recurrent_states() -> tuple[cornu.Model, Any]:
    a = cornu.Input(shape=(5, 3))
    out, h, c = L.LSTM(4, return_sequences=True, return_state=True)(a)
    both = L.Bidirectional(L.GRU(2, return_state=True), merge_mode=None)(out)
    return cornu.Model(a, [L.LSTM(4)(out, initial_state=[h, c]), *both]), _x(5, 3)



def _dot() -> tuple[cornu.Model, Any]:
    a = cornu.Input(shape=(4, 2))
    scores = L.Dot(axes=2, normalize=True)([L.Dense(3)(a), L.Dense(3)(a)])
    return cornu.Model(a, L.Dot(axes=(1, 1))([scores, L.Dense(2)(a)])), _x(4, 2)

# Together these use every layer class that cornu.layers exports: a new layer needs an
# example here, or test_every_exported_layer_has_an_example fails.
def _preprocessing_lookups() -> tuple[cornu.Model, Any]:
    texts = cornu.Input(shape=(1,), dtype="string")
    words = cornu.Input(shape=(2,), dtype="string")
    ids, values = cornu.Input(shape=(3,), dtype="int32"), cornu.Input(shape=(2,))
    vectorizer = L.TextVectorization(max_tokens=12, output_sequence_length=4)
    vectorizer.adapt(np.array(["the cat sat", "a dog ran", "the dog sat down"]))
    parts = [L.GlobalAveragePooling1D()(L.Embedding(12, 3)(vectorizer(texts))),
             L.StringLookup(vocabulary=["x", "y"], output_mode="multi_hot")(words),
             L.Flatten()(L.Embedding(6, 2)(L.IntegerLookup(vocabulary=[4, 8, 15, 16])(ids))),
             L.Hashing(num_bins=4, output_mode="count")(ids),
             L.Discretization(bin_boundaries=[-0.5, 0.0, 0.5], output_mode="multi_hot")(values)]
    model = cornu.Model([texts, words, ids, values], L.Dense(2)(L.Concatenate()(parts)))
    rng = np.random.default_rng(0)
    x = [np.array([["the cat ran"], ["a dog"], ["sat"], [""], ["the the the"], ["cat"],
                   ["dog down"]]), rng.choice(["x", "y", "z"], size=(7, 2)),
         rng.choice([4, 8, 15, 16, 23], size=(7, 3)).astype(np.int32), _x(2)]
    return model, x


EXAMPLES: list[Example] = [
    lambda: (cornu.Sequential([L.Dense(5, input_shape=(3,), activation="tanh"),
                               L.Dense(2, activation="softmax")]), _x(3)),
    lambda: (cornu.Sequential([L.Dense(4, input_shape=(3,), use_bias=False,
                                       kernel_initializer="he_normal"),
                               L.Dense(1, activation="sigmoid", bias_initializer="ones")]),
             _x(3)),
    lambda: (cornu.Sequential([L.Dense(3, input_shape=(2, 3))]), _x(2, 3)),
    lambda: (cornu.Sequential([L.Dense(6, input_shape=(3,)),
                               *[L.Activation(a) for a in ("relu", "elu", "selu", "softmax")]]),
             _x(3)),
    lambda: (cornu.Sequential([cornu.Input(shape=(3,)), L.Dense(2)]), _x(3)),
    lambda: (cornu.Sequential([L.Dense(4, input_shape=(3,)), L.Dropout(0.5),
                               L.BatchNormalization(), L.Dense(2), L.LayerNormalization()]),
             _x(3)),
    lambda: (cornu.Sequential([L.Conv1D(4, 3, input_shape=(10, 2), padding="same",
                                        activation="relu"),
                               L.MaxPooling1D(2), L.AveragePooling1D(2),
                               L.GlobalAveragePooling1D(), L.Dense(2)]), _x(10, 2)),
    lambda: (cornu.Sequential([L.Conv1D(3, 2, input_shape=(6, 2)), L.GlobalMaxPooling1D()]),
             _x(6, 2)),
    lambda: (cornu.Sequential([L.Conv2D(3, (3, 3), input_shape=(8, 8, 1)), L.MaxPooling2D(),
                               L.AveragePooling2D(), L.Flatten(), L.Dense(2)]), _x(8, 8, 1)),
    lambda: (cornu.Sequential([L.Conv2D(2, 3, input_shape=(5, 5, 2), padding="same"),
                               L.GlobalMaxPooling2D()]), _x(5, 5, 2)),
    lambda: (cornu.Sequential([L.Conv2D(2, 3, input_shape=(5, 5, 2)),
                               L.GlobalAveragePooling2D()]), _x(5, 5, 2)),
    lambda: (cornu.Sequential([L.Dense(6, input_shape=(3,)), L.Reshape((2, 3)), L.Flatten()]),
             _x(3)),
    lambda: (cornu.Sequential([L.Embedding(10, 4, input_shape=(5,)),
                               L.GlobalAveragePooling1D(), L.Dense(2)]),
             np.random.default_rng(2).integers(0, 10, (7, 5)).astype(np.float32)),
    _merges,
    lambda: (cornu.Sequential([L.Dense(6, input_shape=(3,)), L.ReLU(max_value=2.0),
                               L.Dense(6), L.LeakyReLU(), L.ELU(), L.PReLU(),
                               L.Softmax()]), _x(3)),
    lambda: (cornu.Sequential([L.ZeroPadding2D(1, input_shape=(4, 4, 2)),
                               L.UpSampling2D(interpolation="bilinear"), L.Cropping2D(2),
                               L.Conv2D(2, 3), L.Reshape((-1, 2)), L.ZeroPadding1D(),
                               L.UpSampling1D(), L.Cropping1D(), L.Flatten(), L.Dense(2)]),
             _x(4, 4, 2)),
    lambda: (cornu.Sequential([L.Conv2DTranspose(3, 3, strides=2, padding="same",
                                                 input_shape=(3, 3, 2)),
                               L.Reshape((-1, 3)), L.Conv1DTranspose(2, 3, output_padding=0),
                               L.Flatten(), L.Dense(2)]), _x(3, 3, 2)),
    lambda: (cornu.Sequential([L.Rescaling(0.5, offset=-1.0, input_shape=(6, 7, 2)),
                               L.Resizing(5, 5), L.CenterCrop(4, 4), L.SpatialDropout2D(0.3),
                               L.GaussianNoise(0.1), L.Reshape((-1, 2)),
                               L.SpatialDropout1D(0.3), L.GaussianDropout(0.2), L.Flatten(),
                               L.Dense(2)]), _x(6, 7, 2)),
    lambda: (cornu.Sequential([L.DepthwiseConv2D(3, depth_multiplier=2, input_shape=(6, 6, 2)),
                               L.SeparableConv2D(3, 3, padding="same"),
                               L.GlobalAveragePooling2D(), L.Dense(2)]), _x(6, 6, 2)),
    lambda: (cornu.Sequential([L.Dense(3, input_shape=(4,)), L.RepeatVector(2),
                               L.Permute((2, 1)), L.Identity(), L.Flatten(), L.Dense(2)]),
             _x(4)),
    lambda: (cornu.Sequential([L.Normalization(mean=[0.5, 1.0, 2.0], variance=[1.0, 4.0, 9.0],
                                               input_shape=(3,)),
                               L.Dense(2)]), _x(3)),
    lambda: (cornu.Sequential([L.CategoryEncoding(num_tokens=4, output_mode="one_hot",
                                                  input_shape=(1,)), L.Dense(2)]),
             np.array([[0], [1], [3], [2]], np.float32)),
    lambda: (cornu.Sequential([L.Masking(0.0, input_shape=(4, 3)), L.GlobalAveragePooling1D(),
                               L.Dense(2)]), _x(4, 3)),
    _attention,
    lambda: (cornu.Sequential([L.RandomFlip("horizontal", seed=1, input_shape=(8, 9, 2)),
                               L.RandomRotation((-0.1, 0.2), fill_mode="constant"),
                               L.RandomTranslation(0.1, 0.2, interpolation="nearest"),
                               L.RandomZoom(0.2, (-0.1, 0.1), fill_mode="wrap"),
                               L.RandomCrop(6, 7, seed=2), L.Flatten(), L.Dense(2)]),
             _x(8, 9, 2)),
    lambda: (cornu.Sequential([L.RandomContrast((0.1, 0.4), value_range=(-5, 5),
                                                input_shape=(5, 5, 3)),
                               L.RandomBrightness(0.3, value_range=(-5, 5), seed=3),
                               L.Flatten(), L.Dense(2)]), _x(5, 5, 3)),
    lambda: (cornu.Sequential([L.Dense(3, input_shape=(2,)), L.Lambda(cornu.ops.tanh),
                               L.Dense(2)]), _x(2)),
    lambda: (cornu.Sequential([L.ZeroPadding3D(((1, 0), 1, (0, 2)), input_shape=(3, 4, 2, 2)),
                               L.Conv3D(3, 2, activation="relu"), L.UpSampling3D((1, 2, 1)),
                               L.Cropping3D(((0, 1), (1, 1), 0)),
                               L.Conv3DTranspose(2, 2, strides=(1, 2, 2), padding="same"),
                               L.MaxPooling3D((1, 2, 2)), L.AveragePooling3D(1),
                               L.GlobalMaxPooling3D(keepdims=True),
                               L.GlobalAveragePooling3D()]), _x(3, 4, 2, 2)),
    lambda: (cornu.Sequential([L.GroupNormalization(groups=2, input_shape=(3, 4)),
                               L.UnitNormalization(axis=[1, 2]), L.AlphaDropout(0.2, seed=1),
                               L.RMSNormalization(axis=[1, 2]),
                               L.ActivityRegularization(l1=0.01, l2=0.02),
                               L.Flatten(), L.Dense(2)]), _x(3, 4)),
    _dot,
    lambda: (cornu.Sequential([L.DepthwiseConv1D(2, depth_multiplier=2, input_shape=(6, 3)),
                               L.SeparableConv1D(4, 2, padding="same"),
                               L.Reshape((5, 1, 1, 4)), L.SpatialDropout3D(0.3, seed=1),
                               L.Flatten(), L.Dense(2)]), _x(6, 3)),
    lambda: (cornu.Sequential([L.AdaptiveAveragePooling2D((3, 2), input_shape=(5, 4, 2)),
                               L.Reshape((3, 2, 1, 2)), L.AdaptiveMaxPooling3D((2, 1, 1)),
                               L.AdaptiveAveragePooling3D(1), L.Reshape((1, 2)),
                               L.AdaptiveMaxPooling1D(3), L.AdaptiveAveragePooling1D(2),
                               L.Reshape((2, 1, 2)), L.AdaptiveMaxPooling2D((3, 1)),
                               L.Flatten(), L.Dense(2)]), _x(5, 4, 2)),
    # new examples go above: the last one is the functional graph that
    # test_training_continues_exactly_with_dropout_state_and_graphs trains
    lambda: (cornu.Sequential([L.SimpleRNN(4, input_shape=(5, 3), return_sequences=True),
                               L.LSTM(3, go_backwards=True, dropout=0.2),
                               L.Dense(2)]), _x(5, 3)),
    lambda: (cornu.Sequential([L.GRU(4, input_shape=(5, 3), return_sequences=True,
                                     reset_after=False),
                               L.GRU(2, unroll=True)]), _x(5, 3)),
    lambda: (cornu.Sequential([L.RNN([L.LSTMCell(3), L.GRUCell(2), L.SimpleRNNCell(2)],
                                     input_shape=(4, 3))]), _x(4, 3)),
    lambda: (cornu.Sequential([L.Bidirectional(L.LSTM(3, return_sequences=True),
                                               input_shape=(5, 3)),
                               L.Bidirectional(L.GRU(2), merge_mode="ave",
                                               backward_layer=L.SimpleRNN(2, go_backwards=True)),
                               ]), _x(5, 3)),
    lambda: (cornu.Sequential([L.TimeDistributed(L.Dense(3, activation="relu"),
                                                 input_shape=(4, 2)),
                               L.RNN(L.GRUCell(2))]), _x(4, 2)),
    _recurrent_states,
    _preprocessing_lookups,
    _two_inputs,
    _branches,
]


def test_every_exported_layer_has_an_example():
    exported = {obj.__name__ for name in L.__all__ if isinstance(obj := getattr(L, name), type)
                and issubclass(obj, Layer) and obj is not Layer}  # aliases by their class
    used = {type(inner).__name__ for make in EXAMPLES for layer in make()[0].layers
            for inner in layer._flatten_layers()}  # with RNN cells and wrapped layers
    used |= {"InputLayer"}  # Sequential([cornu.Input(...), ...]) and the functional example
    assert not exported - used, f"add round-trip examples for {sorted(exported - used)}"


def _round_trip(model: cornu.Model, tmp_path, **kwargs) -> cornu.Model:
    path = tmp_path / "model.cornu"
    model.save(path)
    return load_model(path, **kwargs)


def _assert_same_model(a: cornu.Model, b: cornu.Model, x: Any = None) -> None:
    assert type(a) is type(b)
    assert a.get_config() == b.get_config()
    assert [type(x) for x in a.layers] == [type(x) for x in b.layers]
    assert a.count_params() == b.count_params()
    assert_same_weights(a, b)
    x = _x(*a.input_shape[1:]) if x is None else x
    outs_a, outs_b = a.predict(x, verbose=0), b.predict(x, verbose=0)
    if not isinstance(outs_a, list):  # one output
        outs_a, outs_b = [outs_a], [outs_b]
    for out_a, out_b in zip(outs_a, outs_b, strict=True):
        np.testing.assert_array_equal(out_a, out_b)


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_layer_round_trip_predicts_exactly(index, tmp_path):
    cornu.utils.set_random_seed(3)
    model, x = EXAMPLES[index]()
    # move every weight off its initial value, so a mix-up of tensors would show
    model.set_weights([w + np.float32(0.25) * (i + 1) for i, w in enumerate(model.get_weights())])
    _assert_same_model(model, _round_trip(model, tmp_path), x)


@pytest.mark.parametrize("name", sorted(k for k in activations._TABLE if k != "linear"))
def test_every_activation_round_trips(name, tmp_path):
    model = cornu.Sequential([Dense(4, input_shape=(3,), activation=name), Activation(name)])
    _assert_same_model(model, _round_trip(model, tmp_path))


OPTIMIZERS = [  # each has its own optimizer-state tree
    "adam", "adagrad", "adadelta", "adamw", "adamax", "nadam",
    cornu.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
    cornu.optimizers.Adam(learning_rate=3e-3, amsgrad=True, clipnorm=1.0),
    cornu.optimizers.RMSprop(momentum=0.5, centered=True, global_clipnorm=2.0),
]


@pytest.mark.parametrize("optimizer", OPTIMIZERS,
                         ids=lambda o: o if isinstance(o, str) else f"{type(o).__name__}-options")
def test_training_continues_exactly_after_load(optimizer, tmp_path):
    model = trained_model(optimizer, epochs=2)
    path = tmp_path / "model.cornu"
    model.save(path)
    loaded = load_model(path)
    assert loaded.get_compile_config() == model.get_compile_config()
    jax.tree.map(np.testing.assert_array_equal, loaded._opt_state, model._opt_state)
    np.testing.assert_array_equal(loaded._train_rng, model._train_rng)
    x, y = data()
    for m in (model, loaded):  # the same global seed for both, so the same shuffles
        cornu.utils.set_random_seed(7)
        m.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert_same_weights(model, loaded)
    jax.tree.map(np.testing.assert_array_equal, loaded._opt_state, model._opt_state)


def test_saving_does_not_change_training(tmp_path):
    a, b = trained_model(), trained_model()
    a.save(tmp_path / "a.cornu")
    x, y = data()
    for m in (a, b):
        cornu.utils.set_random_seed(7)
        m.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert_same_weights(a, b)


def test_compiled_but_untrained_model_has_no_optimizer_member(tmp_path):
    model = small_model()
    loaded = _round_trip(model, tmp_path)
    assert "optimizer.safetensors" not in members(tmp_path / "model.cornu")
    assert loaded.optimizer is not None and loaded._opt_state is None
    loaded.fit(*data(), verbose=0)


def test_uncompiled_model_loads_uncompiled(tmp_path):
    model = small_model(compile=False)
    loaded = _round_trip(model, tmp_path)
    assert loaded.optimizer is None and loaded.get_compile_config() is None


def test_compile_false_skips_the_compile_settings(tmp_path):
    model = trained_model()
    loaded = _round_trip(model, tmp_path, compile=False)
    assert loaded.optimizer is None and loaded._opt_state is None
    _assert_same_model(model, loaded)
    with pytest.raises(ValueError, match="compile"):
        loaded.fit(*data(), verbose=0)


def test_weights_alone_load_into_a_fresh_model_of_the_same_architecture(tmp_path):
    model = trained_model()
    path = tmp_path / "model.weights.safetensors"
    model.save_weights(path)
    other = small_model()  # other layer names (dense_2, ...), other random weights
    assert [x.name for x in other.layers] != [x.name for x in model.layers]
    other.load_weights(path)
    assert_same_weights(model, other)
    third = small_model()
    model.save(tmp_path / "model.cornu")
    third.load_weights(tmp_path / "model.cornu")  # a model file also gives its weights
    assert_same_weights(model, third)


def test_load_weights_refuses_another_architecture_and_leaves_the_model_alone(tmp_path):
    model = trained_model()
    model.save_weights(tmp_path / "w.weights.safetensors")
    other = cornu.Sequential([Dense(5, input_shape=(3,)), Dense(2), Activation("softmax")])
    before = other.get_weights()
    with pytest.raises(CornuFileError, match=r"layers\.0\.params\.kernel.*\(3, 4\).*\(3, 5\)"):
        other.load_weights(tmp_path / "w.weights.safetensors")
    for a, b in zip(before, other.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    shorter = cornu.Sequential([Dense(4, input_shape=(3,))])
    with pytest.raises(CornuFileError, match="does not have"):
        shorter.load_weights(tmp_path / "w.weights.safetensors")


def test_unbuilt_model_is_refused(tmp_path):
    model = cornu.Sequential([Dense(2)])
    with pytest.raises(CornuFileError, match="not built"):
        model.save(tmp_path / "m.cornu")
    with pytest.raises(CornuFileError, match="not built"):
        model.load_weights(tmp_path / "m.cornu")
    assert list(tmp_path.iterdir()) == []


def test_file_names_say_the_format(tmp_path):
    model = small_model()
    with pytest.raises(CornuFileError, match=r"\.cornu"):
        model.save(tmp_path / "model.bin")  # (.h5 is Keras' legacy format)
    with pytest.raises(CornuFileError, match=r"\.weights\.safetensors"):
        model.save_weights(tmp_path / "model.cornu")
    model.save_weights(tmp_path / "w.weights.safetensors")
    with pytest.raises(CornuFileError, match="load_weights"):
        load_model(tmp_path / "w.weights.safetensors")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.weights.safetensors"]


def test_overwrite_false_keeps_the_existing_file(tmp_path):
    path = tmp_path / "m.cornu"
    small_model().save(path)
    before = path.read_bytes()
    with pytest.raises(CornuFileError, match="overwrite"):
        trained_model().save(path, overwrite=False)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.cornu"]


def test_metadata_records_versions(tmp_path):
    import json

    small_model().save(tmp_path / "m.cornu")
    meta = json.loads(members(tmp_path / "m.cornu")["metadata.json"])
    assert meta["format"] == "cornu.model" and meta["format_version"] == 1
    assert meta["cornu_version"] == cornu.__version__ and meta["jax_version"] == jax.__version__
    assert meta["created"].endswith("+00:00")


# ------------------------------------------------------------------------ custom layers


class Scale(Layer):
    """x * scale + shift, per feature: a custom layer with weights and state."""

    def __init__(self, shift: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.shift = float(shift)

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="random_normal",
                                     name="scale")
        self.calls = self.add_weight(shape=(), initializer="zeros", dtype="int32",
                                     trainable=False, name="calls")

    def call(self, x):
        return x * jax.numpy.reshape(self.scale.value, (1, -1)) + self.shift

    def get_config(self):
        return {**super().get_config(), "shift": self.shift}


def test_registered_custom_layer_round_trips(tmp_path):
    register_layer(Scale)
    model = cornu.Sequential([Dense(3, input_shape=(2,)), Scale(shift=0.5)])
    loaded = _round_trip(model, tmp_path)
    assert type(loaded.layers[1]) is Scale and loaded.layers[1].shift == 0.5
    _assert_same_model(model, loaded)


def test_unregistered_custom_layer_saves_and_loads_only_with_custom_objects(tmp_path):
    class Unknown(Scale):
        pass

    model = cornu.Sequential([Dense(3, input_shape=(2,)), Unknown()])
    path = tmp_path / "m.cornu"
    model.save(path)
    entry = json.loads(members(path)["config.json"])["model"]["config"]["layers"][1]
    assert (entry["module"], entry["class_name"], entry["registered_name"]) == (
        __name__, "Unknown", "Unknown")
    with pytest.raises(CornuFileError, match="'Unknown'.*custom_objects={'Unknown': Unknown}"
                                             ".*register_keras_serializable"):
        load_model(path)
    _assert_same_model(model, load_model(path, custom_objects={"Unknown": Unknown}))


def test_custom_objects_and_registered_names(tmp_path):
    @register_layer(name="tests>Shifted")
    class Shifted(Scale):
        pass

    model = cornu.Sequential([Dense(3, input_shape=(2,)), Shifted(shift=1.0)])
    path = tmp_path / "m.cornu"
    model.save(path)
    assert b'"tests>Shifted"' in members(path)["config.json"]
    _assert_same_model(model, load_model(path))
    _assert_same_model(model, load_model(path, custom_objects={"tests>Shifted": Shifted}))


def test_register_layer_checks_its_argument():
    with pytest.raises(TypeError, match="Layer"):
        register_layer(int)
    with pytest.raises(ValueError, match="built-in"):
        register_layer(name="Dense")(Scale)

    class Other(Layer):
        pass

    register_layer(name="tests>Taken")(Other)
    with pytest.raises(ValueError, match="already registered"):
        register_layer(name="tests>Taken")(Scale)


@pytest.mark.parametrize("index", [5, len(EXAMPLES) - 1], ids=["dropout-batchnorm", "functional"])
def test_training_continues_exactly_with_dropout_state_and_graphs(index, tmp_path):
    cornu.utils.set_random_seed(4)
    model, _ = EXAMPLES[index]()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    x = _x(*model.input_shape[1:])
    y = np.random.default_rng(5).normal(size=(7, 2)).astype(np.float32)
    model.fit(x, y, batch_size=3, epochs=2, verbose=0)
    loaded = _round_trip(model, tmp_path)
    for m in (model, loaded):
        cornu.utils.set_random_seed(7)
        m.fit(x, y, batch_size=3, epochs=1, verbose=0)
    assert_same_weights(model, loaded)


def test_layers_exported_later_are_known_without_registering(monkeypatch, tmp_path):
    class Later(Scale):
        pass

    monkeypatch.setattr(L, "Later", Later, raising=False)
    monkeypatch.setattr(L, "__all__", [*L.__all__, "Later"])
    model = cornu.Sequential([Dense(3, input_shape=(2,)), Later(shift=2.0)])
    _assert_same_model(model, _round_trip(model, tmp_path))


def test_refused_loads_do_not_touch_the_global_random_sequence(tmp_path):
    import json

    from saving_helpers import rewrite

    model = trained_model()
    model.save(tmp_path / "m.cornu")
    config = json.loads(members(tmp_path / "m.cornu")["config.json"])
    config["compile"]["optimizer"] = {"class_name": "SGD", "config": {}}  # another state tree
    rewrite(tmp_path / "m.cornu", tmp_path / "bad.cornu",
            {"config.json": json.dumps(config).encode()})
    cornu.utils.set_random_seed(11)
    with pytest.raises(CornuFileError, match="optimizer.safetensors"):
        load_model(tmp_path / "bad.cornu")
    after_refusal = cornu.random.keys.next_key()
    cornu.utils.set_random_seed(11)
    np.testing.assert_array_equal(after_refusal, cornu.random.keys.next_key())

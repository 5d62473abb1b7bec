"""Customizing saving and serialization: get_config/from_config, registered objects,
save_own_variables/load_own_variables, get_build_config/build_from_config,
custom_objects and custom_object_scope."""

import os
import tempfile

import numpy as np

import cornu as keras
from cornu import layers, ops

keras.utils.set_random_seed(3)
tmp = tempfile.mkdtemp()


# -- save_own_variables / load_own_variables: state that is not a weight ----------------------
@keras.saving.register_keras_serializable(package="my_custom_package")
class ShiftedDense(layers.Layer):
    """A Dense layer whose output is shifted by a NumPy array set with `adapt`, not a weight."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.shift = np.zeros((units,), dtype="float32")

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def adapt(self, data):
        self.shift = -np.asarray(self(data)).mean(axis=0)

    def call(self, inputs):
        return ops.matmul(inputs, self.kernel) + self.bias + self.shift

    def get_config(self):
        return {**super().get_config(), "units": self.units}

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store["shift"] = self.shift

    def load_own_variables(self, store):
        self.shift = np.asarray(store["shift"])
        for i, v in enumerate(self.weights):
            v.assign(store[str(i)])


model = keras.Sequential([keras.Input(shape=(10,)), ShiftedDense(3)])
ref_input = np.random.random((8, 10)).astype("float32")
model.layers[0].adapt(ref_input)
ref_output = np.asarray(model.predict(ref_input, verbose=0))
np.testing.assert_allclose(ref_output.mean(axis=0), np.zeros(3), atol=1e-5)
path = os.path.join(tmp, "custom_vars_model.keras")
model.save(path)
restored = keras.models.load_model(path)
np.testing.assert_allclose(restored.layers[0].shift, model.layers[0].shift)
np.testing.assert_allclose(restored.predict(ref_input, verbose=0), ref_output, rtol=1e-5, atol=1e-6)


# -- get_build_config / build_from_config --------------------------------------------------------
@keras.saving.register_keras_serializable(package="my_custom_package")
class LayerWithCustomBuild(layers.Layer):
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        return dict(units=self.units, **super().get_config())

    def build(self, input_shape, layer_init):
        # an extra build argument: Keras cannot call this build itself
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units), initializer=layer_init, name="w"
        )
        self.b = self.add_weight(shape=(self.units,), initializer=layer_init, name="b")
        self.input_shape_seen = input_shape

    def get_build_config(self):
        build_config = {"layer_init": "random_normal", "input_shape": [None, 5]}
        return build_config

    def build_from_config(self, config):
        self.build(config["input_shape"], config["layer_init"])


layer = LayerWithCustomBuild(units=16)
layer.build([None, 5], "random_normal")
x = np.random.rand(3, 5).astype("float32")
y = np.asarray(layer(x))
path = os.path.join(tmp, "custom_build_model.keras")
model = keras.Sequential([keras.Input(shape=(5,)), layer])
model.save(path)
restored = keras.models.load_model(path)
assert restored.layers[0].units == 16
assert list(restored.layers[0].input_shape_seen) == [None, 5]
np.testing.assert_allclose(np.asarray(restored(x)), y, rtol=1e-5, atol=1e-6)

# the layer by itself, serialized and rebuilt from its configs
config = keras.saving.serialize_keras_object(layer)
assert config["registered_name"] == "my_custom_package>LayerWithCustomBuild"
fresh = keras.saving.deserialize_keras_object(config)
assert isinstance(fresh, LayerWithCustomBuild) and fresh.units == 16
assert fresh.built  # deserializing also rebuilt it from get_build_config()
assert tuple(fresh.w.shape) == (5, 16)


# -- get_config / from_config with nested objects -------------------------------------------------
@keras.saving.register_keras_serializable(package="ComplexActivations")
def custom_activation(x):
    return ops.tanh(x) + ops.square(x) * 0.05


@keras.saving.register_keras_serializable(package="MyLayers")
class CustomLayer(layers.Layer):
    def __init__(self, sublayer, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.sublayer = sublayer
        self.factor = factor

    def call(self, x):
        return self.sublayer(x) * self.factor

    def get_config(self):
        base_config = super().get_config()
        config = {
            "sublayer": keras.saving.serialize_keras_object(self.sublayer),
            "factor": self.factor,
        }
        return {**base_config, **config}

    @classmethod
    def from_config(cls, config):
        sublayer_config = config.pop("sublayer")
        sublayer = keras.saving.deserialize_keras_object(sublayer_config)
        return cls(sublayer, **config)


@keras.saving.register_keras_serializable(package="MyModels")
class CustomModel(keras.Model):
    def __init__(self, hidden_units=16, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = hidden_units
        self.dense = layers.Dense(hidden_units, activation=custom_activation)
        self.head = CustomLayer(layers.Dense(1), factor=0.5)

    def call(self, x):
        return self.head(self.dense(x))

    def get_config(self):
        return {**super().get_config(), "hidden_units": self.hidden_units}


model = CustomModel(hidden_units=12)
x_train = np.random.rand(64, 4).astype("float32")
y_train = x_train.sum(axis=1, keepdims=True)
model.compile(optimizer="adam", loss="mse")
model.fit(x_train, y_train, epochs=2, batch_size=16, verbose=0)
expected = model.predict(x_train[:8], verbose=0)
path = os.path.join(tmp, "custom_model.keras")
model.save(path)
reloaded = keras.saving.load_model(path)
assert isinstance(reloaded, CustomModel)
assert reloaded.hidden_units == 12
assert reloaded.head.factor == 0.5
np.testing.assert_allclose(reloaded.predict(x_train[:8], verbose=0), expected, rtol=1e-5, atol=1e-6)

assert keras.saving.get_registered_name(CustomModel) == "MyModels>CustomModel"
assert keras.saving.get_registered_object("MyModels>CustomModel") is CustomModel
assert keras.saving.get_registered_name(custom_activation) == "ComplexActivations>custom_activation"


# -- an unregistered class: pass custom_objects or use a custom_object_scope ---------------------
class Scaler(layers.Layer):
    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, x):
        return x * self.scale

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


inputs = keras.Input(shape=(3,))
outputs = Scaler(3.0)(layers.Dense(2)(inputs))
model = keras.Model(inputs, outputs)
path = os.path.join(tmp, "scaler.keras")
model.save(path)
x = np.random.rand(2, 3).astype("float32")
try:
    keras.models.load_model(path)
    raise AssertionError("loading an unregistered class should fail")
except (TypeError, ValueError):
    pass
loaded = keras.models.load_model(path, custom_objects={"Scaler": Scaler})
np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-5, atol=1e-6)
with keras.saving.custom_object_scope({"Scaler": Scaler}):
    loaded = keras.models.load_model(path)
assert loaded.layers[-1].scale == 3.0

# configs round-trip for a model holding an unregistered class, in the scope
config = model.get_config()
with keras.saving.CustomObjectScope({"Scaler": Scaler}):
    rebuilt = keras.Model.from_config(config)
assert isinstance(rebuilt.layers[-1], Scaler)

# weights only
path = os.path.join(tmp, "scaler.weights.h5")
model.save_weights(path)
rebuilt.load_weights(path)
np.testing.assert_allclose(np.asarray(rebuilt(x)), np.asarray(model(x)), rtol=1e-5, atol=1e-6)
print("OK")

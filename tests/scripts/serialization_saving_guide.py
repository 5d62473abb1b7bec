"""Keras guide "Save, serialize, and export models" (synthetic data), imports changed to
cornu; each model is saved in cornu's files (.cornu models, .weights.safetensors weights)
and in Keras' (.keras, .weights.h5), as the guide does."""
import os
import shutil
import tempfile

import numpy as np

import cornu as keras
from cornu import layers, ops

tmp = tempfile.mkdtemp()
rng = np.random.default_rng(3)
x = rng.random((128, 32)).astype("float32")
y = rng.random((128, 1)).astype("float32")


def get_model():
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(), loss="mean_squared_error")
    return model


model = get_model()
model.fit(x, y, epochs=1, verbose=0)
path = os.path.join(tmp, "my_model.cornu")
model.save(path)
reconstructed = keras.models.load_model(path)
np.testing.assert_allclose(model.predict(x, verbose=0), reconstructed.predict(x, verbose=0), atol=1e-6)
# the optimizer state travels: training continues
reconstructed.fit(x, y, epochs=1, verbose=0)


# custom objects: register_keras_serializable
@keras.saving.register_keras_serializable(package="my_package", name="custom_fn")
def custom_fn(x):
    return x ** 2


@keras.saving.register_keras_serializable(package="MyLayers")
class CustomLayer(keras.layers.Layer):
    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor})
        return config


@keras.saving.register_keras_serializable(package="my_package", name="custom_layer")
class MyDense(keras.layers.Layer):
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal",
                                 trainable=True, name="w")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True, name="b")

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config


@keras.saving.register_keras_serializable(package="my_package")
class CustomModel(keras.Model):
    def __init__(self, hidden_units, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = hidden_units
        self.dense_layers = [MyDense(u) for u in hidden_units]

    def call(self, inputs):
        x = inputs
        for layer in self.dense_layers:
            x = layer(x)
        return x

    def get_config(self):
        return {"hidden_units": self.hidden_units}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


# functional model with custom layer + custom activation fn
inputs = keras.Input(shape=(32,))
h = MyDense(8)(inputs)
h = CustomLayer(0.5)(h)
h = keras.layers.Activation(custom_fn)(h)
outputs = keras.layers.Dense(1)(h)
model = keras.Model(inputs, outputs)
model.compile(optimizer="rmsprop", loss="mse")
model.fit(x, y, epochs=1, verbose=0)
path = os.path.join(tmp, "custom_model.cornu")
model.save(path)
loaded = keras.saving.load_model(path)
np.testing.assert_allclose(model.predict(x, verbose=0), loaded.predict(x, verbose=0), atol=1e-6)

# subclassed model save / load
sub = CustomModel([16, 16, 1])
sub.compile(optimizer="adam", loss="mse")
sub.fit(x, y, epochs=1, verbose=0)
for name in ("sub.cornu", "sub.keras"):
    spath = os.path.join(tmp, name)
    sub.save(spath)
    sub2 = keras.models.load_model(spath)
    assert isinstance(sub2, CustomModel) and sub2.hidden_units == [16, 16, 1]
    np.testing.assert_allclose(sub.predict(x, verbose=0), sub2.predict(x, verbose=0),
                               atol=1e-5)
    sub2.fit(x, y, epochs=1, verbose=0)  # compiled as saved, the optimizer's state restored


# a subclassed model without get_config: Keras' automatic config from __init__'s values
@keras.saving.register_keras_serializable(package="my_package")
class AutoConfigModel(keras.Model):
    def __init__(self, units=8, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(units, activation=activation)
        self.head = keras.layers.Dense(1)

    def call(self, inputs):
        return self.head(self.hidden(inputs))


auto = AutoConfigModel(units=4, activation="tanh")
assert auto.get_config()["units"] == 4 and auto.get_config()["activation"] == "tanh"
auto(x[:2])
for name in ("auto.cornu", "auto.keras"):
    apath = os.path.join(tmp, name)
    auto.save(apath)
    auto2 = keras.models.load_model(apath)
    assert auto2.units == 4
    np.testing.assert_allclose(auto.predict(x, verbose=0), auto2.predict(x, verbose=0),
                               atol=1e-6)
auto.save_weights(os.path.join(tmp, "auto.weights.h5"))
auto3 = AutoConfigModel(units=4, activation="tanh")
auto3(x[:2])
auto3.load_weights(os.path.join(tmp, "auto.weights.h5"))
np.testing.assert_allclose(auto.predict(x, verbose=0), auto3.predict(x, verbose=0))


# custom_objects argument instead of registration
class Unregistered(keras.layers.Layer):
    def call(self, x):
        return x + 1.0


inputs = keras.Input(shape=(4,))
model = keras.Model(inputs, Unregistered()(layers.Dense(2)(inputs)))
upath = os.path.join(tmp, "unreg.cornu")
model.save(upath)
m2 = keras.models.load_model(upath, custom_objects={"Unregistered": Unregistered})
xx = np.ones((2, 4), "float32")
np.testing.assert_allclose(model.predict(xx, verbose=0), m2.predict(xx, verbose=0), atol=1e-6)
with keras.saving.custom_object_scope({"Unregistered": Unregistered}):
    m3 = keras.models.load_model(upath)

# get_config / from_config
layer = keras.layers.Dense(3, activation="relu")
layer_config = layer.get_config()
new_layer = keras.layers.Dense.from_config(layer_config)
assert new_layer.units == 3
seq = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
config = seq.get_config()
new_seq = keras.Sequential.from_config(config)
assert new_seq.count_params() == seq.count_params()
inputs = keras.Input((32,))
fm = keras.Model(inputs, keras.layers.Dense(1)(inputs))
config = fm.get_config()
new_fm = keras.Model.from_config(config)
json_config = fm.to_json()
new_fm2 = keras.models.model_from_json(json_config)
assert len(new_fm2.weights) == 2

# serialize_keras_object / deserialize_keras_object
cfg = keras.saving.serialize_keras_object(CustomLayer(2.0))
obj = keras.saving.deserialize_keras_object(cfg)
assert obj.factor == 2.0
assert keras.saving.get_registered_name(CustomLayer) == "MyLayers>CustomLayer"

# weights only
wpath = os.path.join(tmp, "m.weights.safetensors")
fm.save_weights(wpath)
new_fm.load_weights(wpath)
np.testing.assert_allclose(fm.predict(x[:4], verbose=0), new_fm.predict(x[:4], verbose=0))

# transfer weights in memory, clone_model
clone = keras.models.clone_model(fm)
clone.set_weights(fm.get_weights())
np.testing.assert_allclose(fm.predict(x[:4], verbose=0), clone.predict(x[:4], verbose=0))
shutil.rmtree(tmp)
print("OK")

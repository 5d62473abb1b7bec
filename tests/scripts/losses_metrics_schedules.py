"""Custom losses and metrics with sample_weight and reduction, class weights, and
LearningRateSchedule subclasses (as in the training & evaluation guide)."""

import os
import tempfile

import numpy as np

import cornu as keras
from cornu import layers, ops

keras.utils.set_random_seed(10)
rng = np.random.default_rng(10)

# -- built-in losses: reduction and sample_weight ---------------------------------------------------
y_true = np.array([[0.0, 1.0], [1.0, 1.0], [0.0, 0.0]], "float32")
y_pred = np.array([[0.5, 1.0], [0.0, 1.0], [0.5, 0.5]], "float32")
per_sample = ((y_true - y_pred) ** 2).mean(axis=1)
mse = keras.losses.MeanSquaredError()
np.testing.assert_allclose(float(mse(y_true, y_pred)), per_sample.mean(), rtol=1e-6)
mse_sum = keras.losses.MeanSquaredError(reduction="sum")
np.testing.assert_allclose(float(mse_sum(y_true, y_pred)), per_sample.sum(), rtol=1e-6)
mse_none = keras.losses.MeanSquaredError(reduction=None)
np.testing.assert_allclose(np.asarray(mse_none(y_true, y_pred)), per_sample, rtol=1e-6)
sw = np.array([1.0, 0.0, 2.0], "float32")
np.testing.assert_allclose(float(mse(y_true, y_pred, sample_weight=sw)), (per_sample * sw).sum() / 3, rtol=1e-6)
mse_swo = keras.losses.MeanSquaredError(reduction="sum_over_batch_size")
np.testing.assert_allclose(float(mse_swo(y_true, y_pred, sample_weight=sw)), (per_sample * sw).sum() / 3, rtol=1e-6)


# -- a custom loss: a function, and a Loss subclass with a config ------------------------------------
def custom_mean_squared_error(y_true, y_pred):
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


class CustomMSE(keras.losses.Loss):
    def __init__(self, regularization_factor=0.1, name="custom_mse", **kwargs):
        super().__init__(name=name, **kwargs)
        self.regularization_factor = regularization_factor

    def call(self, y_true, y_pred):
        mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
        reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
        return mse + reg * self.regularization_factor

    def get_config(self):
        return {**super().get_config(), "regularization_factor": self.regularization_factor}


loss = CustomMSE(0.5)
expected = per_sample + 0.5 * ((0.5 - y_pred) ** 2).mean(axis=1)
np.testing.assert_allclose(float(loss(y_true, y_pred)), expected.mean(), rtol=1e-6)
np.testing.assert_allclose(float(loss(y_true, y_pred, sample_weight=sw)), (expected * sw).sum() / 3, rtol=1e-6)
clone = CustomMSE.from_config(loss.get_config())
assert clone.regularization_factor == 0.5 and clone.name == "custom_mse"


# -- a custom metric with sample_weight --------------------------------------------------------------
class CategoricalTruePositives(keras.metrics.Metric):
    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
        values = ops.cast(ops.reshape(y_true, (-1, 1)), "int32") == ops.cast(y_pred, "int32")
        values = ops.cast(values, "float32")
        if sample_weight is not None:
            sample_weight = ops.cast(ops.reshape(sample_weight, (-1, 1)), "float32")
            values = ops.multiply(values, sample_weight)
        self.true_positives.assign_add(ops.sum(values))

    def result(self):
        return ops.convert_to_tensor(self.true_positives)

    def reset_state(self):
        self.true_positives.assign(0.0)


m = CategoricalTruePositives()
m.update_state(np.array([[0], [1], [2]]), np.eye(3, dtype="float32")[[0, 1, 0]])
assert float(m.result()) == 2.0
m.update_state(np.array([[0], [1]]), np.eye(3, dtype="float32")[[0, 1]], sample_weight=np.array([0.5, 0.0]))
assert float(m.result()) == 2.5
m.reset_state()
assert float(m.result()) == 0.0


# -- LearningRateSchedule subclasses -----------------------------------------------------------------
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, peak, warmup_steps, total_steps):
        self.peak = peak
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warm = self.peak * step / self.warmup_steps
        progress = (step - self.warmup_steps) / (self.total_steps - self.warmup_steps)
        cosine = 0.5 * self.peak * (1.0 + ops.cos(np.pi * ops.minimum(progress, 1.0)))
        return ops.where(step < self.warmup_steps, warm, cosine)

    def get_config(self):
        return {"peak": self.peak, "warmup_steps": self.warmup_steps, "total_steps": self.total_steps}


schedule = WarmupCosine(peak=1e-2, warmup_steps=10, total_steps=100)
np.testing.assert_allclose(float(schedule(5)), 5e-3, rtol=1e-6)
np.testing.assert_allclose(float(schedule(10)), 1e-2, rtol=1e-6)
np.testing.assert_allclose(float(schedule(100)), 0.0, atol=1e-8)
exp = keras.optimizers.schedules.ExponentialDecay(1e-2, decay_steps=10, decay_rate=0.5, staircase=True)
np.testing.assert_allclose(float(exp(25)), 1e-2 * 0.25, rtol=1e-6)
pw = keras.optimizers.schedules.PiecewiseConstantDecay([5, 10], [1.0, 0.5, 0.1])
assert [round(float(pw(s)), 6) for s in (0, 6, 11)] == [1.0, 0.5, 0.1]

# -- all of it in compile / fit, with sample weights and class weights ---------------------------------
x = rng.normal(size=(400, 8)).astype("float32")
labels = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int32") + (x[:, 2] > 1.0).astype("int32")
inputs = keras.Input(shape=(8,))
h = layers.Dense(16, activation="relu")(inputs)
outputs = layers.Dense(3, activation="softmax")(h)
model = keras.Model(inputs, outputs)
optimizer = keras.optimizers.Adam(learning_rate=schedule)
model.compile(
    optimizer=optimizer,
    loss=keras.losses.SparseCategoricalCrossentropy(),
    metrics=[CategoricalTruePositives(), keras.metrics.SparseCategoricalAccuracy(name="acc")],
    weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="weighted_acc")],
)
sample_weight = np.where(labels == 2, 2.0, 1.0).astype("float32")
history = model.fit(x, labels, sample_weight=sample_weight, batch_size=40, epochs=8, verbose=0)
assert history.history["acc"][-1] > 0.8, history.history["acc"]
# compile's metrics are not weighted by sample_weight: the true positives and the
# accuracy count the same samples
np.testing.assert_allclose(
    history.history["categorical_true_positives"][-1] / 400, history.history["acc"][-1], rtol=1e-5
)
assert int(optimizer.iterations) == 80
# weighted_metrics see the sample weights: on one evaluation, recompute both by hand
logs = model.evaluate(x, labels, sample_weight=sample_weight, return_dict=True, verbose=0)
hits = (np.argmax(model.predict(x, verbose=0), axis=1) == labels).astype("float32")
np.testing.assert_allclose(logs["acc"], hits.mean(), rtol=1e-5)
np.testing.assert_allclose(logs["weighted_acc"], (hits * sample_weight).sum() / sample_weight.sum(), rtol=1e-5)
np.testing.assert_allclose(float(optimizer.learning_rate), float(schedule(80)), rtol=1e-5)
history = model.fit(x, labels, class_weight={0: 1.0, 1: 1.0, 2: 3.0}, batch_size=40, epochs=1, verbose=0)
assert int(optimizer.iterations) == 90

# the custom loss in a regression model, saved and reloaded with custom_objects
reg = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(1, activation="sigmoid")])
reg.compile(optimizer="adam", loss=CustomMSE(0.2), metrics=[keras.metrics.MeanAbsoluteError()])
target = (x[:, :1] > 0).astype("float32")
reg.fit(x, target, epochs=2, batch_size=50, verbose=0)
results = reg.evaluate(x, target, return_dict=True, verbose=0)
assert set(results) == {"loss", "mean_absolute_error"}, results
path = os.path.join(tempfile.mkdtemp(), "reg.keras")
reg.save(path)
reloaded = keras.models.load_model(path, custom_objects={"CustomMSE": CustomMSE})
np.testing.assert_allclose(reloaded.predict(x[:5], verbose=0), reg.predict(x[:5], verbose=0), rtol=1e-6)
again = reloaded.evaluate(x, target, return_dict=True, verbose=0)
np.testing.assert_allclose(again["loss"], results["loss"], rtol=1e-5)

# a functional-style loss and model.add_loss
reg2 = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(1)])
reg2.compile(optimizer="sgd", loss=custom_mean_squared_error)
reg2.fit(x, target, epochs=1, batch_size=50, verbose=0)
print("OK")

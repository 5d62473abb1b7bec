"""Keras guide "Writing a training loop from scratch in JAX", imports changed to cornu."""

import jax
import numpy as np

import cornu as keras


def get_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x1 = keras.layers.Dense(64, activation="relu")(inputs)
    x2 = keras.layers.Dense(64, activation="relu")(x1)
    outputs = keras.layers.Dense(10, name="predictions")(x2)
    return keras.Model(inputs=inputs, outputs=outputs)


model = get_model()
rng = np.random.default_rng(0)
x_train = rng.random((512, 784)).astype("float32")
y_train = np.argmax(x_train[:, :10], axis=1)  # learnable labels

loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
optimizer = keras.optimizers.Adam(learning_rate=1e-3)
train_acc_metric = keras.metrics.SparseCategoricalAccuracy()


def compute_loss_and_updates(trainable_variables, non_trainable_variables,
                             metric_variables, x, y):
    y_pred, non_trainable_variables = model.stateless_call(
        trainable_variables, non_trainable_variables, x)
    loss = loss_fn(y, y_pred)
    metric_variables = train_acc_metric.stateless_update_state(metric_variables, y, y_pred)
    return loss, (non_trainable_variables, metric_variables)


grad_fn = jax.value_and_grad(compute_loss_and_updates, has_aux=True)


@jax.jit
def train_step(state, data):
    (trainable_variables, non_trainable_variables, optimizer_variables,
     metric_variables) = state
    x, y = data
    (loss, (non_trainable_variables, metric_variables)), grads = grad_fn(
        trainable_variables, non_trainable_variables, metric_variables, x, y)
    trainable_variables, optimizer_variables = optimizer.stateless_apply(
        optimizer_variables, grads, trainable_variables)
    return loss, (trainable_variables, non_trainable_variables, optimizer_variables,
                  metric_variables)


optimizer.build(model.trainable_variables)
trainable_variables = model.trainable_variables
non_trainable_variables = model.non_trainable_variables
optimizer_variables = optimizer.variables
metric_variables = train_acc_metric.variables
state = (trainable_variables, non_trainable_variables, optimizer_variables, metric_variables)

losses = []
for _ in range(5):
    for step in range(0, 512, 32):
        data = (x_train[step:step + 32], y_train[step:step + 32])
        loss, state = train_step(state, data)
        losses.append(float(loss))
assert np.mean(losses[-16:]) < np.mean(losses[:16]), losses

trainable_variables, non_trainable_variables, optimizer_variables, metric_variables = state
for variable, value in zip(model.trainable_variables, trainable_variables):
    variable.assign(value)
for variable, value in zip(model.non_trainable_variables, non_trainable_variables):
    variable.assign(value)
acc = float(train_acc_metric.stateless_result(metric_variables))
assert 0.0 <= acc <= 1.0
logits = model.predict(x_train[:32], verbose=0)
np.testing.assert_allclose(float(loss_fn(y_train[:32], logits)),
                           float(compute_loss_and_updates(
                               [v.value for v in model.trainable_variables],
                               [v.value for v in model.non_trainable_variables],
                               train_acc_metric.variables, x_train[:32], y_train[:32])[0]),
                           rtol=1e-5)

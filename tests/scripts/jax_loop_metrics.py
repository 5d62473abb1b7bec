"""Writing a training loop from scratch in JAX: stateless_call, compute_loss_and_updates,
metric variables updated statelessly, an evaluation loop, and a jitted train step."""

import jax
import numpy as np

import cornu as keras
from cornu import layers

keras.utils.set_random_seed(5)
rng = np.random.default_rng(5)

centers = rng.normal(scale=3.0, size=(4, 16)).astype("float32")
labels_all = rng.integers(0, 4, size=(1024,))
x_all = (centers[labels_all] + rng.normal(size=(1024, 16))).astype("float32")
x_train, y_train = x_all[:896], labels_all[:896]
x_val, y_val = x_all[896:], labels_all[896:]


def get_model():
    inputs = keras.Input(shape=(16,), name="features")
    x = layers.Dense(32, activation="relu")(inputs)
    x = layers.Dropout(0.1)(x)
    x = layers.BatchNormalization()(x)
    outputs = layers.Dense(4, name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


model = get_model()
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
optimizer = keras.optimizers.Adam(learning_rate=1e-2)
train_acc_metric = keras.metrics.SparseCategoricalAccuracy()
val_acc_metric = keras.metrics.SparseCategoricalAccuracy()
optimizer.build(model.trainable_variables)


def compute_loss_and_updates(trainable_variables, non_trainable_variables, x, y, seed):
    y_pred, non_trainable_variables = model.stateless_call(
        trainable_variables, non_trainable_variables, x, training=True
    )
    loss = loss_fn(y, y_pred)
    return loss, (y_pred, non_trainable_variables)


grad_fn = jax.value_and_grad(compute_loss_and_updates, has_aux=True)


@jax.jit
def train_step(state, data):
    (
        trainable_variables,
        non_trainable_variables,
        optimizer_variables,
        metric_variables,
    ) = state
    x, y = data
    (loss, (y_pred, non_trainable_variables)), grads = grad_fn(
        trainable_variables, non_trainable_variables, x, y, None
    )
    trainable_variables, optimizer_variables = optimizer.stateless_apply(
        optimizer_variables, grads, trainable_variables
    )
    metric_variables = train_acc_metric.stateless_update_state(metric_variables, y, y_pred)
    return loss, (
        trainable_variables,
        non_trainable_variables,
        optimizer_variables,
        metric_variables,
    )


@jax.jit
def eval_step(state, data):
    trainable_variables, non_trainable_variables, metric_variables = state
    x, y = data
    y_pred, non_trainable_variables = model.stateless_call(
        trainable_variables, non_trainable_variables, x
    )
    loss = loss_fn(y, y_pred)
    metric_variables = val_acc_metric.stateless_update_state(metric_variables, y, y_pred)
    return loss, (trainable_variables, non_trainable_variables, metric_variables)


trainable_variables = [v.value for v in model.trainable_variables]
non_trainable_variables = [v.value for v in model.non_trainable_variables]
optimizer_variables = [v.value for v in optimizer.variables]
metric_variables = [v.value for v in train_acc_metric.variables]
state = trainable_variables, non_trainable_variables, optimizer_variables, metric_variables
assert len(non_trainable_variables) >= 2  # the moving mean and variance (and seed state)

batch_size = 64
accuracies = []
for _epoch in range(3):
    for step in range(len(x_train) // batch_size):
        sl = slice(step * batch_size, (step + 1) * batch_size)
        loss, state = train_step(state, (x_train[sl], y_train[sl]))
    _, _, _, metric_variables = state
    accuracies.append(float(train_acc_metric.stateless_result(metric_variables)))
    # reset the metric between epochs, statelessly
    metric_variables = train_acc_metric.stateless_reset_state()
    state = state[0], state[1], state[2], metric_variables
assert accuracies[-1] > 0.9, accuracies
assert np.isfinite(float(loss))

# write the state back into the model, then evaluate
trainable_variables, non_trainable_variables, optimizer_variables, metric_variables = state
for variable, value in zip(model.trainable_variables, trainable_variables):
    variable.assign(value)
for variable, value in zip(model.non_trainable_variables, non_trainable_variables):
    variable.assign(value)
moving_mean = np.asarray(model.layers[3].moving_mean)
assert not np.allclose(moving_mean, 0.0)  # the stateless calls updated the statistics

eval_state = trainable_variables, non_trainable_variables, [v.value for v in val_acc_metric.variables]
for step in range(len(x_val) // 32):
    sl = slice(step * 32, (step + 1) * 32)
    val_loss, eval_state = eval_step(eval_state, (x_val[sl], y_val[sl]))
val_acc = float(val_acc_metric.stateless_result(eval_state[2]))
assert val_acc > 0.9, val_acc

# the model, with the assigned variables, agrees with the stateful API
model.compile(loss=loss_fn, metrics=[keras.metrics.SparseCategoricalAccuracy()])
_, acc = model.evaluate(x_val, y_val, batch_size=32, verbose=0)
assert abs(acc - val_acc) < 1e-5, (acc, val_acc)

# a stateful metric driven by hand
metric = keras.metrics.Mean()
metric.update_state([1.0, 2.0, 3.0])
metric.update_state([5.0], sample_weight=[3.0])
np.testing.assert_allclose(float(metric.result()), 21.0 / 6.0, rtol=1e-6)
metric.reset_state()
assert float(metric.result()) == 0.0
print("OK")

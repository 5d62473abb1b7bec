"""Example: convolutional VAE (keras.io "Variational AutoEncoder"), JAX-style train_step,
Sampling layer with keras.random.SeedGenerator, loss trackers; random MNIST-shaped data."""
import jax
import numpy as np

import cornu as keras
from cornu import layers, ops


class Sampling(layers.Layer):
    """Uses (z_mean, z_log_var) to sample z, the vector encoding a digit."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = ops.shape(z_mean)[0]
        dim = ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


latent_dim = 2
encoder_inputs = keras.Input(shape=(28, 28, 1))
x = layers.Conv2D(16, 3, activation="relu", strides=2, padding="same")(encoder_inputs)
x = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(x)
x = layers.Flatten()(x)
x = layers.Dense(16, activation="relu")(x)
z_mean = layers.Dense(latent_dim, name="z_mean")(x)
z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
z = Sampling()([z_mean, z_log_var])
encoder = keras.Model(encoder_inputs, [z_mean, z_log_var, z], name="encoder")

latent_inputs = keras.Input(shape=(latent_dim,))
x = layers.Dense(7 * 7 * 32, activation="relu")(latent_inputs)
x = layers.Reshape((7, 7, 32))(x)
x = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
x = layers.Conv2DTranspose(16, 3, activation="relu", strides=2, padding="same")(x)
decoder_outputs = layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(x)
decoder = keras.Model(latent_inputs, decoder_outputs, name="decoder")


class VAE(keras.Model):
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def call(self, x, training=False):
        z_mean, z_log_var, z = self.encoder(x)
        return self.decoder(z), z_mean, z_log_var

    def compute_vae_losses(self, trainable_variables, non_trainable_variables, data):
        (y_pred, z_mean, z_log_var), non_trainable_variables = self.stateless_call(
            trainable_variables, non_trainable_variables, data, training=True)
        reconstruction_loss = ops.mean(ops.sum(keras.losses.binary_crossentropy(data, y_pred), axis=(1, 2)))
        kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
        kl_loss = ops.mean(ops.sum(kl_loss, axis=1))
        total = reconstruction_loss + kl_loss
        return total, (reconstruction_loss, kl_loss, non_trainable_variables)

    def train_step(self, state, data):
        trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables = state
        grad_fn = jax.value_and_grad(self.compute_vae_losses, has_aux=True)
        (total, (rec, kl, non_trainable_variables)), grads = grad_fn(
            trainable_variables, non_trainable_variables, data)
        trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
            optimizer_variables, grads, trainable_variables)
        new_mv, logs = [], {}
        for metric, value in zip(self.metrics, [total, rec, kl]):
            mv = metrics_variables[len(new_mv):len(new_mv) + len(metric.variables)]
            mv = metric.stateless_update_state(mv, value)
            logs[metric.name] = metric.stateless_result(mv)
            new_mv += mv
        return logs, (trainable_variables, non_trainable_variables, optimizer_variables, new_mv)


rng = np.random.default_rng(15)
mnist_digits = (rng.random((256, 28, 28, 1)) > 0.7).astype("float32")
vae = VAE(encoder, decoder)
vae.compile(optimizer=keras.optimizers.Adam())
h = vae.fit(mnist_digits, epochs=2, batch_size=64, verbose=0)
assert set(h.history) == {"total_loss", "reconstruction_loss", "kl_loss"}, h.history.keys()
assert all(np.isfinite(v) for v in h.history["total_loss"])
z_mean_out, _, _ = vae.encoder.predict(mnist_digits[:8], verbose=0)
assert z_mean_out.shape == (8, 2)
decoded = vae.decoder.predict(np.array([[0.0, 0.0]]), verbose=0)
assert decoded.shape == (1, 28, 28, 1)
print("OK")

"""The layers of the Keras guide scripts inside one model: fit (with the noise layers
drawing in training), evaluate and predict, compiled once."""

import numpy as np

import cornu
from cornu import layers


def test_model_of_the_new_layers_trains_without_recompiling():
    cornu.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (50, 10, 10, 3)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[(x[:, :5].mean(axis=(1, 2, 3)) > 127.5).astype(int)]
    inputs = cornu.Input((10, 10, 3))
    h = layers.Rescaling(1 / 255)(inputs)
    h = layers.Resizing(12, 12)(h)
    h = layers.CenterCrop(10, 10)(h)
    h = layers.ZeroPadding2D(1)(h)
    h = layers.Cropping2D(1)(h)
    h = layers.SeparableConv2D(4, 3, padding="same")(h)
    h = layers.PReLU(shared_axes=[1, 2])(h)
    h = layers.SpatialDropout2D(0.1)(h)
    a = layers.DepthwiseConv2D(3, strides=2, padding="same")(h)
    a = layers.Conv2DTranspose(4, 3, strides=2, padding="same")(a)
    a = layers.UpSampling2D(1)(a)
    h = layers.maximum([layers.ReLU(max_value=6.0)(h), layers.LeakyReLU()(a)])
    h = layers.GaussianNoise(0.05)(h)
    h = layers.Reshape((100, 4))(h)
    h = layers.Conv1DTranspose(4, 3, padding="same")(h)
    h = layers.Permute((2, 1))(layers.SpatialDropout1D(0.1)(h))
    h = layers.GaussianDropout(0.1)(layers.ELU()(layers.Flatten()(h)))
    h = layers.average([layers.Dense(8)(h), layers.Identity()(layers.Dense(8)(h))])
    outputs = layers.Softmax()(layers.Dense(2)(h))
    model = cornu.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)  # a partial last batch
    assert np.isfinite(history.history["loss"]).all()
    assert model._engine.traces["train"] == 1
    predicted = model.predict(x, batch_size=16, verbose=0)
    np.testing.assert_allclose(predicted, np.asarray(model(x)), rtol=1e-4, atol=1e-6)

"""A small ResNet on CIFAR-shaped synthetic images: hand-written residual blocks in the
functional API, data augmentation layers in the model, and a ResNet from applications."""

import numpy as np

import cornu as keras
from cornu import layers

keras.utils.set_random_seed(8)
rng = np.random.default_rng(8)

# 3 classes of 32x32x3 images: bright top half, bright bottom half, or a bright center
# (all kept by a horizontal flip)
n = 256
y = rng.integers(0, 3, size=(n,))
x = rng.uniform(0.0, 0.4, size=(n, 32, 32, 3)).astype("float32")
x[y == 0, :16, :] += 0.5
x[y == 1, 16:, :] += 0.5
x[y == 2, 8:24, 8:24] += 0.5
x = (x * 255).astype("uint8")
x_train, y_train, x_test, y_test = x[:208], y[:208], x[208:], y[208:]


def residual_block(x, filters, strides=1):
    shortcut = x
    x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(momentum=0.8)(x)
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(momentum=0.8)(x)
    if strides != 1 or shortcut.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=strides, use_bias=False)(shortcut)
        shortcut = layers.BatchNormalization(momentum=0.8)(shortcut)
    x = layers.add([x, shortcut])
    return layers.Activation("relu")(x)


data_augmentation = keras.Sequential(
    [layers.RandomFlip("horizontal"), layers.RandomTranslation(0.05, 0.05)],
    name="data_augmentation",
)

inputs = keras.Input(shape=(32, 32, 3))
x = data_augmentation(inputs)
x = layers.Rescaling(1.0 / 255)(x)
x = layers.Conv2D(8, 3, padding="same", use_bias=False)(x)
x = layers.BatchNormalization(momentum=0.8)(x)
x = layers.Activation("relu")(x)
x = residual_block(x, 8)
x = residual_block(x, 16, strides=2)
x = residual_block(x, 16)
x = layers.GlobalAveragePooling2D()(x)
x = layers.Dropout(0.2)(x)
outputs = layers.Dense(3, activation="softmax")(x)
model = keras.Model(inputs, outputs, name="small_resnet")
model.summary()
assert model.get_layer("data_augmentation").output.shape[1:] == (32, 32, 3)

model.compile(
    optimizer=keras.optimizers.Adam(3e-3),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
history = model.fit(x_train, y_train, batch_size=32, epochs=5, validation_split=0.1, verbose=0)
loss, acc = model.evaluate(x_test, y_test, verbose=0)
assert acc > 0.6, (acc, history.history)

# augmentation is inactive at inference: predict is deterministic
p1 = model.predict(x_test[:8], verbose=0)
p2 = model.predict(x_test[:8], verbose=0)
np.testing.assert_allclose(p1, p2, rtol=1e-6)
aug1 = np.asarray(data_augmentation(x_test[:4].astype("float32"), training=True))
assert aug1.shape == (4, 32, 32, 3)

# a ResNet from applications, untrained, as a feature extractor on the same shapes
backbone = keras.applications.ResNet50(
    weights=None, include_top=False, input_shape=(32, 32, 3), pooling="avg"
)
assert backbone.output_shape == (None, 2048)
features = backbone.predict(x_test[:2].astype("float32"), verbose=0)
assert features.shape == (2, 2048) and np.isfinite(features).all()
print("OK")

"""A small convnet with data augmentation and normalization inside the model.

Run: python examples/cifar_augment.py

The images are made here, deterministically: 32x32 RGB pictures (CIFAR-10's size) of
four shapes (disc, square, triangle, cross) of random colour, size and place, bright on a
noisy dark background. The label is the shape, so a model has to learn shapes,
not colours; chance is 25%.

Inside the model: RandomFlip and RandomTranslation (active only while training, seeded,
in the compiled step) and Normalization, whose mean and variance per channel `adapt`
learns from the training images. The model is saved in Keras' format (.keras) and in
cornu's (.cornu), loaded back, and must predict exactly what it predicted before.

CORNU_DEMO_EPOCHS=N trains N epochs (default 15), CORNU_DEMO_ROWS=N uses N training
images (default 4000), CORNU_DEMO_DIR names the folder for the saved models (default: a
new temporary folder).
"""

import os
import tempfile
from pathlib import Path

import numpy as np

import cornu
from cornu import layers

CLASSES = ("disc", "square", "triangle", "cross")
SIZE = 32


def make_images(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` images (uint8, (count, 32, 32, 3)) and their labels, the same for a seed."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(CLASSES), count)
    rows, cols = np.mgrid[0:SIZE, 0:SIZE].astype("float32")
    images = np.empty((count, SIZE, SIZE, 3), "float32")
    for i, label in enumerate(labels):
        radius = rng.uniform(5, 10)
        cy, cx = rng.uniform(radius + 1, SIZE - radius - 1, 2)
        dy, dx = rows - cy, cols - cx
        if label == 0:  # disc
            inside = dy**2 + dx**2 <= radius**2
        elif label == 1:  # square
            inside = (np.abs(dy) <= radius * 0.8) & (np.abs(dx) <= radius * 0.8)
        elif label == 2:  # triangle, pointing up
            inside = (dy <= radius * 0.8) & (np.abs(dx) <= (dy + radius) * 0.55)
        else:  # cross
            arm = radius * 0.3
            inside = ((np.abs(dy) <= arm) | (np.abs(dx) <= arm)) & \
                     (np.abs(dy) <= radius) & (np.abs(dx) <= radius)
        background = rng.uniform(0, 90, 3)  # a dark background, a bright shape
        foreground = rng.uniform(150, 255, 3)
        picture = np.where(inside[..., None], foreground, background)
        images[i] = picture + rng.normal(0, 8, (SIZE, SIZE, 3))
    return np.clip(images, 0, 255).astype("uint8"), labels


def build_model(train_images: np.ndarray) -> cornu.Model:
    normalization = layers.Normalization(name="normalization")
    normalization.adapt(train_images.astype("float32"))  # mean and variance per channel
    inputs = cornu.Input(shape=(SIZE, SIZE, 3))
    x = layers.RandomFlip("horizontal", seed=1)(inputs)
    x = layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=2)(x)
    x = normalization(x)
    for filters in (16, 32, 64):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(len(CLASSES), activation="softmax")(x)
    return cornu.Model(inputs, outputs, name="cifar_augment")


def main() -> None:
    epochs = int(os.environ.get("CORNU_DEMO_EPOCHS", 15))
    rows = int(os.environ.get("CORNU_DEMO_ROWS", 4000))
    folder = Path(os.environ.get("CORNU_DEMO_DIR") or tempfile.mkdtemp(prefix="cifar_augment_"))
    folder.mkdir(parents=True, exist_ok=True)

    cornu.utils.set_random_seed(0)
    x_train, y_train = make_images(rows, seed=0)
    x_test, y_test = make_images(1000, seed=1)
    x_train, x_test = x_train.astype("float32"), x_test.astype("float32")

    model = build_model(x_train)
    model.summary()
    model.compile(optimizer=cornu.optimizers.Adam(2e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=64, epochs=epochs, validation_split=0.1)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Test accuracy: {accuracy:.4f} (chance: {1 / len(CLASSES):.2f}), loss {loss:.4f}")

    predictions = model.predict(x_test[:64], verbose=0)
    for suffix in (".keras", ".cornu"):
        path = folder / f"cifar_augment{suffix}"
        model.save(path)
        reloaded = cornu.models.load_model(path)
        same = np.array_equal(reloaded.predict(x_test[:64], verbose=0), predictions)
        print(f"Saved {path}; reloaded, it predicts {'the same' if same else 'DIFFERENTLY'}")
        if not same:
            raise SystemExit(f"cifar_augment.py: the model reloaded from {path} predicts "
                             "differently")


if __name__ == "__main__":
    main()

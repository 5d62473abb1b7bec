"""The models the command line trains: the lecture's MLP and Keras' mnist_convnet."""

from __future__ import annotations

import cornu
from cornu.cli.errors import CliError

MODELS = ("mlp", "cnn")
#: per model: default epochs and batch size (the lecture's 20 x 100; Keras' 15 x 128)
DEFAULTS = {"mlp": (20, 100), "cnn": (15, 128)}
_CNN_LAYERS = ("Conv2D", "MaxPooling2D", "Flatten", "Dropout")


def lecture_mlp() -> cornu.Sequential:
    """784-500-500-10: sigmoid hidden layers, softmax output."""
    from cornu.layers import Dense

    return cornu.Sequential([
        Dense(500, input_shape=(784,), activation="sigmoid"),
        Dense(500, activation="sigmoid"),
        Dense(10, activation="softmax"),
    ], name="lecture_mlp")


def mnist_convnet() -> cornu.Sequential:
    """Keras' mnist_convnet: two conv/pool blocks, dropout, softmax; 34,826 parameters."""
    missing = [name for name in _CNN_LAYERS if not hasattr(cornu.layers, name)]
    if missing:
        raise CliError(f"the cnn model needs {', '.join(missing)} in cornu.layers, which this "
                       "cornu does not have yet; use --model mlp")
    layers = cornu.layers
    return cornu.Sequential([
        cornu.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ], name="mnist_convnet")


def build(kind: str, optimizer: str = "adam") -> cornu.Sequential:
    """A fresh, compiled model (categorical cross-entropy, accuracy)."""
    model = lecture_mlp() if kind == "mlp" else mnist_convnet()
    try:
        model.compile(loss="categorical_crossentropy", optimizer=optimizer,
                      metrics=["accuracy"])
    except ValueError as exc:
        raise CliError(f"--optimizer {optimizer}: {exc}") from None
    return model


def input_layout(model) -> str:
    """'flat' for (None, 784) inputs, 'image' for (None, 28, 28, 1), 'plain' for
    (None, 28, 28); a CliError for any other input."""
    shape = tuple(model.input_shape or ())[1:]
    layouts = {(784,): "flat", (28, 28, 1): "image", (28, 28): "plain"}
    if shape not in layouts:
        raise CliError(f"the model takes inputs of shape {shape}; cornu reads digits as 28x28 "
                       "pictures, so it needs (784,), (28, 28) or (28, 28, 1)")
    return layouts[shape]


def shape_inputs(images, layout: str):
    """(N, 28, 28) float32 pictures in [0, 1] -> the model's input layout."""
    if layout == "flat":
        return images.reshape(len(images), 784)
    if layout == "image":
        return images[..., None]
    return images

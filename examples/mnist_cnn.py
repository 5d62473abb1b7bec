"""A simple convnet on MNIST: Keras' mnist_convnet example, written for cornu.

Conv2D(32, 3x3, relu) -> MaxPooling(2) -> Conv2D(64, 3x3, relu) -> MaxPooling(2) ->
Flatten -> Dropout(0.5) -> Dense(10, softmax): 34,826 parameters, about 99% test
accuracy after 15 epochs.

Run: python examples/mnist_cnn.py [--epochs N]
MNIST is read from $CORNU_DATA/mnist/, the user cache, the copy in the clone's
data/mnist/, or downloaded once.
"""

import argparse

import numpy as np

import cornu
from cornu import layers

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=15)
parser.add_argument("--seed", type=int, default=None, help="for a repeatable run")
args = parser.parse_args()
if args.seed is not None:
    cornu.utils.set_random_seed(args.seed)

# Model / data parameters
num_classes = 10
input_shape = (28, 28, 1)

# Load the data and split it between train and test sets
(x_train, y_train), (x_test, y_test) = cornu.datasets.mnist.load_data()

# Scale images to the [0, 1] range
x_train = x_train.astype("float32") / 255
x_test = x_test.astype("float32") / 255
# Make sure images have shape (28, 28, 1)
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)
print("x_train shape:", x_train.shape)
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")

# convert class vectors to binary class matrices
y_train = cornu.utils.to_categorical(y_train, num_classes)
y_test = cornu.utils.to_categorical(y_test, num_classes)

model = cornu.Sequential(
    [
        cornu.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)
model.summary()

batch_size = 128
epochs = args.epochs

model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1)

score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])

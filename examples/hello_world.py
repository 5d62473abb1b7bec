"""The Hello World of deep learning, as the lecture writes it (Keras 1 spellings kept).

Run: make demo   (or: python examples/hello_world.py)
MNIST is read from $CORNU_DATA/mnist/, the user cache, or downloaded once.
"""

import warnings

import numpy as np

from cornu.datasets import mnist
from cornu.layers import Activation, Dense
from cornu.models import Sequential
from cornu.utils import to_categorical

# The lecture's code uses Keras 1 names (output_dim, nb_epoch); cornu accepts them and
# warns once each. Show the warnings, but only once.
warnings.simplefilter("once", DeprecationWarning)

(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train = x_train.reshape(60000, 28 * 28).astype("float32") / 255
x_test = x_test.reshape(10000, 28 * 28).astype("float32") / 255
y_train = to_categorical(y_train, 10)
y_test = to_categorical(y_test, 10)

# Step 1: define a set of functions
model = Sequential()
model.add(Dense(input_dim=28 * 28, output_dim=500))
model.add(Activation("sigmoid"))
model.add(Dense(output_dim=500))
model.add(Activation("sigmoid"))
model.add(Dense(output_dim=10))
model.add(Activation("softmax"))
model.summary()

# Step 2: goodness of function
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])

# Step 3: pick the best function
model.fit(x_train, y_train, batch_size=100, nb_epoch=20)

score = model.evaluate(x_test, y_test)
print("Total loss on Testing Set:", score[0])
print("Accuracy of Testing Set:", score[1])

result = model.predict(x_test[:5])
print("Predicted digits of the first 5 test images:", np.argmax(result, axis=1))
print("True digits:                                 ", np.argmax(y_test[:5], axis=1))

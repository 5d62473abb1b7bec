"""The Hello World of deep learning, as the lecture writes it (Keras 1 spellings kept).

Run: make demo   (or: python examples/hello_world.py)
MNIST is read from $CORNU_DATA/mnist/, the user cache, the copy in the clone's
data/mnist/, or downloaded once.

For a quick check, CORNU_DEMO_EPOCHS=N trains N epochs instead of the lecture's 20 and
CORNU_DEMO_ROWS=N trains on the first N training images instead of all 60,000
(the tests run CORNU_DEMO_EPOCHS=1 CORNU_DEMO_ROWS=3000).
"""

import os
import sys
import warnings

import numpy as np

from cornu.datasets import mnist
from cornu.layers import Activation, Dense
from cornu.models import Sequential
from cornu.utils import to_categorical

# The lecture's code uses Keras 1 names (output_dim, nb_epoch); cornu accepts them and
# warns once each. Show the warnings, but only once.
warnings.simplefilter("once", DeprecationWarning)

try:
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
except (OSError, ValueError) as err:  # offline without the files, or a damaged file
    sys.exit(f"hello_world.py: {err}")  # the message says what to do; no traceback
x_train = x_train.reshape(60000, 28 * 28).astype("float32") / 255
x_test = x_test.reshape(10000, 28 * 28).astype("float32") / 255
y_train = to_categorical(y_train, 10)
y_test = to_categorical(y_test, 10)
# A quick check trains less (see the docstring); the lecture: all 60,000 rows, 20 epochs.
rows = int(os.environ.get("CORNU_DEMO_ROWS", 60000))
epochs = int(os.environ.get("CORNU_DEMO_EPOCHS", 20))
x_train, y_train = x_train[:rows], y_train[:rows]

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
model.fit(x_train, y_train, batch_size=100, nb_epoch=epochs)

score = model.evaluate(x_test, y_test)
print(f"Total loss on Testing Set: {score[0]:.4f}")
print(f"Accuracy of Testing Set: {score[1]:.4f}")

result = model.predict(x_test[:5])
print("Predicted digits of the first 5 test images:", np.argmax(result, axis=1))
print("True digits:                                 ", np.argmax(y_test[:5], axis=1))

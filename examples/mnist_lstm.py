"""MNIST read by an LSTM: each digit is a sequence of 28 rows of 28 pixels.

LSTM(128) -> Dense(10, softmax), Adam with its rate decaying from 1e-3 to 0 over the run
(CosineDecay), batch 128: the issue's target is at least 98.5% test accuracy within 10
epochs. Measured 2026-12-04 (10 epochs): cornu 98.55% with --seed 0 (train accuracy 99.41%
in the 10th epoch) and 98.47% with --seed 1 (99.36%), Keras 3 98.49% with --seed 0
(99.37%); on 2026-12-05, after the LSTM's kernel gradients moved after its loop (the
same sums in another order): cornu 98.51% with --seed 0 and 98.47% with --seed 1. With
Adam's constant 1e-3 (--constant-lr): cornu 98.30% with --seed 0 and with --seed 1, Keras 3
98.63% with --seed 0. So the target sits within the spread of seeds,
for both libraries.

The gap between those runs is the draw of the initial weights and of the batch order,
not the training: from the same initial weights and batch order (shuffle=False) cornu's
and Keras' fits agree to 1e-6 in the weights after two epochs (initializers, the LSTM,
Adam's defaults, the schedule, the loss and the last partial batch alike; the test suite
checks it), and the initial weights' statistics are the same (glorot_uniform kernels,
orthogonal recurrent kernel, forget-gate bias 1). Runs of the constant rate end where its
last steps happen to leave them (about +-0.2 points); the decaying rate ends its
10 epochs with small steps, which gives the higher test accuracy both libraries reach.

Run: python examples/mnist_lstm.py [--epochs N] [--rows N] [--test-rows N] [--seed N]
     [--constant-lr] [--keras]
--keras runs the same code with Keras 3 (`import keras`) for the figure beside cornu's.
CORNU_DEMO_EPOCHS / CORNU_DEMO_ROWS set the defaults of --epochs / --rows, as for
hello_world.py. MNIST is read from $CORNU_DATA/mnist/, the user cache, the copy in the
clone's data/mnist/, or downloaded once.
"""

import argparse
import os
import time

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=int(os.environ.get("CORNU_DEMO_EPOCHS", 10)))
parser.add_argument("--rows", type=int, default=int(os.environ.get("CORNU_DEMO_ROWS", 60000)),
                    help="train on the first N training images")
parser.add_argument("--test-rows", type=int, default=10000,
                    help="evaluate on the first N test images")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--constant-lr", action="store_true",
                    help="Adam's default constant rate (1e-3) instead of the cosine decay")
parser.add_argument("--keras", action="store_true", help="run it with Keras 3 instead")
args = parser.parse_args()

if args.keras:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras as lib

    from cornu.datasets import mnist  # the same files for both
else:
    import cornu as lib
    from cornu.datasets import mnist
lib.utils.set_random_seed(args.seed)

(x_train, y_train), (x_test, y_test) = mnist.load_data()
# (N, 28, 28): 28 time steps of 28 features, scaled to [0, 1]
x_train = x_train[:args.rows].astype("float32") / 255
y_train = y_train[:args.rows]
x_test = x_test[:args.test_rows].astype("float32") / 255
y_test = y_test[:args.test_rows]

model = lib.Sequential([
    lib.Input(shape=(28, 28)),
    lib.layers.LSTM(128),
    lib.layers.Dense(10, activation="softmax"),
])
model.summary()
steps = -(-len(x_train) // 128) * args.epochs
rate = 1e-3 if args.constant_lr else lib.optimizers.schedules.CosineDecay(1e-3, steps)
model.compile(optimizer=lib.optimizers.Adam(rate), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])

start = time.perf_counter()
model.fit(x_train, y_train, batch_size=128, epochs=args.epochs, verbose=2)
seconds = time.perf_counter() - start
loss, accuracy = model.evaluate(x_test, y_test, batch_size=512, verbose=0)
print(f"{'keras' if args.keras else 'cornu'}: {args.epochs} epochs on {len(x_train)} images "
      f"in {seconds:.1f} s; test loss {loss:.4f}, test accuracy {accuracy:.4f}")

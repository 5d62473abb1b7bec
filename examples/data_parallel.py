"""The lecture's MNIST net trained data-parallel: each batch split over all the devices
of the job, the weights replicated, one compiled program (docs/distributed.md).

Run, on one machine with several GPUs (all the visible ones are used):
    python examples/data_parallel.py
on the CPU, as if it had 4 devices:
    JAX_PLATFORMS=cpu JAX_NUM_CPU_DEVICES=4 python examples/data_parallel.py
as two processes on one machine (each with its devices; the job joins them):
    export KERAS_DISTRIBUTION_JOB_ADDRESSES=localhost:12355
    export KERAS_DISTRIBUTION_NUM_PROCESSES=2
    KERAS_DISTRIBUTION_PROCESS_ID=0 python examples/data_parallel.py --join &
    KERAS_DISTRIBUTION_PROCESS_ID=1 python examples/data_parallel.py --join

Every process reads the same MNIST rows and passes them whole; batch_size is the global
batch. MNIST is read as in examples/hello_world.py ($CORNU_DATA/mnist/, the user cache,
or downloaded once). CORNU_DEMO_EPOCHS=N (default 2) and CORNU_DEMO_ROWS=N (default
60000) shorten the run.
"""

import os
import sys

import jax
import numpy as np

import cornu
from cornu import distribution
from cornu.datasets import mnist
from cornu.layers import Dense, Input
from cornu.utils import to_categorical


def main() -> None:
    if "--join" in sys.argv[1:]:
        distribution.initialize()  # KERAS_DISTRIBUTION_* variables, or SLURM/MPI/k8s
    try:
        (x_train, y_train), (x_test, y_test) = mnist.load_data()
    except (OSError, ValueError) as err:
        sys.exit(f"data_parallel.py: {err}")
    rows = int(os.environ.get("CORNU_DEMO_ROWS", 60000))
    epochs = int(os.environ.get("CORNU_DEMO_EPOCHS", 2))
    x_train = x_train[:rows].reshape(-1, 784).astype("float32") / 255
    y_train = to_categorical(y_train[:rows], 10)
    x_test = x_test.reshape(-1, 784).astype("float32") / 255
    y_test = to_categorical(y_test, 10)

    data_parallel = distribution.DataParallel()  # all devices of all processes
    print(f"process {jax.process_index()} of {data_parallel.num_processes}: "
          f"devices {distribution.list_devices()}", flush=True)
    cornu.utils.set_random_seed(0)  # the same weights and order in every process
    with data_parallel.scope():
        model = cornu.Sequential([Input((784,)), Dense(500, activation="sigmoid"),
                                  Dense(500, activation="sigmoid"),
                                  Dense(10, activation="softmax")])
        model.compile(loss="categorical_crossentropy", optimizer="adam",
                      metrics=["accuracy"])
        history = model.fit(x_train, y_train, batch_size=100, epochs=epochs, verbose=0)
        loss, accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
    print(f"loss per epoch: {[round(v, 4) for v in history.history['loss']]}")
    print(f"Test accuracy: {accuracy:.4f} (loss {loss:.4f}); first weights "
          f"{np.asarray(model.get_weights()[0]).ravel()[:3]}", flush=True)


if __name__ == "__main__":
    main()

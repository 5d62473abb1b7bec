"""MNIST digits, as `keras.datasets.mnist`: `(x_train, y_train), (x_test, y_test) = load_data()`.

See `cornu.data.datasets.mnist` for where the files are looked up and downloaded.
"""

from cornu.data.datasets.mnist import load_data

__all__ = ["load_data"]

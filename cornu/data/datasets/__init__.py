"""Datasets on disk: lookup in $CORNU_DATA and the cache, verified downloads, parsing.

The public spelling is `cornu.datasets.mnist.load_data()`, as in Keras.
"""

from cornu.data.datasets import mnist
from cornu.data.datasets._cache import ChecksumError, DatasetUnavailableError

__all__ = ["ChecksumError", "DatasetUnavailableError", "mnist"]

"""Datasets on disk: lookup in $CORNU_DATA and the cache, verified downloads, parsing.

The public spelling is `cornu.datasets.<name>.load_data()`, as in Keras; docs/datasets.md
lists the data sets, their files and how they are read.
"""

from cornu.data.datasets import mnist
from cornu.data.datasets._cache import ChecksumError, DatasetUnavailableError

__all__ = ["ChecksumError", "DatasetUnavailableError", "mnist"]

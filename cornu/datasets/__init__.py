"""Keras-style datasets: `cornu.datasets.mnist.load_data()` and the others of
`keras.datasets` (docs/datasets.md lists their sources, sizes, licences and checksums)."""

from cornu.datasets import (
    boston_housing,
    california_housing,
    cifar10,
    cifar100,
    fashion_mnist,
    imdb,
    mnist,
    reuters,
)

__all__ = ["boston_housing", "california_housing", "cifar10", "cifar100", "fashion_mnist",
           "imdb", "mnist", "reuters"]

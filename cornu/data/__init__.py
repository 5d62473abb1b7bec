"""Data helpers: labels (`to_categorical`) and datasets (`cornu.data.datasets`)."""

from cornu.data.labels import to_categorical

__all__ = ["to_categorical"]

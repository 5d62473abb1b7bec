"""Models: Sequential and the Model base."""

from cornu.models.model import Model
from cornu.models.sequential import Sequential

__all__ = ["Model", "Sequential"]

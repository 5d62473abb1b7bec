"""Models: Sequential, the Model base (and functional models), load_model."""

from cornu.models.model import Model
from cornu.models.sequential import Sequential
from cornu.saving import load_model

__all__ = ["Model", "Sequential", "load_model"]

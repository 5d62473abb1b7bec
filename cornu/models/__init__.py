"""Models: Sequential, the Model base (and functional models), load_model."""

from cornu.models.cloning import clone_model, model_from_json
from cornu.models.functional import Functional
from cornu.models.model import Model
from cornu.models.sequential import Sequential
from cornu.saving import load_model

__all__ = ["Functional", "Model", "Sequential", "clone_model", "load_model", "model_from_json"]

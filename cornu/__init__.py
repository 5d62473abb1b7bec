"""cornu: Keras-style deep learning on JAX/XLA.

    model = cornu.Sequential()
    model.add(cornu.layers.Dense(500, input_shape=(784,), activation="sigmoid"))
    model.add(cornu.layers.Dense(10, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=100, epochs=20)
"""

from cornu import (  # _cpu_devices first: the CPU's cores as devices, before JAX starts
    _cpu_devices,  # noqa: F401
    activations,
    applications,
    backend,
    callbacks,
    constraints,
    datasets,
    distribution,
    initializers,
    layers,
    losses,
    metrics,
    mixed_precision,
    models,
    ops,
    optimizers,
    random,
    regularizers,
    saving,
    utils,
)
from cornu import backend as config  # keras.config: the same settings
from cornu.layers import Input, KerasTensor
from cornu.models import Model, Sequential
from cornu.training import compile_cache as _compile_cache
from cornu.variables import StatelessScope, Variable

_compile_cache.enable()

__version__ = "0.1.0"

__all__ = [
    "Input",
    "KerasTensor",
    "Model",
    "Sequential",
    "StatelessScope",
    "Variable",
    "__version__",
    "activations",
    "applications",
    "backend",
    "callbacks",
    "config",
    "constraints",
    "datasets",
    "distribution",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "mixed_precision",
    "models",
    "ops",
    "optimizers",
    "random",
    "regularizers",
    "saving",
    "utils",
]

"""The CPU route of a model's matrix products and sums (loop.compiler_options): recurrent
layers ask for a library's dot fusions, attention for XLA's own library fusions, other
models keep the default; the strongest ask of a model's layers wins."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import cornu
from cornu.training import loop


def _compiled(*layers, shape=(5, 3)):
    model = cornu.Sequential([cornu.Input(shape), *layers, cornu.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.zeros((4, *shape), np.float32), np.zeros((4, 2), np.float32), verbose=0)
    return model


class _SelfAttention(cornu.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.attention = cornu.layers.MultiHeadAttention(num_heads=2, key_dim=4)

    def call(self, x):
        return self.attention(x, x)


def test_models_take_the_strongest_ask_of_their_layers():
    assert _compiled(cornu.layers.Bidirectional(cornu.layers.GRU(4)))._engine.products == (
        "library_dots")
    assert _compiled(cornu.layers.Flatten())._engine.products == "eigen"
    assert _compiled(_SelfAttention(), cornu.layers.Flatten())._engine.products == "library"
    both = _compiled(_SelfAttention(), cornu.layers.LSTM(3))
    assert both._engine.products == "library_dots"
    assert loop.strongest_products([]) == "eigen"


def test_each_route_sets_its_options(monkeypatch):
    monkeypatch.delenv("CORNU_CPU_XLA_DEFAULTS", raising=False)
    monkeypatch.setattr(loop, "on_gpu", lambda: False)
    monkeypatch.setattr(jax, "default_backend", lambda: "cpu")
    if not (loop._has_ynn_fusions() and loop._measured_on(loop.jaxlib_version())):
        pytest.skip("this jaxlib gets XLA's defaults for the experimental CPU options")
    key = "xla_cpu_experimental_ynn_fusion_type"
    assert loop.compiler_options(1000, "library_dots")[key] == (
        "LIBRARY_FUSION_TYPE_DOT,LIBRARY_FUSION_TYPE_REDUCE")
    assert loop.compiler_options(10, "library_dots")[key] == "LIBRARY_FUSION_TYPE_DOT"
    assert loop.compiler_options(10)[key] == ""
    assert loop.compiler_options(1000)[key] == "LIBRARY_FUSION_TYPE_REDUCE"
    library = loop.compiler_options(10, "library")
    assert key not in library and library["xla_cpu_prefer_vector_width"] == 512
    with pytest.raises(ValueError, match="products must be one of .* Received: products='ynn'"):
        loop.compiler_options(10, "ynn")

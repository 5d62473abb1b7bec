"""Models that hold a recurrent layer compile their training programs with a library's
matrix products on the CPU (loop.compiler_options(library_dots=True)); others keep the
default choice."""

from __future__ import annotations

import jax
import numpy as np

import cornu
from cornu.training import loop


def _compiled(*layers):
    model = cornu.Sequential([cornu.Input((5, 3)), *layers, cornu.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.zeros((4, 5, 3), np.float32), np.zeros((4, 2), np.float32), verbose=0)
    return model


def test_recurrent_models_ask_for_library_dots(monkeypatch):
    assert _compiled(cornu.layers.Bidirectional(cornu.layers.GRU(4)))._engine.library_dots
    assert not _compiled(cornu.layers.Flatten())._engine.library_dots
    monkeypatch.delenv("CORNU_CPU_XLA_DEFAULTS", raising=False)
    with monkeypatch.context() as patch:
        patch.setattr(loop, "on_gpu", lambda: False)
        patch.setattr(jax, "default_backend", lambda: "cpu")
        if loop._has_ynn_fusions() and loop._measured_on(loop.jaxlib_version()):
            kinds = loop.compiler_options(1000, library_dots=True)[
                "xla_cpu_experimental_ynn_fusion_type"]
            assert kinds == "LIBRARY_FUSION_TYPE_DOT,LIBRARY_FUSION_TYPE_REDUCE"
            assert loop.compiler_options(10, library_dots=True)[
                "xla_cpu_experimental_ynn_fusion_type"] == "LIBRARY_FUSION_TYPE_DOT"
            assert loop.compiler_options(10)["xla_cpu_experimental_ynn_fusion_type"] == ""

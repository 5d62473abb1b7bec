"""Helpers of the ops tests: cases, running them, comparing results, Keras' ops where
importable, and a stand-in for cornu.Variable.

Speed: run eagerly, each primitive costs XLA ~40 ms to compile for each new shape, so the
cases of a module run as one jitted program (`run`) with the NumPy arrays as its inputs,
Keras' calls in the same program (XLA merges the parts that are the same computation).
Cases that need concrete values (`eager=True`) run eagerly.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest


@dataclass
class Case:
    """One call `module.<name>(*args, **kwargs)`. `ref` computes the expected value with
    NumPy from the same arguments (None: Keras is the only reference); `keras` says whether
    to compare with keras.ops; `eager` keeps the call out of jit."""

    name: str
    args: tuple
    kwargs: dict
    ref: Any = None
    keras: bool = True
    eager: bool = False
    id: str = field(default="")
    keras_kwargs: dict | None = None  # when Keras needs other arguments for the same result


def case_maker():
    """A `case(name, *args, ref=None, keras=None, eager=False, **kwargs)` that numbers the
    cases of each name; by default only the first one of a name is compared with Keras."""
    seen: Counter = Counter()

    def case(name, *args, ref=None, keras=None, eager=False, **kwargs):
        seen[name] += 1
        first = seen[name] == 1
        return Case(name, args, kwargs, ref, first if keras is None else keras, eager,
                    f"{name}-{seen[name]}")

    return case


def params(cases):
    return [pytest.param(c, id=c.id) for c in cases]


class Wrapped:
    """Like cornu.Variable: no shape, no dtype, only __jax_array__."""

    def __init__(self, value):
        self._value = value

    def __jax_array__(self):
        return jnp.asarray(self._value)


def _call(module, c: Case, values, wrapper=lambda v: v, kwargs=None):
    leaves, tree = jax.tree.flatten((c.args, c.kwargs if kwargs is None else kwargs))
    leaves = list(leaves)
    slots = [i for i, leaf in enumerate(leaves) if isinstance(leaf, np.ndarray)]
    for i, v in zip(slots, values, strict=True):
        leaves[i] = wrapper(v)
    args, kwargs = jax.tree.unflatten(tree, leaves)
    return getattr(module, c.name)(*args, **kwargs)


def _inputs(c: Case):
    return [leaf for leaf in jax.tree.leaves((c.args, c.kwargs)) if isinstance(leaf, np.ndarray)]


def _keras_call(kops, c: Case, values):
    # Keras' own code broadcasts implicitly here and there; the strict setting of this
    # suite (jax_numpy_rank_promotion="raise") is cornu's, so it does not apply to Keras
    with jax.numpy_rank_promotion("allow"):
        return _call(kops, c, values, kwargs=c.keras_kwargs)


def run(module, cases, kops=None) -> tuple[dict[str, Any], dict[str, Any]]:
    """{case id: result or the exception it raised} of `module`, and the same of keras.ops
    (`kops`, if given) for the cases marked `keras`."""
    errors: dict[tuple[str, str], Exception] = {}

    def attempt(side, c, call, *args):
        try:
            return call(*args)
        except Exception as error:  # kept for that case's test to re-raise
            errors[side, c.id] = error
            return None

    def both(c, values, keras):
        ours = attempt("ours", c, _call, module, c, values)
        return ours, attempt("theirs", c, _keras_call, kops, c, values) if keras else None

    def program(inputs):
        return {c.id: both(c, inputs[c.id], kops is not None and c.keras)
                for c in cases if not c.eager}

    out = jax.jit(program)({c.id: _inputs(c) for c in cases if not c.eager})
    out.update({c.id: both(c, _inputs(c), kops is not None and c.keras)
                for c in cases if c.eager})
    results = {side: {k: pair[i] for k, pair in out.items()}
               for i, side in enumerate(("ours", "theirs"))}
    for (side, key), error in errors.items():
        results[side][key] = error
    return results["ours"], results["theirs"]


def result(results, c: Case):
    out = results[c.id]
    if isinstance(out, Exception):
        raise out
    return out


def check_takes_jax_array_objects(module, c: Case):
    """The op gives the same with every array passed as a Wrapped (cornu.Variable
    offers its value through __jax_array__): the same program, or eagerly the same value."""
    values = _inputs(c)
    if c.eager:
        assert_same(_call(module, c, values, Wrapped), _call(module, c, values))
        return
    plain = jax.make_jaxpr(lambda *v: _call(module, c, v))(*values)
    wrapped = jax.make_jaxpr(lambda *v: _call(module, c, v, Wrapped))(*values)
    assert str(wrapped) == str(plain)


def assert_same(ours, theirs, *, dtype=True, rtol=1e-5, atol=1e-6):
    """Same structure, shapes, values (NaN equal to NaN) and, if `dtype`, dtypes."""
    if isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)), type(ours)
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            assert_same(a, b, dtype=dtype, rtol=rtol, atol=atol)
        return
    a, b = np.asarray(ours), np.asarray(theirs)
    assert a.shape == b.shape, (a.shape, b.shape)
    if dtype:
        assert a.dtype == b.dtype, (a.dtype, b.dtype)
    if a.dtype == bool or b.dtype == bool:
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


def keras_ops_or_none():
    """keras.ops, or None where Keras is missing or broken (its tests say why)."""
    try:
        return keras_ops()
    except (pytest.skip.Exception, Exception):
        return None


def keras_ops():
    """keras.ops on the JAX backend, or a skip."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip(f"keras runs on {keras.backend.backend()}, the reference is its JAX backend")
    return keras.ops

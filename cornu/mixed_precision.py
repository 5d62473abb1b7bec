"""Dtype policies, Keras' names: 'float32' (the default) and 'mixed_bfloat16'.

Under 'mixed_bfloat16' layers keep float32 weights and compute in bfloat16 (the fast
matrix units of recent GPUs); normalization layers compute in float32, and the model's
outputs, the loss and the optimizer stay float32. Opt in with
`cornu.mixed_precision.set_global_policy("mixed_bfloat16")` before building the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

__all__ = ["DTypePolicy", "Policy", "global_policy", "set_global_policy"]


@dataclass(frozen=True)
class DTypePolicy:
    name: str
    compute_dtype: str
    variable_dtype: str = "float32"

    def cast(self, tree):
        """Floating arrays of `tree` in the compute dtype (integers untouched)."""
        if self.compute_dtype == "float32":
            return tree
        dtype = jnp.dtype(self.compute_dtype)
        return jax.tree.map(
            lambda a: a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a, tree)


Policy = DTypePolicy  # Keras 2 name
_POLICIES = {
    "float32": DTypePolicy("float32", "float32"),
    "mixed_bfloat16": DTypePolicy("mixed_bfloat16", "bfloat16"),
}
_global = _POLICIES["float32"]


def get(policy: str | DTypePolicy, argument: str = "policy") -> DTypePolicy:
    if isinstance(policy, DTypePolicy):
        return policy
    if policy in _POLICIES:
        return _POLICIES[policy]
    hint = (" mixed_float16 needs loss scaling, which cornu does not do; use mixed_bfloat16."
            if policy == "mixed_float16" else "")
    raise ValueError(f"Unknown dtype policy: {argument}={policy!r}. Known policies: "
                     f"{', '.join(sorted(_POLICIES))}.{hint}")


def set_global_policy(policy: str | DTypePolicy) -> None:
    """The policy of layers built from now on (as Keras, existing layers keep theirs)."""
    global _global
    _global = get(policy)


def global_policy() -> DTypePolicy:
    return _global

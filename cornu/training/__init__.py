"""The training engine: the only place that calls jax.jit, lax.scan and jax.grad."""

"""Keras 3's update rules as optax transforms, where optax's own differ from Keras'.

Adam, AdamW, Adamax and Nadam: Keras places epsilon and the bias corrections
differently from optax's namesakes; `clip_by_norm_per_tensor` is Keras' `clipnorm`.
`inject_learning_rate` puts the learning rate (a float or a schedule) into the state.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

# ------------------------------------------------- rules that are chains of optax's


def sgd(learning_rate: jax.Array, momentum: float, nesterov: bool
        ) -> optax.GradientTransformation:
    """Keras 3 SGD: optax.trace after the learning-rate scale holds exactly Keras'
    velocity (the rate sits inside it, also when it changes during training)."""
    steps = [optax.scale_by_learning_rate(learning_rate)]
    if momentum:
        steps.append(optax.trace(decay=momentum, nesterov=nesterov))
    return optax.chain(*steps)


def rmsprop(learning_rate: jax.Array, rho: float, momentum: float, epsilon: float,
            centered: bool) -> optax.GradientTransformation:
    """Keras 3 RMSprop: epsilon inside the square root; momentum accumulates the steps."""
    scale = optax.scale_by_stddev if centered else optax.scale_by_rms
    steps = [
        scale(decay=rho, eps=epsilon, eps_in_sqrt=True),
        optax.scale_by_learning_rate(learning_rate),
    ]
    if momentum:
        steps.append(optax.trace(decay=momentum))
    return optax.chain(*steps)


def adagrad(learning_rate: jax.Array, initial_accumulator_value: float, epsilon: float
            ) -> optax.GradientTransformation:
    """Keras 3 Adagrad: `acc += g^2; w -= lr * g / sqrt(acc + epsilon)`."""
    return optax.chain(
        optax.scale_by_rss(initial_accumulator_value, eps=epsilon),
        optax.scale_by_learning_rate(learning_rate),
    )


def adadelta(learning_rate: jax.Array, rho: float, epsilon: float
             ) -> optax.GradientTransformation:
    """Keras 3 Adadelta: epsilon inside both square roots, scaled by the rate."""
    return optax.chain(
        optax.scale_by_adadelta(rho=rho, eps=epsilon),
        optax.scale_by_learning_rate(learning_rate),
    )


# ------------------------------------------------------------- Keras-exact rules


def clip_by_norm_per_tensor(clipnorm: float) -> optax.GradientTransformation:
    """Keras `clipnorm`: each gradient g becomes g * clipnorm / max(||g||, clipnorm)."""

    def clip(g: jax.Array) -> jax.Array:
        return g * (clipnorm / jnp.maximum(jnp.sqrt(jnp.sum(g * g)), clipnorm))

    return optax.stateless_with_tree_map(lambda g, _: clip(g))


def _one_minus_pow(beta: float, t: jax.Array) -> jax.Array:
    """1 - beta**t, accurate in float32 also for beta near 1 (beta=0.999, t=1)."""
    return jnp.ones_like(t) if beta == 0 else -jnp.expm1(t * math.log(beta))


def _like(x: jax.Array, leaf: jax.Array) -> jax.Array:
    return jnp.asarray(x, dtype=leaf.dtype)


def _require_params(params: optax.Params | None, who: str) -> optax.Params:
    if params is None:
        raise ValueError(
            f"{who} applies weight decay, so it needs the parameters: "
            "call update(grads, state, params). Received: params=None"
        )
    return params


class _AdamState(NamedTuple):
    count: jax.Array
    m: optax.Updates
    v: optax.Updates
    v_max: optax.Updates  # () unless amsgrad


def keras_adam(
    learning_rate: jax.Array,
    beta_1: float,
    beta_2: float,
    epsilon: float,
    amsgrad: bool,
    weight_decay: float = 0.0,
) -> optax.GradientTransformation:
    """Keras 3 Adam/AdamW: w -= lr*w*wd; w -= lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+eps)."""

    def init(params: optax.Params) -> _AdamState:
        zeros = optax.tree.zeros_like(params)
        return _AdamState(jnp.zeros([], jnp.int32), zeros, zeros, zeros if amsgrad else ())

    def update(
        grads: optax.Updates, state: _AdamState, params: optax.Params | None = None
    ) -> tuple[optax.Updates, _AdamState]:
        count = optax.safe_increment(state.count)
        t = count.astype(jnp.float32)
        m = jax.tree.map(lambda m, g: m + (g - m) * (1 - beta_1), state.m, grads)
        v = jax.tree.map(lambda v, g: v + (g * g - v) * (1 - beta_2), state.v, grads)
        v_max = jax.tree.map(jnp.maximum, state.v_max, v) if amsgrad else ()
        alpha = learning_rate * jnp.sqrt(_one_minus_pow(beta_2, t)) / _one_minus_pow(beta_1, t)
        updates = jax.tree.map(
            lambda m, v: -_like(alpha, m) * m / (jnp.sqrt(v) + epsilon),
            m,
            v_max if amsgrad else v,
        )
        if weight_decay:
            decay = learning_rate * weight_decay
            params = _require_params(params, "AdamW")
            updates = jax.tree.map(lambda u, p: u - _like(decay, p) * p, updates, params)
        return updates, _AdamState(count, m, v, v_max)

    return optax.GradientTransformation(init, update)


class _AdamaxState(NamedTuple):
    count: jax.Array
    m: optax.Updates
    u: optax.Updates


def keras_adamax(
    learning_rate: jax.Array, beta_1: float, beta_2: float, epsilon: float
) -> optax.GradientTransformation:
    """Keras 3 Adamax: u = max(b2*u, |g|); w -= lr/(1-b1^t) * m/(u+eps)."""

    def init(params: optax.Params) -> _AdamaxState:
        zeros = optax.tree.zeros_like(params)
        return _AdamaxState(jnp.zeros([], jnp.int32), zeros, zeros)

    def update(
        grads: optax.Updates, state: _AdamaxState, params: optax.Params | None = None
    ) -> tuple[optax.Updates, _AdamaxState]:
        count = optax.safe_increment(state.count)
        m = jax.tree.map(lambda m, g: m + (g - m) * (1 - beta_1), state.m, grads)
        u = jax.tree.map(lambda u, g: jnp.maximum(beta_2 * u, jnp.abs(g)), state.u, grads)
        step = learning_rate / _one_minus_pow(beta_1, count.astype(jnp.float32))
        updates = jax.tree.map(lambda m, u: -_like(step, m) * m / (u + epsilon), m, u)
        return updates, _AdamaxState(count, m, u)

    return optax.GradientTransformation(init, update)


class _NadamState(NamedTuple):
    count: jax.Array
    m: optax.Updates
    v: optax.Updates
    u_product: jax.Array  # product of the momentum schedule u_1 ... u_t


def keras_nadam(
    learning_rate: jax.Array, beta_1: float, beta_2: float, epsilon: float
) -> optax.GradientTransformation:
    """Keras 3 Nadam, with the momentum schedule u_t = b1 * (1 - 0.5 * 0.96^t)."""

    def init(params: optax.Params) -> _NadamState:
        zeros = optax.tree.zeros_like(params)
        return _NadamState(jnp.zeros([], jnp.int32), zeros, zeros, jnp.ones([], jnp.float32))

    def update(
        grads: optax.Updates, state: _NadamState, params: optax.Params | None = None
    ) -> tuple[optax.Updates, _NadamState]:
        count = optax.safe_increment(state.count)
        t = count.astype(jnp.float32)
        u_t = beta_1 * (1 - 0.5 * 0.96**t)
        u_next = beta_1 * (1 - 0.5 * 0.96 ** (t + 1))
        u_product = state.u_product * u_t
        u_product_next = u_product * u_next
        v_correction = _one_minus_pow(beta_2, t)
        m = jax.tree.map(lambda m, g: m + (g - m) * (1 - beta_1), state.m, grads)
        v = jax.tree.map(lambda v, g: v + (g * g - v) * (1 - beta_2), state.v, grads)

        def step(m: jax.Array, v: jax.Array, g: jax.Array) -> jax.Array:
            m_hat = (
                _like(u_next / (1 - u_product_next), m) * m
                + _like((1 - u_t) / (1 - u_product), g) * g
            )
            v_hat = v / _like(v_correction, v)
            return -_like(learning_rate, m) * m_hat / (jnp.sqrt(v_hat) + epsilon)

        updates = jax.tree.map(step, m, v, grads)
        return updates, _NadamState(count, m, v, u_product)

    return optax.GradientTransformation(init, update)



# ------------------------------------------------------------- the learning rate


class ScheduledState(NamedTuple):
    """The state of a transform whose learning rate follows a schedule.

    `count` is the number of updates made (Keras' `optimizer.iterations`); the schedule
    is evaluated at it before each update, so the first update uses `schedule(0)`.
    `hyperparams["learning_rate"]` is the rate the last update used (`schedule(0)`
    before the first), for reading; the next update recomputes it from `count`.
    """

    count: jax.Array
    hyperparams: dict[str, jax.Array]
    inner_state: Any


def inject_learning_rate(
    factory: Callable[[jax.Array], optax.GradientTransformation],
    learning_rate: float | Callable[[jax.Array], Any],
) -> optax.GradientTransformation:
    """`factory(rate)` with the rate in the state: a float rate is a float32 hyperparameter
    (optax.inject_hyperparams; set_learning_rate replaces it without a recompile); a
    function of the step count is computed inside the update at every step."""
    if not callable(learning_rate):
        inject = optax.inject_hyperparams(factory, hyperparam_dtype=jnp.float32)
        return inject(learning_rate=learning_rate)
    schedule = learning_rate

    def rate_at(count: jax.Array) -> jax.Array:
        rate = jnp.asarray(schedule(count), jnp.float32)
        if rate.shape != ():
            raise ValueError("A learning-rate schedule must return a scalar. Received a "
                             f"value of shape {rate.shape} from learning_rate={schedule!r}")
        return rate

    def init(params: optax.Params) -> ScheduledState:
        count = jnp.zeros([], jnp.int32)
        rate = rate_at(count)
        return ScheduledState(count, {"learning_rate": rate}, factory(rate).init(params))

    def update(grads: optax.Updates, state: ScheduledState, params: optax.Params | None = None
               ) -> tuple[optax.Updates, ScheduledState]:
        rate = rate_at(state.count)
        updates, inner = factory(rate).update(grads, state.inner_state, params)
        count = optax.safe_increment(state.count)
        return updates, ScheduledState(count, {"learning_rate": rate}, inner)

    return optax.GradientTransformation(init, update)

"""On the CPU a GRU layer (reset_after=True) with Keras' default activations runs its
whole loop as one operation with a written-out gradient (cornu/ops/_gru.py): the same
outputs and gradients as the scan over GRUCell steps, in every mode; the cases it leaves
to the steps; Keras' figures for masked sequences."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from layer_checks import run_stateless
from rnn_checks import assert_same_as_keras, keras, sequences

import cornu
from cornu import layers as L
from cornu.layers import gru as gru_module
from cornu.ops import _gru

pytestmark = pytest.mark.skipif(jax.default_backend() != "cpu",
                                reason="the whole loop is the CPU's path")


def _masked(x: np.ndarray) -> np.ndarray:
    """Zero rows (masked by Masking) at the start, the middle and the end, different per
    example, and one example masked entirely."""
    x = x.copy()
    x[0, :2] = 0
    x[1, 3] = 0
    x[1, -1] = 0
    x[2] = 0
    return x


def _case(name: str):
    """(layer or model, inputs, training) of one mode."""
    x = sequences(3, 6, 4, seed=2)
    if name == "plain":
        return L.GRU(5), x, False
    if name == "sequences":
        return L.GRU(5, return_sequences=True), x, False
    if name == "backwards_initial_state":
        rng = np.random.default_rng(7)
        states = [rng.normal(size=(3, 5)).astype(np.float32)]
        return L.GRU(5, go_backwards=True, return_state=True), [x, *states], False
    if name in ("masked", "masked_sequences_state"):
        layer = (L.GRU(5) if name == "masked" else
                 L.GRU(5, return_sequences=True, return_state=True))
        return cornu.Sequential([cornu.Input((6, 4)), L.Masking(), layer]), _masked(x), False
    if name == "one_step":
        return L.GRU(5, return_sequences=True), x[:, :1], False
    if name == "masked_initial_state":
        rng = np.random.default_rng(8)
        states = [rng.normal(size=(3, 5)).astype(np.float32)]
        inputs = cornu.Input((6, 4))
        given = [cornu.Input((5,))]
        y = L.GRU(5, return_sequences=True)(L.Masking()(inputs), initial_state=given)
        return cornu.Model([inputs, *given], y), [_masked(x), *states], False
    if name == "dropout":
        return L.GRU(5, dropout=0.3, seed=3, return_sequences=True), x, True
    if name == "no_bias":
        return L.GRU(5, use_bias=False), x, False
    if name == "bidirectional":
        model = cornu.Sequential([cornu.Input((6, 4)), L.Masking(),
                                  L.Bidirectional(L.GRU(4, return_sequences=True))])
        return model, _masked(x), False
    raise ValueError(name)


CASES = ["plain", "sequences", "backwards_initial_state", "masked", "masked_sequences_state",
         "one_step", "masked_initial_state", "dropout", "no_bias", "bidirectional"]


def _outputs_and_grads(layer, x, training, monkeypatch, whole):
    monkeypatch.setattr(gru_module, "WHOLE_LOOP_ON_CPU", whole)
    values = [v.value for v in layer.weights]

    def run(values, x):
        y, _ = run_stateless(layer, values, x, training=training)
        return y

    def loss(values, x):
        leaves = jax.tree.leaves(run(values, x))
        return jnp.sum(jnp.sin(jnp.concatenate([jnp.ravel(t) for t in leaves])))

    return jax.jit(run)(values, x), jax.jit(jax.grad(loss, argnums=(0, 1)))(values, x)


@pytest.mark.parametrize("case", CASES)
def test_whole_loop_gives_the_steps_outputs_and_gradients(case, monkeypatch):
    layer, x, training = _case(case)
    layer(x)
    calls = []
    real = gru_module.gru_sequence
    monkeypatch.setattr(gru_module, "gru_sequence",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    ours, our_grads = _outputs_and_grads(layer, x, training, monkeypatch, True)
    assert calls, "the whole loop was not used"
    calls.clear()
    theirs, their_grads = _outputs_and_grads(layer, x, training, monkeypatch, False)
    assert not calls
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(jax.tree.leaves(our_grads), jax.tree.leaves(their_grads), strict=True):
        assert np.all(np.isfinite(a))
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    # the gradient reaches the inputs (and initial states) where it should: not all zero
    assert all(np.any(np.asarray(g) != 0) for g in jax.tree.leaves(our_grads[1]))


@pytest.mark.parametrize("mode", [{"return_sequences": True},
                                  {"return_state": True, "go_backwards": True}])
def test_masked_sequences_match_keras(mode):
    x = _masked(sequences(3, 6, 4, seed=2))
    mask = np.any(x != 0, axis=-1)
    assert_same_as_keras(keras.layers.GRU(5, **mode), L.GRU(5, **mode), x, mask=mask)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("steps", [0, 1, 2, 5])
@pytest.mark.parametrize("bias", [True, False])
def test_a_zero_start_equals_zeros_given(steps, return_sequences, masked, bias):
    """h0 = None runs the first step before the loop without the recurrent product: the
    same outputs and gradients as zeros passed in."""
    rng = np.random.default_rng(steps)
    xs = jnp.asarray(rng.normal(size=(steps, 3, 4)), jnp.float32)
    weights = [jnp.asarray(rng.normal(size=s) * 0.5, jnp.float32)
               for s in [(4, 15), (5, 15), (15,), (15,)]]
    if not bias:
        weights[2:] = [None, None]
    keeps = rng.random((steps, 3)) > 0.3
    keeps[:, 0] = True  # the first example's steps all count, the others' some
    keeps = jnp.asarray(keeps) if masked else None
    zeros = jnp.zeros((3, 5), jnp.float32)

    def loss(weights, xs, zero):
        out = _gru.gru_sequence(xs, *weights, None if zero else zeros, keeps,
                                return_sequences)
        return sum(jnp.sum(jnp.sin(t * (k + 1))) for k, t in enumerate(out)), out

    grads = []
    for argnums in [(0, 1), 0]:
        (_, our_out), our_grads = jax.value_and_grad(
            loss, argnums=argnums, has_aux=True)(weights, xs, True)
        (_, their_out), their_grads = jax.value_and_grad(
            loss, argnums=argnums, has_aux=True)(weights, xs, False)
        for a, b in zip(jax.tree.leaves((our_out, our_grads)),
                        jax.tree.leaves((their_out, their_grads)), strict=True):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        grads.append(our_grads)
    weight_grads, inputs = grads[0]
    assert np.any(np.asarray(weight_grads[0]) != 0) == (steps > 0)
    assert np.any(np.asarray(inputs) != 0) == (steps > 0)
    assert np.any(np.asarray(weight_grads[1]) != 0) == (steps > 1)


def test_a_state_of_ones_from_get_initial_state_is_not_taken_for_zeros():
    """A layer (or cell) whose get_initial_state the user wrote: the loop starts from
    that state, as the steps do."""
    class Ones(L.GRU):
        def get_initial_state(self, batch_size):
            return [jnp.ones((batch_size, 3))]

    class OnesCell(L.GRUCell):
        def get_initial_state(self, batch_size=None):
            return [jnp.ones((batch_size, 3))]

    x = sequences(2, 4, 3, seed=4)
    for layer, plain in [(Ones(3), L.GRU(3)), (L.RNN(OnesCell(3)), L.RNN(L.GRUCell(3)))]:
        layer(x)
        plain(x)
        plain.set_weights(layer.get_weights())
        ours = np.asarray(layer(x))
        state = [np.ones((2, 3), np.float32)]
        np.testing.assert_allclose(ours, plain(x, initial_state=state), rtol=1e-5, atol=1e-6)
        assert not np.allclose(ours, plain(x), atol=1e-3)


def test_the_steps_run_what_the_whole_loop_does_not_cover():
    x = sequences(3, 6, 4)
    covered = L.GRU(3)
    covered(x)
    states = [jnp.zeros((3, 3))]
    xs = jnp.swapaxes(jnp.asarray(x), 0, 1)
    none = (None, None)
    assert covered.cell._sequence(xs, states, None, none, False) is not None

    class OwnStep(L.GRUCell):
        def _recur(self, x, states, masks):
            return super()._recur(x, states, masks)

    for cell in [L.GRUCell(3, activation="relu"), L.GRUCell(3, reset_after=False),
                 L.GRUCell(3, recurrent_activation="hard_sigmoid"), OwnStep(3)]:
        L.RNN(cell)(x)
        assert cell._sequence(xs, states, None, none, False) is None, cell
    drop = L.GRUCell(3, recurrent_dropout=0.2)
    L.RNN(drop)(x)
    masks = drop._masks(3, jnp.float32, True)
    assert drop._sequence(xs, states, None, masks, False) is None
    assert covered.cell._sequence(xs.astype(jnp.bfloat16), states, None, none, False) is None


def test_second_derivatives_match_the_steps(monkeypatch):
    """Reverse over reverse through the written-out gradient (e.g. a gradient penalty)."""
    layer = L.GRU(3, return_sequences=True)
    x = sequences(2, 4, 3, seed=5)
    layer(x)
    values = [v.value for v in layer.weights]
    u = [jnp.asarray(np.random.default_rng(i).normal(size=v.shape), jnp.float32)
         for i, v in enumerate(values)]

    def hvp(whole):
        monkeypatch.setattr(gru_module, "WHOLE_LOOP_ON_CPU", whole)

        def loss(values):
            y, _ = run_stateless(layer, values, x)
            return jnp.sum(jnp.sin(y))

        def directional(values):
            return sum(jnp.vdot(g, d) for g, d in zip(jax.grad(loss)(values), u, strict=True))

        return jax.jit(jax.grad(directional))(values)

    for a, b in zip(hvp(True), hvp(False), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_forward_mode_runs_through_the_steps_when_asked(monkeypatch):
    """jax.jvp does not go through the written-out gradient; with
    WHOLE_LOOP_ON_CPU off the layer scans GRUCell steps and forward mode works."""
    model = cornu.Sequential([cornu.Input((5, 3)), L.GRU(4)])
    x = jnp.asarray(sequences(2, 5, 3, seed=1))
    trainable = [v.value for v in model.trainable_variables]
    others = [v.value for v in model.non_trainable_variables]

    def f(x):
        return model.stateless_call(trainable, others, x)[0]

    with pytest.raises(TypeError, match="forward-mode"):
        jax.jvp(f, (x,), (jnp.ones_like(x),))
    monkeypatch.setattr(gru_module, "WHOLE_LOOP_ON_CPU", False)
    y, dy = jax.jvp(f, (x,), (jnp.ones_like(x),))
    eps = 1e-3
    np.testing.assert_allclose(dy, (f(x + eps) - f(x - eps)) / (2 * eps), rtol=1e-2, atol=1e-3)

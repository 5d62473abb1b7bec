"""On the CPU an LSTM layer with Keras' default activations runs its whole loop as one
operation with a written-out gradient (cornu/ops/_lstm.py): the same outputs and
gradients as the scan over LSTMCell steps, in every mode; the cases it leaves to the
steps; Keras' figures for masked sequences."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from layer_checks import run_stateless
from rnn_checks import assert_same_as_keras, keras, sequences

import cornu
from cornu import layers as L
from cornu.layers import lstm as lstm_module
from cornu.ops import _lstm

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
        return L.LSTM(5), x, False
    if name == "sequences":
        return L.LSTM(5, return_sequences=True), x, False
    if name == "backwards_initial_state":
        rng = np.random.default_rng(7)
        states = [rng.normal(size=(3, 5)).astype(np.float32) for _ in range(2)]
        return L.LSTM(5, go_backwards=True, return_state=True), [x, *states], False
    if name in ("masked", "masked_sequences_state"):
        layer = (L.LSTM(5) if name == "masked" else
                 L.LSTM(5, return_sequences=True, return_state=True))
        return cornu.Sequential([cornu.Input((6, 4)), L.Masking(), layer]), _masked(x), False
    if name == "one_step":
        return L.LSTM(5, return_sequences=True), x[:, :1], False
    if name == "masked_initial_state":
        rng = np.random.default_rng(8)
        states = [rng.normal(size=(3, 5)).astype(np.float32) for _ in range(2)]
        inputs = cornu.Input((6, 4))
        given = [cornu.Input((5,)), cornu.Input((5,))]
        y = L.LSTM(5, return_sequences=True)(L.Masking()(inputs), initial_state=given)
        return cornu.Model([inputs, *given], y), [_masked(x), *states], False
    if name == "dropout":
        return L.LSTM(5, dropout=0.3, seed=3, return_sequences=True), x, True
    if name == "no_bias":
        return L.LSTM(5, use_bias=False, unit_forget_bias=False), x, False
    if name == "bidirectional":
        model = cornu.Sequential([cornu.Input((6, 4)), L.Masking(),
                                  L.Bidirectional(L.LSTM(4, return_sequences=True))])
        return model, _masked(x), False
    raise ValueError(name)


CASES = ["plain", "sequences", "backwards_initial_state", "masked", "masked_sequences_state",
         "one_step", "masked_initial_state", "dropout", "no_bias", "bidirectional"]


def _outputs_and_grads(layer, x, training, monkeypatch, whole):
    monkeypatch.setattr(lstm_module, "WHOLE_LOOP_ON_CPU", whole)
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
    real = lstm_module.lstm_sequence
    monkeypatch.setattr(lstm_module, "lstm_sequence",
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
    assert_same_as_keras(keras.layers.LSTM(5, **mode), L.LSTM(5, **mode), x, mask=mask)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("steps", [0, 1, 2, 5])
def test_a_zero_start_equals_zeros_given(steps, return_sequences, masked):
    """h0 = c0 = None runs the first step before the loop without the recurrent product:
    the same outputs and gradients as zeros passed in."""
    rng = np.random.default_rng(steps)
    xs = jnp.asarray(rng.normal(size=(steps, 3, 4)), jnp.float32)
    weights = [jnp.asarray(rng.normal(size=s) * 0.5, jnp.float32)
               for s in [(4, 20), (5, 20), (20,)]]
    keeps = rng.random((steps, 3)) > 0.3
    keeps[:, 0] = True  # the first example's steps all count, the others' some
    keeps = jnp.asarray(keeps) if masked else None
    zeros = jnp.zeros((3, 5), jnp.float32)

    def loss(weights, xs, zero):
        h0 = c0 = None if zero else zeros
        out = _lstm.lstm_sequence(xs, *weights, h0, c0, keeps, return_sequences)
        return sum(jnp.sum(jnp.sin(t * (k + 1))) for k, t in enumerate(out)), out

    grads = []
    for argnums in [(0, 1), 0]:
        (ours, our_out), our_grads = jax.value_and_grad(
            loss, argnums=argnums, has_aux=True)(weights, xs, True)
        (theirs, their_out), their_grads = jax.value_and_grad(
            loss, argnums=argnums, has_aux=True)(weights, xs, False)
        for a, b in zip(jax.tree.leaves((our_out, our_grads)),
                        jax.tree.leaves((their_out, their_grads)), strict=True):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        grads.append(our_grads)
    (kernel, recurrent, bias), inputs = grads[0]
    assert np.any(np.asarray(kernel) != 0) == (steps > 0)
    assert np.any(np.asarray(inputs) != 0) == (steps > 0)
    assert np.any(np.asarray(recurrent) != 0) == (steps > 1)


def test_a_state_of_ones_from_get_initial_state_is_not_taken_for_zeros():
    """A layer (or cell) whose get_initial_state the user wrote: the loop starts from
    that state, as the steps do."""
    class Ones(L.LSTM):
        def get_initial_state(self, batch_size):
            return [jnp.ones((batch_size, 3)), jnp.ones((batch_size, 3))]

    class OnesCell(L.LSTMCell):
        def get_initial_state(self, batch_size=None):
            return [jnp.ones((batch_size, 3)), jnp.ones((batch_size, 3))]

    x = sequences(2, 4, 3, seed=4)
    for layer, plain in [(Ones(3), L.LSTM(3)), (L.RNN(OnesCell(3)), L.RNN(L.LSTMCell(3)))]:
        layer(x)
        plain(x)
        plain.set_weights(layer.get_weights())
        ours = np.asarray(layer(x))
        state = [np.ones((2, 3), np.float32)] * 2
        np.testing.assert_allclose(ours, plain(x, initial_state=state), rtol=1e-5, atol=1e-6)
        assert not np.allclose(ours, plain(x), atol=1e-3)


def test_the_steps_run_what_the_whole_loop_does_not_cover():
    x = sequences(3, 6, 4)
    covered = L.LSTM(3)
    covered(x)
    states = [jnp.zeros((3, 3))] * 2
    xs = jnp.swapaxes(jnp.asarray(x), 0, 1)
    none = (None, None)
    assert covered.cell._sequence(xs, states, None, none, False) is not None

    class OwnStep(L.LSTMCell):
        def _recur(self, x, states, masks):
            return super()._recur(x, states, masks)

    for cell in [L.LSTMCell(3, activation="relu"),
                 L.LSTMCell(3, recurrent_activation="hard_sigmoid"), OwnStep(3)]:
        L.RNN(cell)(x)
        assert cell._sequence(xs, states, None, none, False) is None, cell
    drop = L.LSTMCell(3, recurrent_dropout=0.2)
    L.RNN(drop)(x)
    masks = drop._masks(3, jnp.float32, True)
    assert drop._sequence(xs, states, None, masks, False) is None
    assert covered.cell._sequence(xs.astype(jnp.bfloat16), states, None, none, False) is None


def test_second_derivatives_match_the_steps(monkeypatch):
    """Reverse over reverse through the written-out gradient (e.g. a gradient penalty)."""
    layer = L.LSTM(3, return_sequences=True)
    x = sequences(2, 4, 3, seed=5)
    layer(x)
    values = [v.value for v in layer.weights]
    u = [jnp.asarray(np.random.default_rng(i).normal(size=v.shape), jnp.float32)
         for i, v in enumerate(values)]

    def hvp(whole):
        monkeypatch.setattr(lstm_module, "WHOLE_LOOP_ON_CPU", whole)

        def loss(values):
            y, _ = run_stateless(layer, values, x)
            return jnp.sum(jnp.sin(y))

        def directional(values):
            return sum(jnp.vdot(g, d) for g, d in zip(jax.grad(loss)(values), u, strict=True))

        return jax.jit(jax.grad(directional))(values)

    for a, b in zip(hvp(True), hvp(False), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_sigmoid_through_tanh_equals_keras_sigmoid():
    z = jnp.linspace(-30, 30, 4 * 7 * 11, dtype=jnp.float32).reshape(7, 44)
    a = _lstm._activate(z, 11)
    i, f, g, o = jnp.split(z, 4, axis=-1)
    want = jnp.concatenate([jax.nn.sigmoid(i), jax.nn.sigmoid(f), jnp.tanh(g),
                            jax.nn.sigmoid(o)], axis=-1)
    np.testing.assert_allclose(a, want, rtol=1e-6, atol=1e-7)


def test_forward_mode_runs_through_the_steps_when_asked(monkeypatch):
    """docs/custom.md: jax.jvp does not go through the written-out gradient; with
    WHOLE_LOOP_ON_CPU off the layer scans LSTMCell steps and forward mode works."""
    model = cornu.Sequential([cornu.Input((5, 3)), L.LSTM(4)])
    x = jnp.asarray(sequences(2, 5, 3, seed=1))
    trainable = [v.value for v in model.trainable_variables]
    others = [v.value for v in model.non_trainable_variables]

    def f(x):
        return model.stateless_call(trainable, others, x)[0]

    with pytest.raises(TypeError, match="forward-mode"):
        jax.jvp(f, (x,), (jnp.ones_like(x),))
    monkeypatch.setattr(lstm_module, "WHOLE_LOOP_ON_CPU", False)
    y, dy = jax.jvp(f, (x,), (jnp.ones_like(x),))
    eps = 1e-3
    np.testing.assert_allclose(dy, (f(x + eps) - f(x - eps)) / (2 * eps), rtol=1e-2, atol=1e-3)

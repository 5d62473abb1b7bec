"""On the CPU an LSTM layer, and a GRU layer with reset_after=True, with Keras' default
activations runs its whole loop as one operation with a written-out gradient
(cornu/ops/_lstm.py, cornu/ops/_gru.py on cornu/ops/_loops.py): the same outputs and
gradients as the scan over the cell's steps, in every mode; a zero start the same as zeros
given; the cases it leaves to the steps; Keras' figures for masked sequences."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from layer_checks import run_stateless
from rnn_checks import assert_same_as_keras, keras, sequences

import cornu
from cornu import layers as L
from cornu.layers import gru as gru_module
from cornu.layers import lstm as lstm_module
from cornu.ops import _gru, _lstm

pytestmark = pytest.mark.skipif(jax.default_backend() != "cpu",
                                reason="the whole loop is the CPU's path")


@dataclass(frozen=True)
class Kind:
    name: str
    layer: type
    cell: type
    keras_layer: Any
    module: ModuleType  # the layer's module: its switch and its name of the loop
    loop: str
    states: int
    no_bias: dict
    uncovered: tuple  # cell arguments the loop leaves to the steps

    def __repr__(self) -> str:
        return self.name

    def sequence(self, xs, weights, zero, keeps, return_sequences):
        """The op over `weights` (kernel, recurrent kernel, biases...) from zeros given
        or (zero) from None."""
        zeros = jnp.zeros((xs.shape[1], weights[1].shape[0]), jnp.float32)
        states = [None if zero else zeros] * self.states
        if self.name == "lstm":
            return _lstm.lstm_sequence(xs, *weights, *states, keeps, return_sequences)
        return _gru.gru_sequence(xs, *weights, *states, keeps, return_sequences)


LSTM = Kind("lstm", L.LSTM, L.LSTMCell, keras.layers.LSTM, lstm_module, "lstm_sequence", 2,
            {"unit_forget_bias": False},
            ({"activation": "relu"}, {"recurrent_activation": "hard_sigmoid"}))
GRU = Kind("gru", L.GRU, L.GRUCell, keras.layers.GRU, gru_module, "gru_sequence", 1, {},
           ({"activation": "relu"}, {"recurrent_activation": "hard_sigmoid"},
            {"reset_after": False}))
KINDS = [LSTM, GRU]


def _masked(x: np.ndarray) -> np.ndarray:
    """Zero rows (masked by Masking) at the start, the middle and the end, different per
    example, and one example masked entirely."""
    x = x.copy()
    x[0, :2] = 0
    x[1, 3] = 0
    x[1, -1] = 0
    x[2] = 0
    return x


def _states(kind: Kind, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(3, 5)).astype(np.float32) for _ in range(kind.states)]


def _case(kind: Kind, name: str):
    """(layer or model, inputs, training) of one mode."""
    x = sequences(3, 6, 4, seed=2)
    layer = kind.layer
    if name == "plain":
        return layer(5), x, False
    if name == "sequences":
        return layer(5, return_sequences=True), x, False
    if name == "backwards_initial_state":
        return (layer(5, go_backwards=True, return_state=True), [x, *_states(kind, 7)],
                False)
    if name in ("masked", "masked_sequences_state"):
        one = (layer(5) if name == "masked" else
               layer(5, return_sequences=True, return_state=True))
        return cornu.Sequential([cornu.Input((6, 4)), L.Masking(), one]), _masked(x), False
    if name == "one_step":
        return layer(5, return_sequences=True), x[:, :1], False
    if name == "masked_initial_state":
        inputs = cornu.Input((6, 4))
        given = [cornu.Input((5,)) for _ in range(kind.states)]
        y = layer(5, return_sequences=True)(L.Masking()(inputs), initial_state=given)
        return cornu.Model([inputs, *given], y), [_masked(x), *_states(kind, 8)], False
    if name == "dropout":
        return layer(5, dropout=0.3, seed=3, return_sequences=True), x, True
    if name == "no_bias":
        return layer(5, use_bias=False, **kind.no_bias), x, False
    if name == "bidirectional":
        model = cornu.Sequential([cornu.Input((6, 4)), L.Masking(),
                                  L.Bidirectional(layer(4, return_sequences=True))])
        return model, _masked(x), False
    raise ValueError(name)


CASES = ["plain", "sequences", "backwards_initial_state", "masked", "masked_sequences_state",
         "one_step", "masked_initial_state", "dropout", "no_bias", "bidirectional"]


def _outputs_and_grads(kind, layer, x, training, monkeypatch, whole):
    monkeypatch.setattr(kind.module, "WHOLE_LOOP_ON_CPU", whole)
    values = [v.value for v in layer.weights]

    def run(values, x):
        y, _ = run_stateless(layer, values, x, training=training)
        return y

    def loss(values, x):
        leaves = jax.tree.leaves(run(values, x))
        return jnp.sum(jnp.sin(jnp.concatenate([jnp.ravel(t) for t in leaves])))

    return jax.jit(run)(values, x), jax.jit(jax.grad(loss, argnums=(0, 1)))(values, x)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kind", KINDS)
def test_whole_loop_gives_the_steps_outputs_and_gradients(kind, case, monkeypatch):
    layer, x, training = _case(kind, case)
    layer(x)
    calls = []
    real = getattr(kind.module, kind.loop)
    monkeypatch.setattr(kind.module, kind.loop, lambda *a, **k: calls.append(1) or real(*a, **k))
    ours, our_grads = _outputs_and_grads(kind, layer, x, training, monkeypatch, True)
    assert calls, "the whole loop was not used"
    calls.clear()
    theirs, their_grads = _outputs_and_grads(kind, layer, x, training, monkeypatch, False)
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
@pytest.mark.parametrize("kind", KINDS)
def test_masked_sequences_match_keras(kind, mode):
    x = _masked(sequences(3, 6, 4, seed=2))
    mask = np.any(x != 0, axis=-1)
    assert_same_as_keras(kind.keras_layer(5, **mode), kind.layer(5, **mode), x, mask=mask)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("steps", [0, 1, 2, 5])
@pytest.mark.parametrize("kind", KINDS)
def test_a_zero_start_equals_zeros_given(kind, steps, return_sequences, masked, bias):
    """States None run the first step before the loop without the recurrent product: the
    same outputs and gradients as zeros passed in."""
    rng = np.random.default_rng(steps)
    gates = 20 if kind is LSTM else 15
    xs = jnp.asarray(rng.normal(size=(steps, 3, 4)), jnp.float32)
    shapes = [(4, gates), (5, gates)] + [(gates,)] * (3 - kind.states)
    weights = [jnp.asarray(rng.normal(size=s) * 0.5, jnp.float32) for s in shapes]
    if not bias:
        weights[2:] = [None] * len(weights[2:])
    keeps = rng.random((steps, 3)) > 0.3
    keeps[:, 0] = True  # the first example's steps all count, the others' some
    keeps = jnp.asarray(keeps) if masked else None

    def loss(weights, xs, zero):
        out = kind.sequence(xs, weights, zero, keeps, return_sequences)
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


@pytest.mark.parametrize("kind", KINDS)
def test_a_state_of_ones_from_get_initial_state_is_not_taken_for_zeros(kind):
    """A layer (or cell) whose get_initial_state the user wrote: the loop starts from
    that state, as the steps do."""
    count = kind.states

    class Ones(kind.layer):
        def get_initial_state(self, batch_size):
            return [jnp.ones((batch_size, 3))] * count

    class OnesCell(kind.cell):
        def get_initial_state(self, batch_size=None):
            return [jnp.ones((batch_size, 3))] * count

    x = sequences(2, 4, 3, seed=4)
    for layer, plain in [(Ones(3), kind.layer(3)),
                         (L.RNN(OnesCell(3)), L.RNN(kind.cell(3)))]:
        layer(x)
        plain(x)
        plain.set_weights(layer.get_weights())
        ours = np.asarray(layer(x))
        state = [np.ones((2, 3), np.float32)] * count
        np.testing.assert_allclose(ours, plain(x, initial_state=state), rtol=1e-5, atol=1e-6)
        assert not np.allclose(ours, plain(x), atol=1e-3)


@pytest.mark.parametrize("kind", KINDS)
def test_the_steps_run_what_the_whole_loop_does_not_cover(kind):
    x = sequences(3, 6, 4)
    covered = kind.layer(3)
    covered(x)
    states = [jnp.zeros((3, 3))] * kind.states
    xs = jnp.swapaxes(jnp.asarray(x), 0, 1)
    none = (None, None)
    assert covered.cell._sequence(xs, states, None, none, False) is not None

    class OwnStep(kind.cell):
        def _recur(self, x, states, masks):
            return super()._recur(x, states, masks)

    for cell in [*(kind.cell(3, **arguments) for arguments in kind.uncovered), OwnStep(3)]:
        L.RNN(cell)(x)
        assert cell._sequence(xs, states, None, none, False) is None, cell
    drop = kind.cell(3, recurrent_dropout=0.2)
    L.RNN(drop)(x)
    masks = drop._masks(3, jnp.float32, True)
    assert drop._sequence(xs, states, None, masks, False) is None
    assert covered.cell._sequence(xs.astype(jnp.bfloat16), states, None, none, False) is None


@pytest.mark.parametrize("kind", KINDS)
def test_second_derivatives_match_the_steps(kind, monkeypatch):
    """Reverse over reverse through the written-out gradient (e.g. a gradient penalty)."""
    layer = kind.layer(3, return_sequences=True)
    x = sequences(2, 4, 3, seed=5)
    layer(x)
    values = [v.value for v in layer.weights]
    u = [jnp.asarray(np.random.default_rng(i).normal(size=v.shape), jnp.float32)
         for i, v in enumerate(values)]

    def hvp(whole):
        monkeypatch.setattr(kind.module, "WHOLE_LOOP_ON_CPU", whole)

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


@pytest.mark.parametrize("kind", KINDS)
def test_forward_mode_runs_through_the_steps_when_asked(kind, monkeypatch):
    """docs/custom.md: jax.jvp does not go through the written-out gradient; with
    WHOLE_LOOP_ON_CPU off the layer scans the cell's steps and forward mode works."""
    model = cornu.Sequential([cornu.Input((5, 3)), kind.layer(4)])
    x = jnp.asarray(sequences(2, 5, 3, seed=1))
    trainable = [v.value for v in model.trainable_variables]
    others = [v.value for v in model.non_trainable_variables]

    def f(x):
        return model.stateless_call(trainable, others, x)[0]

    with pytest.raises(TypeError, match="forward-mode"):
        jax.jvp(f, (x,), (jnp.ones_like(x),))
    monkeypatch.setattr(kind.module, "WHOLE_LOOP_ON_CPU", False)
    y, dy = jax.jvp(f, (x,), (jnp.ones_like(x),))
    eps = 1e-3
    np.testing.assert_allclose(dy, (f(x + eps) - f(x - eps)) / (2 * eps), rtol=1e-2, atol=1e-3)

"""SimpleRNN, LSTM, GRU, RNN over built-in, stacked and user-written cells: against Keras 3
from the same weights, in every mode; the layer checks; dropout; gradients against finite
differences; a small model that trains."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from layer_checks import check_layer, run_stateless
from rnn_checks import assert_same_as_keras, keras, sequences

import cornu
from cornu import layers as L
from cornu.layers import lstm as lstm_module
from cornu.layers import rnn as rnn_module

MODES = [{}, {"return_sequences": True}, {"return_state": True},
         {"go_backwards": True, "return_sequences": True},
         {"go_backwards": True, "return_state": True}, {"unroll": True},
         {"unroll": True, "return_sequences": True, "go_backwards": True}]
LAYERS = [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False})]
OPTIONS = [("LSTM", {"use_bias": False, "activation": "relu", "unit_forget_bias": False}),
           ("SimpleRNN", {"activation": "sigmoid", "use_bias": False}),
           ("GRU", {"recurrent_activation": "hard_sigmoid", "use_bias": False}),
           ("GRU", {"reset_after": False, "activation": "relu"})]


@pytest.mark.parametrize("name, options", LAYERS, ids=lambda v: str(v))
@pytest.mark.parametrize("mode", MODES, ids=lambda m: "-".join(m) or "default")
def test_layers_match_keras_in_every_mode(name, options, mode):
    assert_same_as_keras(getattr(keras.layers, name)(6, **options, **mode),
                         getattr(L, name)(6, **options, **mode), sequences())


@pytest.mark.parametrize("name, options", OPTIONS, ids=lambda v: str(v))
def test_layer_options_match_keras(name, options):
    assert_same_as_keras(getattr(keras.layers, name)(3, return_sequences=True, **options),
                         getattr(L, name)(3, return_sequences=True, **options), sequences())


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_initial_state_matches_keras(name):
    states = 2 if name == "LSTM" else 1
    rng = np.random.default_rng(4)
    initial = [rng.normal(size=(3, 5)).astype(np.float32) for _ in range(states)]
    assert_same_as_keras(getattr(keras.layers, name)(5, return_state=True, go_backwards=True),
                         getattr(L, name)(5, return_state=True, go_backwards=True),
                         sequences(), initial_state=initial)


@pytest.mark.parametrize("name", ["SimpleRNNCell", "LSTMCell", "GRUCell"])
def test_cells_in_rnn_and_one_step_match_keras(name):
    x = sequences()
    assert_same_as_keras(keras.layers.RNN(getattr(keras.layers, name)(4), return_state=True),
                         L.RNN(getattr(L, name)(4), return_state=True), x)
    k_cell, c_cell = getattr(keras.layers, name)(4), getattr(L, name)(4)
    states = [np.full((3, 4), 0.1, np.float32)] * (2 if name == "LSTMCell" else 1)
    with jax.numpy_rank_promotion("allow"):  # Keras' own code relies on it
        want = k_cell(x[:, 0], states)
        keras_weights = k_cell.get_weights()
    c_cell(x[:, 0], states)
    c_cell.set_weights(keras_weights)
    got = c_cell(x[:, 0], states)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def _minimal_cell(base):
    """The cell of Keras' RNN guide, written against `base` (keras or cornu)."""

    class MinimalRNNCell(base.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                          initializer="uniform", name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                    initializer="uniform",
                                                    name="recurrent_kernel")

        def call(self, inputs, states):
            output = base.ops.matmul(inputs, self.kernel) + base.ops.matmul(
                states[0], self.recurrent_kernel)
            return output, [output]

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    return MinimalRNNCell


@pytest.mark.parametrize("mode", MODES[:5], ids=lambda m: "-".join(m) or "default")
def test_user_cell_matches_keras(mode):
    assert_same_as_keras(keras.layers.RNN(_minimal_cell(keras)(4), **mode),
                         L.RNN(_minimal_cell(cornu)(4), **mode), sequences())


def test_stacked_cells_match_keras():
    """A list of cells is StackedRNNCells; built-in and user cells mix."""
    def cells(base):
        return [base.layers.LSTMCell(3), _minimal_cell(base)(4), base.layers.GRUCell(2),
                base.layers.SimpleRNNCell(2)]

    layer = L.RNN(cells(cornu), return_sequences=True, return_state=True)
    got = assert_same_as_keras(
        keras.layers.RNN(cells(keras), return_sequences=True, return_state=True), layer,
        sequences())
    assert isinstance(layer.cell, L.StackedRNNCells) and len(got) == 5
    assert layer.cell.state_size == [[3, 3], 4, 2, 2]


def test_layer_checks_and_config():
    for layer, params in [(L.SimpleRNN(4), 4 * 3 + 4 * 4 + 4),
                          (L.LSTM(4, return_sequences=True), 4 * (4 * 3 + 4 * 4 + 4)),
                          (L.GRU(4), 3 * (4 * 3 + 4 * 4) + 2 * 12),
                          (L.GRU(4, reset_after=False), 3 * (4 * 3 + 4 * 4 + 4)),
                          (L.RNN([L.LSTMCell(4), L.SimpleRNNCell(4)]),
                           4 * (4 * 3 + 4 * 4 + 4) + 36)]:
        out = (None, 6, 4) if layer.return_sequences else (None, 4)
        check_layer(layer, (None, 6, 3), output_shape=out, params=params)
    config = L.LSTM(3, dropout=0.25, go_backwards=True, name="l").get_config()
    assert "cell" not in config and config["units"] == 3 and config["dropout"] == 0.25
    assert config["go_backwards"] is True and config["unit_forget_bias"] is True
    keras_config = keras.layers.LSTM(3, dropout=0.25, go_backwards=True, name="l").get_config()
    assert set(config) - {"input_shape"} <= set(keras_config)


def test_return_state_outputs_are_symbolic_too():
    x = cornu.Input(shape=(5, 4))
    out, h, c = L.LSTM(3, return_state=True, return_sequences=True)(x)
    assert (out.shape, h.shape, c.shape) == ((None, 5, 3), (None, 3), (None, 3))
    y = L.GRU(2)(out, initial_state=[h[:, :2]])
    assert y.shape == (None, 2)


def test_defaults_and_keras_weight_layout():
    layer = L.LSTM(3)
    layer(np.zeros((1, 2, 5), np.float32))
    bias = np.asarray(layer.cell.bias.value)
    np.testing.assert_array_equal(bias, np.r_[np.zeros(3), np.ones(3), np.zeros(6)])
    rk = np.asarray(layer.cell.recurrent_kernel.value)
    np.testing.assert_allclose(rk @ rk.T, np.eye(3), atol=1e-5)  # orthogonal rows
    assert layer.units == 3 and layer.cell.name == "lstm_cell"
    assert cornu.activations.serialize(layer.recurrent_activation) == "sigmoid"


@pytest.mark.parametrize("name, options", [
    ("SimpleRNN", {"dropout": 0.3, "recurrent_dropout": 0.3}), ("LSTM", {"dropout": 0.5}),
    ("LSTM", {"dropout": 0.3, "recurrent_dropout": 0.3}), ("GRU", {"recurrent_dropout": 0.5}),
], ids=str)
def test_dropout_in_training_only(name, options):
    """Masks drawn once per sequence; with recurrent dropout, gated cells draw one per gate
    (Keras' implementation 1)."""
    plain, dropped = getattr(L, name)(4, seed=1), getattr(L, name)(4, seed=1, **options)
    x = sequences()
    plain(x)
    dropped(x)
    dropped.set_weights(plain.get_weights())
    np.testing.assert_allclose(np.asarray(dropped(x)), np.asarray(plain(x)), rtol=1e-6)
    trained = np.asarray(dropped(x, training=True))
    assert np.all(np.isfinite(trained)) and not np.allclose(trained, np.asarray(plain(x)))
    values = [v.value for v in dropped.weights]

    def loss(values):
        y, _ = run_stateless(dropped, values, x, training=True)
        return jnp.sum(y ** 2)

    grads = jax.jit(jax.grad(loss))(values)
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in grads)


@pytest.mark.parametrize("name, options", [*LAYERS[1:], ("LSTM", {"go_backwards": True})],
                         ids=str)
def test_input_product_before_the_loop_matches_keras_too(name, options, monkeypatch):
    """The accelerators' path (every step's input product before the scan), on CPU."""
    monkeypatch.setattr(rnn_module, "project_before_loop", lambda: True)
    assert_same_as_keras(getattr(keras.layers, name)(4, return_sequences=True, **options),
                         getattr(L, name)(4, return_sequences=True, **options), sequences())


@pytest.mark.parametrize("options", [{"dropout": 0.4}, {"dropout": 0.3, "recurrent_dropout": 0.3}])
def test_both_paths_draw_and_apply_the_same_dropout(options, monkeypatch):
    x = sequences()
    outputs, weights = [], None
    for before in (False, True):
        monkeypatch.setattr(rnn_module, "project_before_loop", lambda before=before: before)
        layer = L.RNN([L.LSTMCell(3, seed=7, **options), L.GRUCell(2, seed=8, **options)],
                      return_sequences=True, name=f"stack_{before}")
        layer(x)
        if weights is not None:
            layer.set_weights(weights)
        weights = layer.get_weights()
        outputs.append(np.asarray(layer(x, training=True)))
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-5, atol=1e-6)


def test_lstm_gradients_match_finite_differences():
    layer = L.LSTM(3, return_sequences=True)
    x = sequences(2, 4, 3, seed=5)
    layer(x)
    values = [v.value for v in layer.weights]

    def loss(values):
        y, _ = run_stateless(layer, values, x)
        return jnp.sum(jnp.sin(y))

    grads = jax.grad(loss)(values)
    rng = np.random.default_rng(0)
    for i, value in enumerate(values):
        direction = rng.normal(size=value.shape).astype(np.float32)
        eps = 1e-2
        up = [v + eps * direction if j == i else v for j, v in enumerate(values)]
        down = [v - eps * direction if j == i else v for j, v in enumerate(values)]
        numeric = (float(loss(up)) - float(loss(down))) / (2 * eps)
        analytic = float(jnp.sum(grads[i] * direction))
        assert abs(numeric - analytic) <= 2e-3 * max(1.0, abs(analytic)), (i, numeric, analytic)


def test_embedding_lstm_dense_trains():
    cornu.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(1, 20, size=(128, 8))
    y = (x[:, 0] > 10).astype(np.float32)  # the first token decides
    model = cornu.Sequential([cornu.Input(shape=(8,)), L.Embedding(20, 8),
                              L.LSTM(8, go_backwards=True), L.Dense(1, activation="sigmoid")])
    model.compile(optimizer=cornu.optimizers.Adam(0.02), loss="binary_crossentropy")
    history = model.fit(x, y, epochs=8, batch_size=32, verbose=0).history["loss"]
    assert history[-1] < 0.6 * history[0], history


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="units must be a positive integer. Received: units=0"):
        L.LSTM(0)
    with pytest.raises(ValueError, match="stateful must be True or False"):
        L.GRU(2, stateful=1)
    with pytest.raises(ValueError, match="state_size"):
        L.RNN(L.Dense(3))
    with pytest.raises(ValueError, match=r"\(batch, time, features\)"):
        L.SimpleRNN(2)(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="2 state tensors; initial_state holds 1"):
        L.LSTM(2)(sequences(), initial_state=[np.zeros((3, 2), np.float32)])
    with pytest.raises(ValueError, match="unknown class 'Mystery'"):
        L.RNN.from_config({"cell": {"class_name": "Mystery", "config": {}}})


def test_rnn_config_round_trip_with_registered_cell():
    cell_class = cornu.saving.register_keras_serializable(package="rnn_test")(
        _minimal_cell(cornu))
    layer = L.RNN([cell_class(3), L.GRUCell(2)], return_sequences=True, name="stack")
    config = layer.get_config()
    assert config["cell"]["class_name"] == "StackedRNNCells"
    assert config["cell"]["config"]["cells"][0]["registered_name"] == "rnn_test>MinimalRNNCell"
    again = L.RNN.from_config(config)
    assert again.get_config() == config
    assert type(again.cell.cells[0]) is cell_class


def _lstm_grads(layer, x, monkeypatch, keep, training=False):
    monkeypatch.setattr(rnn_module, "KEEP_GATES_ON_CPU", keep)
    values = [v.value for v in layer.weights]

    def loss(values, x):
        y, _ = run_stateless(layer, values, x, training=training)
        return jnp.sum(jnp.sin(jnp.concatenate([jnp.ravel(t) for t in jax.tree.leaves(y)])))

    grad = jax.jit(jax.grad(loss, argnums=(0, 1)))
    text = grad.lower(values, x).compile().as_text()
    return grad(values, x), text.count("dynamic-update-slice(")


@pytest.mark.parametrize("case", ["plain", "backwards_state", "stacked", "dropout", "masked"])
def test_lstm_step_keeps_only_its_gates_for_the_gradient(case, monkeypatch):
    """On the CPU an LSTM step keeps its gates' sum (and the states) for the backward pass
    and recomputes the rest: the same gradients, fewer stacks written in the loop. (The
    steps of an LSTM layer; by default a lone LSTMCell runs the whole loop at once,
    test_written_out_loops.py.)"""
    monkeypatch.setattr(lstm_module, "WHOLE_LOOP_ON_CPU", False)
    x = sequences(3, 6, 4, seed=2)
    if case == "stacked":
        layer = L.RNN(L.StackedRNNCells([L.LSTMCell(5), L.LSTMCell(3)]), return_sequences=True)
    elif case == "backwards_state":
        layer = L.LSTM(5, go_backwards=True, return_state=True)
    elif case == "dropout":
        layer = L.LSTM(5, dropout=0.2, recurrent_dropout=0.3, seed=3)
    else:
        layer = L.LSTM(5)
    if case == "masked":
        x = np.concatenate([x, np.zeros((3, 2, 4), np.float32)], axis=1)
        layer = cornu.Sequential([cornu.Input((8, 4)), L.Masking(), layer])
    layer(x)
    assert rnn_module.keep_gates_only(layer.layers[-1].cell if case == "masked"
                                      else layer.cell) == (jax.default_backend() == "cpu")
    (ours, our_stacks) = _lstm_grads(layer, x, monkeypatch, True, training=case == "dropout")
    (theirs, their_stacks) = _lstm_grads(layer, x, monkeypatch, False,
                                         training=case == "dropout")
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    if jax.default_backend() == "cpu":
        assert our_stacks < their_stacks, (our_stacks, their_stacks)


def test_only_cells_that_name_their_gates_keep_them():
    assert not rnn_module.keep_gates_only(L.GRUCell(3))
    assert not rnn_module.keep_gates_only(L.SimpleRNNCell(3))
    assert not rnn_module.keep_gates_only(L.StackedRNNCells([L.LSTMCell(3), L.GRUCell(2)]))

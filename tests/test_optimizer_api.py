"""Keras' optimizer object API (build, variables, iterations, stateless_apply, apply,
apply_gradients) on cornu's optax transforms, against keras.optimizers.<Name>."""

from __future__ import annotations

import inspect
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cornu
from cornu import constraints, optimizers
from cornu.optimizers import SGD, Adagrad, Adam, AdamW, RMSprop
from cornu.variables import StatelessScope, Variable

os.environ.setdefault("KERAS_BACKEND", "jax")

CASES = [
    ("SGD", {"learning_rate": 0.1}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("Adam", {"learning_rate": 0.01}),
    ("Adam", {"learning_rate": 0.01, "amsgrad": True}),
    ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.1}),
    ("RMSprop", {"learning_rate": 0.01}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
    ("Adagrad", {"learning_rate": 0.1}),
]
IDS = [f"{name}-{'-'.join(map(str, kw.values()))}" for name, kw in CASES]


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


def _weights():
    rng = np.random.default_rng(0)
    return [rng.normal(size=(3, 2)).astype("float32"), rng.normal(size=2).astype("float32")]


def _grads(steps=3):
    rng = np.random.default_rng(1)
    return [[rng.normal(size=w.shape).astype("float32") for w in _weights()]
            for _ in range(steps)]


def _built(opt):
    variables = [Variable(w, name=f"w{i}") for i, w in enumerate(_weights())]
    opt.build(variables)
    return variables


# ------------------------------------------------------------ against Keras


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_stateless_apply_matches_keras(keras, name, kwargs):
    k_opt = getattr(keras.optimizers, name)(**kwargs)
    k_vars = [keras.Variable(w) for w in _weights()]
    k_opt.build(k_vars)
    ours = getattr(optimizers, name)(**kwargs)
    _built(ours)
    k_t, k_o = [v.value for v in k_vars], [v.value for v in k_opt.variables]
    c_t, c_o = _weights(), [v.value for v in ours.variables]
    step = jax.jit(ours.stateless_apply)
    for g in _grads():
        k_t, k_o = k_opt.stateless_apply(k_o, g, k_t)
        c_t, c_o = step(c_o, g, c_t)
        for a, b in zip(c_t, k_t, strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=1e-6)
    assert int(c_o[0]) == int(k_o[0]) == 3  # iterations come first in both


@pytest.mark.parametrize("name, kwargs", CASES[1:4], ids=IDS[1:4])
def test_apply_gradients_matches_keras(keras, name, kwargs):
    k_opt = getattr(keras.optimizers, name)(**kwargs)
    k_vars = [keras.Variable(w) for w in _weights()]
    ours = getattr(optimizers, name)(**kwargs)
    c_vars = [Variable(w) for w in _weights()]
    for g in _grads():
        k_opt.apply_gradients(zip(g, k_vars, strict=True))
        assert ours.apply_gradients(zip(g, c_vars, strict=True)) is ours.iterations
    for a, b in zip(c_vars, k_vars, strict=True):
        np.testing.assert_allclose(a.numpy(), np.asarray(b.value), rtol=0, atol=1e-6)
    assert int(ours.iterations.numpy()) == int(np.asarray(k_opt.iterations.value)) == 3


# ------------------------------------------------- the same numbers as fit's path


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_stateless_apply_is_the_transform_fit_compiles(name, kwargs):
    opt = getattr(optimizers, name)(**kwargs)
    _built(opt)
    tx = opt.transform()
    params = [jnp.asarray(w) for w in _weights()]
    state = tx.init(params)
    values, opt_values = list(params), [v.value for v in opt.variables]
    for g in _grads():
        updates, state = tx.update(g, state, params)
        params = [p + u for p, u in zip(params, updates, strict=True)]
        values, opt_values = opt.stateless_apply(opt_values, g, values)
        for a, b in zip(values, params, strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for a, b in zip(opt_values, jax.tree.leaves(state), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


# ------------------------------------------------------------ the Variables


def test_build_makes_non_trainable_variables_with_iterations_first():
    opt = Adam(0.01)
    assert opt.variables == [] and not opt.built
    assert opt.iterations.dtype == jnp.int32 and int(opt.iterations.numpy()) == 0
    variables = _built(opt)
    assert opt.built
    assert opt.variables[0] is opt.iterations
    assert all(isinstance(v, Variable) and not v.trainable for v in opt.variables)
    names = [v.name for v in opt.variables]
    assert names[:2] == ["iteration", "learning_rate"]
    assert {"w0_momentum", "w1_momentum", "w0_velocity", "w1_velocity"} <= set(names)
    by_name = {v.name: v for v in opt.variables}
    assert by_name["w0_momentum"].shape == variables[0].shape
    assert float(by_name["learning_rate"].numpy()) == pytest.approx(0.01)


def test_learning_rate_setter_reaches_the_built_variable():
    opt = SGD(0.1)
    variables = _built(opt)
    opt.learning_rate = 0.5
    lr = next(v for v in opt.variables if v.name == "learning_rate")
    assert float(lr.numpy()) == 0.5
    before = variables[0].numpy()
    opt.apply([np.ones((3, 2), "float32"), np.zeros(2, "float32")])
    np.testing.assert_allclose(variables[0].numpy(), before - 0.5, rtol=1e-6)


def test_apply_assigns_and_counts():
    opt = SGD(0.1, momentum=0.9)
    variables = [Variable(w) for w in _weights()]
    before = [v.numpy() for v in variables]
    g = _grads(1)[0]
    opt.apply(g, variables)  # builds on the first call
    np.testing.assert_allclose(variables[0].numpy(), before[0] - 0.1 * g[0], rtol=1e-6)
    assert int(opt.iterations.numpy()) == 1
    # later: the same variables in another order, or none (the built order)
    opt.apply(g[::-1], variables[::-1])
    opt.apply(g)
    assert int(opt.iterations.numpy()) == 3
    momentum = next(v for v in opt.variables if v.name.endswith("momentum"))
    assert np.any(momentum.numpy() != 0)
    opt.apply([])  # nothing to do, as Keras
    assert int(opt.iterations.numpy()) == 3


def test_apply_in_a_stateless_scope_records_instead_of_assigning():
    opt = SGD(0.1)
    variables = _built(opt)
    mapping = [(v, v.value) for v in [*variables, *opt.variables]]
    with StatelessScope(mapping) as scope:
        opt.apply(_grads(1)[0])
        new = scope.get_current_value(variables[0])
        count = scope.get_current_value(opt.iterations)
    assert int(count) == 1 and int(opt.iterations.numpy()) == 0
    np.testing.assert_array_equal(variables[0].numpy(), _weights()[0])
    assert not np.allclose(np.asarray(new), _weights()[0])


def test_constraints_apply_after_the_update():
    opt = SGD(1.0)
    variable = Variable(np.array([0.5, -0.5], "float32"))
    variable.constraint = constraints.NonNeg()
    opt.apply([np.array([1.0, -1.0], "float32")], [variable])
    np.testing.assert_array_equal(variable.numpy(), [0.0, 0.5])


def test_sync_iterations_takes_a_count_or_the_fit_state():
    opt = Adam()
    opt._sync_iterations(7)
    assert int(opt.iterations.numpy()) == 7
    state = opt.transform().init({"w": jnp.zeros(2)})
    opt._sync_iterations(state)
    assert int(opt.iterations.numpy()) == 0
    opt._sync_iterations(jnp.int32(4))
    _built(opt)
    assert int(opt.variables[0].numpy()) == 4  # the built state starts at iterations


def test_fit_then_hook_keeps_iterations_current():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(10, 3)).astype("float32"), rng.normal(size=(10, 1)).astype("float32")
    model = cornu.Sequential([cornu.layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)  # 3 steps per epoch
    assert optimizers.get_iterations(model._opt_state) == 6
    model.optimizer._sync_iterations(model._opt_state)
    assert int(model.optimizer.iterations.numpy()) == 6


# ------------------------------------------------ a training loop from scratch


def test_keras_guide_loop_with_stateless_call_and_stateless_apply():
    """Keras' "writing a training loop from scratch" (JAX) with cornu: one jitted step."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=(16, 1)).astype("float32")
    cornu.utils.set_random_seed(0)
    model = cornu.Sequential([cornu.layers.Dense(4, input_shape=(3,), activation="tanh"),
                              cornu.layers.Dense(1)])
    optimizer = Adam(learning_rate=optimizers.schedules.InverseTimeDecay(0.05, 1, 0.1))
    optimizer.build(model.trainable_variables)

    def compute_loss(trainable, non_trainable, x, y):
        y_pred, non_trainable = model.stateless_call(trainable, non_trainable, x)
        return jnp.mean((y_pred - y) ** 2), non_trainable

    grad_fn = jax.value_and_grad(compute_loss, has_aux=True)

    @jax.jit
    def train_step(state, x, y):
        trainable, non_trainable, optimizer_values = state
        (loss, non_trainable), grads = grad_fn(trainable, non_trainable, x, y)
        trainable, optimizer_values = optimizer.stateless_apply(
            optimizer_values, grads, trainable)
        return loss, (trainable, non_trainable, optimizer_values)

    state = ([v.value for v in model.trainable_variables],
             [v.value for v in model.non_trainable_variables],
             [v.value for v in optimizer.variables])
    losses = []
    for _ in range(20):
        loss, state = train_step(state, x, y)
        losses.append(float(loss))
    trainable, _, optimizer_values = state
    for variable, value in zip(model.trainable_variables, trainable, strict=True):
        variable.assign(value)
    for variable, value in zip(optimizer.variables, optimizer_values, strict=True):
        variable.assign(value)
    assert losses[-1] < losses[0]
    assert int(optimizer.iterations.numpy()) == 20
    assert optimizer.learning_rate == pytest.approx(0.05 / (1 + 0.1 * 20), rel=1e-6)
    model.compile(loss="mse")
    assert float(model.evaluate(x, y, verbose=0)) == pytest.approx(
        float(compute_loss(trainable, state[1], x, y)[0]), rel=1e-5)


# ------------------------------------------------------------------ errors


def test_errors_say_what_to_do():
    opt = SGD(0.1)
    with pytest.raises(ValueError, match=r"optimizer.build\(trainable_variables\)"):
        opt.stateless_apply([], [], [])
    with pytest.raises(ValueError, match="must already be built"):
        opt.apply(_grads(1)[0])
    variables = _built(opt)
    values = [v.value for v in opt.variables]
    with pytest.raises(ValueError, match=r"one value per entry of optimizer.variables \(2\)"):
        opt.stateless_apply(values[:1], _grads(1)[0], _weights())
    with pytest.raises(ValueError, match=r"built with \(2\). Received 1 gradients"):
        opt.stateless_apply(values, _grads(1)[0][:1], _weights())
    with pytest.raises(ValueError, match=r"grads\[1\] is None"):
        opt.stateless_apply(values, [_grads(1)[0][0], None], _weights())
    with pytest.raises(ValueError, match="Unknown variable"):
        opt.apply(_grads(1)[0], [variables[0], Variable(np.zeros(2, "float32"))])
    with pytest.raises(ValueError, match="a gradient for each of the 2 variables"):
        opt.apply(_grads(1)[0][:1], variables[:1])
    from_arrays = SGD(0.1)
    from_arrays.build(_weights())
    with pytest.raises(ValueError, match="built from arrays: use stateless_apply"):
        from_arrays.apply(_grads(1)[0])


def test_adamw_and_rmsprop_keep_working_through_the_object_api():
    for opt in (AdamW(0.01), RMSprop(0.01, centered=True), Adagrad(0.1)):
        variables = _built(opt)
        opt.apply(_grads(1)[0])
        assert int(opt.iterations.numpy()) == 1
        assert not np.allclose(variables[0].numpy(), _weights()[0])


# ------------------------------------------------ the optimizers described as data


@pytest.mark.parametrize("name", sorted(optimizers.catalog.SPECS))
def test_constructor_signature_is_keras(keras, name):
    ours = inspect.signature(getattr(optimizers, name)).parameters
    theirs = inspect.signature(getattr(keras.optimizers, name)).parameters
    positional = [p for p in ours.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert [p.name for p in positional] == list(theirs)[:len(positional)]
    for p in positional:
        assert p.default == theirs[p.name].default, p.name
    assert {"clipnorm", "clipvalue", "global_clipnorm", "name"} <= set(ours)
    assert getattr(optimizers, name).__module__ == "cornu.optimizers"


def test_subclasses_and_errors_of_the_built_classes():
    class MyAdam(Adam):
        def __init__(self, scale=2.0, **kwargs):
            super().__init__(**kwargs)
            self.scale = scale

    with pytest.warns(DeprecationWarning, match="`lr` is deprecated") as record:
        opt = MyAdam(lr=0.5)
    assert record[0].filename == __file__  # points at this line, above both __init__s
    assert opt.learning_rate == 0.5 and opt.scale == 2.0 and opt.transform_key() is None
    assert isinstance(AdamW(), Adam) and not isinstance(Adam(), AdamW)
    with pytest.raises(TypeError, match=r"SGD\(\): got an unexpected keyword argument 'decay'"):
        SGD(decay=1e-6)
    with pytest.raises(TypeError, match="RMSprop"):
        RMSprop(0.1, 0.9, 0.0, 1e-7, False, 3)

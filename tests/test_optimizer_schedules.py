"""cornu.optimizers.schedules against Keras 3's, and optimizers driven by a schedule.

The schedules' values are compared with keras.optimizers.schedules at many steps (eager
and jitted); an optimizer with a schedule computes the rate inside the compiled update
from its step count, so `model.fit` and `stateless_apply` give the same weights, with a
new rate at every step.
"""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import cornu
from cornu import optimizers
from cornu.optimizers import SGD, Adam, schedules
from cornu.variables import Variable

os.environ.setdefault("KERAS_BACKEND", "jax")

STEPS = np.arange(0, 80)

CASES = [
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.8}),
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.8,
                          "staircase": True}),
    ("PiecewiseConstantDecay", {"boundaries": [5, 20, 33], "values": [1.0, 0.5, 0.1, 0.01]}),
    ("PiecewiseConstantDecay", {"boundaries": [10], "values": [0.3, 0.03]}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 13,
                         "end_learning_rate": 0.01, "power": 0.5}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 13,
                         "end_learning_rate": 0.01, "power": 2.0, "cycle": True}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 30}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5,
                          "staircase": True}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 40, "alpha": 0.1}),
    ("CosineDecay", {"initial_learning_rate": 0.0, "decay_steps": 30, "warmup_target": 0.2,
                     "warmup_steps": 10}),
    ("CosineDecay", {"initial_learning_rate": 0.05, "decay_steps": 30, "warmup_target": 0.2}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 5,
                             "t_mul": 2.0, "m_mul": 0.9, "alpha": 0.05}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 5,
                             "t_mul": 1.0, "m_mul": 0.5}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


def _values(schedule, steps=STEPS) -> np.ndarray:
    return np.array([np.asarray(schedule(jnp.int32(s))) for s in steps])


def _keras_values(schedule, steps=STEPS) -> np.ndarray:
    """Keras' values step by step, its ops.cond run as Python branches (eagerly, each
    cond is a small compiled program: 2-4 s for the 80 steps of a warmup or a restart
    schedule); the same numbers, as the ops run op by op either way."""
    with jax.disable_jit():
        return _values(schedule, steps)


# ------------------------------------------------------------ values against Keras


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_values_match_keras_at_many_steps(keras, name, kwargs):
    ours = getattr(schedules, name)(**kwargs)
    theirs = getattr(keras.optimizers.schedules, name)(**kwargs)
    expected = _keras_values(theirs)
    got = _values(ours)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    # compiled, all steps at once: the same up to the compiler's float32 rounding
    jitted = np.asarray(jax.jit(jax.vmap(ours))(jnp.asarray(STEPS, jnp.int32)))
    np.testing.assert_allclose(jitted, expected, rtol=1e-5, atol=1e-8)
    assert np.all(np.isfinite(jitted))


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_config_matches_keras_and_round_trips(keras, name, kwargs):
    ours = getattr(schedules, name)(**kwargs)
    theirs = getattr(keras.optimizers.schedules, name)(**kwargs)
    assert ours.get_config() == theirs.get_config()
    data = schedules.serialize(ours)
    assert data == {"class_name": name, "config": ours.get_config()}
    again = schedules.deserialize(json.loads(json.dumps(data)))
    assert type(again) is type(ours) and again.get_config() == ours.get_config()
    # Keras' own serialized form (module, registered_name) reads too
    from_keras = schedules.deserialize(keras.optimizers.schedules.serialize(theirs))
    np.testing.assert_array_equal(_values(from_keras), _values(ours))


def test_known_values_by_hand():
    exp = schedules.ExponentialDecay(1.0, decay_steps=10, decay_rate=0.5)
    np.testing.assert_allclose(_values(exp, [0, 10, 20, 5]), [1, 0.5, 0.25, 0.5**0.5],
                               rtol=1e-6)
    piece = schedules.PiecewiseConstantDecay([3, 6], [1.0, 0.5, 0.1])
    np.testing.assert_allclose(_values(piece, range(9)),
                               [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.1, 0.1], rtol=1e-6)
    poly = schedules.PolynomialDecay(1.0, decay_steps=4, end_learning_rate=0.0)
    np.testing.assert_allclose(_values(poly, range(7)), [1, 0.75, 0.5, 0.25, 0, 0, 0],
                               atol=1e-7)
    cos = schedules.CosineDecay(1.0, decay_steps=2, warmup_target=2.0, warmup_steps=2)
    np.testing.assert_allclose(_values(cos, range(6)), [1, 1.5, 2, 1, 0, 0], atol=1e-6)
    inv = schedules.InverseTimeDecay(1.0, decay_steps=1, decay_rate=1.0)
    np.testing.assert_allclose(_values(inv, range(4)), [1, 1 / 2, 1 / 3, 1 / 4], rtol=1e-6)


def test_schedules_trace_once_under_jit():
    traces = 0

    def rate(step):
        nonlocal traces
        traces += 1
        return schedules.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=5)(step)

    compiled = jax.jit(rate)
    values = [float(compiled(jnp.int32(s))) for s in range(20)]
    assert traces == 1 and len(set(values)) > 10


def test_polynomial_decay_stays_finite_past_its_end_when_compiled():
    poly = schedules.PolynomialDecay(0.1, decay_steps=13, end_learning_rate=0.01, power=0.5)
    values = np.asarray(jax.jit(jax.vmap(poly))(jnp.arange(200, dtype=jnp.int32)))
    assert np.all(np.isfinite(values)) and values[-1] == pytest.approx(0.01)


# ------------------------------------------------------------------ checks


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: schedules.ExponentialDecay(0.1, 0, 0.9),
         "decay_steps must be a positive number. Received: decay_steps=0"),
        (lambda: schedules.InverseTimeDecay(0.1, -5, 0.9), "decay_steps=-5"),
        (lambda: schedules.PolynomialDecay(0.1, "10"), "decay_steps='10'"),
        (lambda: schedules.CosineDecay(0.1, 0), "decay_steps=0"),
        (lambda: schedules.CosineDecayRestarts(0.1, 0), "first_decay_steps=0"),
        (lambda: schedules.ExponentialDecay(-0.1, 10, 0.9), "initial_learning_rate=-0.1"),
        (lambda: schedules.ExponentialDecay(0.1, 10, 0.9, staircase="yes"), "staircase='yes'"),
        (lambda: schedules.PolynomialDecay(0.1, 10, cycle=1), "cycle=1"),
        (lambda: schedules.CosineDecay(0.1, 10, warmup_target=-1.0), "warmup_target=-1.0"),
        (lambda: schedules.CosineDecay(0.1, 10, warmup_steps=-2), "warmup_steps=-2"),
        (lambda: schedules.CosineDecayRestarts(0.1, 10, t_mul=0), "t_mul=0"),
        (lambda: schedules.PiecewiseConstantDecay([5, 3], [1.0, 0.5, 0.1]),
         "boundaries must be strictly increasing. Received: boundaries=[5, 3]"),
        (lambda: schedules.PiecewiseConstantDecay([5], [1.0]), "length of values"),
        (lambda: schedules.PiecewiseConstantDecay([5], [1.0, "x"]), "values[1]='x'"),
        (lambda: schedules.PiecewiseConstantDecay(5, [1.0]), "boundaries=5"),
        (lambda: schedules.ExponentialDecay(0.1, 10, 0.9, name=3), "name=3"),
    ],
)
def test_bad_arguments_name_argument_and_value(make, message):
    with pytest.raises(ValueError) as info:
        make()
    assert message in str(info.value), str(info.value)


def test_base_class_asks_for_call_and_config():
    class Half(schedules.LearningRateSchedule):
        def __call__(self, step):
            return 0.5 / (1.0 + jnp.asarray(step, jnp.float32))

    with pytest.raises(NotImplementedError, match="__call__"):
        schedules.LearningRateSchedule()(0)
    with pytest.raises(NotImplementedError, match="get_config"):
        Half().get_config()
    assert float(Half()(1)) == pytest.approx(0.25)


def test_serialize_and_deserialize_know_the_built_ins_only():
    class Mine(schedules.ExponentialDecay):
        pass

    with pytest.raises(ValueError, match="built-in schedules"):
        schedules.serialize(Mine(0.1, 10, 0.5))
    with pytest.raises(ValueError, match="class_name='os.system'.*ExponentialDecay"):
        schedules.deserialize({"class_name": "os.system", "config": {}})
    with pytest.raises(ValueError, match="Unknown learning rate schedule"):
        schedules.deserialize({"module": None, "class_name": "ExponentialDecay",
                               "config": {}, "registered_name": "my_pkg>ExponentialDecay"})
    with pytest.raises(ValueError, match="class_name"):
        schedules.deserialize({"config": {}})


# ------------------------------------------------- optimizers with a schedule


def test_learning_rate_reads_the_schedule_at_iterations():
    schedule = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    opt = SGD(learning_rate=schedule)
    assert opt.learning_rate == pytest.approx(0.1)
    opt._sync_iterations(3)
    assert opt.learning_rate == pytest.approx(0.1 * 0.5**3)
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.01


def test_a_function_of_the_step_is_a_schedule_too():
    opt = SGD(learning_rate=lambda step: 0.1 / (1.0 + step))
    assert opt.learning_rate == pytest.approx(0.1)
    tx = opt.transform()
    params = {"w": jnp.ones(3)}
    state = tx.init(params)
    updates = []
    for _ in range(3):
        u, state = tx.update({"w": jnp.ones(3)}, state, params)
        updates.append(float(u["w"][0]))
    np.testing.assert_allclose(updates, [-0.1, -0.05, -0.1 / 3], rtol=1e-6)
    assert opt.transform_key() is None  # a function's code is not in the config
    # Keras' spelling: a function without arguments, called at every step
    assert SGD(learning_rate=lambda: 0.02).learning_rate == pytest.approx(0.02)


def test_the_update_uses_the_schedule_at_the_step_count_inside_one_program():
    schedule = schedules.PiecewiseConstantDecay([1, 3], [1.0, 0.5, 0.1])
    tx = SGD(learning_rate=schedule).transform()
    params = {"w": jnp.zeros(2)}
    grads = jnp.ones((6, 2))

    def body(state, g):
        updates, state = tx.update({"w": g}, state, params)
        return state, updates["w"][0]

    state, steps = jax.jit(lambda s: jax.lax.scan(body, s, grads))(tx.init(params))
    # Keras: the rate of update t (0-based) is schedule(t)
    np.testing.assert_allclose(steps, [-1.0, -1.0, -0.5, -0.5, -0.1, -0.1], rtol=1e-6)
    assert isinstance(state, optimizers.ScheduledState)
    assert optimizers.get_iterations(state) == 6
    assert optimizers.get_learning_rate(state) == pytest.approx(0.1)  # the last step's
    # the loop's per-epoch set_learning_rate leaves a scheduled state alone
    assert optimizers.set_learning_rate(state, 0.0) is state


def test_config_holds_the_schedule_and_rebuilds_it():
    schedule = schedules.CosineDecay(0.1, 100, alpha=0.1, warmup_target=0.2, warmup_steps=5)
    opt = Adam(learning_rate=schedule, beta_1=0.8)
    config = opt.get_config()
    assert config["learning_rate"] == schedules.serialize(schedule)
    data = json.loads(json.dumps(optimizers.serialize(opt)))
    again = optimizers.deserialize(data)
    assert isinstance(again._learning_rate, schedules.CosineDecay)
    assert again.get_config() == config
    assert again.transform_key() == opt.transform_key() is not None
    other = Adam(learning_rate=schedules.CosineDecay(0.1, 100), beta_1=0.8)
    assert other.transform_key() != opt.transform_key()
    assert Adam(0.1, beta_1=0.8).transform_key() != opt.transform_key()


def test_reads_a_keras_optimizer_config_with_a_schedule(keras):
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, 100, 0.9, staircase=True)
    config = keras.optimizers.Adam(learning_rate=schedule).get_config()
    opt = Adam.from_config(config)
    assert isinstance(opt._learning_rate, schedules.ExponentialDecay)
    assert opt._learning_rate.get_config() == schedule.get_config()


def test_serialize_refuses_what_it_cannot_save():
    with pytest.raises(ValueError, match="learning_rate=<function"):
        optimizers.serialize(SGD(learning_rate=lambda step: 0.1))

    class Mine(schedules.LearningRateSchedule):
        def __call__(self, step):
            return jnp.float32(0.1)

    opt = SGD(learning_rate=Mine())
    assert opt.transform_key() is None
    assert "Mine" in repr(opt)
    with pytest.raises(ValueError, match="learning_rate="):
        optimizers.serialize(opt)


def test_switching_to_a_schedule_before_build_and_not_after():
    opt = SGD(0.1)
    opt.learning_rate = schedules.ExponentialDecay(0.1, 10, 0.5)
    assert isinstance(opt.transform().init({"w": jnp.zeros(1)}), optimizers.ScheduledState)
    built = SGD(0.1)
    built.build([jnp.zeros(2)])
    with pytest.raises(TypeError, match="SGD is built"):
        built.learning_rate = schedules.ExponentialDecay(0.1, 10, 0.5)


def test_adam_with_exponential_decay_matches_keras_stateless_apply(keras):
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(3, 2)).astype("float32"), rng.normal(size=2).astype("float32")]
    grads = [[rng.normal(size=w.shape).astype("float32") for w in weights] for _ in range(3)]

    def schedule(module):
        return module.optimizers.schedules.ExponentialDecay(0.01, decay_steps=1, decay_rate=0.5)

    k_opt = keras.optimizers.Adam(learning_rate=schedule(keras))
    k_vars = [keras.Variable(w) for w in weights]
    k_opt.build(k_vars)
    ours = Adam(learning_rate=schedule(cornu))
    ours.build([Variable(w) for w in weights])
    k_t, k_o = [v.value for v in k_vars], [v.value for v in k_opt.variables]
    c_t, c_o = list(weights), [v.value for v in ours.variables]
    for g in grads:
        k_t, k_o = k_opt.stateless_apply(k_o, g, k_t)
        c_t, c_o = jax.jit(ours.stateless_apply)(c_o, g, c_t)
        for a, b in zip(c_t, k_t, strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=1e-6)
    assert int(c_o[0]) == int(k_o[0]) == 3
    assert ours.variables[0] is ours.iterations


# ------------------------------------------------------------- fit with a schedule


def _data():
    rng = np.random.default_rng(0)
    return (rng.normal(size=(8, 3)).astype("float32"),
            rng.normal(size=(8, 1)).astype("float32"))


def _fit(learning_rate, weights, epochs=5):
    x, y = _data()
    model = cornu.Sequential([cornu.layers.Dense(1, input_shape=(3,))])
    model.set_weights(weights)
    model.compile(optimizer=SGD(learning_rate=learning_rate, momentum=0.5), loss="mse")
    model.fit(x, y, epochs=epochs, batch_size=8, shuffle=False, verbose=0)
    return model


def test_fit_with_a_schedule_equals_stateless_apply_with_a_new_rate_each_step():
    x, y = _data()
    cornu.utils.set_random_seed(3)
    weights = cornu.Sequential([cornu.layers.Dense(1, input_shape=(3,))]).get_weights()
    schedule = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    model = _fit(schedule, weights)  # 5 epochs of one batch: 5 steps

    manual = SGD(learning_rate=schedule, momentum=0.5)
    manual.build([jnp.asarray(w) for w in weights])
    values, state = [jnp.asarray(w) for w in weights], [v.value for v in manual.variables]
    rates = []

    def loss(values):
        kernel, bias = values
        return jnp.mean((x @ kernel + bias[None, :] - y) ** 2)

    for _ in range(5):
        values, state = manual.stateless_apply(state, jax.grad(loss)(values), values)
        rates.append(float(state[1]))  # the learning-rate entry: the rate this step used
    for got, want in zip(model.get_weights(), values, strict=True):
        np.testing.assert_allclose(got, np.asarray(want), rtol=1e-6, atol=1e-7)
    # the rate changed at every step ...
    np.testing.assert_allclose(rates, [0.1 * 0.5**t for t in range(5)], rtol=1e-6)
    assert optimizers.get_iterations(model._opt_state) == 5
    assert optimizers.get_learning_rate(model._opt_state) == pytest.approx(0.1 * 0.5**4)
    # ... which a constant rate does not reproduce
    constant = _fit(0.1, weights)
    assert not np.allclose(constant.get_weights()[0], model.get_weights()[0], atol=1e-4)
    # after the engine's hook, the optimizer reads the rate of the next step
    model.optimizer._sync_iterations(model._opt_state)
    assert int(model.optimizer.iterations.numpy()) == 5
    assert model.optimizer.learning_rate == pytest.approx(0.1 * 0.5**5)


def test_fit_with_a_schedule_compiles_once_and_saves(tmp_path):
    x, y = _data()
    model = cornu.Sequential([cornu.layers.Dense(1, input_shape=(3,))])
    schedule = schedules.PolynomialDecay(0.1, 3, end_learning_rate=0.0)  # reaches 0
    model.compile(optimizer=Adam(learning_rate=schedule), loss="mse")
    model.fit(x, y, epochs=4, batch_size=4, shuffle=False, verbose=0)
    assert model._engine.traces["train"] == 1
    path = tmp_path / "model.cornu"
    model.save(str(path))
    loaded = cornu.saving.load_model(str(path))
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    same = jax.tree.map(lambda a, b: bool(jnp.all(a == b)), loaded._opt_state, model._opt_state)
    assert all(jax.tree.leaves(same))
    assert isinstance(loaded._opt_state, optimizers.ScheduledState)
    assert optax.tree.norm(loaded._opt_state.inner_state.m) > 0


def test_iterations_and_the_schedule_go_on_across_compile_and_load(tmp_path):
    x, y = _data()
    schedule = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    optimizer = SGD(learning_rate=schedule)
    model = cornu.Sequential([cornu.layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer=optimizer, loss="mse")
    rates = []
    read_rate = cornu.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: rates.append(model.optimizer.learning_rate))
    model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[read_rate])
    # callbacks read the rate of the next step at each epoch end (one step an epoch)
    np.testing.assert_allclose(rates, [0.1 * 0.5**t for t in (1, 2, 3)], rtol=1e-6)
    assert int(optimizer.iterations.numpy()) == 3
    model.compile(optimizer=optimizer, loss="mse")  # new slots; the step count goes on
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert int(optimizer.iterations.numpy()) == optimizers.get_iterations(model._opt_state) == 5
    assert optimizers.get_learning_rate(model._opt_state) == pytest.approx(0.1 * 0.5**4)
    path = tmp_path / "model.cornu"
    model.save(str(path))
    loaded = cornu.saving.load_model(str(path))
    assert int(loaded.optimizer.iterations.numpy()) == 5
    assert loaded.optimizer.learning_rate == pytest.approx(0.1 * 0.5**5)


class _Stepped(cornu.Sequential):
    """Keras' step protocol: fit runs this train_step, one jitted step a batch, on the
    values of optimizer.variables."""

    def train_step(self, state, data):
        return super().train_step(state, data)


def test_a_schedule_in_a_train_step_override_matches_the_compiled_fit():
    x, y = _data()
    cornu.utils.set_random_seed(3)
    weights = cornu.Sequential([cornu.layers.Dense(1, input_shape=(3,))]).get_weights()
    schedule = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    compiled = _fit(schedule, weights)
    stepped = _Stepped([cornu.layers.Dense(1, input_shape=(3,))])
    stepped.set_weights(weights)
    stepped.compile(optimizer=SGD(learning_rate=schedule, momentum=0.5), loss="mse")
    assert stepped._uses_steps()
    stepped.fit(x, y, epochs=5, batch_size=8, shuffle=False, verbose=0)
    for got, want in zip(stepped.get_weights(), compiled.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert int(stepped.optimizer.iterations.numpy()) == 5
    assert int(compiled.optimizer.iterations.numpy()) == 5
    assert stepped.optimizer.learning_rate == pytest.approx(0.1 * 0.5**5)
    assert compiled.optimizer.learning_rate == pytest.approx(0.1 * 0.5**5)

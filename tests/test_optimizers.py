"""cornu.optimizers against Keras 3's update rules, written out in NumPy (float64).

Each reference below is Keras 3's `update_step` (keras/src/optimizers/*.py) for one
variable, plus the base optimizer's clipping and weight decay. The cornu transform runs
in float32 under jit; each step's update is compared with the reference's step.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings

from cornu import optimizers
from cornu.optimizers import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    Nadam,
    Optimizer,
    RMSprop,
)

RTOL = 1e-5
ALL = [SGD, RMSprop, Adagrad, Adadelta, Adam, AdamW, Adamax, Nadam]


@pytest.fixture(autouse=True)
def strict_rank_promotion():
    with jax.numpy_rank_promotion("raise"):
        yield


# ------------------------------------------------------------------ fixtures

PARAMS = {
    "kernel": np.array([[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0]]),
    "bias": np.array([0.1, -0.2]),
}


def _grads(seed: int, scale: float = 1.0, bias_scale: float = 1.0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    grads = {k: scale * rng.normal(size=v.shape) for k, v in PARAMS.items()}
    grads["bias"] *= bias_scale
    return grads


# Three steps; the third gradient is small, so running maxima (amsgrad, Adamax) matter.
# The bias gradients are near epsilon (1e-7), so where epsilon goes shows in the result.
GRADS = [_grads(1, bias_scale=1e-6), _grads(2, 2.0, 1e-6), _grads(3, 0.01, 1e-6)]


# ---------------------------------------------------- Keras 3 rules in NumPy

Rule = Callable[..., np.ndarray]


def k_sgd(w, g, s, t, lr, momentum=0.0, nesterov=False):
    if momentum == 0:
        return w - lr * g
    s["m"] = momentum * s.get("m", 0.0) - lr * g
    return w + (momentum * s["m"] - lr * g if nesterov else s["m"])


def k_rmsprop(w, g, s, t, lr, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
    s["vel"] = rho * s.get("vel", 0.0) + (1 - rho) * g**2
    if centered:
        s["avg"] = rho * s.get("avg", 0.0) + (1 - rho) * g
        denominator = s["vel"] - s["avg"] ** 2 + epsilon
    else:
        denominator = s["vel"] + epsilon
    increment = lr * g / np.sqrt(denominator)
    if momentum > 0:
        s["mom"] = momentum * s.get("mom", 0.0) + increment
        return w - s["mom"]
    return w - increment


def k_adagrad(w, g, s, t, lr, initial_accumulator_value=0.1, epsilon=1e-7):
    s["acc"] = s.get("acc", initial_accumulator_value) + g**2
    return w - lr * g / np.sqrt(s["acc"] + epsilon)


def k_adadelta(w, g, s, t, lr, rho=0.95, epsilon=1e-7):
    def rms(x):
        return np.sqrt(x + epsilon)

    s["acc_g"] = rho * s.get("acc_g", 0.0) + (1 - rho) * g**2
    delta = -rms(s.get("acc_dx", 0.0)) * g / rms(s["acc_g"])
    s["acc_dx"] = rho * s.get("acc_dx", 0.0) + (1 - rho) * delta**2
    return w + lr * delta


def k_adam(w, g, s, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False):
    alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    s["m"] = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - beta_1)
    s["v"] = s.get("v", 0.0) + (g**2 - s.get("v", 0.0)) * (1 - beta_2)
    v = s["v"]
    if amsgrad:
        s["v_hat"] = np.maximum(s.get("v_hat", 0.0), s["v"])
        v = s["v_hat"]
    return w - s["m"] * alpha / (np.sqrt(v) + epsilon)


def k_adamax(w, g, s, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    s["m"] = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - beta_1)
    s["u"] = np.maximum(beta_2 * s.get("u", 0.0), np.abs(g))
    return w - lr * s["m"] / ((1 - beta_1**t) * (s["u"] + epsilon))


def k_nadam(w, g, s, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    def u(i):
        return beta_1 * (1.0 - 0.5 * 0.96**i)

    # Keras keeps the running product u_1 * ... * u_t in a variable; here in closed form.
    u_product_t = math.prod(u(i) for i in range(1, t + 1))
    u_product_t_1 = u_product_t * u(t + 1)
    s["m"] = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - beta_1)
    s["v"] = s.get("v", 0.0) + (g**2 - s.get("v", 0.0)) * (1 - beta_2)
    m_hat = u(t + 1) * s["m"] / (1 - u_product_t_1) + (1 - u(t)) * g / (1 - u_product_t)
    v_hat = s["v"] / (1 - beta_2**t)
    return w - m_hat * lr / (np.sqrt(v_hat) + epsilon)


RULES: dict[type[Optimizer], Rule] = {
    SGD: k_sgd,
    RMSprop: k_rmsprop,
    Adagrad: k_adagrad,
    Adadelta: k_adadelta,
    Adam: k_adam,
    AdamW: k_adam,
    Adamax: k_adamax,
    Nadam: k_nadam,
}
KERAS_LR = {SGD: 0.01}  # every other optimizer defaults to 0.001


def k_clip(grads, clipnorm=None, clipvalue=None, global_clipnorm=None):
    """Keras 3 BaseOptimizer._clip_gradients."""
    if clipnorm:
        return {k: g * clipnorm / max(np.linalg.norm(g), clipnorm) for k, g in grads.items()}
    if global_clipnorm:
        norm = math.sqrt(sum(np.sum(g**2) for g in grads.values()))
        return {
            k: g * global_clipnorm * min(1 / norm, 1 / global_clipnorm) for k, g in grads.items()
        }
    if clipvalue:
        return {k: np.clip(g, -clipvalue, clipvalue) for k, g in grads.items()}
    return grads


def keras_steps(
    rule: Rule,
    lrs: Sequence[float],
    grads_seq: Sequence[dict],
    *,
    weight_decay: float | None = None,
    clip: dict | None = None,
    **hp,
) -> list[dict[str, np.ndarray]]:
    """Per-step parameter changes of Keras 3: clip, decay weights, then update_step."""
    params = {k: v.astype(np.float64) for k, v in PARAMS.items()}
    slots: dict[str, dict] = {k: {} for k in params}
    deltas = []
    for t, (lr, grads) in enumerate(zip(lrs, grads_seq, strict=True), start=1):
        grads = k_clip(grads, **(clip or {}))
        new = {}
        for k, w in params.items():
            if weight_decay is not None:
                w = w - w * weight_decay * lr
            new[k] = rule(w, grads[k], slots[k], t, lr, **hp)
        deltas.append({k: new[k] - params[k] for k in params})
        params = new
    return deltas


def cornu_steps(
    opt: Optimizer, grads_seq: Sequence[dict], lrs: Sequence[float] | None = None
) -> list[dict[str, np.ndarray]]:
    """Per-step updates of cornu's transform, float32, jitted, params updated each step."""
    tx = opt.transform()
    params = jax.tree.map(jnp.float32, PARAMS)
    state = tx.init(params)
    update = jax.jit(tx.update)
    deltas = []
    for i, grads in enumerate(grads_seq):
        if lrs is not None:
            state = optimizers.set_learning_rate(state, lrs[i])
        updates, state = update(jax.tree.map(jnp.float32, grads), state, params)
        params = optax.apply_updates(params, updates)
        deltas.append(jax.tree.map(np.asarray, updates))
    return deltas


def assert_steps_close(actual, expected, rtol=RTOL):
    assert len(actual) == len(expected)
    for step, (a, e) in enumerate(zip(actual, expected, strict=True), start=1):
        for k in e:
            scale = np.max(np.abs(e[k]))
            np.testing.assert_allclose(
                a[k], e[k], rtol=rtol, atol=rtol * scale, err_msg=f"step {step}, {k}"
            )


def check(opt: Optimizer, *, lrs=None, clip=None, weight_decay=None, **hp):
    rule = RULES[type(opt)]
    expected = keras_steps(
        rule,
        lrs or [opt.learning_rate] * len(GRADS),
        GRADS,
        clip=clip,
        weight_decay=weight_decay,
        **hp,
    )
    assert_steps_close(cornu_steps(opt, GRADS, lrs), expected)


# ------------------------------------------------------- update rules vs Keras


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_defaults_match_keras_three_steps(cls):
    opt = cls()
    assert opt.learning_rate == KERAS_LR.get(cls, 0.001)
    check(opt, weight_decay=0.004 if cls is AdamW else None)


@pytest.mark.parametrize(
    "opt, hp",
    [
        (SGD(momentum=0.9), {"momentum": 0.9}),
        (SGD(0.1, momentum=0.5, nesterov=True), {"momentum": 0.5, "nesterov": True}),
        (RMSprop(momentum=0.9), {"momentum": 0.9}),
        (RMSprop(centered=True), {"centered": True}),
        (
            RMSprop(0.01, 0.8, 0.5, 1e-6, True),
            dict(rho=0.8, momentum=0.5, epsilon=1e-6, centered=True),
        ),
        (Adagrad(0.1, initial_accumulator_value=0.0), {"initial_accumulator_value": 0.0}),
        (Adadelta(1.0, rho=0.9, epsilon=1e-6), {"rho": 0.9, "epsilon": 1e-6}),
        (Adam(amsgrad=True), {"amsgrad": True}),
        (Adam(amsgrad=True, beta_2=0.5), {"amsgrad": True, "beta_2": 0.5}),
        (Adam(0.01, 0.5, 0.9, 1e-3), dict(beta_1=0.5, beta_2=0.9, epsilon=1e-3)),
        (Adamax(0.01, beta_1=0.8, beta_2=0.5), {"beta_1": 0.8, "beta_2": 0.5}),
        (
            Nadam(0.01, beta_1=0.8, beta_2=0.9, epsilon=1e-4),
            dict(beta_1=0.8, beta_2=0.9, epsilon=1e-4),
        ),
    ],
    ids=repr,
)
def test_variants_match_keras(opt, hp):
    check(opt, **hp)


def test_amsgrad_variant_is_exercised():
    plain, ams = (
        cornu_steps(Adam(beta_2=0.5), GRADS),
        cornu_steps(Adam(beta_2=0.5, amsgrad=True), GRADS),
    )
    assert not np.allclose(plain[2]["kernel"], ams[2]["kernel"])


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adamw_decays_weights_before_the_adam_step(amsgrad):
    opt = AdamW(learning_rate=0.05, weight_decay=0.5, amsgrad=amsgrad)
    check(opt, weight_decay=0.5, amsgrad=amsgrad)


def test_adamw_is_adam_and_needs_params():
    opt = AdamW()
    assert isinstance(opt, Adam)
    tx = opt.transform()
    state = tx.init(PARAMS)
    with pytest.raises(ValueError, match="params"):
        tx.update(GRADS[0], state)


@pytest.mark.parametrize("cls", [Adam, Adamax, Nadam], ids=lambda c: c.__name__)
def test_keras_rule_differs_from_optax_namesake(cls):
    """Why these three are written out: optax's rule of the same name is not Keras'.

    The difference is in where epsilon goes, so it shows with gradients near epsilon.
    """
    optax_tx = {Adam: optax.adam, Adamax: optax.adamax, Nadam: optax.nadam}[cls]
    grads_seq = [_grads(5, 1e-7), _grads(6, 0.0)]
    ours = _run(cls(beta_2=0.5).transform(), grads_seq)
    theirs = _run(optax_tx(1e-3, b1=0.9, b2=0.5, eps=1e-7), grads_seq)
    assert not np.allclose(ours[1]["kernel"], theirs[1]["kernel"], rtol=1e-2)


@settings(max_examples=20, deadline=None)
@given(
    lr=st.floats(1e-4, 1.0),
    beta_1=st.floats(0.0, 0.99),
    beta_2=st.floats(0.5, 0.9999),
    epsilon=st.floats(1e-8, 1e-2),
    cls=st.sampled_from([Adam, Adamax, Nadam]),
)
def test_adam_family_matches_keras_for_any_hyperparameters(lr, beta_1, beta_2, epsilon, cls):
    opt = cls(learning_rate=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
    check(opt, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)


# ------------------------------------------------------------------- clipping


@pytest.mark.parametrize(
    "clip",
    [
        {"clipnorm": 1.0},
        {"clipnorm": 100.0},
        {"clipvalue": 0.3},
        {"global_clipnorm": 1.5},
        {"global_clipnorm": 1e3},
    ],
    ids=repr,
)
@pytest.mark.parametrize("cls", [SGD, Adam, RMSprop], ids=lambda c: c.__name__)
def test_clipping_before_the_rule(cls, clip):
    check(cls(**clip), clip=clip)


def test_clipnorm_is_per_tensor_and_global_clipnorm_is_not():
    grads = {"kernel": np.full((3, 2), 10.0), "bias": np.array([0.3, 0.4])}  # norms 24.5, 0.5
    per_tensor = cornu_steps(SGD(1.0, clipnorm=1.0), [grads])[0]
    np.testing.assert_allclose(np.linalg.norm(per_tensor["kernel"]), 1.0, rtol=1e-6)
    np.testing.assert_allclose(per_tensor["bias"], -grads["bias"], rtol=1e-6)  # under the limit
    whole = cornu_steps(SGD(1.0, global_clipnorm=1.0), [grads])[0]
    total = math.sqrt(sum(np.sum(np.square(u)) for u in whole.values()))
    np.testing.assert_allclose(total, 1.0, rtol=1e-6)
    clipped = cornu_steps(SGD(1.0, clipvalue=0.35), [grads])[0]
    np.testing.assert_allclose(clipped["kernel"], -0.35, rtol=1e-6)
    np.testing.assert_allclose(clipped["bias"], [-0.3, -0.35], rtol=1e-6)


def test_only_one_clipping_argument():
    with pytest.raises(ValueError, match=r"clipnorm=1\.0, clipvalue=0\.5"):
        Adam(clipnorm=1.0, clipvalue=0.5)


# -------------------------------------------------------------- learning rate


def test_state_holds_learning_rate_as_float32_scalar():
    state = Adam(learning_rate=0.02).transform().init(PARAMS)
    lr = state.hyperparams["learning_rate"]
    assert lr.dtype == jnp.float32 and lr.shape == ()
    assert optimizers.get_learning_rate(state) == pytest.approx(0.02)
    new = optimizers.set_learning_rate(state, 0.5)
    assert new.hyperparams["learning_rate"].dtype == jnp.float32
    assert new.hyperparams["learning_rate"].shape == ()
    assert optimizers.get_learning_rate(new) == pytest.approx(0.5)
    assert optimizers.get_learning_rate(state) == pytest.approx(0.02)  # not mutated


def test_set_learning_rate_changes_step_without_recompiling():
    tx = SGD(learning_rate=0.1).transform()
    params = jax.tree.map(jnp.float32, PARAMS)
    grads = jax.tree.map(jnp.float32, GRADS[0])
    traces = 0

    @jax.jit
    def step(params, state):
        nonlocal traces
        traces += 1
        updates, state = tx.update(grads, state, params)
        return updates, state

    state = tx.init(params)
    first, state = step(params, state)
    state = optimizers.set_learning_rate(state, 0.5)
    second, state = step(params, state)
    assert traces == 1
    np.testing.assert_allclose(first["kernel"], -0.1 * GRADS[0]["kernel"], rtol=1e-6)
    np.testing.assert_allclose(second["kernel"], -0.5 * GRADS[0]["kernel"], rtol=1e-6)


@pytest.mark.parametrize(
    "opt, hp",
    [
        (SGD(0.1, momentum=0.9), {"momentum": 0.9}),
        (SGD(0.1, momentum=0.9, nesterov=True), {"momentum": 0.9, "nesterov": True}),
        (RMSprop(0.1, momentum=0.9), {"momentum": 0.9}),
        (Adam(), {}),
        (Nadam(), {}),
    ],
    ids=repr,
)
def test_changing_learning_rate_midway_matches_keras(opt, hp):
    """Keras keeps the rate inside SGD's/RMSprop's momentum: old steps keep their rate."""
    check(opt, lrs=[0.1, 0.01, 0.5], **hp)


def test_learning_rate_property():
    opt = Adam()
    opt.learning_rate = 0.25
    assert opt.learning_rate == 0.25 and isinstance(opt.learning_rate, float)
    assert float(opt.transform().init(PARAMS).hyperparams["learning_rate"]) == 0.25
    with pytest.raises(ValueError, match="learning_rate=0"):
        opt.learning_rate = 0


def test_set_learning_rate_checks_its_arguments():
    state = Adam().transform().init(PARAMS)
    with pytest.raises(ValueError, match="learning_rate=-0.1"):
        optimizers.set_learning_rate(state, -0.1)
    with pytest.raises(TypeError, match="opt_state"):
        optimizers.set_learning_rate(optax.adam(1e-3).init(PARAMS), 0.1)


def test_transform_is_a_snapshot():
    opt = SGD(0.1, momentum=0.5)
    tx = opt.transform()
    opt.momentum = 0.0
    check_opt = SGD(0.1, momentum=0.5)
    np.testing.assert_allclose(
        np.concatenate([d["kernel"].ravel() for d in cornu_steps(check_opt, GRADS)]),
        np.concatenate([d["kernel"].ravel() for d in _run(tx, GRADS)]),
    )


def _run(tx, grads_seq):
    params = jax.tree.map(jnp.float32, PARAMS)
    state = tx.init(params)
    out = []
    for g in grads_seq:
        updates, state = tx.update(jax.tree.map(jnp.float32, g), state, params)
        params = optax.apply_updates(params, updates)
        out.append(updates)
    return out


# --------------------------------------------------------- Keras 1 spelling


def test_lr_warns_and_works():
    with pytest.warns(DeprecationWarning, match="`lr` is deprecated; use `learning_rate`"):
        opt = Adam(lr=0.02)
    assert opt.learning_rate == 0.02
    with pytest.warns(DeprecationWarning, match="`lr` is deprecated"):
        assert AdamW(lr=0.3).learning_rate == 0.3


def test_lr_warning_points_at_the_caller():
    for cls in (SGD, AdamW, Nadam):
        with pytest.warns(DeprecationWarning) as record:
            cls(lr=0.1)
        assert record[0].filename == __file__


def test_lr_and_learning_rate_together_is_an_error():
    with pytest.raises(TypeError, match=r"learning_rate=0\.001, lr=0\.1"):
        Adam(learning_rate=0.001, lr=0.1)  # even when equal to the default


def test_lr_is_checked():
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="lr=-1"):
        SGD(lr=-1)


# ------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "name, cls",
    [
        ("adam", Adam),
        ("Adam", Adam),
        ("RMS prop", RMSprop),
        ("rmsprop", RMSprop),
        ("RMSprop", RMSprop),
        ("sgd", SGD),
        ("SGD", SGD),
        ("ada-grad", Adagrad),
        ("Adadelta", Adadelta),
        ("AdamW", AdamW),
        ("adam_w", AdamW),
        ("ADAMAX", Adamax),
        ("nadam", Nadam),
    ],
)
def test_get_by_name(name, cls):
    opt = optimizers.get(name)
    assert type(opt) is cls
    assert opt.get_config() == cls().get_config()


def test_get_returns_instances_as_is_and_reads_dicts():
    opt = SGD(0.3)
    assert optimizers.get(opt) is opt
    assert optimizers.get(optimizers.serialize(opt)).get_config() == opt.get_config()


def test_get_unknown_name_lists_close_match():
    with pytest.raises(ValueError, match=r"optimizer='adma'.*'adam'"):
        optimizers.get("adma")
    with pytest.raises(ValueError, match=r"'rmsprop'"):
        optimizers.get("rmsprp")


@pytest.mark.parametrize("bad", [3, None, optax.adam(1e-3), Adam])
def test_get_rejects_other_types(bad):
    with pytest.raises(TypeError, match="optimizer=") as info:
        optimizers.get(bad)
    assert repr(bad)[:20] in str(info.value)


def test_default_names():
    names = {cls: cls().name for cls in ALL}
    assert names[SGD] == "SGD" and names[Adam] == "adam" and names[AdamW] == "adamw"
    assert Adam(name="my_adam").name == "my_adam"


# -------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "make, arg, value",
    [
        (lambda: Adam(learning_rate=-1), "learning_rate", "-1"),
        (lambda: Adam(learning_rate=0), "learning_rate", "0"),
        (lambda: Adam(learning_rate="fast"), "learning_rate", "'fast'"),
        (lambda: Adam(learning_rate=float("nan")), "learning_rate", "nan"),
        (lambda: SGD(momentum=1.5), "momentum", "1.5"),
        (lambda: SGD(momentum=-0.1), "momentum", "-0.1"),
        (lambda: SGD(nesterov="yes"), "nesterov", "'yes'"),
        (lambda: RMSprop(rho=1.0), "rho", "1.0"),
        (lambda: RMSprop(momentum=2), "momentum", "2"),
        (lambda: RMSprop(centered=1), "centered", "1"),
        (lambda: Adadelta(rho=-0.5), "rho", "-0.5"),
        (lambda: Adagrad(initial_accumulator_value=-1), "initial_accumulator_value", "-1"),
        (lambda: Adam(beta_1=1), "beta_1", "1"),
        (lambda: Adam(beta_2=1.5), "beta_2", "1.5"),
        (lambda: Adam(epsilon=-1e-7), "epsilon", "-1e-07"),
        (lambda: Adam(amsgrad=None), "amsgrad", "None"),
        (lambda: AdamW(weight_decay=-0.1), "weight_decay", "-0.1"),
        (lambda: Adamax(beta_2=1.0), "beta_2", "1.0"),
        (lambda: Nadam(beta_1=True), "beta_1", "True"),
        (lambda: SGD(clipnorm=0), "clipnorm", "0"),
        (lambda: SGD(clipvalue=-1.0), "clipvalue", "-1.0"),
        (lambda: SGD(global_clipnorm="big"), "global_clipnorm", "'big'"),
        (lambda: SGD(name=3), "name", "3"),
    ],
)
def test_bad_values_name_argument_and_value(make, arg, value):
    with pytest.raises(ValueError) as info:
        make()
    message = str(info.value)
    assert f"{arg}={value}" in message, message
    assert "must be" in message  # says what to pass instead


def test_keras_decay_argument_is_not_accepted():
    with pytest.raises(TypeError, match="decay"):
        SGD(decay=1e-6)


def test_boundary_values_are_accepted():
    SGD(momentum=0.0)
    SGD(momentum=1.0)
    Adam(beta_1=0.0, epsilon=0.0)
    Adagrad(initial_accumulator_value=0.0)
    AdamW(weight_decay=0.0)
    Adam(learning_rate=np.float32(0.01))
    Adam(learning_rate=1)


# --------------------------------------------------------- config and saving


def _non_default(cls):
    return {
        SGD: SGD(0.2, momentum=0.3, nesterov=True, clipnorm=2.0, name="s"),
        RMSprop: RMSprop(0.2, 0.8, 0.1, 1e-5, True, clipvalue=0.5),
        Adagrad: Adagrad(0.2, 0.0, 1e-4, global_clipnorm=3.0),
        Adadelta: Adadelta(1.0, 0.9, 1e-6),
        Adam: Adam(0.2, 0.8, 0.99, 1e-4, True, name="a"),
        AdamW: AdamW(0.2, 0.01, 0.8, 0.99, 1e-4, True),
        Adamax: Adamax(0.2, 0.8, 0.99, 1e-4),
        Nadam: Nadam(0.2, 0.8, 0.99, 1e-4),
    }[cls]


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_config_round_trip(cls):
    opt = _non_default(cls)
    config = opt.get_config()
    assert json.loads(json.dumps(config)) == config
    assert {"name", "learning_rate", "clipnorm", "clipvalue", "global_clipnorm"} <= set(config)
    again = cls.from_config(config)
    assert type(again) is cls and again.get_config() == config
    assert_steps_close(cornu_steps(again, GRADS), cornu_steps(opt, GRADS), rtol=0)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_serialize_round_trip(cls):
    opt = _non_default(cls)
    data = optimizers.serialize(opt)
    assert data == {"class_name": cls.__name__, "config": opt.get_config()}
    again = optimizers.deserialize(json.loads(json.dumps(data)))
    assert type(again) is cls and again.get_config() == opt.get_config()


def test_deserialize_rejects_unknown_classes():
    with pytest.raises(ValueError, match="class_name='Lion'.*Adam"):
        optimizers.deserialize({"class_name": "Lion", "config": {}})
    with pytest.raises(ValueError, match="class_name"):
        optimizers.deserialize({"config": {}})
    with pytest.raises(TypeError):
        optimizers.serialize(optax.adam(1e-3))


def test_from_config_reads_keras_3_config():
    keras_config = {
        "name": "adam",
        "learning_rate": 0.0010000000474974513,
        "weight_decay": None,
        "clipnorm": None,
        "global_clipnorm": None,
        "clipvalue": None,
        "use_ema": False,
        "ema_momentum": 0.99,
        "ema_overwrite_frequency": None,
        "loss_scale_factor": None,
        "gradient_accumulation_steps": None,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-07,
        "amsgrad": False,
    }
    opt = Adam.from_config(keras_config)
    assert opt.learning_rate == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="use_ema=True"):
        Adam.from_config({**keras_config, "use_ema": True})
    with pytest.raises(ValueError, match="weight_decay=0.1.*AdamW"):
        Adam.from_config({**keras_config, "weight_decay": 0.1})
    assert AdamW.from_config({**keras_config, "weight_decay": 0.1}).weight_decay == 0.1


def test_repr_shows_config():
    assert repr(SGD(0.5)).startswith("SGD(name='SGD', learning_rate=0.5, momentum=0.0")


def test_all_is_explicit():
    assert set(optimizers.__all__) >= {cls.__name__ for cls in ALL} | {
        "Optimizer",
        "get",
        "serialize",
        "deserialize",
        "set_learning_rate",
    }
    for name in optimizers.__all__:
        assert hasattr(optimizers, name)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_update_runs_inside_lax_scan(cls):
    """The training loop scans many steps in one call: the state must be a stable carry."""
    opt = _non_default(cls)
    tx = opt.transform()
    params = jax.tree.map(jnp.float32, PARAMS)
    grads = jax.tree.map(lambda *g: jnp.stack(g).astype(jnp.float32), *GRADS)

    def body(carry, g):
        params, state = carry
        updates, state = tx.update(g, state, params)
        return (optax.apply_updates(params, updates), state), updates

    (_, state), updates = jax.jit(lambda c: jax.lax.scan(body, c, grads))((params, tx.init(params)))
    expected = cornu_steps(opt, GRADS)
    for i, step in enumerate(expected):
        for k in step:
            np.testing.assert_allclose(updates[k][i], step[k], rtol=1e-6, atol=1e-12)
    assert optimizers.get_learning_rate(state) == pytest.approx(opt.learning_rate)

"""Losses against NumPy references, and the stable logits path."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cornu import losses

rng = np.random.default_rng(0)
LOGITS = rng.normal(size=(6, 4)).astype(np.float32) * 3
PROBS = np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)
LABELS = rng.integers(0, 4, size=6)
ONEHOT = np.eye(4, dtype=np.float32)[LABELS]
EPS = 1e-7


def _log_softmax(z):
    z = z.astype(np.float64)
    return z - z.max(-1, keepdims=True) - np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1,
                                                                                    keepdims=True))


def test_categorical_crossentropy_from_probs_and_logits():
    want = -(ONEHOT * np.log(np.clip(PROBS.astype(np.float64), EPS, 1 - EPS))).sum(-1)
    got = np.asarray(losses.categorical_crossentropy(ONEHOT, PROBS))
    np.testing.assert_allclose(got, want, rtol=1e-5)
    want_logits = -(ONEHOT * _log_softmax(LOGITS)).sum(-1)
    got = np.asarray(losses.categorical_crossentropy(ONEHOT, LOGITS, from_logits=True))
    np.testing.assert_allclose(got, want_logits, rtol=1e-5)


def test_sparse_categorical_crossentropy_matches_categorical():
    want = -_log_softmax(LOGITS)[np.arange(6), LABELS]
    for labels in (LABELS, LABELS[:, None]):
        got = losses.sparse_categorical_crossentropy(labels, LOGITS, from_logits=True)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5)
    got = losses.sparse_categorical_crossentropy(LABELS, PROBS)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4)


def test_binary_crossentropy_probs_logits_and_extremes():
    z = np.array([[-50.0, -2.0, 0.0], [1.5, 20.0, 80.0]], np.float32)
    y = np.array([[0.0, 1.0, 1.0], [0.0, 1.0, 0.0]], np.float32)
    zd = z.astype(np.float64)
    p = 1 / (1 + np.exp(-zd))
    want_logits = (np.maximum(zd, 0) - zd * y + np.log1p(np.exp(-np.abs(zd)))).mean(-1)
    got = np.asarray(losses.binary_crossentropy(y, z, from_logits=True))
    np.testing.assert_allclose(got, want_logits, rtol=1e-5)
    assert np.isfinite(got).all() and got[1] > 20  # 80 logit with label 0: a large, finite loss
    p = p[:, :2]  # moderate probabilities: float32 clipping at 1 - 1e-7 is coarse
    y = y[:, :2]
    pc = np.clip(p, EPS, 1 - EPS)
    want = -(y * np.log(pc) + (1 - y) * np.log(1 - pc)).mean(-1)
    got = np.asarray(losses.binary_crossentropy(y, p.astype(np.float32)))
    np.testing.assert_allclose(got, want, rtol=1e-4)


def test_regression_losses():
    a = rng.normal(size=(5, 3)).astype(np.float32)
    b = rng.normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(losses.mean_squared_error(a, b)),
                               ((a - b) ** 2).mean(-1), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(losses.mean_absolute_error(a, b)),
                               np.abs(a - b).mean(-1), rtol=1e-6)


def test_names_and_objects():
    assert losses.get("categorical crossentropy").name == "categorical_crossentropy"
    assert losses.get("MSE").fn is losses.mean_squared_error
    assert losses.get("SparseCategoricalCrossentropy").label_kind == "sparse"
    assert losses.get(losses.CategoricalCrossentropy(from_logits=True)).from_logits
    with pytest.raises(ValueError, match=r"loss='categorical_crossentropie'.*"
                                         r"'categorical_crossentropy'"):
        losses.get("categorical_crossentropie")


# -- against Keras 3 (JAX backend) ------------------------------------------------------------
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", None, "none"]
data_rng = np.random.default_rng(7)
N, D = 6, 4
REG_T = data_rng.normal(size=(N, D)).astype(np.float32)
REG_P = data_rng.normal(size=(N, D)).astype(np.float32)
POS_T = data_rng.random((N, D)).astype(np.float32) * 3
POS_P = data_rng.random((N, D)).astype(np.float32) * 3 + 0.1
BIN_T = (data_rng.random((N, D)) > 0.5).astype(np.float32)
BIN_P = data_rng.uniform(0.02, 0.98, (N, D)).astype(np.float32)
BIN_Z = (data_rng.normal(size=(N, D)) * 3).astype(np.float32)
SIGNS = np.where(BIN_T > 0, 1.0, -1.0).astype(np.float32)
CLS = data_rng.integers(0, D, N)
CLS_T = np.eye(D, dtype=np.float32)[CLS]
CLS_P = data_rng.dirichlet(np.ones(D), N).astype(np.float32)
CLS_Z = (data_rng.normal(size=(N, D)) * 2).astype(np.float32)
WEIGHTS = data_rng.random(N).astype(np.float32) + 0.5

# (class name, constructor arguments, y_true, y_pred)
CASES = [
    ("MeanSquaredError", {}, REG_T, REG_P),
    ("MeanAbsoluteError", {}, REG_T, REG_P),
    ("MeanAbsolutePercentageError", {}, REG_T, REG_P),
    ("MeanSquaredLogarithmicError", {}, POS_T, POS_P),
    ("Huber", {}, REG_T, REG_P),
    ("Huber", {"delta": 0.3}, REG_T, REG_P),
    ("LogCosh", {}, REG_T, REG_P),
    ("CosineSimilarity", {}, REG_T, REG_P),
    ("Poisson", {}, POS_T, POS_P),
    ("KLDivergence", {}, CLS_P[::-1].copy(), CLS_P),
    ("Hinge", {}, BIN_T, REG_P),
    ("Hinge", {}, SIGNS, REG_P),
    ("SquaredHinge", {}, BIN_T, REG_P),
    ("CategoricalHinge", {}, CLS_T, REG_P),
    ("BinaryCrossentropy", {}, BIN_T, BIN_P),
    ("BinaryCrossentropy", {"from_logits": True}, BIN_T, BIN_Z),
    ("BinaryCrossentropy", {"label_smoothing": 0.2}, BIN_T, BIN_P),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, BIN_T, BIN_Z),
    ("BinaryFocalCrossentropy", {}, BIN_T, BIN_P),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5,
                                 "label_smoothing": 0.1}, BIN_T, BIN_P),
    ("BinaryFocalCrossentropy", {"from_logits": True, "apply_class_balancing": True},
     BIN_T, BIN_Z),
    ("CategoricalCrossentropy", {}, CLS_T, CLS_P),
    ("CategoricalCrossentropy", {"from_logits": True}, CLS_T, CLS_Z),
    ("CategoricalCrossentropy", {"label_smoothing": 0.2}, CLS_T, CLS_P),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, CLS_T, CLS_Z),
    ("CategoricalFocalCrossentropy", {}, CLS_T, CLS_P),
    ("CategoricalFocalCrossentropy", {"alpha": 0.5, "gamma": 3.0, "from_logits": True,
                                      "label_smoothing": 0.1}, CLS_T, CLS_Z),
    ("SparseCategoricalCrossentropy", {}, CLS, CLS_P),
    ("SparseCategoricalCrossentropy", {}, CLS[:, None], CLS_P),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, CLS, CLS_Z),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": int(CLS[0])},
     CLS, CLS_Z),
    ("SparseCategoricalCrossentropy", {"ignore_class": int(CLS[1])}, CLS, CLS_P),
]
CASE_IDS = [f"{name}-{i}" for i, (name, *_) in enumerate(CASES)]


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("the Keras reference runs on its JAX backend")
    return keras


def _close(got, want, rtol=2e-5, atol=2e-6):
    np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(want, np.float64),
                               rtol=rtol, atol=atol)


@pytest.mark.parametrize(("name", "kwargs", "y_true", "y_pred"), CASES, ids=CASE_IDS)
def test_classes_match_keras_for_every_reduction(keras, name, kwargs, y_true, y_pred):
    for reduction in REDUCTIONS:
        ours = getattr(losses, name)(reduction=reduction, **kwargs)
        theirs = getattr(keras.losses, name)(reduction=reduction, **kwargs)
        with jax.numpy_rank_promotion("allow"):
            want = theirs(y_true, y_pred)
            want_weighted = theirs(y_true, y_pred, sample_weight=WEIGHTS)
        _close(ours(y_true, y_pred), want)
        _close(ours(y_true, y_pred, sample_weight=WEIGHTS), want_weighted)
        # Keras' own configs leave out Huber's delta, CosineSimilarity's and
        # SparseCategoricalCrossentropy's axis (so they do not round-trip); cornu's keep them
        ours_config, theirs_config = ours.get_config(), theirs.get_config()
        assert ours_config.items() >= theirs_config.items()
        assert set(ours_config) - set(theirs_config) <= {"delta", "axis"}


@pytest.mark.parametrize(("name", "kwargs", "y_true", "y_pred"), CASES, ids=CASE_IDS)
def test_per_sample_is_what_sum_over_batch_size_averages(name, kwargs, y_true, y_pred):
    loss = getattr(losses, name)(**kwargs)
    per = np.asarray(loss.per_sample(y_true, y_pred))
    assert per.shape == (N,) and per.dtype == np.float32
    _close(per.mean(), loss(y_true, y_pred))
    _close((per * WEIGHTS).mean(), loss(y_true, y_pred, sample_weight=WEIGHTS))


FUNCTIONS = [
    ("mean_squared_error", REG_T, REG_P, {}), ("mse", REG_T, REG_P, {}),
    ("mean_absolute_error", REG_T, REG_P, {}), ("mae", REG_T, REG_P, {}),
    ("mean_absolute_percentage_error", REG_T, REG_P, {}), ("mape", REG_T, REG_P, {}),
    ("mean_squared_logarithmic_error", POS_T, POS_P, {}), ("msle", POS_T, POS_P, {}),
    ("huber", REG_T, REG_P, {"delta": 0.5}), ("log_cosh", REG_T, REG_P, {}),
    ("cosine_similarity", REG_T, REG_P, {"axis": -1}),
    ("kl_divergence", CLS_P[::-1].copy(), CLS_P, {}), ("kld", CLS_P[::-1].copy(), CLS_P, {}),
    ("poisson", POS_T, POS_P, {}), ("hinge", BIN_T, REG_P, {}),
    ("squared_hinge", SIGNS, REG_P, {}), ("categorical_hinge", CLS_T, REG_P, {}),
    ("binary_crossentropy", BIN_T, BIN_Z, {"from_logits": True, "label_smoothing": 0.1}),
    ("binary_focal_crossentropy", BIN_T, BIN_P, {"apply_class_balancing": True}),
    ("categorical_crossentropy", CLS_T, CLS_P, {"label_smoothing": 0.1}),
    ("categorical_focal_crossentropy", CLS_T, CLS_Z, {"from_logits": True}),
    ("sparse_categorical_crossentropy", CLS, CLS_Z, {"from_logits": True}),
    ("sparse_categorical_crossentropy", CLS, CLS_P, {"ignore_class": int(CLS[0])}),
]


@pytest.mark.parametrize(("name", "y_true", "y_pred", "kwargs"), FUNCTIONS,
                         ids=[f[0] for f in FUNCTIONS])
def test_functions_match_keras_unreduced(keras, name, y_true, y_pred, kwargs):
    keras_name = {"mse": "mean_squared_error", "mae": "mean_absolute_error",
                  "mape": "mean_absolute_percentage_error",
                  "msle": "mean_squared_logarithmic_error", "kld": "kl_divergence"}.get(name, name)
    with jax.numpy_rank_promotion("allow"):
        want = getattr(keras.losses, keras_name)(y_true, y_pred, **kwargs)
    got = getattr(losses, name)(y_true, y_pred, **kwargs)
    assert got.shape == want.shape
    _close(got, want)


def test_per_element_values_of_a_sequence_output(keras):
    """(batch, steps, classes): Keras' values are per step; per_sample averages them."""
    y = data_rng.integers(0, 3, (N, 5))
    z = data_rng.normal(size=(N, 5, 3)).astype(np.float32)
    for ours, theirs in [
        (losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0, reduction=None),
         keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0,
                                                    reduction=None)),
        (losses.MeanSquaredError(reduction=None), keras.losses.MeanSquaredError(reduction=None)),
        (losses.CosineSimilarity(axis=1, reduction=None),
         keras.losses.CosineSimilarity(axis=1, reduction=None)),
    ]:
        y_true = y if isinstance(ours, losses.SparseCategoricalCrossentropy) else z[..., ::-1]
        _close(ours(y_true, z), theirs(y_true, z))
        ours.reduction = theirs.reduction = "sum_over_batch_size"
        _close(ours(y_true, z), theirs(y_true, z))
        _close(np.mean(ours.per_sample(y_true, z)), theirs(y_true, z))


def test_serialize_and_deserialize_as_keras(keras):
    for name, kwargs, y_true, y_pred in CASES[::3]:
        theirs = getattr(keras.losses, name)(reduction="sum", **kwargs)
        ours = losses.deserialize(keras.losses.serialize(theirs))
        assert type(ours) is getattr(losses, name)
        ours_dict, theirs_dict = losses.serialize(ours), keras.losses.serialize(theirs)
        assert ours_dict["config"].items() >= theirs_dict["config"].items()
        assert {**ours_dict, "config": None} == {**theirs_dict, "config": None}
        with jax.numpy_rank_promotion("allow"):
            _close(ours(y_true, y_pred), theirs(y_true, y_pred))
    assert losses.serialize(losses.mean_squared_error) == keras.losses.serialize(
        keras.losses.mean_squared_error)
    assert losses.serialize("mse") == "mse"


# -- get, configs and errors -------------------------------------------------------------------
def my_squared_error(y_true, y_pred):
    return np.float32(1.0) * (y_true - y_pred) ** 2


class MySquaredError(losses.Loss):
    def call(self, y_true, y_pred):
        return jnp.mean(jnp.square(y_pred - y_true), axis=-1)


def test_get_takes_names_objects_classes_functions_and_configs():
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get("Huber"), losses.Huber)
    assert isinstance(losses.get("huber_loss"), losses.Huber)
    assert isinstance(losses.get("kld"), losses.KLDivergence)
    assert isinstance(losses.get("binary focal crossentropy"), losses.BinaryFocalCrossentropy)
    assert isinstance(losses.get(losses.Poisson), losses.Poisson)
    assert isinstance(losses.get(MySquaredError), MySquaredError)
    assert losses.get(MySquaredError).name == "my_squared_error"
    assert isinstance(losses.get(losses.hinge), losses.Hinge)  # a function gets its class
    wrapped = losses.get(my_squared_error)
    assert isinstance(wrapped, losses.LossFunctionWrapper)
    assert wrapped.name == "my_squared_error" and wrapped.fn is my_squared_error
    _close(wrapped(REG_T, REG_P), ((REG_T - REG_P) ** 2).mean())
    keras_style = {"class_name": "CategoricalCrossentropy",
                   "config": {"from_logits": True, "label_smoothing": 0.1}}
    loss = losses.get(keras_style)
    assert loss.from_logits and loss.label_smoothing == 0.1
    old_style = losses.get({"name": "mean_squared_error", "from_logits": False})
    assert isinstance(old_style, losses.MeanSquaredError)
    for loss in [losses.Huber(delta=2.0, reduction="sum"),
                 losses.SparseCategoricalCrossentropy(ignore_class=3, from_logits=True),
                 losses.BinaryFocalCrossentropy(alpha=0.3, label_smoothing=0.2)]:
        assert losses.get(loss.get_config()).get_config() == loss.get_config()
        assert losses.deserialize(losses.serialize(loss)).get_config() == loss.get_config()


def test_saved_functions_and_classes_load_only_by_known_names():
    config = losses.serialize(losses.get(my_squared_error))
    with pytest.raises(ValueError, match=r"Unknown loss function in loss: 'my_squared_error'.*"
                                         r"custom_objects"):
        losses.deserialize(config)
    loaded = losses.deserialize(config, custom_objects={"my_squared_error": my_squared_error})
    assert loaded.fn is my_squared_error
    builtin = losses.deserialize(losses.serialize(losses.LossFunctionWrapper(
        losses.huber, delta=0.5)))
    _close(builtin(REG_T, REG_P), losses.Huber(delta=0.5)(REG_T, REG_P))
    with pytest.raises(ValueError, match=r"Unknown loss class in loss: class_name='os.system'"):
        losses.get({"class_name": "os.system", "config": {}})
    with pytest.raises(ValueError, match=r"class_name='MySquaredError'.*custom_objects"):
        losses.deserialize(losses.serialize(MySquaredError()))
    mine = losses.deserialize(losses.serialize(MySquaredError(reduction="sum")),
                              custom_objects={"MySquaredError": MySquaredError})
    assert isinstance(mine, MySquaredError) and mine.reduction == "sum"
    with pytest.raises(ValueError, match=r"Huber takes no argument 'from_logit'"):
        losses.get({"name": "huber_loss", "from_logit": True})
    with pytest.raises(ValueError, match=r"loss='no_such_loss'"):
        losses.get({"name": "no_such_loss"})


@pytest.mark.parametrize(("make", "message"), [
    (lambda: losses.MeanSquaredError(reduction="x"),
     r"reduction must be one of 'sum_over_batch_size', .* Received: reduction='x'"),
    (lambda: losses.CategoricalCrossentropy(label_smoothing=1.5),
     r"label_smoothing must be a number in \[0, 1\]. Received: label_smoothing=1.5"),
    (lambda: losses.BinaryCrossentropy(from_logits="yes"),
     r"from_logits must be True or False. Received: from_logits='yes'"),
    (lambda: losses.CosineSimilarity(axis=True), r"axis must be an integer. Received: axis=True"),
    (lambda: losses.Huber(delta=-1), r"delta must be a non-negative number. Received: delta=-1"),
    (lambda: losses.BinaryFocalCrossentropy(gamma="2"), r"gamma must be .* Received: gamma='2'"),
    (lambda: losses.SparseCategoricalCrossentropy(ignore_class=1.5),
     r"ignore_class must be an integer .* Received: ignore_class=1.5"),
    (lambda: losses.Poisson(name=3), r"name must be a string or None. Received: name=3"),
    (lambda: losses.Poisson(dtype="int32"), r"dtype must be a floating .* Received: dtype='int32'"),
    (lambda: losses.LossFunctionWrapper("mse"), r"fn must be a function .* Received: fn='mse'"),
    (lambda: losses.get(losses.Loss), r"loss must be a loss, not the base class Loss"),
])
def test_bad_arguments_name_the_argument(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_shapes_say_which_labels_fit():
    with pytest.raises(ValueError, match=r"integer class labels of shape \(6,\).*y_true.shape="
                                         r"\(6, 1, 4\)"):
        losses.SparseCategoricalCrossentropy()(CLS_T[:, None, :], CLS_P)
    with pytest.raises(ValueError, match=r"sample_weight with shape \(4,\) does not fit"):
        losses.MeanSquaredError()(REG_T, REG_P, sample_weight=np.ones(4))
    with pytest.raises(NotImplementedError, match="must override call"):
        losses.Loss()(REG_T, REG_P)


def test_engine_interface():
    cce = losses.CategoricalCrossentropy(label_smoothing=0.1)
    assert (cce.logits_of, cce.label_kind, cce.from_logits) == ("softmax", "categorical", False)
    logit_cce = cce.with_logits()
    assert logit_cce.from_logits and not cce.from_logits
    _close(logit_cce.per_sample(CLS_T, CLS_Z),
           cce.per_sample(CLS_T, jax.nn.softmax(CLS_Z)), rtol=1e-5)
    bce = losses.BinaryCrossentropy()
    assert (bce.logits_of, bce.label_kind) == ("sigmoid", "binary")
    _close(bce.with_logits()(BIN_T, BIN_Z), bce(BIN_T, jax.nn.sigmoid(BIN_Z)), rtol=1e-4)
    scce = losses.SparseCategoricalCrossentropy(axis=-1)
    assert (scce.logits_of, scce.label_kind) == ("softmax", "sparse")
    assert losses.CategoricalCrossentropy(axis=0).logits_of is None
    for loss in (losses.Huber(), losses.CategoricalFocalCrossentropy(), MySquaredError(),
                 losses.get(my_squared_error)):
        assert loss.logits_of is None and loss.from_logits is False
    assert losses.get(my_squared_error).label_kind is None
    assert MySquaredError().per_sample(REG_T, REG_P).shape == (N,)


# -- through compile and fit -------------------------------------------------------------------
def _fit_losses(loss, **fit):
    import cornu
    from cornu.layers import Dense

    cornu.utils.set_random_seed(3)
    model = cornu.Sequential([Dense(5, input_shape=(3,), activation="tanh"), Dense(2)])
    model.compile(optimizer="adam", loss=loss)
    rng = np.random.default_rng(11)
    x = rng.normal(size=(20, 3)).astype(np.float32)
    y = rng.normal(size=(20, 2)).astype(np.float32)
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, **fit)
    return history.history["loss"], model.evaluate(x, y, verbose=0)


def hand_written_mse(y_true, y_pred):
    return jnp.mean(jnp.square(y_true - y_pred), axis=-1)


def test_user_loss_subclass_and_function_train_as_the_builtin():
    want, want_eval = _fit_losses("mse")
    for loss in (MySquaredError(), hand_written_mse, MySquaredError,
                 losses.MeanSquaredError(), losses.mean_squared_error):
        got, got_eval = _fit_losses(loss)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
        assert got_eval == pytest.approx(want_eval, abs=1e-6)
    weights = np.linspace(0.5, 2.0, 20).astype(np.float32)
    weighted, _ = _fit_losses("mse", sample_weight=weights)
    np.testing.assert_allclose(_fit_losses(hand_written_mse, sample_weight=weights)[0],
                               weighted, rtol=0, atol=1e-6)


@pytest.mark.parametrize(("loss", "activation", "labels"), [
    (losses.CategoricalCrossentropy(label_smoothing=0.1), "softmax", "onehot"),
    (losses.SparseCategoricalCrossentropy(), "softmax", "sparse"),
    (losses.BinaryCrossentropy(label_smoothing=0.2), "sigmoid", "binary"),
    (losses.CategoricalFocalCrossentropy(), "softmax", "onehot"),
    (losses.Huber(delta=0.5), None, "onehot"),
])
def test_evaluate_reports_the_loss_of_the_predictions(loss, activation, labels):
    """The engine's per-sample path (with a softmax/sigmoid output: its logits) gives what
    calling the loss on the model's predictions gives."""
    import cornu
    from cornu.layers import Dense

    cornu.utils.set_random_seed(5)
    model = cornu.Sequential([Dense(3, input_shape=(4,), activation=activation)])
    model.compile(optimizer="sgd", loss=loss)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(10, 4)).astype(np.float32) * 2
    classes = rng.integers(0, 3, 10)
    y = {"onehot": np.eye(3, dtype=np.float32)[classes], "sparse": classes,
         "binary": (rng.random((10, 3)) > 0.5).astype(np.float32)}[labels]
    assert model.evaluate(x, y, batch_size=4, verbose=0) == pytest.approx(
        float(loss(y, model.predict(x, verbose=0))), rel=1e-5, abs=1e-6)

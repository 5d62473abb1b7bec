"""The compiled loop against references: finite-difference gradients, partial batches,
every sample once per epoch, no recompilation, bit-identical seeded runs."""

import re

import jax
import numpy as np
import pytest

import cornu
from cornu import optimizers
from cornu.layers import Dense
from cornu.training.loop import SHARED_TRACES
from cornu.training.state import TrainState


def small_model(seed=0):
    cornu.utils.set_random_seed(seed)
    return cornu.Sequential([Dense(3, input_shape=(4,), activation="sigmoid"),
                             Dense(2, activation="softmax")])


def np_loss(weights, x, y):
    """Mean categorical cross-entropy of the small model, in float64 NumPy."""
    k1, b1, k2, b2 = weights
    h = 1 / (1 + np.exp(-(x @ k1 + b1)))
    z = h @ k2 + b2
    log_p = z - z.max(1, keepdims=True) - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1,
                                                                                 keepdims=True))
    return -(y * log_p).sum(1).mean()


def fd_grad(weights, x, y, eps=1e-6):
    weights = [w.astype(np.float64) for w in weights]
    grads = []
    for w in weights:
        g = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            old = w[idx]
            w[idx] = old + eps
            up = np_loss(weights, x, y)
            w[idx] = old - eps
            down = np_loss(weights, x, y)
            w[idx] = old
            g[idx] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def data(n, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[rng.integers(0, 2, n)]
    return x, y


def test_one_full_batch_sgd_step_equals_finite_difference_gradient():
    model = small_model()
    model.compile(optimizer=optimizers.SGD(learning_rate=0.5), loss="categorical_crossentropy")
    x, y = data(8)
    before = model.get_weights()
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    after = model.get_weights()
    for w0, w1, g in zip(before, after, fd_grad(before, x, y), strict=True):
        np.testing.assert_allclose((w0 - w1) / 0.5, g, rtol=2e-3, atol=2e-6)


def test_partial_last_batch_is_a_smaller_step_not_a_padded_one():
    model = small_model()
    model.compile(optimizer=optimizers.SGD(learning_rate=0.5), loss="categorical_crossentropy")
    x, y = data(10)
    weights = [w.astype(np.float64) for w in model.get_weights()]
    for start in (0, 4, 8):  # batches of 4, 4 and the partial 2
        grads = fd_grad(weights, x[start:start + 4].astype(np.float64), y[start:start + 4])
        weights = [w - 0.5 * g for w, g in zip(weights, grads, strict=True)]
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for got, want in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("batch_size", [1, 3, 7, 32])
def test_each_epoch_uses_every_sample_once(batch_size):
    """With a negligible learning rate the epoch's loss is the mean over the data, which
    only holds when the shuffled, padded batches cover every sample exactly once."""
    model = small_model()
    model.compile(optimizer=optimizers.SGD(learning_rate=1e-30), loss="categorical_crossentropy")
    x, y = data(23)
    history = model.fit(x, y, batch_size=batch_size, epochs=2, verbose=0)
    want = np_loss([w.astype(np.float64) for w in model.get_weights()], x, y)
    np.testing.assert_allclose(history.history["loss"], [want, want], rtol=1e-5)
    assert model.evaluate(x, y, batch_size=batch_size, verbose=0) == pytest.approx(want,
                                                                                  rel=1e-5)


def test_nothing_recompiles_after_the_first_epoch():
    model = small_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"],
                  steps_per_execution=4)
    x, y = data(47)  # 37 for training: 10 steps of 4 (the last partial): chunks 4, 4, 2
    shared = dict(SHARED_TRACES)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, validation_split=0.2)
    traces = dict(model._engine.traces)
    assert traces["train"] == 2  # the full chunk and the remainder chunk, once each
    # (once in the process: an earlier test may have traced them for these shapes)
    first = dict(SHARED_TRACES)
    assert all(first[k] - shared.get(k, 0) <= 1 for k in ("start_state", "copy_state"))
    model.fit(x, y, batch_size=4, epochs=3, verbose=0, validation_split=0.2)
    model.optimizer.learning_rate = 1e-4
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, validation_split=0.2)
    model.evaluate(x, y, batch_size=4, verbose=0)
    model.evaluate(x, y, batch_size=4, verbose=0)
    after = dict(model._engine.traces)
    assert after["train"] == traces["train"]
    # later fits copy the state with the epoch-snapshot program: no new start_state
    assert dict(SHARED_TRACES) == first
    assert after["evaluate"] == traces["evaluate"] + 1  # validation set, then x itself
    model.predict(x)
    model.predict(x)
    assert model._predictor.traces["predict"] == 1


@pytest.fixture
def fresh_shared_programs():
    """The shared programs as in a new process (other tests may have compiled them for
    the same shapes)."""
    from cornu.training import loop

    loop._copy_state.clear_cache()
    loop._START_PROGRAMS.clear()


def test_models_of_the_same_shapes_share_start_state_and_copy_state(fresh_shared_programs):
    """A second model with the same shapes compiles neither program again (Keras' own
    helpers are global too), also with another learning rate (set right after); other
    optimizer settings need their own start_state, and an optimizer class defined outside
    cornu always gets its own."""

    def first_fit(optimizer, epochs=1):
        before = dict(SHARED_TRACES)
        cornu.utils.set_random_seed(3)
        model = cornu.Sequential([Dense(11, input_shape=(5,), activation="sigmoid"),
                                  Dense(2, activation="softmax")])
        model.compile(optimizer=optimizer, loss="categorical_crossentropy")
        x = np.random.default_rng(0).normal(size=(12, 5)).astype(np.float32)
        model.fit(x, np.eye(2, dtype=np.float32)[np.arange(12) % 2], batch_size=4,
                  epochs=epochs, verbose=0)
        assert optimizers.get_learning_rate(model._opt_state) == pytest.approx(
            optimizer.learning_rate)
        return {k: SHARED_TRACES[k] - before.get(k, 0) for k in ("start_state", "copy_state")}

    class Mine(optimizers.Adam):
        pass

    assert first_fit(optimizers.Adam(learning_rate=0.0123)) == {
        "start_state": 1, "copy_state": 1}
    assert first_fit(optimizers.Adam(learning_rate=0.0123, name="again")) == {
        "start_state": 0, "copy_state": 0}
    assert first_fit(optimizers.Adam(learning_rate=0.0456), epochs=0) == {
        "start_state": 0, "copy_state": 0}
    assert first_fit(optimizers.Adam(learning_rate=0.0123, epsilon=1e-5)) == {
        "start_state": 1, "copy_state": 0}
    assert first_fit(Mine(learning_rate=0.0123)) == {"start_state": 1, "copy_state": 0}
    assert Mine().transform_key() is None
    assert optimizers.Adam(epsilon=1e-5).transform_key() != optimizers.Adam().transform_key()
    patched = optimizers.Adam()
    patched._rule = lambda learning_rate: optimizers.SGD()._rule(learning_rate)
    assert patched.transform_key() is None


def test_learning_rate_is_read_and_changed_between_epochs():
    model = small_model()
    model.compile(optimizer=optimizers.SGD(learning_rate=0.1), loss="categorical_crossentropy")
    x, y = data(8)
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert model.optimizer.learning_rate == pytest.approx(0.1)
    model.optimizer.learning_rate = 0.0 + 1e-30
    before = model.get_weights()
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for w0, w1 in zip(before, model.get_weights(), strict=True):
        np.testing.assert_allclose(w0, w1, rtol=0, atol=1e-20)


def test_same_seed_same_weights_bit_for_bit():
    x, y = data(50)

    def run():
        model = small_model(seed=123)
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        model.fit(x, y, batch_size=8, epochs=3, verbose=0)
        return model.get_weights()

    first, second = run(), run()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    different = small_model(seed=124).get_weights()
    assert not np.array_equal(different[0], small_model(seed=123).get_weights()[0])


def test_stable_softmax_cross_entropy_on_saturated_outputs():
    """Huge logits: the probabilities round to 0 and 1, the loss from logits stays exact."""
    cornu.utils.set_random_seed(0)
    model = cornu.Sequential([Dense(2, input_shape=(1,), activation="softmax")])
    model.set_weights([np.array([[100.0, -100.0]], np.float32), np.zeros(2, np.float32)])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    loss = model.evaluate(np.ones((1, 1), np.float32), np.array([[0.0, 1.0]], np.float32),
                          verbose=0)
    assert loss == pytest.approx(200.0, rel=1e-5)  # clipped probabilities would give 16.1


def test_history_has_validation_keys_and_evaluate_returns_keras_shapes():
    model = small_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy", "mse"])
    x, y = data(40)
    history = model.fit(x, y, epochs=2, verbose=0, validation_data=(x[:10], y[:10]))
    assert set(history.history) == {"loss", "accuracy", "mse", "val_loss", "val_accuracy",
                                    "val_mse"}
    assert history.epoch == [0, 1]
    result = model.evaluate(x, y, verbose=0)
    assert isinstance(result, list) and len(result) == 3
    assert model.evaluate(x, y, verbose=0, return_dict=True).keys() == {"loss", "accuracy",
                                                                        "mse"}
    plain = small_model()
    plain.compile(optimizer="adam", loss="mse")
    assert isinstance(plain.evaluate(x, y, verbose=0), float)


def test_verbose_prints_one_line_per_epoch(capsys):
    model = small_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = data(20)
    model.fit(x, y, batch_size=8, epochs=2, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert lines[1].startswith("3/3 - ") and "loss: " in lines[1] and "accuracy: " in lines[1]
    assert "samples/s" in lines[3] and "\r" not in "".join(lines)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_nb_epoch_and_lr_spellings():
    model = small_model()
    with pytest.warns(DeprecationWarning, match="`lr`.*`learning_rate`"):
        model.compile(optimizer=optimizers.SGD(lr=0.2), loss="categorical_crossentropy")
    assert model.optimizer.learning_rate == pytest.approx(0.2)
    x, y = data(8)
    with pytest.warns(DeprecationWarning, match="`nb_epoch`.*use `epochs`"):
        history = model.fit(x, y, nb_epoch=3, verbose=0)
    assert len(history.history["loss"]) == 3


def test_sample_and_class_weights_scale_the_loss_as_keras():
    """Keras 3: loss = sum(w * l) / n (weights do not renormalise); `metrics` unweighted."""
    model = small_model()
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = data(6)
    sw = np.array([1, 2, 0, 0.5, 3, 1], np.float32)
    weights = [w.astype(np.float64) for w in model.get_weights()]
    k1, b1, k2, b2 = weights
    z = (1 / (1 + np.exp(-(x @ k1 + b1)))) @ k2 + b2
    log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
    per = -(y * log_p).sum(1)
    accuracy = (z.argmax(1) == y.argmax(1)).mean()
    for batch_size in (6, 4):
        loss, acc = model.evaluate(x, y, sample_weight=sw, batch_size=batch_size, verbose=0)
        assert loss == pytest.approx((sw * per).sum() / 6, rel=1e-5)
        assert acc == pytest.approx(accuracy)
    class_weight = {0: 2.0, 1: 0.5}
    cw = np.where(y.argmax(1) == 0, 2.0, 0.5)
    sgd = small_model()
    sgd.compile(optimizer=optimizers.SGD(learning_rate=1e-30), loss="categorical_crossentropy")
    history = sgd.fit(x, y, batch_size=4, class_weight=class_weight, verbose=0)
    assert history.history["loss"][0] == pytest.approx((cw * per).sum() / 6, rel=1e-5)
    with pytest.raises(ValueError, match=r"sample_weight must have one weight per sample"):
        sgd.fit(x, y, sample_weight=sw[:3], verbose=0)


def test_regularization_penalty_is_in_the_reported_loss_as_keras():
    cornu.utils.set_random_seed(0)
    model = cornu.Sequential([Dense(2, input_shape=(4,), activation="softmax",
                                    kernel_regularizer=cornu.regularizers.L2(0.1))])
    model.compile(optimizer=optimizers.SGD(learning_rate=1e-30), loss="categorical_crossentropy")
    x, y = data(12)
    kernel, bias = (w.astype(np.float64) for w in model.get_weights())
    z = x @ kernel + bias
    data_loss = -(y * (z - np.log(np.exp(z).sum(1, keepdims=True)))).sum(1).mean()
    want = data_loss + 0.1 * (kernel ** 2).sum()
    history = model.fit(x, y, batch_size=5, verbose=0)
    assert history.history["loss"][0] == pytest.approx(want, rel=1e-5)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(want, rel=1e-5)


def test_evaluate_and_predict_print_one_line_unless_silent(capsys):
    model = small_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = data(40)
    model.evaluate(x, y, batch_size=16)
    model.predict(x, batch_size=16)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("3/3 - ") and "loss: " in lines[0] and "accuracy: " in lines[0]
    assert lines[1].startswith("3/3 - ") and "loss" not in lines[1]
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    assert capsys.readouterr().out == ""


def test_first_fit_lowers_three_programs_and_later_fits_none(fresh_shared_programs):
    """The first fit of a model compiles its training program, start_state and
    copy_state: nothing operation by operation (each of those compiled a small program
    of its own and cost ~1 s in the first epoch). Later fits copy the state with the
    epoch-snapshot program (they compiled a second start_state for a model whose optimizer
    slots exist) and add nothing. Counted through jax.monitoring."""
    lowered = []
    listening = [False]

    def listen(name, *args, **kwargs):
        if listening[0] and name == "/jax/core/compile/jaxpr_to_mlir_module_duration":
            lowered.append(name)

    jax.monitoring.register_event_duration_secs_listener(listen)
    warm = small_model()
    warm.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    warm.fit(*data(20), batch_size=8, epochs=1, verbose=0)  # the process' shared helpers
    model = cornu.Sequential([Dense(9, input_shape=(4,), activation="sigmoid"),
                              Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = data(30)
    try:
        listening[0] = True
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        first = len(lowered)
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        second = len(lowered)
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    finally:
        listening[0] = False
    assert (first, second, len(lowered)) == (3, 3, 3)


def test_gpu_programs_use_cublas_and_no_unroll_unless_told(monkeypatch):
    """On a GPU cornu asks XLA for cuBLAS matrix products (Triton's GEMM fusions compiled
    for 4.6 s instead of 0.5 s on an H100) and does not unroll the scan (unrolling batch 1
    compiled for 45 s); environment settings restore either."""
    from cornu.training import loop

    monkeypatch.delenv("CORNU_GPU_TRITON_GEMM", raising=False)
    monkeypatch.delenv("CORNU_SCAN_UNROLL", raising=False)
    monkeypatch.setattr(loop, "on_gpu", lambda: False)
    assert (loop.default_unroll(1), loop.default_unroll(100)) == (2, 1)
    monkeypatch.setattr(loop, "on_gpu", lambda: True)
    assert loop.compiler_options() == {"xla_gpu_enable_triton_gemm": False}
    assert loop._jit_options() == {"compiler_options": {"xla_gpu_enable_triton_gemm": False}}
    real_jit = jax.jit

    def jit_before_0_4_36(fun, static_argnums=None, donate_argnums=None):
        return real_jit(fun, static_argnums=static_argnums, donate_argnums=donate_argnums)

    with monkeypatch.context() as patch:
        patch.setattr(jax, "jit", jit_before_0_4_36)
        assert loop._jit_options() == {}
    assert (loop.default_unroll(1), loop.default_unroll(100)) == (1, 1)
    monkeypatch.setenv("CORNU_GPU_TRITON_GEMM", "1")
    assert loop.compiler_options() is None
    monkeypatch.setenv("CORNU_SCAN_UNROLL", "4")
    assert loop.default_unroll(1) == 4
    monkeypatch.setenv("CORNU_SCAN_UNROLL", "eight")
    with pytest.raises(ValueError, match=r"CORNU_SCAN_UNROLL='eight'.*e\.g\. 1 or 8"):
        loop.default_unroll(1)


def test_cpu_programs_vectorize_wide_and_use_eigen_products(monkeypatch):
    """On the CPU cornu asks XLA for 512-bit loops, Eigen matrix products instead of
    YNNPACK fusions and copy insertion with region analysis (faster on this project's
    machine, see docs/performance.md), where this jaxlib has those options;
    CORNU_CPU_XLA_DEFAULTS=1 keeps XLA's defaults. The options reach the compiled
    training program: no YNNPACK fusion, and no per-step copy of the hidden layer's
    weights."""
    from cornu.training import loop

    on_cpu = jax.default_backend() == "cpu"
    monkeypatch.delenv("CORNU_CPU_XLA_DEFAULTS", raising=False)
    with monkeypatch.context() as patch:
        patch.setattr(loop, "on_gpu", lambda: False)
        patch.setattr(jax, "default_backend", lambda: "cpu")
        options = loop.compiler_options()
        measured = loop._measured_on(loop.jaxlib_version())
        assert options["xla_cpu_prefer_vector_width"] == 512
        assert ("xla_cpu_experimental_ynn_fusion_type" in options) == loop._has_ynn_fusions()
        assert options.get("xla_cpu_copy_insertion_use_region_analysis", False) == measured
        if loop._has_ynn_fusions():  # YNNPACK sums over large batches only, no products
            assert options["xla_cpu_experimental_ynn_fusion_type"] == ""
            assert loop.compiler_options(loop.YNN_REDUCE_MIN_BATCH - 1)[
                "xla_cpu_experimental_ynn_fusion_type"] == ""
            assert loop.compiler_options(loop.YNN_REDUCE_MIN_BATCH)[
                "xla_cpu_experimental_ynn_fusion_type"] == (
                "LIBRARY_FUSION_TYPE_REDUCE" if measured else "")
            # a recurrent model's program split over CPU devices: the dot fusions too
            assert loop.compiler_options(10, split=True)[
                "xla_cpu_experimental_ynn_fusion_type"] == "LIBRARY_FUSION_TYPE_DOT"
        patch.setenv("CORNU_CPU_XLA_DEFAULTS", "1")
        assert loop.compiler_options() is None
        patch.delenv("CORNU_CPU_XLA_DEFAULTS")
        # experimental options only for the jaxlib releases they were measured on
        for version, ynn, later in [("0.10.0", False, False), ("0.10.1", True, False),
                                    ("0.10.2", True, True), ("0.11.0", False, False),
                                    ("unknown", False, False)]:
            patch.setattr(jax.lib, "__version__", version)
            options = loop.compiler_options(1000)
            assert ("xla_cpu_experimental_ynn_fusion_type" in options) == ynn, version
            assert ("xla_cpu_copy_insertion_use_region_analysis" in options) == later
            assert options["xla_cpu_prefer_vector_width"] == 512
        assert loop.jaxlib_version() == (0, 0, 0)
    if not on_cpu or not loop._has_ynn_fusions():
        return
    cornu.utils.set_random_seed(0)
    model = cornu.Sequential([Dense(13, input_shape=(4,), activation="sigmoid"),
                              Dense(17, activation="sigmoid"), Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    x, y = data(64)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)  # 32: a loop of single steps
    engine = model._engine
    ts = TrainState(model._params, model._state, model._opt_state, model._train_rng)
    text = engine.train_program(32).lower(ts, engine.zero_sums(), (x,), (y,), None,
                                    np.zeros((2, 32), np.int32), np.ones((2, 32), np.float32),
                                    0, 2, 0, False).compile().as_text()
    assert "ynn_fusion" not in text
    # the 13x17 kernel is read by the backward pass and updated in place in the same
    # step: XLA's default copy insertion copies it every step (checked: it does)
    if not loop._measured_on(loop.jaxlib_version()):
        return
    assert not re.search(r"= f32\[13,17\]\{1,0\} copy\(", text)
    # from YNN_REDUCE_MIN_BATCH on, another program (YNNPACK sums); the Dense layers' bias
    # gradients are products with ones (ops/_rows.py), all products XLA's Eigen calls
    assert engine.train_program(128) is engine.train_program(1000)
    assert engine.train_program(128) is not engine.train_program(32)
    cornu.utils.set_random_seed(0)
    wide = cornu.Sequential([Dense(64, input_shape=(8,), activation="sigmoid"),
                             Dense(64, activation="sigmoid"), Dense(2, activation="softmax")])
    wide.compile(optimizer="adam", loss="categorical_crossentropy")
    x = np.random.default_rng(2).normal(size=(256, 8)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[np.arange(256) % 2]
    wide.fit(x, y, batch_size=128, epochs=1, verbose=0)
    ts = TrainState(wide._params, wide._state, wide._opt_state, wide._train_rng)
    text = wide._engine.train_program(128).lower(
        ts, wide._engine.zero_sums(), (x,), (y,), None, np.zeros((2, 128), np.int32),
        np.ones((2, 128), np.float32), 0, 2, 0, False).compile().as_text()
    ones = [line for line in text.splitlines() if re.search(r"= f32\[(64|2),1\]\S* dot\(", line)]
    assert len(ones) == 3, ones  # the three bias gradients
    assert "ynn_fusion" not in text and len(re.findall(r"\bdot\(", text)) >= 8

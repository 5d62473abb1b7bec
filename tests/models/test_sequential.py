"""Sequential: shape inference, summary, weights in Keras order, calling the model."""

import numpy as np
import pytest

import cornu
from cornu.layers import Activation, Dense


def lecture_model():
    return cornu.Sequential([
        Dense(500, input_shape=(784,)), Activation("sigmoid"),
        Dense(500), Activation("sigmoid"),
        Dense(10), Activation("softmax"),
    ])


def test_shapes_are_inferred_and_params_counted():
    model = lecture_model()
    assert [layer.output_shape for layer in model.layers] == [
        (None, 500), (None, 500), (None, 500), (None, 500), (None, 10), (None, 10)]
    # 784*500+500 + 500*500+500 + 500*10+10, as Keras counts
    assert model.count_params() == 392500 + 250500 + 5010 == 648010


def test_summary_matches_keras_counts(capsys):
    model = lecture_model()
    model.summary()
    text = capsys.readouterr().out
    assert 'Model: "sequential"' in text
    assert "dense (Dense)" in text and "(None, 500)" in text and "392,500" in text
    assert "dense_2 (Dense)" in text and "5,010" in text
    assert "Total params: 648,010" in text and "Trainable params: 648,010" in text


def test_add_input_and_lazy_build():
    model = cornu.Sequential()
    model.add(cornu.Input(shape=(3,)))
    model.add(Dense(2))
    assert model.built and model.output_shape == (None, 2)
    lazy = cornu.Sequential([Dense(4), Dense(1)])
    assert not lazy.built
    out = lazy.predict(np.zeros((5, 6), np.float32))
    assert out.shape == (5, 1) and lazy.input_shape == (None, 6)
    with pytest.raises(TypeError, match="Sequential.add expects a layer"):
        model.add("dense")


def test_get_and_set_weights_in_keras_order():
    model = cornu.Sequential([Dense(3, input_shape=(2,)), Dense(1, use_bias=False)])
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(2, 3), (3,), (3, 1)]
    new = [np.full(s, i, np.float32) for i, s in enumerate(shapes)]
    model.set_weights(new)
    for got, want in zip(model.get_weights(), new, strict=True):
        np.testing.assert_array_equal(got, want)
    x = np.ones((1, 2), np.float32)
    np.testing.assert_allclose(model.predict(x), [[6.0]], rtol=0)  # h = x@0 + 1 = 1; 3 * 1 * 2
    with pytest.raises(ValueError, match="expected a list of 3 arrays"):
        model.set_weights(new[:2])
    with pytest.raises(ValueError, match=r"'kernel' of layer 'dense' has shape \(2, 3\)"):
        model.set_weights([np.zeros((3, 3))] + new[1:])


def test_model_call_and_predict_agree_for_every_batch_size():
    model = lecture_model()
    x = np.random.default_rng(0).random((37, 784)).astype(np.float32)
    direct = np.asarray(model(x))
    for batch_size in (1, 5, 32, 37, 100):
        np.testing.assert_allclose(model.predict(x, batch_size=batch_size), direct,
                                   rtol=1e-5, atol=1e-6)
    assert direct.shape == (37, 10)
    np.testing.assert_allclose(direct.sum(axis=1), 1.0, rtol=1e-5)

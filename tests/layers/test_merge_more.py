"""Subtract, Multiply, Average, Maximum, Minimum and their functional forms: against
NumPy and Keras 3, shapes, and the errors that name the layer."""

import numpy as np
import pytest
from keras_compare import keras, same_as_keras
from layer_checks import check_layer, sample

import cornu
from cornu import layers

CASES = [  # class name, functional form, NumPy reduction over the list
    ("Subtract", layers.subtract, lambda xs: xs[0] - xs[1]),
    ("Multiply", layers.multiply, lambda xs: np.prod(xs, axis=0)),
    ("Average", layers.average, lambda xs: np.mean(xs, axis=0)),
    ("Maximum", layers.maximum, lambda xs: np.max(xs, axis=0)),
    ("Minimum", layers.minimum, lambda xs: np.min(xs, axis=0)),
]


@pytest.mark.parametrize(("name", "functional", "reference"), CASES)
def test_merge_matches_numpy_and_keras(name, functional, reference):
    count = 2 if name == "Subtract" else 3
    shapes = [(None, 3, 4)] * count
    xs = [sample(s, seed=i) for i, s in enumerate(shapes)]
    cls = getattr(layers, name)
    _, _, y = check_layer(cls(), shapes, x=xs, params=0, output_shape=(None, 3, 4))
    np.testing.assert_allclose(np.asarray(y), reference(np.stack(xs)), rtol=1e-6, atol=1e-6)
    same_as_keras(cls(), getattr(keras.layers, name)(), xs)
    # the functional form in a model, and a size of 1 broadcasting
    a, b = cornu.Input((3, 4)), cornu.Input((1, 4))
    model = cornu.Model([a, b], functional([a, b], name="merged"))
    assert model.layers[-1].name == "merged" and isinstance(model.layers[-1], cls)
    x1 = sample((None, 1, 4), seed=5)
    out = model.predict([xs[0], x1], verbose=0)
    np.testing.assert_allclose(out, reference(np.stack(np.broadcast_arrays(xs[0], x1))),
                               rtol=1e-6, atol=1e-6)


def test_subtract_takes_exactly_two_inputs():
    a = cornu.Input((3,))
    with pytest.raises(ValueError, match=r"Layer 'subtract' \(Subtract\) subtracts exactly 2 "
                                         r"inputs.*Received 3 inputs"):
        layers.Subtract()([a, a, a])
    with pytest.raises(ValueError, match=r"'multiply' \(Multiply\) needs inputs of the same "
                                         r"shape.*\(None, 3\), \(None, 4\)"):
        layers.multiply([a, cornu.Input((4,))])
    with pytest.raises(ValueError, match=r"'maximum' \(Maximum\) merges a list of at least 2"):
        layers.Maximum()(a)


def test_merges_save_and_load(tmp_path):
    a, b = cornu.Input((3,)), cornu.Input((3,))
    ha, hb = layers.Dense(4)(a), layers.Dense(4)(b)
    out = layers.concatenate([layers.subtract([ha, hb]), layers.multiply([ha, hb]),
                              layers.average([ha, hb]), layers.maximum([ha, hb]),
                              layers.minimum([ha, hb])])
    model = cornu.Model([a, b], out)
    xs = [sample((None, 3), batch=5, seed=i) for i in range(2)]
    model.save(tmp_path / "m.cornu")
    loaded = cornu.models.load_model(tmp_path / "m.cornu")
    np.testing.assert_array_equal(loaded.predict(xs, verbose=0), model.predict(xs, verbose=0))

"""Dot: Keras' batch-dot semantics against Keras 3 and NumPy, shapes, normalize, the
functional form, and the errors that name the layer."""

import numpy as np
import pytest
from keras_compare import keras, same_as_keras
from layer_checks import check_layer, sample

import cornu
from cornu import layers


@pytest.mark.parametrize(("axes", "shapes", "expected"), [
    (1, [(None, 5), (None, 5)], (None, 1)),
    (-1, [(None, 3, 4), (None, 2, 4)], (None, 3, 2)),
    ((1, 2), [(None, 3, 5), (None, 4, 3)], (None, 5, 4)),
    ([2, 1], [(None, 3, 5), (None, 5, 2)], (None, 3, 2)),
    (1, [(None, 4), (None, 4, 3)], (None, 3)),
    ((3, -1), [(None, 2, 3, 4), (None, 5, 4)], (None, 2, 3, 5)),
])
@pytest.mark.parametrize("normalize", [False, True])
def test_dot_matches_keras(axes, shapes, expected, normalize):
    xs = [sample(s, batch=3, seed=i) for i, s in enumerate(shapes)]
    layer = layers.Dot(axes, normalize=normalize)
    _, _, y = check_layer(layer, shapes, x=xs, params=0, output_shape=expected)
    same_as_keras(layers.Dot(axes, normalize=normalize),
                  keras.layers.Dot(axes, normalize=normalize), xs)
    assert layer.compute_output_shape(shapes) == \
        keras.layers.Dot(axes, normalize=normalize).compute_output_shape(shapes)
    if not normalize:  # the sum over the named axes, sample by sample
        i, j = (axes, axes) if isinstance(axes, int) else axes
        i, j = i % len(shapes[0]), j % len(shapes[1])
        reference = np.stack([np.tensordot(a, b, axes=(i - 1, j - 1))
                              for a, b in zip(*xs, strict=True)])
        np.testing.assert_allclose(np.asarray(y).reshape(reference.shape), reference,
                                   rtol=1e-5, atol=1e-5)


def test_normalize_gives_the_cosine_similarity():
    a, b = sample((None, 6), batch=4), sample((None, 6), batch=4, seed=1)
    y = np.asarray(layers.dot([a, b], axes=1, normalize=True))
    cosine = np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    np.testing.assert_allclose(y[:, 0], cosine, rtol=1e-5)


def test_in_a_model_fit_compiles_once_and_round_trips(tmp_path):
    cornu.utils.set_random_seed(0)
    a, b = cornu.Input((4, 3)), cornu.Input((5, 3))
    scores = layers.Dot(axes=2)([layers.Dense(6)(a), layers.Dense(6)(b)])  # (None, 4, 5)
    outputs = layers.Dense(1)(layers.Flatten()(scores))
    model = cornu.Model([a, b], layers.dot([outputs, outputs], axes=1, name="squared"))
    assert model.output_shape == (None, 1)
    xs = [sample((None, 4, 3), batch=12), sample((None, 5, 3), batch=12, seed=1)]
    y = np.ones((12, 1), np.float32)
    model.compile(optimizer="adam", loss="mse")
    model.fit(xs, y, batch_size=5, epochs=2, verbose=0)
    assert model._engine.traces["train"] == 1
    model.save(tmp_path / "m.cornu")
    loaded = cornu.models.load_model(tmp_path / "m.cornu")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(xs, verbose=0), model.predict(xs, verbose=0))


@pytest.mark.parametrize(("make", "message"), [
    (lambda: layers.Dot(axes=(1, 2, 3)), r"axes must be an integer or a tuple of 2.*"
                                         r"Received: axes=\(1, 2, 3\)"),
    (lambda: layers.Dot(axes="last"), r"Received: axes='last'"),
    (lambda: layers.Dot(1)([cornu.Input((3,)), cornu.Input((4,))]),
     r"'dot' \(Dot\) needs inputs whose axes \(1, 1\) have the same size.*\(None, 3\), "
     r"\(None, 4\)"),
    (lambda: layers.Dot(0)([cornu.Input((3,)), cornu.Input((3,))]),
     r"axes=0 must name a non-batch axis"),
    (lambda: layers.Dot(1)([cornu.Input((3,))] * 3), r"takes exactly 2 inputs"),
])
def test_errors_name_the_layer_and_the_value(make, message):
    with pytest.raises(ValueError, match=message):
        make()

"""The image augmentation layers (RandomFlip, RandomRotation, RandomTranslation, RandomZoom,
RandomContrast, RandomCrop, RandomBrightness): the identity at inference, their draws in
training (statistics, seeds), the shared affine transform against Keras', and a convnet
that trains with them, compiled once."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from keras_compare import keras
from layer_checks import check_layer

import cornu
from cornu import layers
from cornu.layers import _image_transform
from cornu.variables import StatelessScope

IMAGES = np.random.default_rng(0).uniform(0, 255, (4, 9, 12, 3)).astype(np.float32)

ALL = [
    lambda: layers.RandomFlip(),
    lambda: layers.RandomRotation(0.2),
    lambda: layers.RandomTranslation(0.2, (-0.1, 0.3)),
    lambda: layers.RandomZoom(0.2, (-0.3, 0.1)),
    lambda: layers.RandomContrast(0.5),
    lambda: layers.RandomBrightness(0.2),
]


def in_training(layer, x, key=0):
    """The layer in training as a compiled step runs it: its draws from the step's key."""
    with StatelessScope([], rng=jax.random.PRNGKey(key)):
        return np.asarray(layer(x, training=True))


@pytest.mark.parametrize("make", ALL)
def test_identity_at_inference_and_layer_checks(make):
    layer = make()
    np.testing.assert_array_equal(np.asarray(layer(IMAGES)), IMAGES)
    np.testing.assert_array_equal(np.asarray(layer(IMAGES, training=False)), IMAGES)
    ints = IMAGES.astype(np.uint8)
    out = layer(ints)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(out), ints.astype(np.float32))
    check_layer(make(), (None, 9, 12, 3), x=IMAGES, params=0, output_shape=(None, 9, 12, 3))
    # jit against eager in training on values in [0, 1] (float rounding of values up to 255
    # is above the helper's absolute tolerance)
    check_layer(make(), (None, 9, 12, 3), x=IMAGES / 255, params=0,
                output_shape=(None, 9, 12, 3), training=True)
    assert in_training(make(), IMAGES[0]).shape == IMAGES[0].shape  # one image, no batch


@pytest.mark.parametrize("make", ALL + [lambda: layers.RandomCrop(5, 7)])
def test_seeds_repeat_and_keys_change_the_draws(make):
    a, b = in_training(make(), IMAGES, key=3), in_training(make(), IMAGES, key=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, in_training(make(), IMAGES, key=4))
    seeded = type(make())(**{**make().get_config(), "seed": 7, "name": None})
    again = type(make())(**{**make().get_config(), "seed": 7, "name": None})
    np.testing.assert_array_equal(in_training(seeded, IMAGES), in_training(again, IMAGES))
    # eager, outside a step: a seeded layer repeats, and each call draws anew
    first = [np.asarray(seeded(IMAGES, training=True)) for _ in range(4)]
    second = [np.asarray(again(IMAGES, training=True)) for _ in range(4)]
    np.testing.assert_array_equal(np.stack(first), np.stack(second))
    assert any(not np.array_equal(first[0], f) for f in first[1:])


@pytest.mark.parametrize("mode", ["horizontal", "vertical", "horizontal_and_vertical"])
def test_flip_happens_about_half_the_time_per_image(mode):
    x = np.random.default_rng(1).normal(size=(400, 3, 4, 1)).astype(np.float32)
    y = in_training(layers.RandomFlip(mode), x)
    same = np.all(y == x, axis=(1, 2, 3))
    flipped = {"horizontal": x[:, :, ::-1], "vertical": x[:, ::-1],
               "horizontal_and_vertical": x[:, ::-1, ::-1]}[mode]
    other = np.all(y == flipped, axis=(1, 2, 3))
    assert np.all(same | other)  # each image whole, flipped on the mode's axes or not
    assert abs(other.mean() - 0.5) < 0.1  # 400 draws: 4 standard deviations


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "constant", "nearest"])
def test_affine_transform_matches_keras(fill_mode, interpolation):
    angles = jnp.array([30.0, -75.0, 90.0, 0.0])
    matrices = {
        "rotation": _image_transform.rotation_matrix(angles, 9, 12),
        "translation": _image_transform.translation_matrix(jnp.array([2.5, -1.0, 0.0, 12.0]),
                                                           jnp.array([0.3, 4.0, -2.0, 0.0])),
        "zoom": _image_transform.zoom_matrix(jnp.array([1.3, 0.7, 1.0, 0.5]),
                                             jnp.array([0.8, 1.2, 1.0, 1.9]), 9, 12),
    }
    for name, matrix in matrices.items():
        ours = _image_transform.affine_transform(IMAGES, matrix, interpolation, fill_mode, 7.0)
        with jax.numpy_rank_promotion("allow"):
            theirs = keras.ops.image.affine_transform(IMAGES, np.asarray(matrix), interpolation,
                                                      fill_mode, 7.0)
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), atol=1e-4, rtol=1e-6,
                                   err_msg=name)


@pytest.mark.parametrize(("make", "kwargs"), [
    ("RandomRotation", {"factor": (0.1, 0.1)}),
    ("RandomRotation", {"factor": (-0.3, -0.3), "fill_mode": "constant", "fill_value": 3.0,
                        "interpolation": "nearest"}),
    ("RandomTranslation", {"height_factor": (0.15, 0.15), "width_factor": (-0.3, -0.3),
                           "fill_mode": "wrap"}),
    ("RandomZoom", {"height_factor": (0.3, 0.3), "width_factor": (-0.2, -0.2),
                    "fill_mode": "nearest"}),
    ("RandomZoom", {"height_factor": (-0.4, -0.4)}),
    ("RandomBrightness", {"factor": (0.1, 0.1)}),
    ("RandomBrightness", {"factor": (-0.2, -0.2), "value_range": (0, 200)}),
])
def test_fixed_draws_equal_keras_layers_in_training(make, kwargs):
    """Ranges of width zero: the layer's matrices and arithmetic, not its draws, meet Keras'."""
    ours = in_training(getattr(layers, make)(**kwargs), IMAGES)
    with jax.numpy_rank_promotion("allow"):
        theirs = np.asarray(getattr(keras.layers, make)(**kwargs)(IMAGES, training=True))
    np.testing.assert_allclose(ours, theirs, atol=1e-3, rtol=1e-5)  # values up to 255


def test_rotation_by_a_quarter_turn_and_the_layer_draws_within_its_factor():
    square = IMAGES[:, :9, :9]
    turned = _image_transform.affine_transform(
        square, _image_transform.rotation_matrix(jnp.full((4,), 90.0), 9, 9))
    np.testing.assert_allclose(np.asarray(turned), np.rot90(square, k=1, axes=(1, 2)),
                               atol=1e-3)
    # a zero range rotates by exactly that angle
    layer = layers.RandomRotation((0.25, 0.25), interpolation="nearest")
    np.testing.assert_allclose(in_training(layer, square), np.asarray(turned), atol=1e-3)
    assert layers.RandomRotation(0.1).factor == (-0.1, 0.1)


def test_translation_and_zoom_ranges():
    x = np.arange(400 * 5 * 5, dtype=np.float32).reshape(400, 5, 5, 1) % 25
    # whole-pixel shifts of one row down and two columns right, constant fill
    shifted = in_training(layers.RandomTranslation((0.2, 0.2), (0.4, 0.4),
                                                   fill_mode="constant", fill_value=-1.0), x)
    np.testing.assert_allclose(shifted[:, 1:, 2:], x[:, :-1, :-2], atol=1e-4)
    assert np.all(shifted[:, 0] == -1) and np.all(shifted[:, :, :2] == -1)
    # zooming in by 0 to 50 percent keeps the centre pixel
    zoomed = in_training(layers.RandomZoom((-0.5, 0.0), fill_mode="constant"), x)
    np.testing.assert_allclose(zoomed[:, 2, 2], x[:, 2, 2], atol=1e-4)


def test_contrast_and_brightness_ranges():
    x = np.random.default_rng(2).uniform(0.2, 0.8, (500, 4, 4, 3)).astype(np.float32)
    y = in_training(layers.RandomContrast(0.5, value_range=(0, 1)), x)
    mean = x.mean(axis=(1, 2), keepdims=True)
    factors = ((y - mean) / (x - mean)).reshape(500, -1)
    inside = (y > 0) & (y < 1)  # not clipped
    per_image = np.array([f[i].mean() for f, i in zip(factors, inside.reshape(500, -1),
                                                      strict=True)])
    assert per_image.min() >= 0.5 - 1e-3 and per_image.max() <= 1.5 + 1e-3
    assert per_image.min() < 0.6 and per_image.max() > 1.4  # lower = upper = 0.5
    assert y.min() >= 0 and y.max() <= 1
    assert layers.RandomContrast((0.1, 0.3)).factor == (0.1, 0.3)

    bright = in_training(layers.RandomBrightness((-0.1, 0.2), value_range=(0, 1)), x)
    delta = (bright - x).reshape(500, -1)
    unclipped = (bright > 0).reshape(500, -1) & (bright < 1).reshape(500, -1)
    per_image = np.array([d[u][0] for d, u in zip(delta, unclipped, strict=True)])
    assert per_image.min() >= -0.1 - 1e-6 and per_image.max() <= 0.2 + 1e-6
    assert per_image.min() < -0.08 and per_image.max() > 0.18
    assert abs(per_image.mean() - 0.05) < 0.01
    assert all(np.allclose(d[u], d[u][0], atol=1e-6) for d, u in zip(delta, unclipped,
                                                                      strict=True))
    black = in_training(layers.RandomBrightness((-1.0, -1.0)), IMAGES)
    np.testing.assert_array_equal(black, 0.0)


def test_random_crop():
    x = np.arange(2 * 8 * 10 * 1, dtype=np.float32).reshape(2, 8, 10, 1)
    check_layer(layers.RandomCrop(4, 6), (None, 8, 10, 1), x=x, params=0,
                output_shape=(None, 4, 6, 1))
    corners = set()
    for key in range(30):
        y = in_training(layers.RandomCrop(4, 6), x, key)
        top, left = divmod(int(y[0, 0, 0, 0]), 10)
        np.testing.assert_array_equal(y, x[:, top:top + 4, left:left + 6])
        corners.add((top, left))
    assert len(corners) > 5 and all(0 <= t <= 4 and 0 <= w <= 4 for t, w in corners)
    # inference: the largest centred window of the target's aspect ratio, resized (as Keras
    # documents); the same when training on images no larger than the target
    expected = layers.Resizing(4, 6, crop_to_aspect_ratio=True)(x)
    np.testing.assert_allclose(np.asarray(layers.RandomCrop(4, 6)(x)), np.asarray(expected),
                               atol=1e-4)
    np.testing.assert_array_equal(np.asarray(layers.RandomCrop(8, 5)(x)), x[:, :, 2:7])
    np.testing.assert_array_equal(in_training(layers.RandomCrop(8, 5), x), x[:, :, 2:7])


@pytest.mark.parametrize("size", [(9, 6), (5, 12), (9, 12), (7, 12)])
def test_random_crop_of_small_images_in_training_equals_keras(size):
    """Not larger than the target on both axes: Keras' deterministic centred crop. Keras 3.15
    differs from its docs in two cases, where cornu follows the docs: at inference it returns
    the images uncropped (against its own output shape), and for a target larger than the
    image it resizes a (target-sized, clipped) window, not the aspect-ratio window."""
    ours = in_training(layers.RandomCrop(*size), IMAGES)
    with jax.numpy_rank_promotion("allow"):
        theirs = np.asarray(keras.layers.RandomCrop(*size)(IMAGES, training=True))
    np.testing.assert_allclose(ours, theirs, atol=1e-3, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(layers.RandomCrop(*size)(IMAGES)), theirs, atol=1e-3,
                               rtol=1e-5)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: layers.RandomFlip("diagonal"), "mode must be one of"),
    (lambda: layers.RandomRotation(1.5), r"factor must be a number or a pair of numbers in "
                                         r"\[-1.0, 1.0\] \(fractions of a full turn\)"),
    (lambda: layers.RandomRotation(0.1, fill_mode="mirror"), "fill_mode must be one of"),
    (lambda: layers.RandomTranslation(0.1, 0.1, interpolation="bicubic"),
     "interpolation must be one of"),
    (lambda: layers.RandomZoom(-1.0), r"height_factor must be .* in \(-1.0, 1.0\]"),
    (lambda: layers.RandomZoom(0.1, (0.1, 0.2, 0.3)), "Received: width_factor="),
    (lambda: layers.RandomContrast(-0.2), r"factor must be .* in \[0.0, 1.0\]"),
    (lambda: layers.RandomBrightness(0.2, value_range=(1, 1)), "value_range must be a pair"),
    (lambda: layers.RandomCrop(0, 3), "height must be a positive integer"),
    (lambda: layers.RandomFlip(seed=-1), "Received: seed=-1"),
    (lambda: layers.RandomFlip()(cornu.Input((8,))), r"\(RandomFlip\) takes images of rank 4"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_configs_match_keras():
    pairs = [(layers.RandomFlip("horizontal", seed=1), keras.layers.RandomFlip("horizontal",
                                                                               seed=1)),
             (layers.RandomRotation(0.2, fill_mode="constant", fill_value=2.0),
              keras.layers.RandomRotation(0.2, fill_mode="constant", fill_value=2.0)),
             (layers.RandomTranslation(0.1, (0.1, 0.2)),
              keras.layers.RandomTranslation(0.1, (0.1, 0.2))),
             (layers.RandomZoom(0.1, interpolation="nearest"),
              keras.layers.RandomZoom(0.1, interpolation="nearest")),
             (layers.RandomContrast((0.1, 0.3)), keras.layers.RandomContrast((0.1, 0.3))),
             (layers.RandomBrightness(0.2, seed=3), keras.layers.RandomBrightness(0.2, seed=3)),
             (layers.RandomCrop(3, 4, seed=5), keras.layers.RandomCrop(3, 4, seed=5))]
    for ours, theirs in pairs:
        mine, other = ours.get_config(), theirs.get_config()
        for key, value in mine.items():
            if key not in ("name", "dtype", "trainable"):
                want = other[key]
                assert np.allclose(value, want) if isinstance(value, tuple) else value == want, \
                    (type(ours).__name__, key, value, want)


def test_convnet_with_flip_and_rotation_trains_compiled_once(tmp_path):
    """As Keras' image classification example: augmentation at the model's input."""
    cornu.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (40, 12, 12, 3)).astype(np.float32)
    y = (x[..., 0].mean(axis=(1, 2)) > 127.5).astype(np.float32)[:, None]
    model = cornu.Sequential([
        cornu.Input((12, 12, 3)), layers.RandomFlip("horizontal"), layers.RandomRotation(0.1),
        layers.Rescaling(1 / 255), layers.Conv2D(4, 3, activation="relu"),
        layers.MaxPooling2D(), layers.Flatten(), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)  # a partial last batch
    assert np.isfinite(history.history["loss"]).all()
    assert model._engine.traces["train"] == 1
    # at inference the augmentation layers pass the images through
    plain = cornu.Sequential([cornu.Input((12, 12, 3)), *model.layers[2:]])
    np.testing.assert_allclose(model.predict(x, verbose=0), plain.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "m.cornu")
    loaded = cornu.models.load_model(tmp_path / "m.cornu")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))

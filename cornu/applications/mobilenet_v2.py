"""MobileNetV2 (Sandler et al. 2018, arXiv:1801.04381), as `keras.applications.MobileNetV2`:
the same layers, names, order and weights, so a Keras `.weights.h5` of the same
architecture loads into it and predicts the same.

Inverted residual blocks: a 1x1 convolution expands the channels six times, a 3x3
depthwise convolution filters them, a 1x1 convolution projects them back (no activation);
a block that keeps the shape adds its input.
"""

from __future__ import annotations

from typing import Any

from cornu import layers
from cornu.applications import imagenet_utils
from cornu.applications.imagenet_utils import decode_predictions

__all__ = ["MobileNetV2", "decode_predictions", "preprocess_input"]

# (filters, stride, expansion, repeats) of the 17 inverted residual blocks
_BLOCKS = ((16, 1, 1, 1), (24, 2, 6, 2), (32, 2, 6, 3), (64, 2, 6, 4), (96, 1, 6, 3),
           (160, 2, 6, 3), (320, 1, 6, 1))


def MobileNetV2(  # noqa: N802 - Keras' name
    input_shape: tuple[int | None, ...] | None = None,
    alpha: float = 1.0,
    include_top: bool = True,
    weights: Any = None,
    input_tensor: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str | None = None,
) -> Any:
    """The MobileNetV2 image classifier (or feature extractor, include_top=False).

    Args as Keras': `input_shape` (height, width, channels), at least 32x32, default
    (224, 224, 3) with the classifier and free (None, None, 3) without; `alpha` the
    width multiplier; `weights` None (random) or a weights file's path (cornu does not
    download ImageNet weights; default None where Keras' is "imagenet"); `pooling`
    None, "avg" or "max" without the classifier. Inputs are scaled with
    `preprocess_input` (to [-1, 1]).
    """
    imagenet_utils.check_weights(weights, include_top, classes, "MobileNetV2")
    imagenet_utils.check_pooling(pooling, include_top)
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not alpha > 0:
        raise ValueError(f"alpha must be a positive number. Received: alpha={alpha!r}")
    if include_top:
        imagenet_utils.check_activation(classifier_activation)
    if input_tensor is not None and input_shape is not None:
        shape = getattr(input_tensor, "shape", None)
        if shape is not None and len(shape) == 4 and len(input_shape) == 3 \
                and shape[2] != input_shape[1]:
            raise ValueError("input_tensor.shape[2] must equal input_shape[1]. Received: "
                             f"input_tensor.shape={shape}, input_shape={input_shape}")
    if input_shape is None and input_tensor is not None:
        input_shape = tuple(imagenet_utils.image_input(input_tensor, ()).shape[1:])
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                                    require_flatten=include_top)
    img_input = imagenet_utils.image_input(input_tensor, input_shape)
    rows = input_shape[0]

    x = layers.Conv2D(_make_divisible(32 * alpha, 8), kernel_size=3, strides=(2, 2),
                      padding="same", use_bias=False, name="Conv1")(img_input)
    x = _batch_norm("bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    block_id = 0
    for filters, stride, expansion, repeats in _BLOCKS:
        for i in range(repeats):
            x = _inverted_res_block(x, expansion=expansion, stride=stride if i == 0 else 1,
                                    alpha=alpha, filters=filters, block_id=block_id)
            block_id += 1

    # the last convolution is widened for alpha > 1 only (the paper)
    last_filters = _make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last_filters, kernel_size=1, use_bias=False, name="Conv_1")(x)
    x = _batch_norm("Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)

    if include_top:
        x = layers.GlobalAveragePooling2D()(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)

    from cornu.models import Model

    inputs = img_input if input_tensor is None else imagenet_utils.source_inputs(input_tensor)
    model = Model(inputs, x, name=name if name is not None else f"mobilenetv2_{alpha:0.2f}_{rows}")
    return imagenet_utils.finish(model, weights)


def _batch_norm(name: str) -> layers.BatchNormalization:
    return layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name=name)


def _inverted_res_block(inputs: Any, expansion: int, stride: int, alpha: float, filters: int,
                        block_id: int) -> Any:
    in_channels = inputs.shape[-1]
    pointwise_filters = _make_divisible(int(filters * alpha), 8)
    x = inputs
    prefix = f"block_{block_id}_" if block_id else "expanded_conv_"
    if block_id:  # the first block does not expand
        x = layers.Conv2D(expansion * in_channels, kernel_size=1, padding="same",
                          use_bias=False, activation=None, name=f"{prefix}expand")(x)
        x = _batch_norm(f"{prefix}expand_BN")(x)
        x = layers.ReLU(6.0, name=f"{prefix}expand_relu")(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x.shape, 3),
                                 name=f"{prefix}pad")(x)
    x = layers.DepthwiseConv2D(kernel_size=3, strides=stride, activation=None, use_bias=False,
                               padding="same" if stride == 1 else "valid",
                               name=f"{prefix}depthwise")(x)
    x = _batch_norm(f"{prefix}depthwise_BN")(x)
    x = layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(x)
    x = layers.Conv2D(pointwise_filters, kernel_size=1, padding="same", use_bias=False,
                      activation=None, name=f"{prefix}project")(x)
    x = _batch_norm(f"{prefix}project_BN")(x)
    if in_channels == pointwise_filters and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x


def _make_divisible(v: float, divisor: int) -> int:
    """`v` rounded to a multiple of `divisor`, at least `divisor` and not more than 10%
    below `v`."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Images of 0-255 scaled to [-1, 1], as MobileNetV2 expects."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")

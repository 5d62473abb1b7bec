"""ResNet50, ResNet101 and ResNet152 (He et al. 2015, arXiv:1512.03385), as
`keras.applications.ResNet50` etc.: the same layers, names, order and weights, so a Keras
`.weights.h5` of the same architecture loads into them and predicts the same.

Bottleneck blocks: 1x1 convolution down to `filters` channels, 3x3 convolution, 1x1
convolution up to 4 * `filters`, added to the block's input (through a 1x1 convolution
in the first block of each stage, which also strides).
"""

from __future__ import annotations

from typing import Any

from cornu import layers
from cornu.applications import imagenet_utils
from cornu.applications.imagenet_utils import decode_predictions

__all__ = ["ResNet50", "ResNet101", "ResNet152", "decode_predictions", "preprocess_input"]

_EPSILON = 1.001e-5


def _resnet(stage_blocks: tuple[int, int, int, int], builder: str, include_top: bool,
            weights: Any, input_tensor: Any, input_shape: Any, pooling: Any, classes: Any,
            classifier_activation: Any, name: str) -> Any:
    imagenet_utils.check_weights(weights, include_top, classes, builder)
    imagenet_utils.check_pooling(pooling, include_top)
    if include_top:
        imagenet_utils.check_activation(classifier_activation)
    if input_shape is None and input_tensor is not None:
        input_shape = tuple(imagenet_utils.image_input(input_tensor, ()).shape[1:])
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                                    require_flatten=include_top)
    img_input = imagenet_utils.image_input(input_tensor, input_shape)

    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=True, name="conv1_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=_EPSILON, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (filters, blocks) in enumerate(zip((64, 128, 256, 512), stage_blocks,
                                                  strict=True)):
        x = _stack(x, filters, blocks, stride1=1 if stage == 0 else 2, name=f"conv{stage + 2}")

    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)

    from cornu.models import Model

    inputs = img_input if input_tensor is None else imagenet_utils.source_inputs(input_tensor)
    return imagenet_utils.finish(Model(inputs, x, name=name), weights)


def _block(x: Any, filters: int, stride: int, conv_shortcut: bool, name: str) -> Any:
    def bn(n: int) -> layers.BatchNormalization:
        return layers.BatchNormalization(axis=3, epsilon=_EPSILON, name=f"{name}_{n}_bn")

    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = bn(0)(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(bn(1)(x))
    x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_2_conv")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(bn(2)(x))
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = bn(3)(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def _stack(x: Any, filters: int, blocks: int, stride1: int, name: str) -> Any:
    x = _block(x, filters, stride1, conv_shortcut=True, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = _block(x, filters, 1, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def ResNet50(  # noqa: N802 - Keras' name
    include_top: bool = True,
    weights: Any = None,
    input_tensor: Any = None,
    input_shape: tuple[int | None, ...] | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet50",
) -> Any:
    """ResNet50 (25,636,712 parameters with the classifier). Args as Keras':
    `input_shape` (height, width, channels), at least 32x32, default (224, 224, 3) with
    the classifier and free (None, None, 3) without; `weights` None (random) or a weights
    file's path (cornu does not download ImageNet weights; default None where Keras'
    is "imagenet"); `pooling` None, "avg" or "max" without the classifier. Inputs are
    scaled with `preprocess_input` (BGR, ImageNet's channel means subtracted)."""
    return _resnet((3, 4, 6, 3), "ResNet50", include_top, weights, input_tensor, input_shape,
                   pooling, classes, classifier_activation, name)


def ResNet101(  # noqa: N802 - Keras' name
    include_top: bool = True,
    weights: Any = None,
    input_tensor: Any = None,
    input_shape: tuple[int | None, ...] | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet101",
) -> Any:
    """ResNet101: ResNet50 with 23 blocks in its third stage. Args as `ResNet50`."""
    return _resnet((3, 4, 23, 3), "ResNet101", include_top, weights, input_tensor,
                   input_shape, pooling, classes, classifier_activation, name)


def ResNet152(  # noqa: N802 - Keras' name
    include_top: bool = True,
    weights: Any = None,
    input_tensor: Any = None,
    input_shape: tuple[int | None, ...] | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet152",
) -> Any:
    """ResNet152: 8 blocks in the second stage and 36 in the third. Args as `ResNet50`."""
    return _resnet((3, 8, 36, 3), "ResNet152", include_top, weights, input_tensor,
                   input_shape, pooling, classes, classifier_activation, name)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Images of 0-255 converted to BGR with ImageNet's channel means subtracted, as the
    ResNet weights expect."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")

"""`keras.applications`-style builders: functional models equal in structure, layer names
and weights to Keras' (a Keras `.weights.h5` of the same architecture loads into them).

    model = cornu.applications.ResNet50(weights=None, input_shape=(64, 64, 3), classes=10)

cornu downloads no pretrained weights: `weights` is None (random) or the path of a
weights file. Each family's module has `preprocess_input` and `decode_predictions`.
"""

from cornu.applications import imagenet_utils, mobilenet_v2, resnet, resnet50
from cornu.applications.mobilenet_v2 import MobileNetV2
from cornu.applications.resnet import ResNet50, ResNet101, ResNet152

__all__ = ["MobileNetV2", "ResNet101", "ResNet152", "ResNet50", "imagenet_utils",
           "mobilenet_v2", "resnet", "resnet50"]

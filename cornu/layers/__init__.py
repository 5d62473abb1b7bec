"""Layers, by their Keras 3 names."""

from cornu.layers.activation import Activation
from cornu.layers.activity_regularization import ActivityRegularization
from cornu.layers.adaptive_average_pooling1d import AdaptiveAveragePooling1D
from cornu.layers.adaptive_average_pooling2d import AdaptiveAveragePooling2D
from cornu.layers.adaptive_average_pooling3d import AdaptiveAveragePooling3D
from cornu.layers.adaptive_max_pooling1d import AdaptiveMaxPooling1D
from cornu.layers.adaptive_max_pooling2d import AdaptiveMaxPooling2D
from cornu.layers.adaptive_max_pooling3d import AdaptiveMaxPooling3D
from cornu.layers.add import Add
from cornu.layers.additive_attention import AdditiveAttention
from cornu.layers.alpha_dropout import AlphaDropout
from cornu.layers.attention import Attention
from cornu.layers.average import Average
from cornu.layers.average_pooling1d import AveragePooling1D
from cornu.layers.average_pooling2d import AveragePooling2D
from cornu.layers.average_pooling3d import AveragePooling3D
from cornu.layers.base import Layer
from cornu.layers.batch_normalization import BatchNormalization
from cornu.layers.bidirectional import Bidirectional
from cornu.layers.category_encoding import CategoryEncoding
from cornu.layers.center_crop import CenterCrop
from cornu.layers.concatenate import Concatenate
from cornu.layers.conv1d import Conv1D
from cornu.layers.conv1d_transpose import Conv1DTranspose
from cornu.layers.conv2d import Conv2D
from cornu.layers.conv2d_transpose import Conv2DTranspose
from cornu.layers.conv3d import Conv3D
from cornu.layers.conv3d_transpose import Conv3DTranspose
from cornu.layers.cropping1d import Cropping1D
from cornu.layers.cropping2d import Cropping2D
from cornu.layers.cropping3d import Cropping3D
from cornu.layers.dense import Dense
from cornu.layers.depthwise_conv1d import DepthwiseConv1D
from cornu.layers.depthwise_conv2d import DepthwiseConv2D
from cornu.layers.discretization import Discretization
from cornu.layers.dot import Dot
from cornu.layers.dropout import Dropout
from cornu.layers.einsum_dense import EinsumDense
from cornu.layers.elu import ELU
from cornu.layers.embedding import Embedding
from cornu.layers.flatten import Flatten
from cornu.layers.gaussian_dropout import GaussianDropout
from cornu.layers.gaussian_noise import GaussianNoise
from cornu.layers.global_average_pooling1d import GlobalAveragePooling1D
from cornu.layers.global_average_pooling2d import GlobalAveragePooling2D
from cornu.layers.global_average_pooling3d import GlobalAveragePooling3D
from cornu.layers.global_max_pooling1d import GlobalMaxPooling1D
from cornu.layers.global_max_pooling2d import GlobalMaxPooling2D
from cornu.layers.global_max_pooling3d import GlobalMaxPooling3D
from cornu.layers.group_normalization import GroupNormalization
from cornu.layers.gru import GRU, GRUCell
from cornu.layers.hashing import Hashing
from cornu.layers.identity import Identity
from cornu.layers.input_layer import Input, InputLayer
from cornu.layers.integer_lookup import IntegerLookup
from cornu.layers.keras_tensor import KerasTensor
from cornu.layers.lambda_layer import Lambda
from cornu.layers.layer_normalization import LayerNormalization
from cornu.layers.leaky_relu import LeakyReLU
from cornu.layers.lstm import LSTM, LSTMCell
from cornu.layers.masking import Masking
from cornu.layers.max_pooling1d import MaxPooling1D
from cornu.layers.max_pooling2d import MaxPooling2D
from cornu.layers.max_pooling3d import MaxPooling3D
from cornu.layers.maximum import Maximum
from cornu.layers.minimum import Minimum
from cornu.layers.multi_head_attention import MultiHeadAttention
from cornu.layers.multiply import Multiply
from cornu.layers.normalization import Normalization
from cornu.layers.permute import Permute
from cornu.layers.prelu import PReLU
from cornu.layers.random_brightness import RandomBrightness
from cornu.layers.random_contrast import RandomContrast
from cornu.layers.random_crop import RandomCrop
from cornu.layers.random_flip import RandomFlip
from cornu.layers.random_rotation import RandomRotation
from cornu.layers.random_translation import RandomTranslation
from cornu.layers.random_zoom import RandomZoom
from cornu.layers.relu import ReLU
from cornu.layers.repeat_vector import RepeatVector
from cornu.layers.rescaling import Rescaling
from cornu.layers.reshape import Reshape
from cornu.layers.resizing import Resizing
from cornu.layers.rms_normalization import RMSNormalization
from cornu.layers.rnn import RNN
from cornu.layers.separable_conv1d import SeparableConv1D
from cornu.layers.separable_conv2d import SeparableConv2D
from cornu.layers.simple_rnn import SimpleRNN, SimpleRNNCell
from cornu.layers.softmax import Softmax
from cornu.layers.spatial_dropout1d import SpatialDropout1D
from cornu.layers.spatial_dropout2d import SpatialDropout2D
from cornu.layers.spatial_dropout3d import SpatialDropout3D
from cornu.layers.stacked_rnn_cells import StackedRNNCells
from cornu.layers.string_lookup import StringLookup
from cornu.layers.subtract import Subtract
from cornu.layers.text_vectorization import TextVectorization
from cornu.layers.time_distributed import TimeDistributed
from cornu.layers.unit_normalization import UnitNormalization
from cornu.layers.up_sampling1d import UpSampling1D
from cornu.layers.up_sampling2d import UpSampling2D
from cornu.layers.up_sampling3d import UpSampling3D
from cornu.layers.zero_padding1d import ZeroPadding1D
from cornu.layers.zero_padding2d import ZeroPadding2D
from cornu.layers.zero_padding3d import ZeroPadding3D

# Keras' other names for the vision layers (the same classes; files record the main names)
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
AvgPool3D = AveragePooling3D
MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
MaxPool3D = MaxPooling3D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalAvgPool3D = GlobalAveragePooling3D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalMaxPool3D = GlobalMaxPooling3D
Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution3D = Conv3D
Convolution1DTranspose = Conv1DTranspose
Convolution2DTranspose = Conv2DTranspose
Convolution3DTranspose = Conv3DTranspose
SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D


def add(inputs, **kwargs):
    """Keras' functional form of Add: `add([a, b])`."""
    return Add(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Keras' functional form of Concatenate: `concatenate([a, b], axis=-1)`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """Keras' functional form of Dot: `dot([a, b], axes=1)`."""
    return Dot(axes=axes, **kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Keras' functional form of Subtract: `subtract([a, b])` is a - b."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Keras' functional form of Multiply: `multiply([a, b])`."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Keras' functional form of Average: `average([a, b])`."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Keras' functional form of Maximum: `maximum([a, b])`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Keras' functional form of Minimum: `minimum([a, b])`."""
    return Minimum(**kwargs)(inputs)


__all__ = [
    "AvgPool1D",
    "AvgPool2D",
    "AvgPool3D",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPool3D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalAvgPool3D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPool3D",
    "Convolution1D",
    "Convolution2D",
    "Convolution3D",
    "Convolution1DTranspose",
    "Convolution2DTranspose",
    "Convolution3DTranspose",
    "SeparableConvolution1D",
    "SeparableConvolution2D",
    "Activation",
    "ActivityRegularization",
    "AdaptiveAveragePooling1D",
    "AdaptiveAveragePooling2D",
    "AdaptiveAveragePooling3D",
    "AdaptiveMaxPooling1D",
    "AdaptiveMaxPooling2D",
    "AdaptiveMaxPooling3D",
    "Add",
    "Average",
    "AdditiveAttention",
    "Attention",
    "AlphaDropout",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "BatchNormalization",
    "CenterCrop",
    "Bidirectional",
    "Concatenate",
    "Conv1D",
    "Conv1DTranspose",
    "Conv2D",
    "Conv2DTranspose",
    "Conv3D",
    "Conv3DTranspose",
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "Dense",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "Dot",
    "Dropout",
    "ELU",
    "EinsumDense",
    "Embedding",
    "Flatten",
    "GaussianDropout",
    "GaussianNoise",
    "GRU",
    "GRUCell",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
    "GroupNormalization",
    "Identity",
    "Input",
    "InputLayer",
    "KerasTensor",
    "LSTM",
    "LSTMCell",
    "Layer",
    "CategoryEncoding",
    "Discretization",
    "Hashing",
    "IntegerLookup",
    "StringLookup",
    "TextVectorization",
    "Lambda",
    "LayerNormalization",
    "Normalization",
    "LeakyReLU",
    "Masking",
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "Maximum",
    "Minimum",
    "Multiply",
    "PReLU",
    "Permute",
    "RandomBrightness",
    "RandomContrast",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "ReLU",
    "RMSNormalization",
    "RepeatVector",
    "Rescaling",
    "MultiHeadAttention",
    "Reshape",
    "Resizing",
    "SeparableConv1D",
    "SeparableConv2D",
    "Softmax",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "Subtract",
    "UnitNormalization",
    "UpSampling1D",
    "UpSampling2D",
    "UpSampling3D",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
    "RNN",
    "SimpleRNN",
    "SimpleRNNCell",
    "StackedRNNCells",
    "TimeDistributed",
    "add",
    "average",
    "concatenate",
    "dot",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
]

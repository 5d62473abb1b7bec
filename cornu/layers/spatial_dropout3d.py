"""SpatialDropout3D: Dropout that drops whole feature maps of (batch, depth, height, width,
channels): one decision per sample and channel, shared over the volume."""

from __future__ import annotations

from cornu.layers.spatial_dropout2d import SpatialDropout2D


class SpatialDropout3D(SpatialDropout2D):
    _axes = "depth, height, width, channels"

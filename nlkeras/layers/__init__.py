"""Custom Keras layers of nlkeras (keras and keras.ops only)."""

from nlkeras.layers.affine import Affine
from nlkeras.layers.batch_normalization import BatchNormalization
from nlkeras.layers.non_local_block import NonLocalBlock
from nlkeras.layers.pointwise_conv import PointwiseConv3D
from nlkeras.layers.separable_pooling import SeparablePooling3D

__all__ = ["Affine", "BatchNormalization", "NonLocalBlock", "PointwiseConv3D", "SeparablePooling3D"]

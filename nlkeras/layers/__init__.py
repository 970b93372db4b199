"""Custom Keras layers of nlkeras (keras and keras.ops only)."""

from nlkeras.layers.affine import Affine
from nlkeras.layers.batch_normalization import BatchNormalization
from nlkeras.layers.conv3d import Conv3D
from nlkeras.layers.non_local_block import NonLocalBlock
from nlkeras.layers.separable_pooling import SeparablePooling3D

__all__ = ["Affine", "BatchNormalization", "Conv3D", "NonLocalBlock", "SeparablePooling3D"]

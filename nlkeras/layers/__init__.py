"""Custom Keras layers of nlkeras (keras and keras.ops only)."""

from nlkeras.layers.affine import Affine
from nlkeras.layers.non_local_block import NonLocalBlock

__all__ = ["Affine", "NonLocalBlock"]

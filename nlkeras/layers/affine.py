"""Frozen batch normalisation as a fixed per-channel affine map."""

import keras


@keras.saving.register_keras_serializable(package="nlkeras")
class Affine(keras.layers.Layer):
    """Per-channel `y = x * scale + bias` whose parameters are never trained.

    The original's `AffineNd` op: the long-clip recipes replace every batch
    normalisation of the trunk by it, with `scale` and `bias` folded from a
    trained BN (`scale = gamma / sqrt(var + eps)`, `bias = beta - mean *
    scale`). Both weights are non-trainable, so optimisers never see them and
    `training=True` changes nothing: that is what "frozen BN" means here.

    Args:
        **kwargs: Passed to `keras.layers.Layer` (`name`, `dtype`, ...).

    Call arguments:
        inputs: Tensor of shape `(..., channels)`.

    Reference:
     - [Wang et al., 2018](https://arxiv.org/abs/1711.07971), Sec. 4.1.
    """

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                f"`Affine` needs a known channel axis. Received: input_shape={input_shape}"
            )
        self.scale = self.add_weight(
            name="scale", shape=(channels,), initializer="ones", trainable=False
        )
        self.bias = self.add_weight(
            name="bias", shape=(channels,), initializer="zeros", trainable=False
        )

    def call(self, inputs):
        scale = keras.ops.cast(self.scale, inputs.dtype)
        bias = keras.ops.cast(self.bias, inputs.dtype)
        return inputs * scale + bias

    def scale_and_shift(self):
        """The per-channel `(scale, shift)`: `y = x * scale + shift`."""
        return self.scale, self.bias

    def compute_output_shape(self, input_shape):
        return input_shape

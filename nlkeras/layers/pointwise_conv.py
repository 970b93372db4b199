"""A 1x1x1 convolution whose training pass is a matrix product over the channels."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="nlkeras")
class PointwiseConv3D(keras.layers.Conv3D):
    """`keras.layers.Conv3D` with a 1x1x1 kernel and stride 1; trained in bf16 as a matrix product.

    The same layer (arguments, weights, values). A 1x1x1 convolution is the
    product of its input, seen as a `(positions, channels)` matrix, with the
    `(channels, filters)` kernel, and so are its two gradients. In bfloat16
    oneDNN's matrix product and its gradients are 1.5-3.6x faster than its
    3-D convolution's (measured on an AMX Xeon with the res2-res5 shapes; the
    I3D-NL R50 training step 7-12% faster), so a bfloat16 training call takes
    that form. In float32 the convolution is as fast (0.8-1.2x), so float32
    keeps it, and inference keeps it in every precision: evaluation and the
    exported graphs are Keras' layer's.

    Args:
        filters: int. Output channels.
        **kwargs: Passed to `keras.layers.Conv3D` (`use_bias`, initialisers,
            `name`, ...); a kernel, stride or dilation other than 1, groups or
            channels-first data are refused.
    """

    def __init__(self, filters, **kwargs):
        kwargs.setdefault("kernel_size", 1)
        super().__init__(filters, **kwargs)
        shape = (self.kernel_size, self.strides, self.dilation_rate)
        if shape != ((1, 1, 1),) * 3 or self.groups != 1 or self.data_format != "channels_last":
            raise ValueError(
                "`PointwiseConv3D` is a 1x1x1 convolution of stride 1 on channels-last data. "
                f"Received: kernel_size={self.kernel_size}, strides={self.strides}, "
                f"dilation_rate={self.dilation_rate}, groups={self.groups}, "
                f"data_format={self.data_format}"
            )

    def call(self, inputs, training=None):
        if not training or self.compute_dtype != "bfloat16":
            return super().call(inputs)
        kernel = ops.cast(ops.reshape(self.kernel, self.kernel.shape[-2:]), self.compute_dtype)
        outputs = ops.matmul(ops.reshape(inputs, (-1, kernel.shape[0])), kernel)
        outputs = ops.reshape(outputs, (*ops.shape(inputs)[:-1], self.filters))
        if self.use_bias:
            outputs = ops.add(outputs, ops.cast(self.bias, self.compute_dtype))
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

"""Keras' 3-D convolution, with faster bfloat16 training forms of its 1x1x1 and stem cases."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="nlkeras")
class Conv3D(keras.layers.Conv3D):
    """`keras.layers.Conv3D`, with faster bfloat16 training passes for 1x1x1 and stem kernels.

    The same layer (arguments, weights, values), with two bfloat16 training
    forms (fp32 and inference in every precision are Keras' convolution, so
    evaluation and the exported graphs are Keras' layer's):

    - A 1x1x1 convolution of stride 1 is the product of its input, seen as a
      `(positions, channels)` matrix, with the `(channels, filters)` kernel,
      and so are its two gradients. In bfloat16 oneDNN's matrix product and
      its gradients are 1.5-3.6x faster than its 3-D convolution's (measured
      on an AMX Xeon with the res2-res5 shapes; the I3D-NL R50 training step
      7-12% faster). In float32 the convolution is as fast (0.8-1.2x).
    - The stem (5x7x7, stride 2, over 3 colour channels) is oneDNN's slowest
      bfloat16 convolution: 3 input channels leave its matrix units idle. A
      convolution of spatial stride 2 and odd spatial kernel over at most 4
      channels convolves the input's 2x2 space-to-depth blocks (4x the
      channels, half the height and width) with the kernel rearranged to
      match, at stride 1: the same sums (the kernel padded by a zero tap to
      even height and width), about twice as fast forward and backward. In
      float32 it is slower, so float32 keeps the convolution.

    The class keeps Keras' name because `.weights.h5` files key layers by
    their class name and order: files written with Keras' layer load
    unchanged.
    """

    def _is_pointwise(self):
        return (
            self.kernel_size == (1, 1, 1)
            and self.strides == (1, 1, 1)
            and self.dilation_rate == (1, 1, 1)
            and self.groups == 1
            and self.data_format == "channels_last"
        )

    def _is_strided_stem(self, inputs):
        return (
            self.strides[1:] == (2, 2)
            and self.padding == "valid"
            and self.dilation_rate == (1, 1, 1)
            and self.groups == 1
            and self.data_format == "channels_last"
            and inputs.shape[-1] <= 4
            and all(k > 2 and k % 2 for k in self.kernel_size[1:])
            and None not in inputs.shape[1:]
        )

    def call(self, inputs, training=None):
        if training and self.compute_dtype == "bfloat16":
            if self._is_pointwise():
                return self._pointwise_call(inputs)
            if self._is_strided_stem(inputs):
                return self._space_to_depth_call(inputs)
        return super().call(inputs)

    def _space_to_depth_call(self, inputs):
        """The stride-(t, 2, 2) convolution on 2x2 blocks of `inputs`, at stride (t, 1, 1)."""
        _, frames, height, width, channels = inputs.shape
        # An odd side gets a zero row or column at its end, which only the zero tap meets.
        x = ops.pad(inputs, ((0, 0), (0, 0), (0, height % 2), (0, width % 2), (0, 0)))
        height, width = (height + 1) // 2, (width + 1) // 2
        x = ops.reshape(x, (-1, frames, height, 2, width, 2, channels))
        x = ops.transpose(x, (0, 1, 2, 4, 3, 5, 6))
        x = ops.reshape(x, (-1, frames, height, width, 4 * channels))
        kt, kh, kw = self.kernel_size
        kernel = ops.cast(self.kernel, self.compute_dtype)
        kernel = ops.pad(kernel, ((0, 0), (0, kh % 2), (0, kw % 2), (0, 0), (0, 0)))
        kh, kw = (kh + 1) // 2, (kw + 1) // 2
        kernel = ops.reshape(kernel, (kt, kh, 2, kw, 2, channels, self.filters))
        kernel = ops.transpose(kernel, (0, 1, 3, 2, 4, 5, 6))
        kernel = ops.reshape(kernel, (kt, kh, kw, 4 * channels, self.filters))
        strides = (self.strides[0], 1, 1)
        outputs = ops.conv(x, kernel, strides=strides, padding="valid")
        if self.use_bias:
            outputs = ops.add(outputs, ops.cast(self.bias, self.compute_dtype))
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def _pointwise_call(self, inputs):
        kernel = ops.cast(ops.reshape(self.kernel, self.kernel.shape[-2:]), self.compute_dtype)
        outputs = ops.matmul(ops.reshape(inputs, (-1, kernel.shape[0])), kernel)
        outputs = ops.reshape(outputs, (*ops.shape(inputs)[:-1], self.filters))
        if self.use_bias:
            outputs = ops.add(outputs, ops.cast(self.bias, self.compute_dtype))
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

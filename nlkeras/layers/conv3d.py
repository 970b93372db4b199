"""Keras' 3-D convolution, with faster bfloat16 training forms where oneDNN's is slow."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="nlkeras")
class Conv3D(keras.layers.Conv3D):
    """`keras.layers.Conv3D`, with faster bfloat16 training passes of three kinds of kernel.

    The same layer (arguments, weights, values), with three bfloat16 training
    forms (fp32 and inference in every precision are Keras' convolution, so
    evaluation and the exported graphs are Keras' layer's; times measured on
    an AMX Xeon with the I3D-NL R50 shapes):

    - A 1x1x1 convolution is the product of its input's positions (every
      `stride`-th), seen as a `(positions, channels)` matrix, with the
      `(channels, filters)` kernel, and so are its two gradients. In
      bfloat16 oneDNN's matrix product and its gradients are 1.5-3.6x faster
      than its 3-D convolution's (the strided res5 projection's kernel
      gradient 3.0 against 8.1 ms). In float32 the convolution is as fast.
    - A temporal kx1x1 convolution of stride 1 keeps oneDNN's convolution
      forward and for the input's gradient, but its kernel's gradient is k
      products of frame-shifted matrices: oneDNN's bfloat16 3-D kernel
      gradient is slowest where the maps are small and the channels many
      (res5's 3x1x1: 2.4 against 6.2 ms).
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

    def call(self, inputs, training=None):
        form = None
        if training and self.compute_dtype == "bfloat16":
            form = self._bfloat16_training_form(inputs)
        if form is None:
            return super().call(inputs)
        outputs = form(inputs, ops.cast(self.kernel, self.compute_dtype))
        if self.use_bias:
            outputs = ops.add(outputs, ops.cast(self.bias, self.compute_dtype))
        return outputs if self.activation is None else self.activation(outputs)

    def _bfloat16_training_form(self, inputs):
        """`(inputs, kernel) -> outputs`, the faster form of this call; None: Keras' convolution."""
        if not (
            self.dilation_rate == (1, 1, 1)
            and self.groups == 1
            and self.data_format == "channels_last"
            and None not in inputs.shape[1:]
        ):
            return None
        if self.kernel_size == (1, 1, 1):
            return self._pointwise
        temporal, *spatial = self.kernel_size
        stride_1_same = self.strides == (1, 1, 1) and self.padding == "same"
        if spatial == [1, 1] and temporal % 2 and stride_1_same:
            return self._temporal
        if self._is_strided_stem(inputs):
            return self._space_to_depth
        return None

    def _is_strided_stem(self, inputs):
        return (
            self.strides[1:] == (2, 2)
            and self.padding == "valid"
            and inputs.shape[-1] <= 4
            and all(k > 2 and k % 2 for k in self.kernel_size[1:])
        )

    def _pointwise(self, inputs, kernel):
        """The matrix product of the (strided) positions with the `(channels, filters)` kernel."""
        t, h, w = self.strides
        x = inputs[:, ::t, ::h, ::w] if (t, h, w) != (1, 1, 1) else inputs
        channels, filters = kernel.shape[-2:]
        kernel = ops.reshape(kernel, (channels, filters))
        outputs = ops.matmul(ops.reshape(x, (-1, channels)), kernel)
        return ops.reshape(outputs, (*ops.shape(x)[:-1], filters))

    def _temporal(self, inputs, kernel):
        """The kx1x1 convolution, its kernel gradient k products of frame-shifted matrices."""

        @ops.custom_gradient
        def convolve(x, kernel):
            def gradient(*args, upstream=None):
                dy = args[0] if upstream is None else upstream
                dx = ops.conv_transpose(dy, kernel, strides=1, padding="same")
                return dx, _temporal_kernel_gradient(x, dy, kernel.shape)

            return ops.conv(x, kernel, strides=1, padding="same"), gradient

        return convolve(inputs, kernel)

    def _space_to_depth(self, inputs, kernel):
        """The stride-(t, 2, 2) convolution on 2x2 blocks of `inputs`, at stride (t, 1, 1)."""
        _, frames, height, width, channels = inputs.shape
        # An odd side gets a zero row or column at its end, which only the zero tap meets.
        x = ops.pad(inputs, ((0, 0), (0, 0), (0, height % 2), (0, width % 2), (0, 0)))
        height, width = (height + 1) // 2, (width + 1) // 2
        x = ops.reshape(x, (-1, frames, height, 2, width, 2, channels))
        x = ops.transpose(x, (0, 1, 2, 4, 3, 5, 6))
        x = ops.reshape(x, (-1, frames, height, width, 4 * channels))
        kt, kh, kw = self.kernel_size
        kernel = ops.pad(kernel, ((0, 0), (0, kh % 2), (0, kw % 2), (0, 0), (0, 0)))
        kh, kw = (kh + 1) // 2, (kw + 1) // 2
        kernel = ops.reshape(kernel, (kt, kh, 2, kw, 2, channels, self.filters))
        kernel = ops.transpose(kernel, (0, 1, 3, 2, 4, 5, 6))
        kernel = ops.reshape(kernel, (kt, kh, kw, 4 * channels, self.filters))
        return ops.conv(x, kernel, strides=(self.strides[0], 1, 1), padding="valid")


def _temporal_kernel_gradient(x, dy, kernel_shape):
    """The kernel gradient of a stride-1 "same" kx1x1 convolution: one product per tap.

    Output frame `t` of tap `a` reads input frame `t + a - k // 2`; the
    frames where that is outside the clip read the padding's zeros and add
    nothing.
    """
    taps, _, _, channels, filters = kernel_shape
    frames = x.shape[1]
    gradients = []
    for tap in range(taps):
        shift = tap - taps // 2
        first, last = max(0, -shift), frames - max(0, shift)
        xs = ops.reshape(x[:, first + shift : last + shift], (-1, channels))
        ds = ops.reshape(dy[:, first:last], (-1, filters))
        gradients.append(ops.einsum("pi,po->io", xs, ds))
    return ops.reshape(ops.stack(gradients), kernel_shape)

"""3-D max and average pooling as two 2-D pools, so every deployment target has them."""

import keras

REDUCTIONS = ("max", "average")


@keras.saving.register_keras_serializable(package="nlkeras")
class SeparablePooling3D(keras.layers.Layer):
    """3-D pooling with "valid" padding, computed as a spatial then a temporal 2-D pool.

    Both reductions are separable over full windows: the max (mean) over a
    `(t, h, w)` window is the max (mean) over `t` frames of the max (mean)
    over each frame's `(h, w)` window, so the result equals
    `keras.layers.MaxPooling3D` / `AveragePooling3D`. Written with 2-D pools
    over merged axes (batch x time, then height x width), it converts to
    TFLite's builtin `MAX_POOL_2D` / `AVERAGE_POOL_2D` (TFLite has no 3-D
    pools) and to every other runtime, at any input size.

    Args:
        pool_size: tuple of 3 ints, `(frames, height, width)`.
        strides: tuple of 3 ints. Defaults to `pool_size`.
        reduction: `"max"` or `"average"`. Defaults to `"max"`.
        **kwargs: Passed to `keras.layers.Layer` (`name`, `dtype`, ...).

    Call arguments:
        inputs: Tensor of shape `(batch, frames, height, width, channels)`.
    """

    def __init__(self, pool_size, strides=None, reduction="max", **kwargs):
        super().__init__(**kwargs)
        if reduction not in REDUCTIONS:
            raise ValueError(f"`reduction` must be one of {REDUCTIONS}. Received: {reduction!r}")
        self.pool_size = tuple(pool_size)
        self.strides = tuple(strides or pool_size)
        self.reduction = reduction

    def call(self, inputs):
        pool = keras.ops.max_pool if self.reduction == "max" else keras.ops.average_pool
        (pool_t, pool_h, pool_w), (stride_t, stride_h, stride_w) = self.pool_size, self.strides
        shape = keras.ops.shape(inputs)
        batch, frames, channels = shape[0], shape[1], inputs.shape[-1]
        x = keras.ops.reshape(inputs, (-1, shape[2], shape[3], channels))
        if (pool_h, pool_w, stride_h, stride_w) != (1, 1, 1, 1):
            x = pool(x, (pool_h, pool_w), (stride_h, stride_w), "valid")
        pooled = keras.ops.shape(x)
        height, width = pooled[1], pooled[2]
        if (pool_t, stride_t) != (1, 1):
            x = keras.ops.reshape(x, (batch, frames, height * width, channels))
            x = pool(x, (pool_t, 1), (stride_t, 1), "valid")
            frames = keras.ops.shape(x)[1]
        return keras.ops.reshape(x, (batch, frames, height, width, channels))

    def compute_output_shape(self, input_shape):
        def pooled(size, pool, stride):
            return None if size is None else (size - pool) // stride + 1

        batch, *sizes, channels = input_shape
        sizes = [
            pooled(n, p, s) for n, p, s in zip(sizes, self.pool_size, self.strides, strict=True)
        ]
        return (batch, *sizes, channels)

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "strides": self.strides,
            "reduction": self.reduction,
        }

"""Batch normalisation whose training pass has a hand-written gradient."""

import keras
from keras import ops

# The original's MODEL.BN_EPSILON and NONLOCAL.BN_EPSILON: just above cuDNN's minimum.
BN_EPSILON = 1.0000001e-5


@keras.saving.register_keras_serializable(package="nlkeras")
class BatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization`, with a lighter backward pass and ghost batches.

    The same layer (arguments, weights, moving statistics, results). On the
    TensorFlow backend a training call is TensorFlow's fused BN kernel (one
    kernel forward, one backward; in bfloat16 it reads and writes bfloat16
    with float32 statistics, as Keras' layer computes). Elsewhere, in
    training mode the gradient of `y = gamma * (x - mean) / sqrt(var + eps) +
    beta` with respect to `x`, `gamma` and `beta` is the closed form

        dx = gamma / sigma * (dy - mean(dy) - x_hat * mean(dy * x_hat))

    computed from `x` alone, instead of differentiating the moments and the
    normalisation op by op. The backward pass then makes a few passes over the
    activation rather than a dozen, and keeps only `x` (which the convolution
    before it keeps anyway) instead of its centred and normalised copies. The
    class keeps Keras' name so weights files written with Keras' layer load
    unchanged. Synchronised BN (statistics over replicas) uses Keras' own
    path, whose gradient crosses the replicas.

    Args:
        ghost_batch_size: int. In training, normalise each group of this many
            consecutive examples of the batch with its own moments, as the
            original's BN did with each GPU's 8 clips, whatever the number of
            devices; the batch must divide by it. The moving statistics and
            precise BN still see the whole batch's moments (their mean over
            the groups' data), so only what a training step normalises with
            changes. Defaults to `0`, the whole batch.
        **kwargs: Passed to `keras.layers.BatchNormalization` (`epsilon`,
            `momentum`, `synchronized`, ...).
    """

    def __init__(self, ghost_batch_size=0, **kwargs):
        super().__init__(**kwargs)
        if ghost_batch_size < 0 or (ghost_batch_size and self.synchronized):
            raise ValueError(
                "`ghost_batch_size` must be 0 or a positive int, and 0 with `synchronized`. "
                f"Received: ghost_batch_size={ghost_batch_size}, synchronized={self.synchronized}"
            )
        self.ghost_batch_size = ghost_batch_size

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable) or self.synchronized or mask is not None:
            return super().call(inputs, training=training, mask=mask)
        if self._fused_kernel_applies(inputs):
            from nlkeras import tf_kernels  # TensorFlow's one-kernel BN, forward and backward

            outputs, mean, variance = tf_kernels.batch_norm_training(
                inputs, self.gamma, self.beta, self.epsilon
            )
            self._update_moving_statistics(mean, variance)
            return ops.cast(outputs, self.compute_dtype)
        x = ops.cast(inputs, keras.backend.result_type(inputs.dtype, "float32"))
        # The batch's moments update the moving statistics; precise BN records them here.
        mean, variance = self._moments(x, None)
        self._update_moving_statistics(mean, variance)
        gamma = ops.cast(self.gamma, x.dtype) if self.scale else ops.ones_like(mean)
        beta = ops.cast(self.beta, x.dtype) if self.center else ops.zeros_like(mean)
        if not self.ghost_batch_size:
            outputs = _normalize(x, mean, variance, gamma, beta, self.epsilon, self._reduction_axes)
            return ops.cast(outputs, self.compute_dtype)
        groups = self._ghost_batches(x)
        axes = tuple(range(1, len(groups.shape) - 1))
        group_mean, group_variance = ops.moments(groups, axes, keepdims=True)
        outputs = _normalize(groups, group_mean, group_variance, gamma, beta, self.epsilon, axes)
        return ops.cast(ops.reshape(outputs, ops.shape(x)), self.compute_dtype)

    def scale_and_shift(self):
        """The per-channel `(scale, shift)` of inference: `y = x * scale + shift`."""
        scale = ops.rsqrt(self.moving_variance + self.epsilon)
        if self.scale:
            scale = self.gamma * scale
        shift = -self.moving_mean * scale
        if self.center:
            shift = shift + self.beta
        return scale, shift

    def _fused_kernel_applies(self, inputs):
        """Whether TensorFlow's fused kernel computes this call: the same values, one kernel.

        Not with ghost batches, nor while precise BN wraps `_moments` to read
        the batch statistics (the path below calls it).
        """
        return (
            keras.backend.backend() == "tensorflow"
            and not self.ghost_batch_size
            and self.scale
            and self.center
            and len(inputs.shape) >= 4
            and self._reduction_axes == list(range(len(inputs.shape) - 1))
            and "_moments" not in vars(self)
        )

    def _update_moving_statistics(self, mean, variance):
        dtype = mean.dtype
        self.moving_mean.assign(
            ops.cast(self.moving_mean, dtype) * self.momentum + mean * (1.0 - self.momentum)
        )
        self.moving_variance.assign(
            ops.cast(self.moving_variance, dtype) * self.momentum + variance * (1.0 - self.momentum)
        )

    def _ghost_batches(self, x):
        """`(groups, ghost_batch_size, ..., channels)`: consecutive examples per group."""
        if self._reduction_axes != list(range(len(x.shape) - 1)):
            raise ValueError(
                f"`ghost_batch_size` needs the channels last. Received: axis={self.axis}"
            )
        batch = x.shape[0]
        if batch is not None and batch % self.ghost_batch_size:
            raise ValueError(
                f"A batch of {batch} does not divide into ghost batches of {self.ghost_batch_size}."
            )
        return ops.reshape(x, (-1, self.ghost_batch_size, *ops.shape(x)[1:]))

    def get_config(self):
        config = super().get_config()
        config.update(ghost_batch_size=self.ghost_batch_size)
        return config


def _normalize(x, mean, variance, gamma, beta, epsilon, axes):
    """`gamma * (x - mean) / sqrt(variance + epsilon) + beta` with the batch moments' gradient.

    `mean` and `variance` are `x`'s moments over `axes`, one per channel
    (shape `(channels,)`) or one per group and channel (kept dimensions);
    the gradient with respect to `x` includes their dependence on `x`.
    """
    mean, variance = ops.stop_gradient(mean), ops.stop_gradient(variance)
    inverse = ops.rsqrt(variance + epsilon)

    @ops.custom_gradient
    def normalize(x, gamma, beta):
        scale = gamma * inverse

        def gradient(*args, upstream=None):
            dy = args[0] if upstream is None else upstream
            count = ops.cast(ops.size(x) // ops.size(mean), x.dtype)  # values per moment
            centred = x - mean
            dbeta = ops.sum(dy, axes, keepdims=True)
            dgamma = ops.sum(dy * centred, axes, keepdims=True) * inverse
            # dx = scale * (dy - mean(dy) - x_hat * mean(dy * x_hat)), per channel terms folded.
            dx = scale * dy + centred * (-scale * inverse * dgamma / count) - scale * dbeta / count
            return dx, _per_channel(dgamma), _per_channel(dbeta)

        return x * scale + (beta - mean * scale), gradient

    return normalize(x, gamma, beta)


def _per_channel(values):
    """Sums kept-dimension per-moment values `(..., channels)` into `(channels,)`."""
    return ops.sum(ops.reshape(values, (-1, ops.shape(values)[-1])), axis=0)

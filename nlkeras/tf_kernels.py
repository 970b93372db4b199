"""TensorFlow's fused kernels, for the layers' fast paths on the TensorFlow backend.

The layers are Keras only (they run on JAX and PyTorch too); where
TensorFlow has one kernel for what the Keras ops do in several passes, a
layer calls it from here when the backend is TensorFlow. Each function is
the layer's own computation, tested equal to its Keras-ops path.
"""

import tensorflow as tf


def batch_norm_training(x, gamma, beta, epsilon):
    """Training-mode BN of channels-last `x` of any rank: `(y, batch mean, biased variance)`.

    One `FusedBatchNormV3` over `x` seen as `(-1, H, W, C)`: the statistics
    are over every axis but the channels, as for the 5-D tensor. Its
    gradient (`FusedBatchNormGradV3`) is the closed form, in one kernel. `x`
    may be bfloat16 or float16 (statistics and `gamma`, `beta` in float32),
    as Keras' BN computes them.
    """
    shape = tf.shape(x)
    flat = tf.reshape(x, tf.concat([[-1], shape[-3:]], 0))
    gamma = tf.cast(gamma, tf.float32)
    y, mean, variance, *_ = tf.raw_ops.FusedBatchNormV3(
        x=flat,
        scale=gamma,
        offset=tf.cast(beta, tf.float32),
        mean=tf.zeros_like(gamma),
        variance=tf.zeros_like(gamma),
        epsilon=epsilon,
        exponential_avg_factor=1.0,
        data_format="NHWC",
        is_training=True,
    )
    # The kernel's variance has Bessel's correction (for its own running
    # average); Keras' moving variance takes the biased one.
    count = tf.cast(tf.size(x) // shape[-1], tf.float32)
    return tf.reshape(y, shape), mean, variance * (count - 1.0) / count

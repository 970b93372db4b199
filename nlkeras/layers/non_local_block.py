"""The space-time non-local block of Wang et al. (2018)."""

import keras
from keras import ops

from nlkeras.layers.batch_normalization import BN_EPSILON, BatchNormalization
from nlkeras.layers.conv3d import Conv3D

MODES = ("embedded_gaussian", "dot_product", "gaussian", "concatenation")


@keras.saving.register_keras_serializable(package="nlkeras")
class NonLocalBlock(keras.layers.Layer):
    """Space-time non-local block: `z = x + W_z y`, `y_i = sum_j f(x_i, x_j) g(x_j) / C(x)`.

    Every position of the clip attends to every (subsampled) position of the
    same clip. The defaults reproduce the original Caffe2 block: `theta`,
    `phi` and `g` are 1x1x1 convolutions with bias to `channels / 2`; `phi`
    and `g` see the input max-pooled by (1, 2, 2); the affinity is a softmax
    of dot products scaled by `inner_channels ** -0.5`; the output 1x1x1
    convolution is followed by batch normalisation whose gamma starts at 0,
    so a fresh block is the identity.

    Args:
        inner_channels: int or None. Width of `theta`, `phi` and `g`.
            Defaults to half the input channels.
        mode: str. The pairwise function `f`: `"embedded_gaussian"` (softmax
            of `theta(x_i) . phi(x_j)`), `"dot_product"` (the same dot
            product divided by the number of key positions), `"gaussian"`
            (softmax of `x_i . x_j`, no `theta`/`phi` embedding) or
            `"concatenation"` (`relu(w . [theta(x_i), phi(x_j)])` divided by
            the number of key positions). Defaults to `"embedded_gaussian"`.
        scale: bool. Scale the dot products of the softmax modes by
            `d ** -0.5` (`d` the width of the dot product). Defaults to `True`.
        subsample: bool. Max-pool the keys and values by 2 in space.
            Defaults to `True`.
        pool_before_conv: bool. With `subsample`, pool the input before the
            `phi`/`g` convolutions (Caffe2, PySlowFast) rather than their
            outputs (MMAction2). Defaults to `True`.
        use_bn: bool. Batch-normalise the output, gamma initialised to 0.
            Defaults to `True`.
        zero_init_output: bool. Initialise the output convolution to zeros
            (how the frozen-BN recipes, which have no BN here, start from the
            identity). Defaults to `False`.
        group_size: int or None. Restrict attention to groups of this many
            consecutive frames (the long-clip recipes' res3 blocks); the
            number of frames must divide by it. Defaults to `None`, one group.
        kernel_init_std: float. Standard deviation of the normal
            initialisation of the convolutions. Defaults to `0.01`.
        bn_epsilon: float. Defaults to `BN_EPSILON`, the original's.
        bn_momentum: float. Moving statistics keep this fraction of their
            value per step. Defaults to `0.9`.
        sync_batchnorm: bool. BN statistics over all replicas. Defaults to
            `False`.
        bn_batch_size: int. The BN's ghost batch in training (clips
            normalised together); 0 for the whole batch. Defaults to `0`.
        **kwargs: Passed to `keras.layers.Layer` (`name`, `dtype`, ...).

    Call arguments:
        inputs: Tensor of shape `(batch, frames, height, width, channels)`;
            every axis but `channels` may be unknown.
        training: bool. Batch statistics for the BN when `True`.

    Reference:
     - [Wang et al., 2018](https://arxiv.org/abs/1711.07971), Sec. 3.
    """

    def __init__(
        self,
        inner_channels=None,
        mode="embedded_gaussian",
        scale=True,
        subsample=True,
        pool_before_conv=True,
        use_bn=True,
        zero_init_output=False,
        group_size=None,
        kernel_init_std=0.01,
        bn_epsilon=BN_EPSILON,
        bn_momentum=0.9,
        sync_batchnorm=False,
        bn_batch_size=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {MODES}. Received: mode={mode!r}")
        if group_size is not None and group_size < 1:
            raise ValueError(
                f"`group_size` must be a positive int or None. Received: group_size={group_size}"
            )
        self.inner_channels = inner_channels
        self.mode = mode
        self.scale = scale
        self.subsample = subsample
        self.pool_before_conv = pool_before_conv
        self.use_bn = use_bn
        self.zero_init_output = zero_init_output
        self.group_size = group_size
        self.kernel_init_std = kernel_init_std
        self.bn_epsilon = bn_epsilon
        self.bn_momentum = bn_momentum
        self.sync_batchnorm = sync_batchnorm
        self.bn_batch_size = bn_batch_size

    def _conv(self, filters, name, zero=False):
        initializer = (
            "zeros" if zero else keras.initializers.RandomNormal(stddev=self.kernel_init_std)
        )
        return Conv3D(
            filters,
            1,
            kernel_initializer=initializer,
            bias_initializer="zeros",
            name=name,
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        if len(input_shape) != 5 or input_shape[-1] is None:
            raise ValueError(
                "`NonLocalBlock` expects (batch, frames, height, width, channels) "
                f"with known channels. Received: input_shape={input_shape}"
            )
        frames = input_shape[1]
        if self.group_size and frames is not None and frames % self.group_size:
            raise ValueError(
                f"The number of frames ({frames}) must divide by `group_size` ({self.group_size})."
            )
        channels = input_shape[-1]
        inner = self.inner_channels or channels // 2
        self._inner = inner
        conv_input = (None, None, None, None, channels)
        self.g = self._conv(inner, "g")
        self.g.build(conv_input)
        if self.mode != "gaussian":
            self.theta = self._conv(inner, "theta")
            self.phi = self._conv(inner, "phi")
            self.theta.build(conv_input)
            self.phi.build(conv_input)
        if self.mode == "concatenation":
            self.concat_project = self.add_weight(
                name="concat_project",
                shape=(2 * inner, 1),
                initializer=keras.initializers.RandomNormal(stddev=self.kernel_init_std),
            )
        self.out = self._conv(channels, "out", zero=self.zero_init_output)
        self.out.build((None, None, None, None, inner))
        if self.use_bn:
            self.bn = BatchNormalization(
                epsilon=self.bn_epsilon,
                momentum=self.bn_momentum,
                gamma_initializer="zeros",
                synchronized=self.sync_batchnorm,
                ghost_batch_size=self.bn_batch_size,
                name="bn",
                dtype=self.dtype_policy,
            )
            self.bn.build(input_shape)

    def _pool(self, x):
        """(1, 2, 2) max pooling, floor rule, on (batch, frames, h, w, c)."""
        shape = ops.shape(x)
        frames = ops.reshape(x, (-1, shape[2], shape[3], shape[4]))
        pooled = ops.max_pool(frames, pool_size=2, strides=2, padding="valid")
        pooled_shape = ops.shape(pooled)
        return ops.reshape(pooled, (shape[0], shape[1], pooled_shape[1], pooled_shape[2], shape[4]))

    def _keys_and_values(self, x):
        if self.subsample and self.pool_before_conv:
            x = self._pool(x)
        phi = x if self.mode == "gaussian" else self.phi(x)
        g = self.g(x)
        if self.subsample and not self.pool_before_conv:
            phi, g = self._pool(phi), self._pool(g)
        return phi, g

    def _affinity(self, theta, phi):
        """Normalised pairwise weights, (batch, queries, keys)."""
        if self.mode == "concatenation":
            w_theta, w_phi = ops.split(ops.cast(self.concat_project, theta.dtype), 2)
            scores = ops.matmul(theta, w_theta) + ops.transpose(ops.matmul(phi, w_phi), (0, 2, 1))
            scores = ops.relu(scores)
        else:
            scores = ops.matmul(theta, ops.transpose(phi, (0, 2, 1)))
        if self.mode in ("dot_product", "concatenation"):
            num_keys = ops.cast(ops.shape(phi)[1], scores.dtype)
            return scores / num_keys
        if self.scale:
            scores = scores * ops.cast(ops.shape(theta)[-1], scores.dtype) ** -0.5
        return ops.softmax(scores, axis=-1)

    def _weights_and_values(self, x):
        """The normalised pairwise weights (batch, queries, keys) and `g`, (batch, keys, inner)."""
        batch = ops.shape(x)[0]
        theta = x if self.mode == "gaussian" else self.theta(x)
        phi, g = self._keys_and_values(x)
        theta = ops.reshape(theta, (batch, -1, ops.shape(theta)[-1]))
        phi = ops.reshape(phi, (batch, -1, ops.shape(phi)[-1]))
        g = ops.reshape(g, (batch, -1, self._inner))
        return self._affinity(theta, phi), g

    def _attend(self, x):
        shape = ops.shape(x)
        weights, g = self._weights_and_values(x)
        y = ops.matmul(weights, g)
        return ops.reshape(y, (shape[0], shape[1], shape[2], shape[3], self._inner))

    def _groups(self, inputs):
        """(batch * groups, group_size, h, w, c): each group attends only to itself."""
        if not self.group_size:
            return inputs
        shape = ops.shape(inputs)
        return ops.reshape(inputs, (-1, self.group_size, shape[2], shape[3], shape[4]))

    def call(self, inputs, training=None):
        y = self.out(self._attend(self._groups(inputs)))
        if self.group_size:
            # Back to whole clips before the BN: its (ghost) batches are clips, not groups.
            y = ops.reshape(y, ops.shape(inputs))
        if self.use_bn:
            y = self.bn(y, training=training)
        return inputs + y

    def attention(self, inputs):
        """The weights `f(x_i, x_j) / C(x)` that `call` averages `g` with, to inspect them.

        The same code path as `call`, which it leaves untouched (a model's
        outputs and speed do not change). `inputs` as for `call`. Returns
        `(batch * groups, queries, keys)`: queries in (frames, height, width)
        order of a group of the input, keys in that order of the key grid
        (`grids` gives both shapes).
        """
        return self._weights_and_values(self._groups(inputs))[0]

    def grids(self, frames, height, width):
        """(query grid, key grid) of one group, each `(frames, height, width)`, for that input."""
        frames = self.group_size or frames
        if self.subsample:
            return (frames, height, width), (frames, height // 2, width // 2)
        return (frames, height, width), (frames, height, width)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            inner_channels=self.inner_channels,
            mode=self.mode,
            scale=self.scale,
            subsample=self.subsample,
            pool_before_conv=self.pool_before_conv,
            use_bn=self.use_bn,
            zero_init_output=self.zero_init_output,
            group_size=self.group_size,
            kernel_init_std=self.kernel_init_std,
            bn_epsilon=self.bn_epsilon,
            bn_momentum=self.bn_momentum,
            sync_batchnorm=self.sync_batchnorm,
            bn_batch_size=self.bn_batch_size,
        )
        return config

"""The inflated ResNet trunk shared by every C2D and I3D model."""

import keras

from nlkeras.layers import Affine, BatchNormalization, Conv3D, NonLocalBlock, SeparablePooling3D
from nlkeras.layers.batch_normalization import BN_EPSILON


def _normalization(
    frozen_bn, folded, epsilon, momentum, gamma, synchronized, ghost_batch_size, name
):
    """Trainable BN, the frozen `Affine` the long-clip recipes use instead, or none.

    `folded`: the normalisation is in the convolution's kernel and bias
    already (the inference twin), so only its name is kept, as an identity.
    """
    if folded:
        return keras.layers.Identity(name=name)
    if frozen_bn:
        return Affine(name=name)
    return BatchNormalization(
        epsilon=epsilon,
        momentum=momentum,
        gamma_initializer=gamma,
        synchronized=synchronized,
        ghost_batch_size=ghost_batch_size,
        name=name,
    )


def _conv(filters, kernel, strides, name, padding="valid", use_bias=False):
    """Conv with Caffe2's MSRAFill (normal, std sqrt(2 / fan_out)), bias-free unless folded."""
    return Conv3D(
        filters,
        kernel,
        strides=strides,
        padding=padding,
        use_bias=use_bias,
        kernel_initializer=keras.initializers.VarianceScaling(
            2.0, mode="fan_out", distribution="untruncated_normal"
        ),
        name=name,
    )


def _padded_conv(x, filters, kernel, strides, name, use_bias=False):
    """`_conv` after Caffe2's symmetric padding of `kernel // 2` on every axis.

    With stride 1 on every axis Keras' "same" is exactly that padding, done
    inside the convolution: no padded copy is made, nor kept for the kernel's
    gradient. A strided convolution pads explicitly first ("same" would pad
    only after the end of an even axis).
    """
    kernel = (kernel,) * 3 if isinstance(kernel, int) else tuple(kernel)
    strides = (strides,) * 3 if isinstance(strides, int) else tuple(strides)
    padding = tuple(k // 2 for k in kernel)
    if any(padding) and all(s == 1 for s in strides):
        return _conv(filters, kernel, strides, name, "same", use_bias)(x)
    if any(padding):
        x = keras.layers.ZeroPadding3D(tuple((p, p) for p in padding), name=f"{name}_pad")(x)
    return _conv(filters, kernel, strides, name, use_bias=use_bias)(x)


def apply_bottleneck(x, inner, out, temporal_kernel, stride, conv_norm, name):
    """The original's `bottleneck_transformation_3d` plus its shortcut.

    The temporal kernel sits on the first 1x1 convolution (`branch2a`), the
    spatial stride on the 3x3 (`branch2b`); a projection (`branch1`) replaces
    the identity when the width or the resolution changes. `conv_norm(x,
    filters, kernel, strides, gamma, name)` is a convolution and its
    normalisation.
    """
    shortcut = x
    if x.shape[-1] != out or stride != 1:
        shortcut = conv_norm(x, out, 1, (1, stride, stride), "ones", f"{name}_branch1")
    y = conv_norm(x, inner, (temporal_kernel, 1, 1), 1, "ones", f"{name}_branch2a")
    y = keras.layers.ReLU(name=f"{name}_branch2a_relu")(y)
    y = conv_norm(y, inner, (1, 3, 3), (1, stride, stride), "ones", f"{name}_branch2b")
    y = keras.layers.ReLU(name=f"{name}_branch2b_relu")(y)
    y = conv_norm(y, out, 1, 1, "last_gamma", f"{name}_branch2c")
    y = keras.layers.Add(name=f"{name}_sum")([y, shortcut])
    return keras.layers.ReLU(name=f"{name}_relu")(y)


@keras.saving.register_keras_serializable(package="nlkeras")
class ResNet3DBackbone(keras.Model):
    """Inflated ResNet (C2D / I3D, any depth) with non-local blocks, no head.

    One builder for every model of the original: the variants differ only in
    the values of the stage spec (`block_temporal_kernels`, the stem's
    temporal stride and pool, and where the non-local blocks sit). Spatial
    sizes follow Caffe2's floor rules with symmetric padding: a 224 input
    gives 112 -> 55 -> 55 -> 28 -> 14 -> 7. Layer names are the original's
    blob prefixes (`conv1`, `res_conv1_bn`, `res3_1_branch2a`,
    `nonlocal_conv3_1`, ...), so Caffe2 weights map one to one.

    Args:
        block_temporal_kernels: tuple of 4 tuples of ints. The temporal kernel
            of each block's `branch2a`, stage by stage; their lengths are the
            stage depths (R50: 3, 4, 6, 3).
        conv1_temporal_kernel: int. Temporal kernel of the stem convolution
            (5 for I3D, 1 for C2D). Defaults to `5`.
        conv1_temporal_stride: int. 1 for `resnet_video`, 2 for
            `resnet_video_org`. Defaults to `1`.
        pool1_temporal_size: int. Temporal kernel and stride of `pool1`
            (1 or 2). Defaults to `1`.
        width: int. Inner width of the first stage; the stem has this many
            channels, stage k has `width * 2**k` inner and 4 times as many
            output channels. Defaults to `64`.
        nonlocal_blocks: tuple of 4 tuples of ints. Per stage, the indices of
            the blocks followed by a non-local block. Defaults to none.
        nonlocal_group_sizes: tuple of 4 ints. Per stage, the temporal group
            size of its non-local blocks, 0 for no grouping.
        non_local: dict or None. Keyword arguments of every `NonLocalBlock`
            (`mode`, `use_bn`, `zero_init_output`, ...).
        frozen_bn: bool. Use `Affine` instead of every trunk batch norm.
            Defaults to `False`.
        bn_epsilon: float. Defaults to `BN_EPSILON`, the original's.
        bn_momentum: float. Defaults to `0.9`.
        bn_init_gamma: float. Initial gamma of each block's last BN
            (`branch2c_bn`). Defaults to `0.0`, as the recipes.
        sync_batchnorm: bool. BN statistics over all replicas instead of per
            replica (the original: per GPU). Defaults to `False`.
        bn_batch_size: int. Every BN's ghost batch in training: statistics
            over groups of this many clips of a replica's batch, as the
            original's per-GPU batch on any number of devices; 0 for the
            whole replica batch. Defaults to `0`.
        folded_normalization: bool. The inference twin that
            `nlkeras.models.folding` builds: every trunk normalisation is
            folded into its convolution, which has a bias, and leaves an
            identity of its name. Defaults to `False`.
        input_shape: tuple. `(frames, height, width, 3)`; `None` axes accept
            any size. Defaults to `(None, None, None, 3)`.
        **kwargs: Passed to `keras.Model` (`name`, ...).

    Call arguments:
        inputs: Normalised clips, `(batch, frames, height, width, 3)`.

    Returns the res5 feature map, `(batch, frames', height / 32, width / 32,
    8 * width * 4)` with Caffe2's rounding.

    Reference:
     - [Wang et al., 2018](https://arxiv.org/abs/1711.07971), Table 1.
    """

    def __init__(
        self,
        block_temporal_kernels,
        conv1_temporal_kernel=5,
        conv1_temporal_stride=1,
        pool1_temporal_size=1,
        width=64,
        nonlocal_blocks=((), (), (), ()),
        nonlocal_group_sizes=(0, 0, 0, 0),
        non_local=None,
        frozen_bn=False,
        bn_epsilon=BN_EPSILON,
        bn_momentum=0.9,
        bn_init_gamma=0.0,
        sync_batchnorm=False,
        bn_batch_size=0,
        folded_normalization=False,
        input_shape=(None, None, None, 3),
        **kwargs,
    ):
        block_temporal_kernels = tuple(tuple(s) for s in block_temporal_kernels)
        nonlocal_blocks = tuple(tuple(s) for s in nonlocal_blocks)
        nonlocal_group_sizes = tuple(nonlocal_group_sizes)
        _check_stage_spec(block_temporal_kernels, nonlocal_blocks, nonlocal_group_sizes)
        non_local = dict(non_local or {})

        def conv_norm(x, filters, kernel, strides, gamma, name, norm_name=None):
            x = _padded_conv(x, filters, kernel, strides, name, use_bias=folded_normalization)
            if gamma == "last_gamma":
                gamma = keras.initializers.Constant(bn_init_gamma)
            norm = _normalization(
                frozen_bn, folded_normalization, bn_epsilon, bn_momentum, gamma,
                sync_batchnorm, bn_batch_size, norm_name or f"{name}_bn",
            )  # fmt: skip
            return norm(x)

        # === Functional Model ===
        inputs = keras.Input(shape=input_shape, name="clips")
        stage_outputs = {}
        conv1 = (conv1_temporal_kernel, 7, 7), (conv1_temporal_stride, 2, 2)
        x = conv_norm(inputs, width, *conv1, "ones", "conv1", norm_name="res_conv1_bn")
        x = stage_outputs["conv1"] = keras.layers.ReLU(name="res_conv1_relu")(x)
        x = stage_outputs["pool1"] = SeparablePooling3D(
            (pool1_temporal_size, 3, 3), strides=(pool1_temporal_size, 2, 2), name="pool1"
        )(x)
        for stage, kernels in enumerate(block_temporal_kernels):
            inner = width * 2**stage
            for index, temporal_kernel in enumerate(kernels):
                stride = 2 if stage > 0 and index == 0 else 1
                name = f"res{stage + 2}_{index}"
                x = apply_bottleneck(x, inner, 4 * inner, temporal_kernel, stride, conv_norm, name)
                if index in nonlocal_blocks[stage]:
                    x = NonLocalBlock(
                        group_size=nonlocal_group_sizes[stage] or None,
                        sync_batchnorm=sync_batchnorm,
                        bn_batch_size=bn_batch_size,
                        name=f"nonlocal_conv{stage + 2}_{index}",
                        **non_local,
                    )(x)
            stage_outputs[f"res{stage + 2}"] = x
            if stage == 0:
                x = stage_outputs["pool2"] = SeparablePooling3D(
                    (2, 1, 1), strides=(2, 1, 1), name="pool2"
                )(x)
        super().__init__(inputs=inputs, outputs=x, **kwargs)

        # === Config ===
        self.block_temporal_kernels = block_temporal_kernels
        self.conv1_temporal_kernel = conv1_temporal_kernel
        self.conv1_temporal_stride = conv1_temporal_stride
        self.pool1_temporal_size = pool1_temporal_size
        self.width = width
        self.nonlocal_blocks = nonlocal_blocks
        self.nonlocal_group_sizes = nonlocal_group_sizes
        self.non_local = non_local
        self.frozen_bn = frozen_bn
        self.bn_epsilon = bn_epsilon
        self.bn_momentum = bn_momentum
        self.bn_init_gamma = bn_init_gamma
        self.sync_batchnorm = sync_batchnorm
        self.bn_batch_size = bn_batch_size
        self.folded_normalization = folded_normalization
        self.clip_shape = tuple(input_shape)
        self.stage_layers = {k: v._keras_history.operation.name for k, v in stage_outputs.items()}

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "block_temporal_kernels": self.block_temporal_kernels,
            "conv1_temporal_kernel": self.conv1_temporal_kernel,
            "conv1_temporal_stride": self.conv1_temporal_stride,
            "pool1_temporal_size": self.pool1_temporal_size,
            "width": self.width,
            "nonlocal_blocks": self.nonlocal_blocks,
            "nonlocal_group_sizes": self.nonlocal_group_sizes,
            "non_local": self.non_local,
            "frozen_bn": self.frozen_bn,
            "bn_epsilon": self.bn_epsilon,
            "bn_momentum": self.bn_momentum,
            "bn_init_gamma": self.bn_init_gamma,
            "sync_batchnorm": self.sync_batchnorm,
            "bn_batch_size": self.bn_batch_size,
            "folded_normalization": self.folded_normalization,
            "input_shape": self.clip_shape,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _check_stage_spec(block_temporal_kernels, nonlocal_blocks, nonlocal_group_sizes):
    if len(block_temporal_kernels) != 4 or not all(block_temporal_kernels):
        raise ValueError(
            "`block_temporal_kernels` must hold 4 non-empty stages. "
            f"Received: block_temporal_kernels={block_temporal_kernels}"
        )
    for kernels in block_temporal_kernels:
        if any(k < 1 or k % 2 == 0 for k in kernels):
            raise ValueError(
                "Temporal kernels must be odd positive ints. "
                f"Received: block_temporal_kernels={block_temporal_kernels}"
            )
    if len(nonlocal_blocks) != 4 or len(nonlocal_group_sizes) != 4:
        raise ValueError(
            "`nonlocal_blocks` and `nonlocal_group_sizes` need one entry per stage. "
            f"Received: nonlocal_blocks={nonlocal_blocks}, "
            f"nonlocal_group_sizes={nonlocal_group_sizes}"
        )
    for kernels, blocks in zip(block_temporal_kernels, nonlocal_blocks, strict=True):
        if any(not 0 <= b < len(kernels) for b in blocks):
            raise ValueError(
                "`nonlocal_blocks` names a block its stage does not have. "
                f"Received: nonlocal_blocks={nonlocal_blocks} for stage depths "
                f"{tuple(len(k) for k in block_temporal_kernels)}"
            )

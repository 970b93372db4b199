"""Stage specs of the original's model zoo, as data.

`backbone_kwargs` turns the few names a recipe uses (arch, depth, variant,
non-local stages) into the plain arguments of `ResNet3DBackbone`, with the
original's rules: `obtain_arc` for the temporal kernels, `LAYER_MOD` for the
non-local placement, and the two model files' stems. `Geometry` says what
those models do to a clip's size; every caller asks it rather than redoing it.
"""

import dataclasses

from nlkeras.layers.batch_normalization import BN_EPSILON

STAGE_BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}

ARCHS = ("c2d", "i3d")

# resnet_video: the repo's "sparser" 8x8 / 32x4 models; resnet_video_org: the
# paper's 32x2 / 128x1 models, which subsample time twice more in the stem.
VARIANTS = {
    "resnet_video": {"conv1_temporal_stride": 1, "pool1_temporal_size": 1},
    "resnet_video_org": {"conv1_temporal_stride": 2, "pool1_temporal_size": 2},
}

# I3D inflates branch2a to kernel 3 in these blocks (index -> inflated?); the
# rules reproduce `obtain_arc` for R50 and R101 and extend to any depth.
_I3D_INFLATED = (
    lambda i: True,
    lambda i: i % 2 == 0,
    lambda i: i % 2 == 0,
    lambda i: i % 2 == 1,
)


def temporal_kernels(arch, stage_blocks):
    """The stem's and every block's temporal kernel (the original's arc)."""
    if arch not in ARCHS:
        raise ValueError(f"`arch` must be one of {ARCHS}. Received: arch={arch!r}")
    if arch == "c2d":
        return 1, tuple((1,) * n for n in stage_blocks)
    return 5, tuple(
        tuple(3 if inflated(i) else 1 for i in range(n))
        for inflated, n in zip(_I3D_INFLATED, stage_blocks, strict=True)
    )


def nonlocal_blocks(stage_blocks, stages, depth, layer_mod=2):
    """Per stage, the blocks followed by a non-local block.

    A block `i` of a listed stage gets one when `i % mod == mod - 1`, with
    `mod = layer_mod`, except for R101, whose res3 keeps 2 and whose res4 uses
    `4 * layer_mod - 1` (R50: res3 1,3 and res4 1,3,5; R101: res3 1,3 and res4
    6,13,20).
    """
    if not set(stages) <= {2, 3, 4, 5}:
        raise ValueError(
            f"Non-local `stages` must be a subset of (2, 3, 4, 5). Received: stages={stages}"
        )
    blocks = []
    for stage, n in zip((2, 3, 4, 5), stage_blocks, strict=True):
        mod = layer_mod
        if depth == 101 and stage == 3:
            mod = 2
        elif depth == 101 and stage == 4:
            mod = 4 * layer_mod - 1
        blocks.append(tuple(i for i in range(n) if i % mod == mod - 1) if stage in stages else ())
    return tuple(blocks)


def backbone_kwargs(
    arch,
    depth,
    variant,
    non_local_stages=(),
    non_local_layer_mod=2,
    non_local_res3_group_size=0,
    non_local=None,
    stage_blocks=(),
    width=64,
    frozen_bn=False,
    bn_epsilon=BN_EPSILON,
    bn_momentum=0.9,
    bn_init_gamma=0.0,
    sync_batchnorm=False,
    bn_batch_size=0,
):
    """Arguments of `ResNet3DBackbone` for one member of the model zoo.

    `stage_blocks` overrides the depth's block counts (the demo's small
    members of the family); the rules above then still place the temporal
    kernels and non-local blocks.
    """
    if depth not in STAGE_BLOCKS:
        raise ValueError(f"`depth` must be one of {tuple(STAGE_BLOCKS)}. Received: depth={depth}")
    if variant not in VARIANTS:
        raise ValueError(
            f"`variant` must be one of {tuple(VARIANTS)}. Received: variant={variant!r}"
        )
    stage_blocks = tuple(stage_blocks) or STAGE_BLOCKS[depth]
    conv1_kernel, block_kernels = temporal_kernels(arch, stage_blocks)
    return dict(
        block_temporal_kernels=block_kernels,
        conv1_temporal_kernel=conv1_kernel,
        width=width,
        nonlocal_blocks=nonlocal_blocks(stage_blocks, non_local_stages, depth, non_local_layer_mod),
        nonlocal_group_sizes=(0, non_local_res3_group_size, 0, 0),
        non_local=dict(non_local or {}),
        frozen_bn=frozen_bn,
        bn_epsilon=bn_epsilon,
        bn_momentum=bn_momentum,
        bn_init_gamma=bn_init_gamma,
        sync_batchnorm=sync_batchnorm,
        bn_batch_size=bn_batch_size,
        **VARIANTS[variant],
    )


def _floor_out(size, kernel, stride, pad=0):
    return (size + 2 * pad - kernel) // stride + 1


@dataclasses.dataclass(frozen=True)
class Geometry:
    """What a model of the zoo does to a clip's size, by Caffe2's floor rules.

    The one place that knows the stem's and pool2's temporal strides, the
    res5 map (pool5's window for the training clip), the grouped res3 rule
    and, from them, the smallest clip the fully-convolutional head scores.
    Sizes may be ints or integer tensors.

    Args:
        conv1_temporal_stride: int. 2 for `resnet_video_org`, else 1.
        pool1_temporal_size: int. 2 for `resnet_video_org`, else 1.
        res3_group_size: int. Frames per attention group of res3's
            non-local blocks; 0 when res3 has none or they are not grouped.
    """

    conv1_temporal_stride: int = 1
    pool1_temporal_size: int = 1
    res3_group_size: int = 0

    @classmethod
    def of(cls, spec):
        """The geometry of `ResNet3DBackbone(**spec)` (`backbone_kwargs` or `get_config()`)."""
        # Only res3's non-local blocks attend in groups; a res3 without them has no rule.
        grouped = spec["nonlocal_group_sizes"][1] if spec["nonlocal_blocks"][1] else 0
        return cls(spec["conv1_temporal_stride"], spec["pool1_temporal_size"], grouped)

    def res3_frames(self, frames):
        """Frames at res3 to res5 (pool2 halves them; the org stem halves them twice more)."""
        frames = _floor_out(frames, 1, self.conv1_temporal_stride)
        frames = _floor_out(frames, self.pool1_temporal_size, self.pool1_temporal_size)
        return _floor_out(frames, 2, 2)

    def feature_map_shape(self, frames, height, width):
        """`(frames, height, width)` of the res5 map of a clip."""
        spatial = []
        for size in (height, width):
            size = _floor_out(_floor_out(size, 7, 2, 3), 3, 2)
            for _ in range(3):
                size = _floor_out(size, 3, 2, 1)
            spatial.append(size)
        return (self.res3_frames(frames), *spatial)

    def frames_fit(self, frames):
        """Whether a clip of `frames` leaves res3 whole groups for its grouped non-local blocks."""
        if not self.res3_group_size:
            return True
        return self.res3_frames(frames) % self.res3_group_size == 0

    @property
    def frames_step(self):
        """Clip lengths that fit the groups are this many frames apart."""
        group = max(self.res3_group_size, 1)
        return group * self.conv1_temporal_stride * self.pool1_temporal_size * 2

    def min_clip_shape(self, pool_size):
        """(frames, side): the smallest clip the fully-convolutional head can score.

        Its res5 map must cover the `pool_size` window (else pool5 has no
        position), and its frames must fit res3's groups.
        """

        def smallest(axis, fits=lambda size: True):
            size = 1
            while self.feature_map_shape(size, size, size)[axis] < pool_size[axis]:
                size += 1
            while not fits(size):
                size += 1
            return size

        return smallest(0, self.frames_fit), max(smallest(1), smallest(2))

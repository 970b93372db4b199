"""One builder for every model of the zoo: specs in, `VideoClassifier` out."""

from nlkeras.models import specs
from nlkeras.models.resnet3d_backbone import ResNet3DBackbone
from nlkeras.models.video_classifier import VideoClassifier


def build_classifier(
    arch="i3d",
    depth=50,
    variant="resnet_video",
    num_classes=400,
    num_frames=8,
    crop_size=224,
    dropout=0.5,
    fc_init_std=0.01,
    head="logits",
    input_shape=(None, None, None, 3),
    **backbone_options,
):
    """Builds a C2D / I3D classifier of the original's family.

    Args:
        arch: `"c2d"` or `"i3d"`.
        depth: 50 or 101.
        variant: `"resnet_video"` (8x8, 32x4) or `"resnet_video_org"`
            (32x2, 128x1).
        num_classes: int.
        num_frames: int. Frames of a training clip; with `crop_size` it sets
            the pool5 window to the res5 map of the training input.
        crop_size: int. Side of a training crop.
        dropout: float. Before `pred`, training only.
        fc_init_std: float. Std of `pred`'s initialisation.
        head: `"logits"` (training) or `"probabilities"` (fully-conv test).
        input_shape: `(frames, height, width, 3)` the model accepts; `None`
            axes accept any size.
        **backbone_options: Passed to `specs.backbone_kwargs` (non-local
            stages and options, frozen BN, BN settings such as
            `bn_batch_size`, `stage_blocks`, `width`).
    """
    kwargs = specs.backbone_kwargs(arch, depth, variant, **backbone_options)
    backbone = ResNet3DBackbone(**kwargs, input_shape=tuple(input_shape), name="backbone")
    pool_size = specs.Geometry.of(kwargs).feature_map_shape(num_frames, crop_size, crop_size)
    if min(pool_size) < 1:
        raise ValueError(
            f"A {num_frames}x{crop_size}x{crop_size} clip is too small for this "
            f"model: its res5 map would be {pool_size}."
        )
    return VideoClassifier(
        backbone,
        num_classes=num_classes,
        pool_size=pool_size,
        dropout=dropout,
        head=head,
        fc_init_std=fc_init_std,
        name=f"{arch}_r{depth}",
    )

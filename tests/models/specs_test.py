"""Tests of `nlkeras.models.specs` helpers that other stages rely on."""

import numpy as np
import pytest

from nlkeras.models import specs
from tests.testing import tiny_classifier


@pytest.mark.parametrize(
    "pool_size, variant, expected",
    [
        ((4, 7, 7), "resnet_video", (8, 197)),  # 8x8 recipes at 224
        ((16, 7, 7), "resnet_video", (32, 197)),  # 32x4 recipes
        ((4, 7, 7), "resnet_video_org", (31, 197)),  # 32x2 (conv1 and pool1 stride 2)
    ],
)
def test_min_clip_shape(pool_size, variant, expected):
    """The smallest clip fits pool5; one frame or pixel less does not."""
    geometry = specs.Geometry(**specs.VARIANTS[variant])
    frames, side = geometry.min_clip_shape(pool_size)
    assert (frames, side) == expected
    fits = geometry.feature_map_shape(frames, side, side)
    assert all(f >= p for f, p in zip(fits, pool_size, strict=True))
    assert geometry.feature_map_shape(frames - 1, side, side)[0] < pool_size[0]
    assert geometry.feature_map_shape(frames, side - 1, side)[1] < pool_size[1]


def test_min_clip_shape_with_grouped_res3():
    """Groups of 4 frames at res3 (the frozen-BN 32x4 recipes): whole groups only."""
    grouped = specs.Geometry(res3_group_size=4)
    assert grouped.min_clip_shape((8, 7, 7)) == (16, 197)
    assert grouped.min_clip_shape((3, 7, 7)) == (8, 197)  # not 6: 3 frames at res3


def test_geometry_of_the_shape_walks():
    """The shape walks of §2.11 of docs/original-semantics.md: 224 -> 7, frames per stem."""
    video, org = (specs.Geometry(**specs.VARIANTS[v]) for v in specs.VARIANTS)
    assert video.feature_map_shape(8, 224, 224) == (4, 7, 7)
    assert video.feature_map_shape(32, 256, 340) == (16, 8, 11)
    assert org.feature_map_shape(32, 224, 224) == (4, 7, 7)
    assert org.res3_frames(128) == 16


def test_geometry_of_a_model_asks_its_res3_blocks():
    """Grouped res3 blocks set the frame rule; a group size without res3 blocks sets none."""
    kwargs = dict(non_local_res3_group_size=4, stage_blocks=(1, 2, 2, 1))
    grouped = specs.Geometry.of(specs.backbone_kwargs("i3d", 50, "resnet_video", (3,), **kwargs))
    assert grouped == specs.Geometry(1, 1, 4)
    assert [f for f in range(4, 40) if grouped.frames_fit(f)] == [8, 9, 16, 17, 24, 25, 32, 33]
    assert grouped.frames_step == 8
    plain = specs.Geometry.of(specs.backbone_kwargs("i3d", 50, "resnet_video", (4,), **kwargs))
    assert plain.res3_group_size == 0 and plain.frames_fit(7)
    backbone = tiny_classifier(non_local_stages=(3,), non_local_layer_mod=1,
                               non_local_res3_group_size=2).backbone  # fmt: skip
    assert specs.Geometry.of(backbone.get_config()) == specs.Geometry(1, 1, 2)


def test_min_clip_shape_is_what_the_head_accepts():
    """A tiny classifier runs at the minimal clip; one frame fewer leaves pool5 no position.

    The model then silently averages nothing (NaN): why the serving
    signatures check clip sizes against `Geometry.min_clip_shape` first.
    """
    model = tiny_classifier(num_frames=8, crop_size=64)
    frames, side = specs.Geometry().min_clip_shape(model.pool_size)
    fits = model.predict_on_batch(np.zeros((1, frames, side, side, 3)))
    assert fits.shape == (1, 3) and np.isfinite(fits).all()
    too_short = model.predict_on_batch(np.zeros((1, frames - 1, side, side, 3)))
    assert not np.isfinite(too_short).any()

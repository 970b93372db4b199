"""Tests of `nlkeras.models.specs` helpers that other stages rely on."""

import numpy as np
import pytest

from nlkeras.models import build_classifier, specs


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
    strides = specs.VARIANTS[variant]
    frames, side = specs.min_clip_shape(pool_size, **strides)
    assert (frames, side) == expected
    fits = specs.feature_map_shape(frames, side, side, **strides)
    assert all(f >= p for f, p in zip(fits, pool_size, strict=True))
    assert specs.feature_map_shape(frames - 1, side, side, **strides)[0] < pool_size[0]
    assert specs.feature_map_shape(frames, side - 1, side, **strides)[1] < pool_size[1]


def test_min_clip_shape_with_grouped_res3():
    """Groups of 4 frames at res3 (the frozen-BN 32x4 recipes): whole groups only."""
    assert specs.min_clip_shape((8, 7, 7), res3_group_size=4) == (16, 197)
    assert specs.min_clip_shape((3, 7, 7), res3_group_size=4) == (8, 197)  # not 6: 3 frames at res3


def test_min_clip_shape_is_what_the_head_accepts():
    """A tiny classifier runs at the minimal clip; one frame fewer leaves pool5 no position.

    The model then silently averages nothing (NaN): why the serving
    signatures check clip sizes against `min_clip_shape` first.
    """
    model = build_classifier(
        num_classes=3, num_frames=8, crop_size=64, width=4, stage_blocks=(1, 1, 1, 1)
    )
    frames, side = specs.min_clip_shape(model.pool_size)
    fits = model.predict_on_batch(np.zeros((1, frames, side, side, 3)))
    assert fits.shape == (1, 3) and np.isfinite(fits).all()
    too_short = model.predict_on_batch(np.zeros((1, frames - 1, side, side, 3)))
    assert not np.isfinite(too_short).any()

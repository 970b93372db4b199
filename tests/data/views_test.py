"""`TestViews`: the one place test views are cut, for every protocol and caller."""

import numpy as np
import pytest
import tensorflow as tf

from nlkeras import cli
from nlkeras import config as config_lib
from nlkeras.data import processors, views

MEAN, STD = 114.75, 57.375


def frames_of(video):
    calls = []

    def frames_for(indices):
        calls.append(indices.numpy().tolist())
        return tf.gather(video, indices)

    return frames_for, calls


@pytest.fixture
def video():
    return np.random.default_rng(0).integers(0, 256, (13, 40, 52, 3), dtype=np.uint8)


@pytest.mark.parametrize("flip", [False, True])
def test_three_crop_views_are_clip_then_crop_then_flip(video, flip):
    """Clips 1 and 2 of 3: each decoded once; views in the order of the view index."""
    test_views = views.TestViews(num_frames=4, sample_rate=2, num_clips=3, scale=32, flip=flip)
    frames_for, calls = frames_of(video)
    got = test_views.views(frames_for, len(video), [1, 2]).numpy()
    assert got.shape == (2 * 3 * (2 if flip else 1), 4, 32, 32, 3)
    assert calls == [[4, 6, 8, 10, 8, 10, 12, 1]]  # starts floor(j * 13 / 3), wrapping around
    view = 0
    for clip in (1, 2):
        indices = processors.view_frame_indices(13, 4, 2, clip, 3)
        scaled = processors.scale_short_side(tf.gather(video, indices), 32)
        for position in range(3):
            crop = processors.view_crop(scaled, 32, position).numpy()
            for mirrored in (False, True) if flip else (False,):
                want = crop[:, :, ::-1] if mirrored else crop
                np.testing.assert_allclose(got[view], (want - MEAN) / STD, atol=1e-5)
                view += 1


def test_full_frame_and_center_crop(video):
    frames_for, _ = frames_of(video)
    full = views.TestViews("full_frame", num_frames=4, sample_rate=2, num_clips=2, scale=32)
    assert full.views(frames_for, 13, [0, 1]).shape == (2, 4, 32, 41, 3)
    centre = views.TestViews("center_crop", num_frames=4, sample_rate=2, num_clips=1, scale=32)
    three = views.TestViews("three_crop", num_frames=4, sample_rate=2, num_clips=1, scale=32)
    np.testing.assert_array_equal(
        centre.views(frames_for, 13, [0]).numpy(), three.views(frames_for, 13, [0]).numpy()[1:2]
    )


def test_counts_and_chunks():
    t = views.TestViews(num_clips=10, flip=True, views_per_batch=14)
    assert (t.views_per_clip, t.views_per_video, t.clips_per_chunk) == (6, 60, 2)
    assert views.TestViews("full_frame", views_per_batch=100).clips_per_chunk == 10
    assert views.TestViews(views_per_batch=1).clips_per_chunk == 1  # at least one clip


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"protocol": "five_crop"}, "`protocol` must be one of"),
        ({"views_per_batch": 0}, "`views_per_batch` must be at least 1"),
        ({"views_per_batch": -3}, "`views_per_batch` must be at least 1"),
        ({"num_clips": 0}, "`num_clips` must be at least 1"),
    ],
)
def test_bad_values_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        views.TestViews(**kwargs)


@pytest.mark.parametrize("value", [0, -1, 2])
def test_config_refuses_chunks_smaller_than_a_clip(value):
    config = cli.load_recipe("i3d_nl_8f")
    config.test.views_per_batch = value
    with pytest.raises(ValueError, match=r"config.test.views_per_batch=.* views of one clip"):
        config_lib.validate(config)


def test_serving_refuses_an_unknown_protocol():
    from export.serving import ServingFunctions
    from tests.testing import tiny_classifier

    with pytest.raises(ValueError, match="five_crop"):
        ServingFunctions(tiny_classifier(), protocol="five_crop", num_frames=4, scale=40)

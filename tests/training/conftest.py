"""Tiny training data shared by the trainer's tests."""

import pytest

from tests.testing import write_brightness_videos


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    write_brightness_videos(folder / "train-00000-of-00002.tfrecord", seed=0)
    write_brightness_videos(folder / "train-00001-of-00002.tfrecord", seed=1)
    write_brightness_videos(folder / "test-00000-of-00001.tfrecord", videos_per_class=2, seed=2)
    return folder

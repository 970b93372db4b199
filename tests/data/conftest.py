"""Small real video files for the data tests."""

import pytest

from tests.testing import smooth_frames, write_mp4


@pytest.fixture
def video_folder(tmp_path):
    """`videos/<class>/<id>.mp4`: 3 classes, 2 videos each, of 6-12 frames at 10 fps."""
    root = tmp_path / "videos"
    for c, name in enumerate(["cat", "ant", "bee"]):
        for i in range(2):
            frames = smooth_frames(6 + 3 * i, 48, 64, seed=10 * c + i)
            write_mp4(root / name / f"{name}{i}.mp4", frames)
    return root

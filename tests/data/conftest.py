"""Small real video files for the data tests."""

import cv2
import numpy as np
import pytest


def write_mp4(path, frames, fps=10.0):
    """Writes RGB uint8 frames (N, H, W, 3) as an mp4 with OpenCV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def smooth_frames(num_frames, height, width, seed=0):
    """Frames with large smooth structures (JPEG/mp4 keep them nearly exact) and a frame counter."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width] / max(height, width)
    frames = []
    for t in range(num_frames):
        phase = rng.uniform(0, 6.28, size=3)
        channels = [127 + 100 * np.sin(4 * xs + 3 * ys + p + 0.3 * t) for p in phase]
        frames.append(np.stack(channels, -1))
    return np.clip(np.stack(frames), 0, 255).astype(np.uint8)


@pytest.fixture
def video_folder(tmp_path):
    """`videos/<class>/<id>.mp4`: 3 classes, 2 videos each, of 6-12 frames at 10 fps."""
    root = tmp_path / "videos"
    for c, name in enumerate(["cat", "ant", "bee"]):
        for i in range(2):
            frames = smooth_frames(6 + 3 * i, 48, 64, seed=10 * c + i)
            write_mp4(root / name / f"{name}{i}.mp4", frames)
    return root

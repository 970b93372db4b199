"""Reading video files with OpenCV into RGB frames at the stored resolution."""

import os

import cv2
import numpy as np


class VideoError(Exception):
    """A video that cannot be used; the message is the reason it was skipped."""


def resized_shape(height, width, short_side):
    """(height, width) with the shorter side at `short_side`, aspect kept."""
    scale = short_side / min(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def read_video(path, short_side=256, target_fps=None):
    """Decodes every frame of `path`, RGB, short side resized to `short_side`.

    Frames are resized as they are decoded, so memory holds only the stored
    resolution. With `target_fps`, frames are resampled in time to that rate
    (frame k is source frame floor(k * fps / target_fps)); otherwise the
    native rate is kept, as the original did. Returns `(frames uint8 (N, H, W,
    3), fps)`. Raises `VideoError` with the reason for a missing, empty,
    unreadable or one-frame file (the original aborted the whole job on a
    video of one frame or less).
    """
    if not os.path.isfile(path):
        raise VideoError("file not found")
    if os.path.getsize(path) == 0:
        raise VideoError("empty file (0 bytes)")
    capture = cv2.VideoCapture(path)
    try:
        if not capture.isOpened():
            raise VideoError("not a readable video (OpenCV cannot open it)")
        fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
        if fps <= 0:
            raise VideoError("unknown frame rate")
        step = fps / target_fps if target_fps else 1.0
        frames, index, size = [], 0, None
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if size is None:
                size = resized_shape(*frame.shape[:2], short_side)
            while int(len(frames) * step) == index:
                frames.append(_to_stored(frame, size))
            index += 1
    finally:
        capture.release()
    if len(frames) < 2:
        raise VideoError(
            f"only {len(frames)} frame{'' if len(frames) == 1 else 's'} decoded "
            "(a clip needs at least 2)"
        )
    return np.stack(frames), float(target_fps or fps)


def _to_stored(frame, size):
    height, width = size
    if frame.shape[:2] != (height, width):
        frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

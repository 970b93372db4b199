"""Reading video files with OpenCV into RGB frames at the stored resolution.

Two readers share one walk through the file: `read_video` keeps every frame
(the TFRecord builder), `read_sampled_frames` decodes all but keeps only
the frames a test protocol samples (prediction), so its memory does not
grow with the video's length.
"""

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
    capture, fps = _open(path)
    try:
        frames = [
            _to_stored(frame, short_side) for _, frame in _walk(capture, fps, target_fps, None)
        ]
    finally:
        capture.release()
    _check_length(len(frames))
    return np.stack(frames), float(target_fps or fps)


def read_sampled_frames(path, indices_for, short_side=256, target_fps=None):
    """Only the frames `indices_for(N)` names of `path`, N its number of frames.

    The frames are those `read_video(path, short_side, target_fps)` returns
    at the same indices. The file is walked once when its header's frame
    count is right (frames are grabbed, and only sampled ones converted and
    resized), twice otherwise. Returns `(N, indices, frames)`: the sorted
    unique int32 indices and their uint8 `(len(indices), H, W, 3)` frames.
    Raises `VideoError` as `read_video` does.
    """
    capture, fps = _open(path)
    step = fps / target_fps if target_fps else 1.0
    claimed = int(np.ceil(max(capture.get(cv2.CAP_PROP_FRAME_COUNT), 0) / step))
    try:
        kept, count = _keep(capture, fps, target_fps, _unique(indices_for, claimed), short_side)
    finally:
        capture.release()
    _check_length(count)
    wanted = _unique(indices_for, count)
    if not set(wanted) <= kept.keys():
        capture, fps = _open(path)
        try:
            kept, _ = _keep(capture, fps, target_fps, wanted, short_side)
        finally:
            capture.release()
    return count, np.asarray(wanted, np.int32), np.stack([kept[k] for k in wanted])


def _unique(indices_for, count):
    return sorted({int(i) for i in np.ravel(indices_for(count))}) if count >= 2 else []


def _keep(capture, fps, target_fps, wanted, short_side):
    """`({index: stored frame} for the wanted indices, number of frames)` in one walk."""
    kept, count = {}, 0
    for k, frame in _walk(capture, fps, target_fps, set(wanted)):
        if frame is not None:
            kept[k] = _to_stored(frame, short_side)
        count = k + 1
    return kept, count


def _open(path):
    if not os.path.isfile(path):
        raise VideoError("file not found")
    if os.path.getsize(path) == 0:
        raise VideoError("empty file (0 bytes)")
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        capture.release()
        raise VideoError("not a readable video (OpenCV cannot open it)")
    fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
    if fps <= 0:
        capture.release()
        raise VideoError("unknown frame rate")
    return capture, fps


def _walk(capture, fps, target_fps, wanted):
    """`(k, BGR frame)` for every frame k of the (resampled) video, in order.

    Every source frame is grabbed; one is converted only when some k needs it
    (`wanted` None: all), else the pair is `(k, None)`.
    """
    step = fps / target_fps if target_fps else 1.0
    k, index = 0, 0
    while capture.grab():
        frame = None
        while int(k * step) == index:
            if (wanted is None or k in wanted) and frame is None:
                ok, frame = capture.retrieve()
                if not ok:
                    return
            yield k, (frame if wanted is None or k in wanted else None)
            k += 1
        index += 1


def _check_length(count):
    if count < 2:
        raise VideoError(
            f"only {count} frame{'' if count == 1 else 's'} decoded (a clip needs at least 2)"
        )


def _to_stored(frame, short_side):
    height, width = resized_shape(*frame.shape[:2], short_side)
    if frame.shape[:2] != (height, width):
        frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

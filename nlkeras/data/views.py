"""The test views of a video, for every caller: evaluation, validation, serving, prediction.

A test protocol takes K clips per video (§4.4 of docs/original-semantics.md:
clip `j` starts at floor(j * N / K), wrapping around), scales each to short
side `scale`, and cuts its views: 3 crops along the longer side
(`three_crop`, the original's test), the centre crop only (`center_crop`),
or the whole frame (`full_frame`, the paper's fully-convolutional test),
each also mirrored with `flip`. Views are numbered clip by clip, then crop,
then flip. Each clip is decoded and scaled once for all its views.

Views go through the model in chunks of whole clips, at most
`views_per_batch` views each, so the memory of a video's test is one
chunk's, whatever the number of views.
"""

import dataclasses

import tensorflow as tf

from nlkeras.data import processors

PROTOCOLS = ("three_crop", "full_frame", "center_crop")
_CROPS = {"three_crop": (0, 1, 2), "center_crop": (1,), "full_frame": ()}


def frames_at(frames, indices):
    """The `frames_for` of a video decoded only at `indices` (sorted), into `frames`."""
    return lambda wanted: tf.gather(frames, tf.searchsorted(indices, wanted))


@dataclasses.dataclass(frozen=True)
class TestViews:
    """A recipe's test protocol as plain values, and the views it cuts.

    Args:
        protocol: one of `PROTOCOLS`.
        num_frames, sample_rate: int. Clip length and stride of a view.
        num_clips: int. Clips per video (K).
        scale: int. Short side of the test frames.
        flip: bool. Add the mirrored view of each.
        mean, std: float. Scalar normalisation of the RGB values.
        use_bgr: bool. Reverse the channels after normalising.
        views_per_batch: int. Most views in one model call (per device).
    """

    protocol: str = "three_crop"
    num_frames: int = 8
    sample_rate: int = 8
    num_clips: int = 10
    scale: int = 256
    flip: bool = False
    mean: float = processors.MEAN
    std: float = processors.STD
    use_bgr: bool = False
    views_per_batch: int = 30

    def __post_init__(self):
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"`protocol` must be one of {PROTOCOLS}. Received: {self.protocol!r}")
        for name in ("num_frames", "sample_rate", "num_clips", "scale", "views_per_batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be at least 1. Received: {getattr(self, name)}")

    @property
    def views_per_clip(self):
        return max(len(_CROPS[self.protocol]), 1) * (2 if self.flip else 1)

    @property
    def views_per_video(self):
        return self.num_clips * self.views_per_clip

    @property
    def clips_per_chunk(self):
        """Whole clips whose views fit in one model call (at least one)."""
        return min(max(self.views_per_batch // self.views_per_clip, 1), self.num_clips)

    def frame_indices(self, num_video_frames, clip_indices=None):
        """int32 `(C, num_frames)`: the frames clips `clip_indices` (default: all) sample."""
        if clip_indices is None:
            clip_indices = tf.range(self.num_clips)
        clip_indices = tf.convert_to_tensor(clip_indices, tf.int32)
        return processors.view_frame_indices(
            num_video_frames,
            self.num_frames,
            self.sample_rate,
            clip_indices[:, None],
            self.num_clips,
        )

    def views(self, frames_for, num_video_frames, clip_indices):
        """The normalised views of clips `clip_indices` of one video.

        Args:
            frames_for: `indices -> uint8 (len(indices), H, W, 3)`, the
                video's frames at int32 `indices`: only sampled frames are
                ever decoded.
            num_video_frames: int32 scalar N.
            clip_indices: int32 `(C,)`, each in `[0, num_clips)`.

        Returns float32 `(C * views_per_clip, T, S, S, 3)` (`(..., T, H', W',
        3)` for `full_frame`), clip by clip, then crop, then flip.
        """
        indices = tf.reshape(self.frame_indices(num_video_frames, clip_indices), [-1])
        # (C * T, H', W', 3): every clip decoded and scaled once.
        frames = processors.scale_short_side(frames_for(indices), self.scale)
        if _CROPS[self.protocol]:
            crops = [processors.view_crop(frames, self.scale, p) for p in _CROPS[self.protocol]]
        else:
            crops = [frames]
        views = tf.stack(crops, axis=1)  # (C * T, crops, S, S, 3)
        if self.flip:
            views = tf.stack([views, processors.flip_clip(views, True)], axis=2)
        shape = tf.shape(views)
        # (C, T, crops[, flips], S, S, 3) -> (C, crops[, flips], T, S, S, 3)
        views = tf.reshape(views, tf.concat([[-1, self.num_frames], shape[1:]], 0))
        rank = len(views.shape)
        views = tf.transpose(views, [0, *range(2, rank - 3), 1, rank - 3, rank - 2, rank - 1])
        views = tf.reshape(views, tf.concat([[-1, self.num_frames], tf.shape(views)[-3:]], 0))
        return processors.normalize(views, self.mean, self.std, self.use_bgr)

    def video_scores(self, model, frames_for, num_video_frames):
        """The summed view outputs of `model` over one video, one chunk of clips at a time.

        A `tf.while_loop` with one iteration in flight: a request holds one
        chunk's activations, whatever `num_clips`. Returns `(sum over views
        of model(views), number of views)`.
        """
        step = self.clips_per_chunk

        def body(start, total):
            clips = tf.range(start, tf.minimum(start + step, self.num_clips))
            outputs = model(self.views(frames_for, num_video_frames, clips), training=False)
            return start + step, total + tf.reduce_sum(tf.cast(outputs, tf.float32), axis=0)

        total = tf.zeros(model.output_shape[-1:], tf.float32)
        _, total = tf.while_loop(
            lambda start, _: start < self.num_clips,
            body,
            (tf.constant(0), total),
            parallel_iterations=1,
        )
        return total, self.views_per_video

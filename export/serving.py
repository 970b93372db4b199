"""What an exported model computes: raw uint8 frames in, class probabilities out.

Every artifact is built from these TensorFlow functions, so normalisation,
the test protocol and the input checks live in the graph and a client sends
plain RGB frames:

- `clips`: uint8 `(B, T, H, W, 3)` clips of any size at least the model's
  minimum -> probabilities through the fully-convolutional head;
- `video`: one decoded video uint8 `(N, H, W, 3)` -> the recipe's whole test
  protocol (K clips x 3 crops or full frames, optional flips), the views'
  probabilities averaged: the video-level score of `nlkeras.evaluate`
  divided by the number of views. The views run through the model in a
  loop over chunks of at most `views_per_batch`: a request's memory is one
  chunk's activations plus the video's frames;
- `encoded_frames`: the video as a list of JPEG strings -> the same.
"""

import tensorflow as tf

from nlkeras.data import processors, views
from nlkeras.models import specs


class ServingFunctions:
    """The model's serving functions, with the recipe's preprocessing and test protocol.

    Args:
        model: `VideoClassifier` (either head; its `for_inference()` twin runs).
        **protocol: the arguments of `nlkeras.data.views.TestViews`: the
            test protocol, normalisation and `views_per_batch`, the most
            views a `video` request runs through the model at once.
    """

    def __init__(self, model, **protocol):
        self.model = model.for_inference()
        self.num_classes = model.num_classes
        self.test_views = views.TestViews(**protocol)
        self.geometry = specs.Geometry.of(model.backbone.get_config())
        self.res3_group_size = self.geometry.res3_group_size
        self.min_frames, self.min_side = self.geometry.min_clip_shape(model.pool_size)
        t = self.test_views
        if t.num_frames < self.min_frames or t.scale < self.min_side:
            raise ValueError(
                f"Test views of {t.num_frames} frames at side {t.scale} are smaller than the "
                f"model's minimum clip of {self.min_frames} frames x {self.min_side} pixels."
            )

    def probabilities(self, clips):
        """uint8 `(B, T, H, W, 3)` -> float32 `(B, K)`: normalise, then the model."""
        t = self.test_views
        normalized = processors.normalize(clips, t.mean, t.std, t.use_bgr)
        return self.model(normalized, training=False)

    def checked_probabilities(self, clips):
        """`probabilities`, after run-time checks that give a clear error on bad input.

        A clip smaller than the model's minimum would otherwise leave pool5
        no position and return NaN without complaint.
        """
        clips = _check(clips, tf.uint8, (None, None, None, None, 3), "clips")
        shape = tf.shape(clips)
        checks = [
            tf.debugging.assert_greater_equal(
                shape[1],
                self.min_frames,
                message=f"`clips` need at least {self.min_frames} frames (axis 1)",
            ),
            tf.debugging.assert_greater_equal(
                tf.minimum(shape[2], shape[3]),
                self.min_side,
                message=f"`clips` need height and width of at least {self.min_side} pixels",
            ),
        ]
        if self.res3_group_size:
            step = self.geometry.frames_step
            checks.append(
                tf.debugging.assert_equal(
                    self.geometry.frames_fit(shape[1]),
                    True,
                    message=f"`clips` frames must leave res3 a multiple of {self.res3_group_size} "
                    f"frames for its grouped non-local blocks (e.g. {self.min_frames}, "
                    f"{self.min_frames + step} or {self.min_frames + 2 * step} frames)",
                )
            )
        with tf.control_dependencies(checks):
            return self.probabilities(tf.identity(clips))

    def video_probabilities(self, frames_for, num_video_frames):
        """The test protocol on one video: averaged view probabilities `(K,)`.

        `frames_for(indices)` returns the uint8 `(len(indices), H, W, 3)`
        frames at `indices`, so only sampled frames are ever decoded; the
        views run in chunks of at most `views_per_batch`.
        """
        total, count = self.test_views.video_scores(self.model, frames_for, num_video_frames)
        return total / count

    def video(self, frames):
        """uint8 `(N, H, W, 3)` decoded video -> averaged view probabilities `(K,)`."""
        frames = _check(frames, tf.uint8, (None, None, None, 3), "frames")
        shape = tf.shape(frames)
        check = tf.debugging.assert_positive(
            shape[:3], message="`frames` must hold at least one frame of at least 1x1 pixel"
        )
        with tf.control_dependencies([check]):
            num_video_frames = tf.identity(shape[0])
        return self.video_probabilities(lambda i: tf.gather(frames, i), num_video_frames)

    def encoded_frames(self, jpegs):
        """`(N,)` JPEG strings -> averaged view probabilities `(K,)`; decodes sampled frames."""
        jpegs = _check(jpegs, tf.string, (None,), "jpeg_bytes")
        count = tf.size(jpegs)
        with tf.control_dependencies(
            [tf.debugging.assert_positive(count, message="`jpeg_bytes` holds no frame")]
        ):
            # Only JPEG headers are read here: frames of one video share a size.
            sizes = tf.map_fn(
                lambda jpeg: tf.image.extract_jpeg_shape(jpeg)[:2],
                jpegs,
                fn_output_signature=tf.int32,
            )
        check = tf.debugging.assert_equal(
            sizes, sizes[:1], message="`jpeg_bytes` frames must all have the same size"
        )
        with tf.control_dependencies([check]):
            count = tf.identity(count)
        return self.video_probabilities(
            lambda indices: processors.decode_frames(jpegs, indices), count
        )


def _check(tensor, dtype, shape, name):
    """`tensor` with its dtype checked now and its shape also at run time.

    A SavedModel signature checks the dtype of its input but not the shape:
    `ensure_shape` turns a wrong rank into an error naming the input.
    """
    tensor = tf.convert_to_tensor(tensor)
    if tensor.dtype != dtype:
        raise TypeError(f"`{name}` must be {dtype.name}, got {tensor.dtype.name}.")
    return tf.ensure_shape(tensor, shape, name=f"{name}_shape")

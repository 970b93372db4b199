"""Small pure TensorFlow functions of the clip pipelines, documented by shape.

Each reproduces one rule of the original's video input op (§4 of
original-semantics.md): temporal sampling with wrap-around, short-side
scaling with truncated sizes, random or positional crops, flips and the
scalar RGB normalisation. Random draws are stateless, from an explicit
`seed` of shape (2,), so a pipeline with a seed is repeatable.
"""

import tensorflow as tf


def train_frame_indices(num_video_frames, num_frames, stride, seed):
    """`num_frames` indices `(start + i * stride) mod N`, start ~ U{0..max(N - L*S, 0)}.

    Args:
        num_video_frames: int32 scalar N, frames in the video.
        num_frames: int L.
        stride: int S.
        seed: int32 (2,), stateless seed.
    Returns int32 (L,).
    """
    span = tf.maximum(num_video_frames - num_frames * stride, 0)
    start = tf.random.stateless_uniform([], seed, 0, span + 1, dtype=tf.int32)
    return (start + tf.range(num_frames) * stride) % num_video_frames


def view_frame_indices(num_video_frames, num_frames, stride, clip_index, num_clips):
    """Indices of test clip `j` of `K`: start floor(j * N / K), wrapping around.

    The original's starts are not centred in their segment; late clips wrap
    to the beginning of the video. Returns int32 (L,).
    """
    n = tf.cast(num_video_frames, tf.int64)
    start = tf.cast(tf.cast(clip_index, tf.int64) * n // num_clips, tf.int32)
    return (start + tf.range(num_frames) * stride) % num_video_frames


def decode_frames(jpegs, indices, num_frames):
    """Decodes only the sampled frames: (N,) JPEG strings -> uint8 (L, H, W, 3)."""
    sampled = tf.gather(jpegs, indices)
    # L is static: an unrolled decode is faster than tf.map_fn.
    return tf.stack([tf.io.decode_jpeg(sampled[i], channels=3) for i in range(num_frames)])


def scale_short_side(frames, side):
    """Resizes (T, H, W, C) bilinearly: shorter side `side`, the other int(dim * ratio).

    Returns float32 (T, H', W', C).
    """
    shape = tf.shape(frames)
    height, width = tf.cast(shape[1], tf.float64), tf.cast(shape[2], tf.float64)
    side_f = tf.cast(side, tf.float64)
    height_is_short = height <= width
    new_height = tf.where(height_is_short, side, tf.cast(height * side_f / width, tf.int32))
    new_width = tf.where(height_is_short, tf.cast(width * side_f / height, tf.int32), side)
    return tf.image.resize(frames, tf.stack([new_height, new_width]), method="bilinear")


def random_short_side(frames, min_side, max_side, seed):
    """Scale jitter: the shorter side becomes a random integer in [min_side, max_side]."""
    side = tf.random.stateless_uniform([], seed, min_side, max_side + 1, dtype=tf.int32)
    return scale_short_side(frames, side)


def random_crop(frames, size, seed):
    """The same random `size` x `size` window from every frame of (T, H, W, C)."""
    shape = tf.shape(frames)
    seeds = tf.random.experimental.stateless_split(seed, 2)
    top = tf.random.stateless_uniform([], seeds[0], 0, shape[1] - size + 1, dtype=tf.int32)
    left = tf.random.stateless_uniform([], seeds[1], 0, shape[2] - size + 1, dtype=tf.int32)
    return frames[:, top : top + size, left : left + size]


def view_crop(frames, size, position):
    """Crop `position` (0, 1, 2) of 3 along the longer side: left/top, centre, right/bottom.

    The original's rule: centre offsets (H - size) // 2 and (W - size) // 2,
    the one along the longer side multiplied by the position.
    """
    shape = tf.shape(frames)
    top = (shape[1] - size) // 2
    left = (shape[2] - size) // 2
    top, left = tf.cond(top > 0, lambda: (top * position, left), lambda: (top, left * position))
    return frames[:, top : top + size, left : left + size]


def random_flip(frames, seed):
    """Horizontal flip of the whole clip with probability 0.5."""
    flip = tf.random.stateless_uniform([], seed) < 0.5
    return tf.cond(flip, lambda: tf.reverse(frames, axis=[2]), lambda: frames)


def normalize(frames, mean, std, use_bgr=False):
    """(x - mean) / std with scalar mean and std; RGB unless `use_bgr`."""
    frames = (tf.cast(frames, tf.float32) - mean) / std
    return tf.reverse(frames, axis=[-1]) if use_bgr else frames

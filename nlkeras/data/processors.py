"""Small pure TensorFlow functions of the clip pipelines, documented by shape.

Each reproduces one rule of the original's video input op (§4 of
docs/original-semantics.md): temporal sampling with wrap-around, short-side
scaling with truncated sizes, random or positional crops, flips and the
scalar RGB normalisation. Random draws are stateless, from an explicit
`seed` of shape (2,), so a pipeline with a seed is repeatable.
"""

import tensorflow as tf

# The original's MODEL.MEAN and MODEL.STD: one scalar for the three channels.
MEAN = 114.75
STD = 57.375


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
    to the beginning of the video. Returns int32 (L,); `clip_index` of shape
    (C, 1) gives (C, L).
    """
    n = tf.cast(num_video_frames, tf.int64)
    start = tf.cast(tf.cast(clip_index, tf.int64) * n // num_clips, tf.int32)
    return (start + tf.range(num_frames) * stride) % num_video_frames


def decode_frames(jpegs, indices, num_frames=None):
    """Decodes only the sampled frames: (N,) JPEG strings -> uint8 (L, H, W, 3).

    `num_frames`: L, when the length of `indices` is not known statically.
    """
    sampled = tf.gather(jpegs, indices)
    count = num_frames or sampled.shape[0]
    if count is None:
        return tf.map_fn(
            lambda jpeg: tf.io.decode_jpeg(jpeg, channels=3),
            sampled,
            fn_output_signature=tf.TensorSpec((None, None, 3), tf.uint8),
        )
    # L is static: an unrolled decode is faster than tf.map_fn.
    return tf.stack([tf.io.decode_jpeg(sampled[i], channels=3) for i in range(count)])


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


def random_crop_box(height, width, min_side, max_side, size, seed):
    """Scale jitter plus random crop, drawn in source pixels: `(top, left, extent)`.

    Scaling the shorter side to `side` ~ U{min_side..max_side} and taking a
    random `size` x `size` crop is taking a random square of `size * short /
    side` source pixels and resizing it to `size`. Drawn this way, only that
    square is decoded and resized; its side is rounded to whole source pixels
    (`extent`), a scale error below 0.5 / extent.
    """
    seeds = tf.random.experimental.stateless_split(seed, 3)
    side = tf.random.stateless_uniform([], seeds[0], min_side, max_side + 1, dtype=tf.int32)
    short = tf.cast(tf.minimum(height, width), tf.float32)
    extent = tf.cast(tf.round(size * short / tf.cast(side, tf.float32)), tf.int32)
    extent = tf.clip_by_value(extent, 1, tf.minimum(height, width))
    top = tf.random.stateless_uniform([], seeds[1], 0, height - extent + 1, dtype=tf.int32)
    left = tf.random.stateless_uniform([], seeds[2], 0, width - extent + 1, dtype=tf.int32)
    return top, left, extent


def decode_resized_crop(jpegs, indices, num_frames, box, size):
    """Decodes only a square of the sampled frames and resizes it: uint8 (L, size, size, 3).

    `box` is `(top, left, extent)` in source pixels (`random_crop_box`). The
    bilinear resize is rounded back to uint8, as OpenCV's resize of the
    original's uint8 frames.
    """
    top, left, extent = box
    width = tf.image.extract_jpeg_shape(jpegs[0])[1]
    # libjpeg's chroma upsampling differs in the first and last column of a
    # cropped decode: decode at least 2 more columns each side and cut them
    # off. The window starts on a multiple of 16 columns (the MCU width of
    # 4:2:0 JPEGs): a window starting elsewhere decodes about 1.5x slower.
    start = tf.maximum((left - 2) // 16 * 16, 0)
    stop = tf.minimum(left + extent + 2, width)
    window = tf.stack([top, start, extent, stop - start])
    sampled = tf.gather(jpegs, indices)
    crops = tf.stack(
        [tf.io.decode_and_crop_jpeg(sampled[i], window, channels=3) for i in range(num_frames)]
    )
    crops = crops[:, :, left - start : left - start + extent]
    # Resizing float32 is about twice as fast as resizing uint8. Bilinear
    # weights are convex, so the result stays within [0, 255]: no clipping.
    resized = tf.image.resize(tf.cast(crops, tf.float32), [size, size], method="bilinear")
    return tf.ensure_shape(tf.cast(tf.round(resized), tf.uint8), (num_frames, size, size, 3))


def view_crop(frames, size, position):
    """Crop `position` (0, 1, 2) of 3 along the longer side: left/top, centre, right/bottom.

    The original's rule: centre offsets (H - size) // 2 and (W - size) // 2,
    the one along the longer side multiplied by the position.
    """
    shape = tf.shape(frames)
    top = (shape[1] - size) // 2
    left = (shape[2] - size) // 2
    top, left = tf.cond(top > 0, lambda: (top * position, left), lambda: (top, left * position))
    crop = frames[:, top : top + size, left : left + size]
    return tf.ensure_shape(crop, (frames.shape[0], size, size, frames.shape[-1]))


def flip_clip(frames, flip):
    """Horizontal flip of a whole clip (T, H, W, C) when `flip` (bool or scalar tensor) is true.

    Training draws `flip` with probability 0.5 per clip; the flipped test
    views set it. Any leading axes work: the width is the second-last. The
    clip is reversed as (T * H, W, C) rows: TensorFlow reverses the middle
    axis of a 3-D tensor about 4x faster than an axis of a 4-D one.
    """

    def mirror():
        shape = tf.shape(frames)
        rows = tf.reshape(frames, tf.concat([[-1], shape[-2:]], 0))
        return tf.reshape(tf.reverse(rows, axis=[1]), shape)

    if isinstance(flip, bool):
        return mirror() if flip else frames
    return tf.cond(flip, mirror, lambda: frames)


def normalize(frames, mean, std, use_bgr=False):
    """(x - mean) / std with scalar mean and std; RGB unless `use_bgr`."""
    frames = (tf.cast(frames, tf.float32) - mean) / std
    return tf.reverse(frames, axis=[-1]) if use_bgr else frames

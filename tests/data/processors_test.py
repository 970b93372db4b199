"""Tests of `nlkeras.data.processors` against the original's sampling and transform rules.

Each processor runs eagerly and inside `tf.data.Dataset.map` (graph mode, the
way the pipelines call it). Inputs encode their own coordinates (frame index,
row, column) so exact indices and offsets can be read back (§4.4, §4.5 of
docs/original-semantics.md).
"""

import numpy as np
import pytest
import tensorflow as tf

from nlkeras.data import processors, records


def run_both(fn, *args):
    """`fn(*args)` eagerly and inside `Dataset.map`: (eager, mapped, the map's static shape)."""
    eager = fn(*[tf.convert_to_tensor(a) for a in args])
    dataset = tf.data.Dataset.from_tensors(tuple(args)).map(fn)
    mapped = next(iter(dataset))
    return eager.numpy(), mapped.numpy(), tuple(dataset.element_spec.shape)


def seed_of(i):
    return tf.constant([i, 7], tf.int64)


def run_over_seeds(fn, num_seeds, *args):
    """`fn(*args, seed)` for seeds 0..n-1, eagerly and in one `Dataset.map` over the seeds.

    Returns (eager results, mapped results, the map's static shape); both lists in seed order.
    """
    eager = [
        fn(*[tf.convert_to_tensor(a) for a in args], seed_of(i)).numpy() for i in range(num_seeds)
    ]
    dataset = tf.data.Dataset.range(num_seeds).map(
        lambda i: fn(*[tf.constant(a) for a in args], tf.stack([i, tf.constant(7, tf.int64)]))
    )
    mapped = [x.numpy() for x in dataset]
    return eager, mapped, tuple(dataset.element_spec.shape)


def coordinate_frames(num_frames, height, width, channels=3):
    """float32 (T, H, W, C) of value ((t * C + c) * 1000 + row) * 1000 + column (exact, T <= 3)."""
    t, h, w, c = np.meshgrid(
        np.arange(num_frames),
        np.arange(height),
        np.arange(width),
        np.arange(channels),
        indexing="ij",
    )
    return (((t * channels + c) * 1000 + h) * 1000 + w).astype(np.float32)


def crop_origin(crop):
    """(top, left) of a crop of `coordinate_frames`, read from its first pixel."""
    value = int(crop[0, 0, 0, 0]) % 1_000_000
    return value // 1000, value % 1000


# Temporal sampling (§4.4).


@pytest.mark.parametrize("num_video_frames, num_frames, stride", [(20, 4, 4), (100, 8, 8)])
def test_train_frame_indices_are_a_strided_clip_from_a_uniform_start(
    num_video_frames, num_frames, stride
):
    """(start + i*S) mod N with start ~ U{0..N-L*S}: both ends reached, nothing outside."""
    span = num_video_frames - num_frames * stride
    eager, mapped, shape = run_over_seeds(
        lambda n, seed: processors.train_frame_indices(n, num_frames, stride, seed),
        200,
        num_video_frames,
    )
    assert shape == (num_frames,)
    np.testing.assert_array_equal(mapped, eager)
    starts = set()
    for indices in eager:
        assert indices.dtype == np.int32
        start = int(indices[0])
        assert 0 <= start <= span
        np.testing.assert_array_equal(
            indices, (start + np.arange(num_frames) * stride) % num_video_frames
        )
        starts.add(start)
    assert min(starts) == 0 and max(starts) == span
    if span < 10:
        assert starts == set(range(span + 1))


def test_train_frame_indices_repeat_with_the_seed():
    """A stateless draw: the same seed gives the same clip, other seeds other clips."""
    first = processors.train_frame_indices(100, 8, 8, seed_of(3)).numpy()
    again = processors.train_frame_indices(100, 8, 8, seed_of(3)).numpy()
    np.testing.assert_array_equal(first, again)
    others = {int(processors.train_frame_indices(100, 8, 8, seed_of(i))[0]) for i in range(20)}
    assert len(others) > 5


def test_train_frame_indices_wrap_in_a_short_video():
    """N < L*S: start 0 and the clip wraps to the beginning (N=5, L=4, S=2 -> 0, 2, 4, 1)."""
    eager, mapped, _ = run_over_seeds(
        lambda n, seed: processors.train_frame_indices(n, 4, 2, seed), 20, 5
    )
    np.testing.assert_array_equal(eager, [[0, 2, 4, 1]] * 20)
    np.testing.assert_array_equal(mapped, [[0, 2, 4, 1]] * 20)


@pytest.mark.parametrize(
    "num_video_frames, num_frames, stride, clip, num_clips, expected",
    [
        (300, 8, 8, 0, 10, [0, 8, 16, 24, 32, 40, 48, 56]),
        (300, 8, 8, 1, 10, [30, 38, 46, 54, 62, 70, 78, 86]),
        (300, 8, 8, 9, 10, [270, 278, 286, 294, 2, 10, 18, 26]),
        (95, 4, 2, 3, 10, [28, 30, 32, 34]),  # floor(3 * 95 / 10) = floor(28.5)
        (95, 4, 2, 9, 10, [85, 87, 89, 91]),  # floor(85.5)
        (10, 4, 3, 1, 2, [5, 8, 1, 4]),  # shorter than a clip: wraps
        (5, 4, 2, 0, 10, [0, 2, 4, 1]),
        (5, 4, 2, 9, 10, [4, 1, 3, 0]),  # floor(4.5) = 4
    ],
)
def test_view_frame_indices(num_video_frames, num_frames, stride, clip, num_clips, expected):
    """Test clip j of K starts at floor(j*N/K) (not centred) and wraps around."""
    eager, mapped, shape = run_both(
        lambda n, j: processors.view_frame_indices(n, num_frames, stride, j, num_clips),
        num_video_frames,
        clip,
    )
    assert shape == (num_frames,)
    np.testing.assert_array_equal(eager, expected)
    np.testing.assert_array_equal(mapped, expected)


def test_view_frame_indices_starts_match_the_float_rule():
    """floor(j*N/K) equals the original's int((N/K)*j) for every N up to 1000, K = 10."""
    for n in range(2, 1001, 7):
        starts = [int(processors.view_frame_indices(n, 1, 1, j, 10)[0]) for j in range(10)]
        assert starts == [int(n / 10 * j) % n for j in range(10)], n


# Decoding.


def index_jpeg(i, height=16, width=24):
    """A flat-colour JPEG whose red value is 10 * i (decodes within +-3)."""
    return records.encode_jpeg(np.full((height, width, 3), (10 * i, 0, 0), np.uint8))


def test_decode_frames_decodes_only_the_gathered_frames():
    """Frames at the sampled indices, in order; unsampled entries are never decoded."""
    jpegs = [b"not a jpeg"] * 20
    for i in (3, 7, 11, 15):
        jpegs[i] = index_jpeg(i)
    indices = tf.constant([15, 3, 11, 7, 3])
    eager, mapped, shape = run_both(
        lambda j: processors.decode_frames(j, indices, 5), tf.constant(jpegs)
    )
    # JPEG sizes are data, so only L and the channels can be static.
    assert shape[0] == 5 and shape[3] == 3
    for frames in (eager, mapped):
        assert frames.shape == (5, 16, 24, 3)
        assert frames.dtype == np.uint8
        np.testing.assert_array_equal(
            np.round(frames[..., 0].mean(axis=(1, 2)) / 10), [15, 3, 11, 7, 3]
        )


def test_decode_frames_inside_a_tf_function():
    """Inside a tf.function the clip length is static."""
    jpegs = tf.constant([index_jpeg(i) for i in range(6)])
    decode = tf.function(lambda j, idx: processors.decode_frames(j, idx, 3))
    concrete = decode.get_concrete_function(
        tf.TensorSpec([None], tf.string), tf.TensorSpec([None], tf.int32)
    )
    assert concrete.output_shapes[0] == 3 and concrete.output_shapes[3] == 3
    frames = decode(jpegs, tf.constant([5, 0, 2])).numpy()
    np.testing.assert_array_equal(np.round(frames[..., 0].mean(axis=(1, 2)) / 10), [5, 0, 2])


# Scaling (§4.5): shorter side to `side`, the other int(dim * ratio).


@pytest.mark.parametrize(
    "height, width, side, expected",
    [
        (256, 340, 320, (320, 425)),  # 340 * 320 / 256 = 425.0
        (256, 340, 256, (256, 340)),
        (340, 256, 320, (425, 320)),
        (100, 100, 64, (64, 64)),
        (240, 321, 256, (256, 342)),  # 342.4 truncated
        (321, 240, 256, (342, 256)),
        (240, 320, 227, (227, 302)),  # 302.67 truncated, not rounded
    ],
)
def test_scale_short_side_sizes(height, width, side, expected):
    """Output (T, H', W', C) float32 with the truncated sizes of the original."""
    frames = np.zeros((2, height, width, 3), np.uint8)
    eager, mapped, shape = run_both(lambda f: processors.scale_short_side(f, side), frames)
    assert eager.shape == mapped.shape == (2, *expected, 3)
    assert eager.dtype == np.float32
    assert shape == (2, *expected, 3)


def test_scale_short_side_to_the_same_size_is_the_identity():
    """Bilinear resizing to the stored size leaves every value unchanged."""
    frames = np.random.default_rng(0).integers(0, 256, (3, 32, 48, 3)).astype(np.uint8)
    eager, mapped, _ = run_both(lambda f: processors.scale_short_side(f, 32), frames)
    np.testing.assert_array_equal(eager, frames.astype(np.float32))
    np.testing.assert_array_equal(mapped, frames.astype(np.float32))


def test_scale_short_side_is_bilinear():
    """Doubling a horizontal ramp keeps it a ramp (half-pixel bilinear, no nearest steps)."""
    ramp = np.tile(np.arange(0, 80, 10, dtype=np.float32), (2, 4, 1))[..., None]  # (2, 4, 8, 1)
    out = processors.scale_short_side(ramp, 8).numpy()
    assert out.shape == (2, 8, 16, 1)
    # Interior pixels of a linear ramp stay on the line through the centres.
    np.testing.assert_allclose(out[0, 0, 1:-1, 0], 10 * (np.arange(1, 15) - 0.5) / 2, atol=1e-4)


def test_random_crop_box_covers_every_scale_and_position():
    """Side ~ U{8..12} of a 20x30 frame, crop 8: a square of round(8 * 20 / side) source pixels.

    Scaling the short side to `side` and cropping 8 pixels covers 8 * 20 / side
    source pixels; offsets are uniform over the frame, both extremes reached.
    """
    boxes = [
        tuple(int(v) for v in processors.random_crop_box(20, 30, 8, 12, 8, seed_of(i)))
        for i in range(300)
    ]
    mapped = tf.data.Dataset.range(300).map(
        lambda i: tf.stack(processors.random_crop_box(20, 30, 8, 12, 8, tf.stack([i, 7])))
    )
    assert [tuple(b) for b in mapped.as_numpy_iterator()] == boxes
    extents = {extent for _, _, extent in boxes}
    assert extents == {round(8 * 20 / side) for side in range(8, 13)}  # {20, 18, 16, 14, 13}
    for top, left, extent in boxes:
        assert 0 <= top <= 20 - extent and 0 <= left <= 30 - extent
    assert {top for top, _, e in boxes if e == 13} == set(range(8))
    assert {left for _, left, e in boxes if e == 20} == set(range(11))


def noise_jpegs(num_frames, height, width, seed=0):
    """JPEGs of random noise: the worst case for a decoder's cropping."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (num_frames, height, width, 3)).astype(np.uint8)
    return tf.constant([records.encode_jpeg(f) for f in frames])


@pytest.mark.parametrize(
    "top, left, extent", [(0, 0, 24), (5, 17, 24), (8, 40, 24), (1, 9, 31), (2, 34, 24)]
)
def test_decode_resized_crop_equals_full_decode_then_crop(top, left, extent):
    """Decoding only the box gives the full decode's pixels, to the bit (noise JPEGs).

    Resized down or up, it is `tf.image.resize` of the uint8 crop, rounded.
    """
    jpegs = noise_jpegs(3, 32, 64)
    indices = tf.constant([2, 0])
    full = processors.decode_frames(jpegs, indices, 2).numpy()
    box = (tf.constant(top), tf.constant(left), tf.constant(extent))
    same = processors.decode_resized_crop(jpegs, indices, 2, box, extent).numpy()
    np.testing.assert_array_equal(same, full[:, top : top + extent, left : left + extent])
    for size in (16, 40):
        resized = processors.decode_resized_crop(jpegs, indices, 2, box, size)
        expected = tf.image.resize(full[:, top : top + extent, left : left + extent], [size, size])
        expected = np.clip(np.round(expected.numpy()), 0, 255).astype(np.uint8)
        assert resized.shape == (2, size, size, 3) and resized.dtype == tf.uint8
        np.testing.assert_array_equal(resized.numpy(), expected)


def test_decode_resized_crop_is_exact_at_every_column():
    """Whatever the box's column, the decoded window (from a multiple of 16) gives its pixels."""
    jpegs = noise_jpegs(1, 24, 64, seed=1)
    indices = tf.constant([0])
    full = processors.decode_frames(jpegs, indices, 1).numpy()
    for left in range(64 - 20 + 1):
        box = (tf.constant(3), tf.constant(left), tf.constant(20))
        crop = processors.decode_resized_crop(jpegs, indices, 1, box, 20).numpy()
        np.testing.assert_array_equal(crop, full[:, 3:23, left : left + 20], err_msg=f"{left=}")


def test_decode_resized_crop_has_a_static_shape_in_a_map():
    jpegs = noise_jpegs(3, 32, 48)
    dataset = tf.data.Dataset.range(2).map(
        lambda i: processors.decode_resized_crop(
            jpegs,
            tf.range(3),
            3,
            processors.random_crop_box(32, 48, 32, 40, 24, tf.stack([i, i])),
            24,
        )
    )
    assert tuple(dataset.element_spec.shape) == (3, 24, 24, 3)


# Cropping (§4.5).


@pytest.mark.parametrize(
    "height, width, size, expected",
    [
        (256, 340, 256, [(0, 0), (0, 42), (0, 84)]),  # landscape: along the width
        (340, 256, 256, [(0, 0), (42, 0), (84, 0)]),  # portrait: along the height
        (256, 341, 256, [(0, 0), (0, 42), (0, 84)]),  # 2 * ((341-256)//2), not 341-256
        (256, 256, 256, [(0, 0), (0, 0), (0, 0)]),
        (32, 48, 32, [(0, 0), (0, 8), (0, 16)]),
    ],
)
def test_view_crop_positions(height, width, size, expected):
    """Position p of 3: centre offset (dim - size) // 2 along the longer side, times p."""
    frames = coordinate_frames(2, height, width)
    for position, origin in enumerate(expected):
        eager, mapped, _ = run_both(lambda f, p=position: processors.view_crop(f, size, p), frames)
        for crop in (eager, mapped):
            assert crop.shape == (2, size, size, 3)
            assert crop_origin(crop) == origin
            top, left = origin
            np.testing.assert_array_equal(crop, frames[:, top : top + size, left : left + size])


def test_view_crop_position_is_a_tensor():
    """The pipelines pass the position as an int32 tensor computed from the view index."""
    frames = tf.constant(coordinate_frames(1, 32, 48))
    for position in range(3):
        crop = processors.view_crop(frames, 32, tf.constant(position)).numpy()
        assert crop_origin(crop) == (0, 8 * position)


def test_view_crop_has_a_static_size_in_a_map():
    """Crops are always size x size, so their static shape says so (no None, STYLE 14).

    As in the pipelines, the frame size and the position are data.
    """
    frames = tf.data.Dataset.from_tensors(coordinate_frames(2, 40, 48)).map(
        lambda f: tf.image.resize(f, tf.shape(f)[1:3] - 8)  # (2, None, None, 3)
    )
    positions = tf.data.Dataset.range(2).map(lambda i: tf.cast(i, tf.int32))
    view = tf.data.Dataset.zip(frames.repeat(2), positions).map(
        lambda f, p: processors.view_crop(f, 32, p)
    )
    assert tuple(view.element_spec.shape) == (2, 32, 32, 3)


# Flip and normalisation (§4.5).


def test_flip_clip_mirrors_every_frame_or_none():
    frames = coordinate_frames(3, 4, 5)
    for flip, expected in ((True, frames[:, :, ::-1]), (False, frames)):
        eager, mapped, shape = run_both(
            lambda f, x=flip: processors.flip_clip(f, tf.constant(x)), frames
        )
        assert shape == frames.shape
        np.testing.assert_array_equal(eager, expected)
        np.testing.assert_array_equal(mapped, expected)


def test_normalize_is_scalar_rgb():
    """(x - 114.75) / 57.375 in float32, the same for all channels, RGB order kept."""
    frames = np.random.default_rng(0).integers(0, 256, (2, 4, 5, 3)).astype(np.uint8)
    expected = (frames.astype(np.float32) - np.float32(114.75)) / np.float32(57.375)
    eager, mapped, shape = run_both(lambda f: processors.normalize(f, 114.75, 57.375), frames)
    assert shape == frames.shape
    assert eager.dtype == np.float32
    np.testing.assert_array_equal(eager, expected)
    np.testing.assert_array_equal(mapped, expected)
    constant = processors.normalize(np.full((1, 1, 1, 3), 114.75, np.float32), 114.75, 57.375)
    np.testing.assert_array_equal(constant, np.zeros((1, 1, 1, 3)))


def test_normalize_bgr_reverses_the_channels():
    """`use_bgr=True` gives the same values with the channel axis reversed."""
    frames = np.random.default_rng(1).integers(0, 256, (2, 4, 5, 3)).astype(np.uint8)
    expected = (frames.astype(np.float32) - np.float32(114.75)) / np.float32(57.375)
    eager, mapped, _ = run_both(
        lambda f: processors.normalize(f, 114.75, 57.375, use_bgr=True), frames
    )
    np.testing.assert_array_equal(eager, expected[..., ::-1])
    np.testing.assert_array_equal(mapped, expected[..., ::-1])

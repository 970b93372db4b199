"""Tests of `nlkeras.data.pipelines`: batches, labels, order and the exact views.

Records are built in memory with tiny frames (32 x 48) stored at the short
side the pipelines scale to, so scaling is the identity and every clip can be
recomputed by hand from the decoded JPEGs: which frames, which crop, which
flip (§4.4, §4.5 of docs/original-semantics.md). Per-replica batches on 2
devices: tests/two_devices_test.py.
"""

import numpy as np
import pytest
import tensorflow as tf

from nlkeras.data import builder, pipelines, sources
from tests.testing import TRAIN_PIPELINE as TRAIN_ARGS
from tests.testing import decoded, write_grey_shards, write_records

MEAN, STD = 114.75, 57.375


def index_frames(num_frames, height, width, video=0):
    """uint8 (N, H, W, 3): red 10 * (i % 25) per frame, green a column ramp, blue a row ramp.

    Frames, columns and rows all differ, so a wrong frame or offset shows.
    """
    rows, cols = np.mgrid[0:height, 0:width]
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    for i in range(num_frames):
        frames[i, ..., 0] = 10 * (i % 25)
        frames[i, ..., 1] = (5 * cols + 40 * video) % 256
        frames[i, ..., 2] = (5 * rows + 3 * i) % 256
    return frames


def normalized(frames):
    return (frames.astype(np.float32) - np.float32(MEAN)) / np.float32(STD)


def view_indices(num_video_frames, num_frames, stride, clip, num_clips):
    start = clip * num_video_frames // num_clips
    return (start + np.arange(num_frames) * stride) % num_video_frames


def three_crop_origin(height, width, size, position):
    """The original's test crop: centre offsets, the longer side's one times the position."""
    top, left = (height - size) // 2, (width - size) // 2
    return (top * position, left) if top > 0 else (top, left * position)


@pytest.fixture
def train_shards(tmp_path):
    """3 shards of 2 flat-grey videos each; label k has grey level 40 + 30 * k."""
    return write_grey_shards(tmp_path)


def test_train_batches_have_static_shapes_and_matching_labels(train_shards):
    """(B, L, crop, crop, 3) float32 + int32 (B,); each clip is its own video, normalised."""
    pattern, levels = train_shards
    dataset = pipelines.train_dataset(pattern, 4, seed=0, **TRAIN_ARGS)
    clips_spec, labels_spec = dataset.element_spec
    assert tuple(clips_spec.shape) == (4, 4, 24, 24, 3)
    assert clips_spec.dtype == tf.float32
    assert tuple(labels_spec.shape) == (4,)
    assert labels_spec.dtype == tf.int32
    seen = set()
    for clips, labels in dataset.take(6):
        assert clips.shape == (4, 4, 24, 24, 3)
        for clip, label in zip(clips.numpy(), labels.numpy(), strict=True):
            assert label in levels
            # A flat grey video stays flat through scaling, cropping and flipping.
            np.testing.assert_allclose(clip, normalized(levels[label]), atol=1e-5)
            seen.add(int(label))
    # Every shard (labels 0-1, 2-3, 4-5) is read.
    assert seen == set(levels)


def first_batch(pattern, seed, **kwargs):
    clips, labels = next(iter(pipelines.train_dataset(pattern, 4, seed=seed, **kwargs)))
    return clips.numpy(), labels.numpy()


def test_train_dataset_repeats_with_its_seed(tmp_path):
    """The same seed gives the same first batch on a fresh dataset; another seed does not."""
    for shard in range(2):
        videos = [
            (index_frames(12, 32, 48, video=2 * shard + i), 2 * shard + i, f"v{i}")
            for i in range(2)
        ]
        write_records(tmp_path / f"train-{shard}.tfrecord", videos)
    pattern = str(tmp_path / "train-*.tfrecord")
    clips, labels = first_batch(pattern, 5, **TRAIN_ARGS)
    again_clips, again_labels = first_batch(pattern, 5, **TRAIN_ARGS)
    np.testing.assert_array_equal(again_clips, clips)
    np.testing.assert_array_equal(again_labels, labels)
    other_clips, _ = first_batch(pattern, 6, **TRAIN_ARGS)
    assert not np.array_equal(other_clips, clips)
    # Normalised: 0-255 maps to [-2, 2.45], not raw pixel values.
    assert -2.0 <= clips.min() < 0 < clips.max() <= (255 - MEAN) / STD + 1e-5


@pytest.mark.parametrize("flip_prob, low, high", [(0.5, 40, 88), (0.0, 0, 0)])
def test_train_flips_clips_with_the_given_probability(tmp_path, flip_prob, low, high):
    """p = 0.5 per clip (the original): a dark-left, bright-right video comes out mirrored about
    half the time (Binomial(128, 0.5): 64 +- 4 sd); p = 0 never flips."""
    frames = np.zeros((6, 32, 32, 3), np.uint8)
    frames[:, :, 16:] = 255
    write_records(tmp_path / "lr.tfrecord", [(frames, 0, "lr")])
    dataset = pipelines.train_dataset(
        str(tmp_path / "lr.tfrecord"), 32, num_frames=2, sample_rate=1, crop_size=32,
        jitter_scales=(32, 32), flip_prob=flip_prob, shuffle_buffer=1, seed=3,
    )  # fmt: skip
    clips, _ = next(iter(dataset.take(4).unbatch().batch(128)))
    left = clips[..., :8, :].numpy().mean(axis=(1, 2, 3, 4))
    right = clips[..., -8:, :].numpy().mean(axis=(1, 2, 3, 4))
    assert np.all(np.abs(left - right) > 3)  # every clip is one way round or the other
    assert low <= int(np.sum(left > right)) <= high


def test_train_dataset_without_files_names_the_pattern(tmp_path):
    """A pattern that matches nothing is an error that quotes it."""
    pattern = str(tmp_path / "nothing-*.tfrecord")
    with pytest.raises(ValueError, match="nothing-"):
        pipelines.train_dataset(pattern, 4)
    with pytest.raises(ValueError, match="nothing-"):
        pipelines.eval_dataset(pattern, 4)


# Test views (three_crop): 5 videos, landscape, portrait and an odd width, frames at short side 32.
EVAL_SHAPES = [(32, 48), (48, 32), (32, 45), (32, 32), (40, 32)]
EVAL_ARGS = dict(num_frames=4, sample_rate=3, num_clips=2, scale=32)


@pytest.fixture
def eval_videos(tmp_path):
    """Writes 5 videos of 10-22 frames and returns (pattern, [(decoded frames, label, id)])."""
    videos = [
        (index_frames(10 + 3 * v, h, w, video=v), 7 - v, f"video{v}")
        for v, (h, w) in enumerate(EVAL_SHAPES)
    ]
    # Two files: the order of the records is the order of the sorted file names.
    first = write_records(tmp_path / "test-0.tfrecord", videos[:3])
    second = write_records(tmp_path / "test-1.tfrecord", videos[3:])
    truth = [
        (decoded(jpegs), label, video_id)
        for jpegs, (_, label, video_id) in zip(first + second, videos, strict=True)
    ]
    return str(tmp_path / "test-*.tfrecord"), truth


def collect(dataset):
    """Concatenates the batches of an eval dataset; also returns the batch sizes."""
    batches = list(dataset)
    out = {key: np.concatenate([b[key].numpy() for b in batches]) for key in batches[0]}
    return out, [len(b["label"]) for b in batches]


def expected_view(frames, clip, position, num_clips=2, num_frames=4, stride=3, size=32):
    """A three-crop view computed by hand from the stored frames (scaling is the identity)."""
    indices = view_indices(len(frames), num_frames, stride, clip, num_clips)
    top, left = three_crop_origin(*frames.shape[1:3], size, position)
    return normalized(frames[indices, top : top + size, left : left + size])


def test_three_crop_yields_every_view_once_in_order(eval_videos):
    """5 videos x 2 clips x 3 crops = 30 views, batches of 4: each (video, view) once, in order."""
    pattern, truth = eval_videos
    dataset = pipelines.eval_dataset(pattern, 4, protocol="three_crop", **EVAL_ARGS)
    out, sizes = collect(dataset)
    assert sizes == [4] * 7 + [2]
    pairs = list(zip(out["video_index"].tolist(), out["view_index"].tolist(), strict=True))
    assert pairs == [(v, w) for v in range(5) for w in range(6)]
    assert out["label"].dtype == np.int32
    assert out["video_index"].dtype == np.int64
    assert out["view_index"].dtype == np.int32
    assert out["label"].tolist() == [label for _, label, _ in truth for _ in range(6)]
    assert out["video_id"].tolist() == [vid.encode() for _, _, vid in truth for _ in range(6)]
    assert out["clips"].shape == (30, 4, 32, 32, 3)


def test_three_crop_views_are_the_original_clips_and_crops(eval_videos):
    """View (clip j, crop c): frames floor(j*N/K) + i*S mod N, crop c along the longer side."""
    pattern, truth = eval_videos
    out, _ = collect(pipelines.eval_dataset(pattern, 4, protocol="three_crop", **EVAL_ARGS))
    for v, (frames, _, _) in enumerate(truth):
        for clip in range(2):
            for position in range(3):
                got = out["clips"][6 * v + 3 * clip + position]
                want = expected_view(frames, clip, position)
                np.testing.assert_allclose(
                    got, want, atol=1e-5, err_msg=f"{v=} {clip=} {position=}"
                )
    # The readable part: video 1 (13 frames, portrait 48 x 32) clip 1 starts at floor(13 / 2) = 6
    # and wraps: frames 6, 9, 12, 2 (red 10 * i); crop 2 starts at row 16 (blue 5 * row + 3 * i,
    # read from its mean) and column 0 (green 5 * column + 40).
    view = out["clips"][6 + 5] * STD + MEAN
    np.testing.assert_array_equal(np.round(view[..., 0].mean(axis=(1, 2)) / 10), [6, 9, 12, 2])
    assert round((view[0, ..., 2].mean() - 18) / 5 - 15.5) == 16
    assert round((view[0, ..., 1].mean() - 40) / 5 - 15.5) == 0


def test_three_crop_flip_adds_the_mirrored_views(eval_videos):
    """`flip=True`: twice the views; each flipped view is its neighbour reversed along width."""
    pattern, _ = eval_videos
    plain, _ = collect(pipelines.eval_dataset(pattern, 4, protocol="three_crop", **EVAL_ARGS))
    out, sizes = collect(
        pipelines.eval_dataset(pattern, 4, protocol="three_crop", flip=True, **EVAL_ARGS)
    )
    assert sum(sizes) == 60
    pairs = list(zip(out["video_index"].tolist(), out["view_index"].tolist(), strict=True))
    assert pairs == [(v, w) for v in range(5) for w in range(12)]
    # Unflipped views are the plain ones, in the same order; each is followed by its mirror.
    np.testing.assert_array_equal(out["clips"][0::2], plain["clips"])
    np.testing.assert_array_equal(out["clips"][1::2], plain["clips"][:, :, :, ::-1])
    assert out["label"].tolist() == np.repeat(plain["label"], 2).tolist()


def test_full_frame_batches_are_whole_videos(eval_videos):
    """`full_frame`: one batch per video holding its K whole frames, whatever the aspect ratio."""
    pattern, truth = eval_videos
    dataset = pipelines.eval_dataset(pattern, 100, protocol="full_frame", **EVAL_ARGS)
    batches = list(dataset)
    assert len(batches) == 5
    for v, (batch, (frames, label, video_id)) in enumerate(zip(batches, truth, strict=True)):
        height, width = EVAL_SHAPES[v]
        assert batch["clips"].shape == (2, 4, height, width, 3)
        assert batch["video_index"].numpy().tolist() == [v, v]
        assert batch["view_index"].numpy().tolist() == [0, 1]
        assert batch["label"].numpy().tolist() == [label, label]
        assert batch["video_id"].numpy().tolist() == [video_id.encode()] * 2
        for clip in range(2):
            indices = view_indices(len(frames), 4, 3, clip, 2)
            np.testing.assert_allclose(batch["clips"][clip], normalized(frames[indices]), atol=1e-5)


def test_full_frame_flip(eval_videos):
    """Full-frame views with flips: 2 clips x 2, the mirror reversed along width."""
    pattern, _ = eval_videos
    batch = next(iter(pipelines.eval_dataset(pattern, 4, "full_frame", flip=True, **EVAL_ARGS)))
    clips = batch["clips"].numpy()
    assert clips.shape == (4, 4, 32, 48, 3)
    np.testing.assert_array_equal(clips[1::2], clips[0::2, :, :, ::-1])


def test_full_frame_views_come_in_chunks_of_one_video(eval_videos):
    """A batch of 3 holds at most 3 views, never views of two videos (their sizes differ)."""
    pattern, _ = eval_videos
    batches = list(pipelines.eval_dataset(pattern, 3, "full_frame", flip=True, **EVAL_ARGS))
    assert [len(b["label"]) for b in batches] == [3, 1] * 5
    for batch in batches:
        assert len(set(batch["video_index"].numpy().tolist())) == 1
    views = np.concatenate([b["view_index"].numpy() for b in batches])
    assert views.tolist() == [0, 1, 2, 3] * 5


def test_builder_records_feed_both_pipelines(video_folder, tmp_path):
    """Shards written by `build_tfrecords` from real mp4 files are read by both pipelines."""
    entries = sources.from_class_folders(str(video_folder))
    out = tmp_path / "records"
    builder.build_tfrecords(entries, str(out), "train", 2, workers=0, short_side=32, progress=False)
    pattern = str(out / "train-*.tfrecord")
    clips, labels = next(iter(pipelines.train_dataset(pattern, 3, seed=0, **TRAIN_ARGS)))
    assert clips.shape == (3, 4, 24, 24, 3)
    assert set(labels.numpy().tolist()) <= {0, 1, 2}
    out, sizes = collect(pipelines.eval_dataset(pattern, 5, protocol="three_crop", **EVAL_ARGS))
    assert sum(sizes) == 6 * len(entries)
    assert out["clips"].shape[1:] == (4, 32, 32, 3)
    # Class folders sorted: ant 0, bee 1, cat 2; two videos each, in the entries' order.
    assert out["label"].tolist() == [e.label for e in entries for _ in range(6)]
    assert out["video_id"].tolist() == [e.video_id.encode() for e in entries for _ in range(6)]

"""Video files -> TFRecords: round trip, the Model Garden schema, skips, resumption."""

import dataclasses
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from nlkeras.data import builder, features, records, sources
from nlkeras.data.video_io import VideoError, read_video
from tests.testing import smooth_frames, write_mp4


def read_records(pattern):
    out = []
    for path in sorted(tf.io.gfile.glob(pattern)):
        for serialized in tf.data.TFRecordDataset(path):
            out.append(records.parse_sequence_example(serialized))
    return out


def psnr(a, b):
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return 10 * np.log10(255**2 / mse)


def test_round_trip_video_to_frames(tmp_path):
    """OpenCV mp4 -> TFRecord -> parsed frames: the source frames within JPEG error."""
    source = smooth_frames(9, 48, 64, seed=3)
    path = write_mp4(tmp_path / "v" / "jump" / "clip7.mp4", source, fps=15.0)
    decoded, fps = read_video(str(path), short_side=48)
    entries = [sources.VideoEntry(str(path), 5, "jump", "clip7")]
    summary = builder.build_tfrecords(
        entries, str(tmp_path / "out"), name="val", num_shards=1, workers=0, short_side=48,
        progress=False,
    )  # fmt: skip
    assert summary.videos_written == 1 and summary.frames == 9
    (video,) = read_records(str(tmp_path / "out" / "val-*"))
    frames = np.stack([tf.io.decode_jpeg(j).numpy() for j in video[features.FRAMES]])
    assert frames.shape == source.shape
    # mp4 (lossy) then JPEG at quality 90 (lossy, 4:2:0 chroma): PSNR well above 30 dB.
    assert psnr(frames, decoded) > 36
    assert psnr(frames, source) > 33
    assert int(video[features.LABEL]) == 5
    assert video[features.LABEL_TEXT].numpy() == b"jump"
    assert video[features.VIDEO_ID].numpy() == b"clip7"
    assert fps == pytest.approx(15.0) and float(video[features.FPS]) == pytest.approx(15.0)


def test_records_parse_with_model_garden_feature_spec(video_folder, tmp_path):
    """TF Model Garden's video reader: VarLen int64 label, FixedLenSequence JPEG strings."""
    entries = sources.from_class_folders(str(video_folder))
    builder.build_tfrecords(entries, str(tmp_path), "train", 2, workers=0, progress=False)
    path = sorted(tf.io.gfile.glob(str(tmp_path / "train-*")))[0]
    serialized = next(iter(tf.data.TFRecordDataset(path)))
    context, sequence = tf.io.parse_single_sequence_example(
        serialized,
        context_features={"clip/label/index": tf.io.VarLenFeature(tf.int64)},
        sequence_features={"image/encoded": tf.io.FixedLenSequenceFeature([], tf.string)},
    )
    label = tf.sparse.to_dense(context["clip/label/index"]).numpy()
    assert label.shape == (1,) and 0 <= label[0] < 3
    first = tf.io.decode_jpeg(sequence["image/encoded"][0])
    assert first.shape == (256, 341, 3)  # 48x64 stored at short side 256, aspect kept
    example = tf.train.SequenceExample.FromString(serialized.numpy())
    ctx = example.context.feature
    assert ctx[features.FRAME_COUNT_KEY].int64_list.value[0] == len(sequence["image/encoded"])
    assert (
        ctx[features.HEIGHT_KEY].int64_list.value[0],
        ctx[features.WIDTH_KEY].int64_list.value[0],
    ) == (256, 341)
    assert ctx[features.FORMAT_KEY].bytes_list.value[0] == b"jpeg"


def make_bad_videos(root):
    """One good video per class plus the four kinds of unusable file."""
    good = write_mp4(root / "run" / "good.mp4", smooth_frames(6, 32, 48))
    write_mp4(root / "walk" / "good2.mp4", smooth_frames(7, 32, 48, seed=1))
    write_mp4(root / "walk" / "single.mp4", smooth_frames(1, 32, 48))
    (root / "walk" / "empty.mp4").write_bytes(b"")
    (root / "walk" / "notes.mp4").write_text("not a video at all")
    data = good.read_bytes()
    (root / "run" / "truncated.mp4").write_bytes(data[: len(data) // 2])


def test_unusable_videos_are_skipped_with_their_reason(tmp_path):
    make_bad_videos(tmp_path / "videos")
    entries = sources.from_class_folders(str(tmp_path / "videos"))
    summary = builder.build_tfrecords(
        entries, str(tmp_path / "out"), "train", 3, workers=0, short_side=32, progress=False
    )
    reasons = {os.path.basename(s["path"]): s["reason"] for s in summary.skipped}
    assert set(reasons) == {"single.mp4", "empty.mp4", "notes.mp4", "truncated.mp4"}
    assert "0 bytes" in reasons["empty.mp4"]
    assert "1 frame" in reasons["single.mp4"]
    assert "not a readable video" in reasons["notes.mp4"]
    assert "not a readable video" in reasons["truncated.mp4"]
    assert summary.videos_written == 2 and summary.videos_skipped == 4
    assert summary.class_histogram == {"run": 1, "walk": 1}
    assert summary.class_ids == {"run": 0, "walk": 1}
    assert summary.frames == 13 and summary.bytes > 0
    assert summary.input_hash == builder.list_hash(entries)
    assert builder.SplitSummary.read(str(tmp_path / "out" / "train.summary.json")) == summary
    with open(tmp_path / "out" / "train.summary.json") as f:
        fields = {field.name for field in dataclasses.fields(builder.SplitSummary)}
        assert set(json.load(f)) == fields
    ids = sorted(
        v[features.VIDEO_ID].numpy() for v in read_records(str(tmp_path / "out" / "train-*"))
    )
    assert ids == [b"good", b"good2"]


def test_read_video_errors():
    with pytest.raises(VideoError, match="file not found"):
        read_video("/nonexistent/video.mp4")


def test_resample_fps(tmp_path):
    path = write_mp4(tmp_path / "a.mp4", smooth_frames(20, 32, 48), fps=20.0)
    frames, fps = read_video(str(path), short_side=32, target_fps=5.0)
    assert fps == 5.0 and len(frames) == 5  # frames 0, 4, 8, 12, 16
    native, _ = read_video(str(path), short_side=32)
    np.testing.assert_array_equal(frames, native[::4])
    up, _ = read_video(str(path), short_side=32, target_fps=40.0)
    assert len(up) == 40
    np.testing.assert_array_equal(up[::2], native)


def test_short_side_resize_keeps_aspect(tmp_path):
    landscape = write_mp4(tmp_path / "l.mp4", smooth_frames(3, 48, 64))
    portrait = write_mp4(tmp_path / "p.mp4", smooth_frames(3, 64, 48))
    assert read_video(str(landscape), short_side=96)[0].shape[1:3] == (96, 128)
    assert read_video(str(portrait), short_side=96)[0].shape[1:3] == (128, 96)


def test_killed_build_rerun_writes_every_video_exactly_once(tmp_path, monkeypatch):
    """A crash mid-shard leaves finished shards alone; the re-run completes the rest."""
    root = tmp_path / "videos"
    for i in range(8):
        write_mp4(root / f"class{i % 2}" / f"v{i}.mp4", smooth_frames(4, 32, 48, seed=i))
    entries = sources.from_class_folders(str(root))
    out = str(tmp_path / "out")
    calls = {"n": 0}

    def crash_on_sixth(path, short_side, target_fps):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt("killed")
        return read_video(path, short_side, target_fps)

    monkeypatch.setattr(builder, "read_video", crash_on_sixth)
    with pytest.raises(KeyboardInterrupt):
        builder.build_tfrecords(entries, out, "train", 4, workers=0, short_side=32, progress=False)
    finished = sorted(f for f in os.listdir(out) if f.endswith(".tfrecord"))
    assert len(finished) == 2  # shards 0 and 1 (videos 0-3); shard 2 died at video 5
    mtimes = {f: os.path.getmtime(os.path.join(out, f)) for f in finished}
    monkeypatch.setattr(builder, "read_video", read_video)
    summary = builder.build_tfrecords(
        entries, out, "train", 4, workers=0, short_side=32, progress=False
    )
    assert {f: os.path.getmtime(os.path.join(out, f)) for f in finished} == mtimes
    ids = [
        v[features.VIDEO_ID].numpy().decode() for v in read_records(os.path.join(out, "train-*"))
    ]
    assert sorted(ids) == sorted(f"v{i}" for i in range(8))  # each once: none missing, none twice
    assert summary.videos_written == 8
    assert not [f for f in os.listdir(out) if ".tmp" in f]


def test_changed_input_rebuilds_shards(tmp_path, video_folder):
    """A finished shard is reused only for the same input list and options."""
    entries = sources.from_class_folders(str(video_folder))
    out = str(tmp_path / "out")
    builder.build_tfrecords(entries, out, "train", 2, workers=0, short_side=32, progress=False)
    summary = builder.build_tfrecords(
        entries[:-1], out, "train", 2, workers=0, short_side=32, progress=False
    )
    assert summary.videos_written == 5
    assert len(read_records(os.path.join(out, "train-*"))) == 5


def test_parallel_workers_and_shuffled_shards(tmp_path, video_folder):
    entries = sources.from_class_folders(str(video_folder))
    summary = builder.build_tfrecords(
        entries, str(tmp_path), "train", 3, workers=2, short_side=32, shuffle_seed=0, progress=False
    )
    assert summary.videos_written == 6 and len(summary.shards) == 3
    ids = sorted(
        v[features.VIDEO_ID].numpy().decode() for v in read_records(str(tmp_path / "train-*"))
    )
    assert ids == sorted(e.video_id for e in entries)


def test_build_split_from_a_list_file(tmp_path, video_folder, capsys):
    """`tools.build_tfrecords --list_file=... --classes=classids.json --split=val`."""
    listing = tmp_path / "vallist.txt"
    videos = sorted(video_folder.glob("*/*.mp4"))
    listing.write_text("".join(f"{v} {i % 3}\n" for i, v in enumerate(videos)))
    classes = tmp_path / "classids.json"
    classes.write_text(json.dumps({"ant": 0, '"bee hive"': 1, "cat": 2}))
    builder.build_split(
        str(tmp_path / "out"), "val", list_file=str(listing), classes=str(classes),
        num_shards=2, workers=0, short_side=32,
    )  # fmt: skip
    assert "val: 6 videos written, 0 skipped" in capsys.readouterr().out
    texts = [
        v[features.LABEL_TEXT].numpy().decode()
        for v in read_records(str(tmp_path / "out" / "val-*"))
    ]
    assert texts == ["ant", "bee hive", "cat"] * 2  # list order kept for evaluation splits


def test_split_entries_from_class_folders_and_the_refusals(video_folder):
    assert builder.split_entries(videos=str(video_folder)) == sources.from_class_folders(
        str(video_folder)
    )
    with pytest.raises(ValueError, match="--kinetics_csv needs --videos"):
        builder.split_entries(kinetics_csv="kinetics_400_val.csv")
    with pytest.raises(ValueError, match="Name the videos with --videos, --list_file or"):
        builder.split_entries()

"""Damaged shards: found where they break, skipped only when asked and counted, never silently."""

import logging
import os
import resource
import signal
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from nlkeras.data import builder, records, shards, sources, synthetic
from nlkeras.data.builder import build_tfrecords
from tests.testing import damage

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write_shard(path, count=7):
    frame = np.full((16, 24, 3), 90, np.uint8)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for i in range(count):
            jpegs = [records.encode_jpeg(frame)] * 4
            example = records.make_sequence_example(jpegs, 0, "a", f"v{i}", 10.0, 16, 24)
            writer.write(example.SerializeToString())
    return path


@pytest.fixture
def three_shards(tmp_path):
    paths = [write_shard(tmp_path / f"train-0000{i}-of-00003.tfrecord") for i in range(3)]
    damage(paths[1], "truncate")
    damage(paths[2], "zero")
    return paths


def test_verify_finds_where_each_shard_breaks(three_shards):
    good, truncated, zeroed = (shards.verify_shard(str(p)) for p in three_shards)
    assert good.ok and good.records == 7
    assert not truncated.ok and truncated.records == 4 and "truncated record" in truncated.reason
    assert not zeroed.ok and zeroed.records == 3 and "corrupted record" in zeroed.reason
    assert zeroed.bad_offset is not None and f"at byte {zeroed.bad_offset}" in str(zeroed)
    assert shards.first_bad_shard([str(p) for p in three_shards]).path == str(three_shards[1])


def test_a_frame_that_does_not_decode_is_found(tmp_path):
    path = tmp_path / "bad-frame.tfrecord"
    example = records.make_sequence_example([b"not a jpeg"], 0, "a", "v", 10.0, 16, 24)
    with tf.io.TFRecordWriter(str(path)) as writer:
        writer.write(example.SerializeToString())
    report = shards.verify_shard(str(path))
    assert not report.ok and "does not decode" in report.reason
    assert shards.verify_shard(str(path), decode=False).ok  # its CRCs are fine


def test_damaged_shards_are_skipped_counted_and_warned_once(three_shards, caplog):
    damaged = shards.DamagedShards()
    files = tf.data.Dataset.from_tensor_slices([str(p) for p in three_shards]).repeat(2)
    dataset = files.interleave(damaged.records, cycle_length=2)
    with caplog.at_level(logging.WARNING):
        count = sum(1 for _ in dataset)
    readable = sum(shards.verify_shard(str(p)).records for p in three_shards)
    assert count == 2 * readable  # everything before the damage, nothing after
    assert damaged.skips() == {str(three_shards[1]): 2, str(three_shards[2]): 2}
    assert sum("Skipping the rest of" in r.message for r in caplog.records) == 2


def test_without_skipping_the_error_names_the_shard(three_shards):
    files = [str(p) for p in three_shards]
    dataset = tf.data.Dataset.from_tensor_slices(files).flat_map(shards.reader())
    with pytest.raises(shards.DamagedShardError, match=r"train-00001-of-00003.*record 4"):
        list(shards.named_errors(iter(dataset), files))


def test_verify_split_lists_every_bad_shard(three_shards, capsys):
    """`tools.build_tfrecords --verify`: exit status 1 when this returns any bad shard."""
    bad = builder.verify_split(str(three_shards[0].parent), "train")
    assert [report.path for report in bad] == [str(p) for p in three_shards[1:]]
    stdout = capsys.readouterr().out
    lines = [line for line in stdout.splitlines() if line.startswith("BAD")]
    assert len(lines) == 2 and "00001" in lines[0] and "00002" in lines[1]
    assert "train: 1 of 3 shards good, 2 bad" in stdout
    with pytest.raises(ValueError, match="No shards test-"):
        builder.verify_split(str(three_shards[0].parent), "test")


def _build_on_a_small_disk(out, videos, limit):
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    build_tfrecords(sources.from_class_folders(videos), out, "train", 2, 0, 96, progress=False)


def test_a_shard_that_cannot_be_written_names_itself_and_leaves_nothing_half(tmp_path):
    videos = tmp_path / "videos"
    for i in range(4):
        frames = synthetic.render_video(0, np.random.default_rng(i), 96, 128, num_frames=24)
        synthetic.write_video(videos / "a" / f"v{i}.mp4", frames)
    out = tmp_path / "shards"
    build_tfrecords(sources.from_class_folders(str(videos)), str(out), "full", 2, 0, 96)
    size = min(p.stat().st_size for p in out.glob("full-*.tfrecord"))
    code = (
        "import sys; from tests.data.shards_test import _build_on_a_small_disk as build; "
        f"build({str(out)!r}, {str(videos)!r}, {size // 2})"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ROOT},
    )  # fmt: skip
    assert result.returncode != 0
    assert "OSError: Could not write shard " in result.stderr
    assert "train-00000-of-00002.tfrecord" in result.stderr
    assert not list(out.glob("train-*"))  # no shard, whole or partial

"""The test summary, in process: the split's list is the denominator, lost videos are named.

`nlkeras.evaluate` and the test after training share `evaluate_split` /
`summarize`, so both divide by the same number.
"""

import json
import shutil

import pytest

from nlkeras.data import pipelines
from nlkeras.evaluation.summary import evaluate_split
from nlkeras.evaluation.video_scores import score_views
from nlkeras.models import build_classifier
from tests.testing import (
    EVALUATION_MODEL,
    read_log,
    tiny_training,
    train_in_process,
    write_brightness_videos,
)

DATA = dict(batch_size=4, num_clips=2, scale=64, sample_rate=1)


def model_of(weights):
    model = build_classifier(**EVALUATION_MODEL)
    model.load_weights(weights)
    return model


def summary_of(data, weights, protocol):
    files = pipelines.list_files(str(data / "test-*"))
    views = {"three_crop": 6, "full_frame": 2}[protocol]
    return evaluate_split(model_of(weights), files, {**DATA, "protocol": protocol}, views)


def test_a_video_the_builder_skipped_counts_as_wrong(split, weights):
    """7 videos listed, 6 scored: accuracy over 7, as nlkeras.evaluate and the original."""
    summary = summary_of(split, weights, "three_crop")
    assert (summary["videos"], summary["videos_scored"], summary["videos_missing"]) == (7, 6, 1)
    assert [s["video_id"] for s in summary["videos_skipped_by_builder"]] == ["broken"]
    dataset = pipelines.eval_dataset(str(split / "test-*"), protocol="three_crop", **DATA)
    reference = score_views(model_of(weights).with_head("probabilities"), dataset)
    assert summary["top1"] == pytest.approx(reference.accuracy(1, 7))
    assert summary["top5"] == pytest.approx(reference.accuracy(5, 7)) == 6 / 7


def test_the_test_after_training_divides_by_the_list(split, tmp_path):
    """The trainer's test line counts the builder's skipped video among the videos."""
    write_brightness_videos(tmp_path / "train-00000-of-00001.tfrecord", videos_per_class=1)
    settings = tiny_training(
        tmp_path, solver__max_iter=1, data__val_files="", data__test_files=str(split / "test-*"),
        train__precise_bn=False,
    )  # fmt: skip
    summary = train_in_process(settings, tmp_path / "run")
    (line,) = [line for line in read_log(tmp_path / "run") if "test_videos" in line]
    assert line["test_videos"] == summary["videos"] == 7 and line["test_videos_missing"] == 1
    assert line["test_video_top5"] == summary["top5"] == pytest.approx(6 / 7)  # 4 classes, 1 lost


def test_a_damaged_shard_leaves_its_videos_missing_and_listed(split, weights, tmp_path):
    """A truncated shard: the videos after the damage count as wrong and are named, with why."""
    data = tmp_path / "data"
    shutil.copytree(split, data)
    shard = data / "test-00001-of-00002.tfrecord"
    with open(data / "test.build" / f"{shard.name}.json") as f:
        in_shard = json.load(f)["written"]
    shard.write_bytes(shard.read_bytes()[:-100])  # the last record loses its end
    summary = summary_of(data, weights, "full_frame")
    (unreadable,) = summary["unreadable_shards"]
    assert unreadable["shard"] == str(shard) and "truncated record" in unreadable["reason"]
    assert unreadable["videos_lost"] == in_shard[-1:]
    assert unreadable["records_read"] == len(in_shard) - 1
    assert summary["videos"] == 7 and summary["videos_scored"] == 5
    assert summary["videos_missing"] == 2  # the builder's skip and the lost video

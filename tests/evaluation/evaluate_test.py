"""`nlkeras.evaluate` end to end: builder data with a skipped video, both protocols, the workers.

`nlkeras.evaluation.run.evaluate` runs in process; one command run checks
what the command line adds (its flags, its printed line). The summary's
logic is tested in summary_test.py; 2 replicas against one device in
tests/two_devices_test.py.
"""

import functools
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from nlkeras import config as config_lib
from nlkeras.evaluation.parts import wait_for
from nlkeras.evaluation.run import evaluate
from nlkeras.evaluation.video_scores import VideoScores
from nlkeras.models import build_classifier
from tests.testing import EVALUATION_MODEL as TINY
from tests.testing import evaluation_scores, recipe_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def settings(protocol):
    """The demo's config keys shrunk to the tiny evaluation model, testing with `protocol`."""
    return {
        "model.num_classes": 3, "model.width": 4, "model.stage_blocks": (1, 1, 1, 1),
        "non_local.stages": (3,), "non_local.layer_mod": 1, "data.sample_rate": 1,
        "test.num_clips": 2, "test.views_per_batch": 4, "test.scale": 64,
        "test.protocol": protocol,
    }  # fmt: skip


def demo_config(protocol="three_crop"):
    """What `nlkeras.evaluate --recipe=demo --config.KEY=VALUE` validates for `settings`."""
    config = config_lib.validate(recipe_config("demo", settings(protocol)))
    config.recipe = "demo"
    return config


def written(out):
    """The `summary.json` and `scores.npz` an evaluation wrote to `out`."""
    with open(out / "summary.json") as f:
        return json.load(f), np.load(out / "scores.npz")


@pytest.fixture(scope="module")
def reference_scores(split, weights):
    """What an evaluation must compute, by protocol: the model over `eval_dataset`, summed."""
    return functools.cache(functools.partial(evaluation_scores, str(split / "test-*"), weights))


@pytest.fixture(scope="module")
def evaluated(split, weights, tmp_path_factory):
    """`evaluate` by protocol: the `summary.json` and `scores.npz` it wrote."""

    @functools.cache
    def run(protocol):
        out = tmp_path_factory.mktemp(protocol)
        summary = evaluate(demo_config(protocol), weights, str(split / "test-*"), str(out))
        files = written(out)
        assert files[0] == summary  # what it returns is what it wrote
        return files

    return run


@pytest.mark.parametrize("protocol, views", [("three_crop", 6), ("full_frame", 2)])
def test_evaluate_writes_scores_and_summary(split, evaluated, reference_scores, protocol, views):
    summary, scores = evaluated(protocol)
    reference = reference_scores(protocol)

    # The builder skipped the corrupt file: 7 videos listed, 6 scored, the 7th counts wrong.
    assert summary["protocol"] == protocol
    assert summary["videos"] == 7 and summary["videos_scored"] == 6
    assert summary["videos_missing"] == 1
    assert [s["video_id"] for s in summary["videos_skipped_by_builder"]] == ["broken"]
    assert summary["views"] == 6 * views and summary["views_per_video"] == views
    assert summary["videos_with_missing_views"] == []
    with open(split / "test.summary.json") as f:
        built = json.load(f)
    assert (
        summary["dataset_summaries"][str(split / "test.summary.json")]["input_hash"]
        == (built["input_hash"])
    )
    assert summary["top1"] == pytest.approx(reference.accuracy(1, 7))
    assert summary["top5"] == pytest.approx(reference.accuracy(5, 7))
    assert summary["clip_top1"] == pytest.approx(reference.clip_accuracy(1))

    # Per-video scores: the summed view probabilities, with ids and labels.
    assert sorted(scores["video_id"]) == ["ant0", "ant1", "bee0", "bee1", "cat0", "cat1"]
    for index, video_id, label, count, summed in zip(
        scores["video_index"], scores["video_id"], scores["label"], scores["views"],
        scores["scores"], strict=True,
    ):  # fmt: skip
        assert reference.ids[index] == video_id and reference.labels[index] == label
        assert count == views
        np.testing.assert_allclose(summed, reference.sums[index], atol=1e-5)
        assert summed.sum() == pytest.approx(views, abs=1e-4)


def test_mismatched_weights_are_refused(split, tmp_path):
    """Weights of another model stop the evaluation with an error, not a silent score."""
    # An extra res3 block: Keras alone would load the shared layers and ignore the rest.
    other = build_classifier(**{**TINY, "non_local_layer_mod": 2, "stage_blocks": (1, 2, 1, 1)})
    path = str(tmp_path / "other.weights.h5")
    other.save_weights(path)
    with pytest.raises(ValueError, match="weight arrays, the model has"):
        evaluate(demo_config(), path, str(split / "test-*"), str(tmp_path / "out"))


def test_two_workers_share_the_shards_and_worker_0_merges(split, weights, evaluated, tmp_path):
    """2 workers: each scores one shard; worker 0's summary equals one worker's."""
    alone, alone_scores = evaluated("three_crop")
    out = tmp_path / "shared"
    # Worker 1 first: it writes its part and returns; worker 0 merges it with its own.
    summaries = [
        evaluate(demo_config(), weights, str(split / "test-*"), str(out), position=i, workers=2)
        for i in (1, 0)
    ]
    assert summaries[0] is None and sorted(os.listdir(out)) == [
        "scores-part0-of-2.npz", "scores-part1-of-2.npz", "scores.npz", "summary.json",
    ]  # fmt: skip
    shared, merged = written(out)
    assert shared == summaries[1]
    for key in ("videos", "videos_scored", "videos_missing", "views", "top1", "top5", "clip_top1"):
        assert shared[key] == pytest.approx(alone[key]), key
    by_id = dict(zip(alone_scores["video_id"], alone_scores["scores"], strict=True))
    assert sorted(merged["video_id"]) == sorted(by_id)
    for video_id, summed in zip(merged["video_id"], merged["scores"], strict=True):
        np.testing.assert_allclose(summed, by_id[video_id], atol=1e-5)


def test_the_command_writes_and_prints_what_evaluate_computes(split, weights, evaluated, tmp_path):
    """`python -m nlkeras.evaluate` with --data, --out and overrides: the same files, one line."""
    summary, scores = evaluated("full_frame")
    args = [
        sys.executable, "-m", "nlkeras.evaluate", "--recipe=demo", f"--weights={weights}",
        f"--data={split / 'test-*'}", f"--out={tmp_path}",
        *(f"--config.{key}={value}" for key, value in settings("full_frame").items()),
    ]  # fmt: skip
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    command_summary, command_scores = written(tmp_path)
    assert command_summary == summary
    np.testing.assert_array_equal(command_scores["video_id"], scores["video_id"])
    np.testing.assert_allclose(command_scores["scores"], scores["scores"], atol=1e-5)
    assert f"video top-1 {100 * summary['top1']:.2f}%" in result.stdout


def test_worker_0_merges_only_parts_of_this_run(tmp_path):
    """A part left by another run (other key) is never merged; this run's is."""
    part = VideoScores()
    part.add([0], [1], [[0.2, 0.8]], [b"v"])
    part.save(str(tmp_path / "part.npz"), run_key="earlier run")
    with pytest.raises(SystemExit, match="Gave up waiting"):
        wait_for(str(tmp_path / "part.npz"), "this run", minutes=0.001, poll_seconds=0.01)
    part.save(str(tmp_path / "part.npz"), run_key="this run")
    assert wait_for(str(tmp_path / "part.npz"), "this run", minutes=0.001).ids == {0: "v"}

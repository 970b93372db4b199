"""`python -m nlkeras.evaluate` end to end: builder data with a skipped video, both protocols.

The command line and the workers are the point here; the summary's logic is
tested in process in summary_test.py.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from nlkeras.data import pipelines
from nlkeras.evaluation.parts import wait_for
from nlkeras.evaluation.video_scores import VideoScores, score_views
from nlkeras.models import build_classifier
from nlkeras.weights.files import load_weights
from tests.testing import EVALUATION_MODEL as TINY

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OVERRIDES = [
    "--config.model.num_classes=3", "--config.model.width=4",
    "--config.model.stage_blocks=(1, 1, 1, 1)", "--config.non_local.stages=(3,)",
    "--config.non_local.layer_mod=1", "--config.data.sample_rate=1",
    "--config.test.num_clips=2", "--config.test.views_per_batch=4", "--config.test.scale=64",
]  # fmt: skip


def reference_scores(split, weights, protocol):
    """What the command must compute: the model over `eval_dataset`, views summed."""
    model = build_classifier(**TINY, head="probabilities")
    model.load_weights(weights)
    dataset = pipelines.eval_dataset(
        str(split / "test-*"), 4, protocol, num_clips=2, scale=64, sample_rate=1
    )
    return score_views(model, dataset)


def evaluate(split, weights, out, *extra):
    args = [
        sys.executable, "-m", "nlkeras.evaluate", "--recipe=demo", f"--weights={weights}",
        f"--data={split / 'test-*'}", f"--out={out}", *OVERRIDES, *extra,
    ]  # fmt: skip
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out / "summary.json") as f:
        return json.load(f), np.load(out / "scores.npz"), result.stdout


@pytest.fixture(scope="module")
def evaluated(split, weights, tmp_path_factory):
    """`python -m nlkeras.evaluate` once per protocol, on one process."""
    cache = {}

    def run(protocol):
        if protocol not in cache:
            out = tmp_path_factory.mktemp(protocol)
            cache[protocol] = evaluate(split, weights, out, f"--config.test.protocol={protocol}")
        return cache[protocol]

    return run


@pytest.mark.parametrize("protocol, views", [("three_crop", 6), ("full_frame", 2)])
def test_evaluate_writes_scores_and_summary(split, weights, evaluated, protocol, views):
    summary, scores, stdout = evaluated(protocol)
    reference = reference_scores(split, weights, protocol)

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
    assert f"video top-1 {100 * summary['top1']:.2f}%" in stdout

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


def test_two_replicas_score_like_one_device(split, weights):
    """MirroredStrategy over 2 logical CPUs, batches split unevenly: the same video scores."""
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tests", "evaluation", "mirrored_scores.py"),
         str(split / "test-*"), weights],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT}, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    scores = json.loads(result.stdout.strip().splitlines()[-1])
    assert scores["two_views"] == scores["one_views"] == {str(v): 6 for v in range(6)}
    for video, summed in scores["one"].items():
        np.testing.assert_allclose(scores["two"][video], summed, atol=1e-5)


def test_mismatched_weights_are_refused(tmp_path):
    """Weights of another model stop the evaluation with an error, not a silent score."""
    # An extra res3 block: Keras alone would load the shared layers and ignore the rest.
    other = build_classifier(**{**TINY, "non_local_layer_mod": 2, "stage_blocks": (1, 2, 1, 1)})
    path = str(tmp_path / "other.weights.h5")
    other.save_weights(path)
    model = build_classifier(**TINY, head="probabilities")
    with pytest.raises(ValueError, match="weight arrays, the model has"):
        load_weights(model, path, strict=True)  # as nlkeras.evaluate loads them


def test_two_workers_share_the_shards_and_worker_0_merges(split, weights, evaluated, tmp_path):
    """TF_CONFIG with 2 workers: each scores one shard; worker 0's summary equals one process's."""
    alone, alone_scores, _ = evaluated("three_crop")
    cluster = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
    processes = []
    for index in (1, 0):  # worker 1 first: worker 0 must wait for it either way
        tf_config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        args = [
            sys.executable, "-m", "nlkeras.evaluate", "--recipe=demo", f"--weights={weights}",
            f"--data={split / 'test-*'}", f"--out={tmp_path / 'shared'}", *OVERRIDES,
        ]  # fmt: skip
        env = {**os.environ, "TF_CONFIG": json.dumps(tf_config)}
        processes.append(
            subprocess.Popen(
                args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    for process in processes:
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr[-3000:]
    with open(tmp_path / "shared" / "summary.json") as f:
        shared = json.load(f)
    for key in ("videos", "videos_scored", "videos_missing", "views", "top1", "top5", "clip_top1"):
        assert shared[key] == pytest.approx(alone[key]), key
    merged = np.load(tmp_path / "shared" / "scores.npz")
    by_id = dict(zip(alone_scores["video_id"], alone_scores["scores"], strict=True))
    assert sorted(merged["video_id"]) == sorted(by_id)
    for video_id, summed in zip(merged["video_id"], merged["scores"], strict=True):
        np.testing.assert_allclose(summed, by_id[video_id], atol=1e-5)


def test_worker_0_merges_only_parts_of_this_run(tmp_path):
    """A part left by another run (other key) is never merged; this run's is."""
    part = VideoScores()
    part.add([0], [1], [[0.2, 0.8]], [b"v"])
    part.save(str(tmp_path / "part.npz"), run_key="earlier run")
    with pytest.raises(SystemExit, match="Gave up waiting"):
        wait_for(str(tmp_path / "part.npz"), "this run", minutes=0.001, poll_seconds=0.01)
    part.save(str(tmp_path / "part.npz"), run_key="this run")
    assert wait_for(str(tmp_path / "part.npz"), "this run", minutes=0.001).ids == {0: "v"}

"""What needs 2 devices: MirroredStrategy over 2 logical CPUs, all in one child process.

Logical devices must be configured before TensorFlow starts, and this
process must keep its one device (a plain `MirroredStrategy()` would take
both and change every other test). So these tests share one child,
`tests/two_devices.py`, one TensorFlow start for all of them: the fixture
writes the inputs, the child runs every scenario, and each test checks its
own scenario's results, against this process's one device where it needs
one.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.testing import (
    ROOT,
    evaluation_scores,
    write_evaluation_split,
    write_evaluation_weights,
    write_grey_shards,
)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """What the scenarios read: grey train shards, the evaluation split and its weights."""
    weights = tmp_path_factory.mktemp("weights") / "tiny.weights.h5"
    return {
        "train_shards": write_grey_shards(tmp_path_factory.mktemp("train"))[0],
        "eval_shards": str(write_evaluation_split(tmp_path_factory.mktemp("eval")) / "test-*"),
        "weights": write_evaluation_weights(weights),
    }


@pytest.fixture(scope="module")
def two_devices(inputs, tmp_path_factory):
    """Runs the child once; `two_devices(name)` is that scenario's results (its error fails)."""
    folder = tmp_path_factory.mktemp("two_devices")
    (folder / "inputs.json").write_text(json.dumps(inputs))
    child = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tests", "two_devices.py"), str(folder)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT}, capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr[-3000:]
    results = json.loads((folder / "results.json").read_text())

    def result(name):
        assert "error" not in results[name], results[name]["error"]
        return results[name]

    return result


def test_two_replicas_with_synchronized_bn_equal_one_device(two_devices):
    """Sync BN: same loss and weights after a step on one global batch; per-replica BN differs."""
    out = two_devices("synchronized_bn")
    losses = out["losses"]
    assert abs(losses["two_sync"] - losses["one"]) < 1e-5
    assert abs(losses["two_local"] - losses["one"]) > 1e-4  # the check can fail
    two, one = out["weights"]["two_sync"], out["weights"]["one"]
    for a, b in zip(two, one, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_two_replicas_score_like_one_device(two_devices, inputs):
    """Evaluation, batches split unevenly over the replicas: the same video scores."""
    two = two_devices("evaluation_sums")
    one = evaluation_scores(inputs["eval_shards"], inputs["weights"], "three_crop")
    assert (
        two["views"] == {str(v): n for v, n in one.views.items()} == {str(v): 6 for v in range(6)}
    )
    for video, summed in one.sums.items():
        np.testing.assert_allclose(two["sums"][str(video)], summed, atol=1e-5)


def pooled(batches):
    """The original's formula over `batches` of (N, C) values."""
    means = np.stack([b.mean(0) for b in batches])
    variances = np.stack([b.var(0) for b in batches])
    mean = means.mean(0)
    return mean, (variances + means**2).mean(0) - mean**2


def test_each_replica_pools_its_own_batches(two_devices):
    """Precise BN: each replica's half of a global batch is its own BN batch.

    The statistics are pooled over the 2 x 3 per-replica batches with the
    original's formula (with equal batches that is the variance of all
    clips, the spread between replicas included).
    """
    out = two_devices("precise_bn")
    batches = [np.array(b) for b in out["batches"]]
    assert out["used"] == 3
    halves = [half for b in batches for half in (b[:4], b[4:])]
    mean, variance = pooled(halves)
    np.testing.assert_allclose(out["mean"], mean, rtol=1e-5)
    np.testing.assert_allclose(out["variance"], variance, rtol=1e-4)
    # Both replicas count: replica 0's halves alone give another mean.
    assert not np.allclose(out["mean"], pooled(halves[0::2])[0], rtol=0.05)


def test_distributed_train_dataset_gives_per_replica_batches(two_devices):
    """`distributed_train_dataset`: a global batch of 4 is 2 clips per replica."""
    out = two_devices("per_replica_batches")
    assert out["replicas"] == 2
    assert out["batches"] == [[[2, 4, 24, 24, 3], "float32", [2], "int32"]] * 2

"""The training step under MirroredStrategy (2 devices) and two multi-worker processes."""

import json
import os
import socket
import subprocess
import sys

import numpy as np

from tests.testing import write_brightness_videos

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKER = os.path.join(ROOT, "tests", "training", "distributed_worker.py")


def environment(**extra):
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ROOT, **extra}


def test_two_replicas_with_synchronized_bn_equal_one_device(tmp_path):
    """Sync BN: same loss and weights after a step on one global batch; per-replica BN differs."""
    result = subprocess.run(
        [sys.executable, WORKER, "mirrored", str(tmp_path)],
        cwd=ROOT, env=environment(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    losses = json.loads(result.stdout.strip().splitlines()[-1])
    assert abs(losses["two_sync"] - losses["one"]) < 1e-5
    assert abs(losses["two_local"] - losses["one"]) > 1e-4  # the check can fail
    two = np.load(tmp_path / "two_sync.npy", allow_pickle=True)
    one = np.load(tmp_path / "one.npy", allow_pickle=True)
    for a, b in zip(two, one, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_local_multi_worker_processes_train_in_step(tmp_path):
    for shard in range(2):
        write_brightness_videos(tmp_path / f"train-{shard:05d}-of-00002.tfrecord", seed=shard)
    workers = [f"127.0.0.1:{free_port()}" for _ in range(2)]
    processes = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        processes.append(
            subprocess.Popen(
                [sys.executable, WORKER, "worker", str(tmp_path / "train-*")],
                cwd=ROOT,
                env=environment(TF_CONFIG=json.dumps(tf_config)),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
        )
    outputs = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr[-3000:]
        outputs.append(json.loads(stdout.strip().splitlines()[-1]))
    assert outputs[0]["replicas"] == outputs[1]["replicas"] == 2
    assert outputs[0]["losses"] == outputs[1]["losses"]  # one all-reduced loss
    assert all(np.isfinite(outputs[0]["losses"]))

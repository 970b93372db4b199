"""Two local MultiWorkerMirroredStrategy worker processes train in step.

Two processes are the point here; the 2-replica MirroredStrategy step is in
tests/two_devices_test.py.
"""

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
                [sys.executable, WORKER, str(tmp_path / "train-*")],
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

"""Faults at scale on tiny data: damaged shards, SIGTERM, a checkpoint that cannot be written."""

import json
import os
import resource
import shutil
import signal
import subprocess
import time

import numpy as np
import tensorflow as tf

from nlkeras.training import preemption
from tests.testing import damage
from tests.training.train_test import ROOT, final_weights, read_log, run, train_args

COMMON = [
    "--config.log_period=1", "--config.train.eval_period=1000", "--config.checkpoint.period=5",
    "--config.train.test_after_train=False", "--config.solver.step_sizes=(12,)",
]  # fmt: skip


def damaged_copy(tiny_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    damage(data / "train-00000-of-00002.tfrecord", "truncate")
    damage(data / "train-00001-of-00002.tfrecord", "zero")
    return data


def test_a_damaged_shard_stops_training_with_one_line_naming_it(tiny_data, tmp_path):
    data = damaged_copy(tiny_data, tmp_path)
    args = train_args(data, tmp_path / "run", "--config.solver.max_iter=12", *COMMON)
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: damaged data: ") and "train-0000" in last, last
    assert "at byte" in last and "skip_corrupt_records" in last
    assert "Traceback" not in result.stderr


def test_skipping_damaged_records_finishes_and_counts_them(tiny_data, tmp_path):
    data = damaged_copy(tiny_data, tmp_path)
    workdir = tmp_path / "run"
    args = train_args(
        data, workdir, "--config.solver.max_iter=12", "--config.data.skip_corrupt_records=true",
        *COMMON,
    )  # fmt: skip
    result = run(args)
    skips = [
        line["corrupt_record_skips"] for line in read_log(workdir) if "corrupt_record_skips" in line
    ]
    assert skips, "no count in log.jsonl"
    assert set(skips[-1]) == {str(data / f"train-0000{i}-of-00002.tfrecord") for i in (0, 1)}
    assert all(count >= 1 for count in skips[-1].values())
    assert result.stderr.count("Skipping the rest of") == 2  # warned once per shard
    assert (workdir / "final.weights.h5").exists()


def test_sigterm_checkpoints_the_step_and_the_restart_equals_an_uninterrupted_run(
    tiny_data, tmp_path
):
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    args = lambda workdir: train_args(tiny_data, workdir, "--config.solver.max_iter=30", *COMMON)
    run(args(straight))
    process = subprocess.Popen(
        args(stopped), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    # SIGTERM at a random moment once training runs.
    deadline = time.time() + 300
    while time.time() < deadline and not (stopped / "log.jsonl").exists():
        time.sleep(0.02)
    time.sleep(np.random.default_rng().uniform(0, 0.2))
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == preemption.EXIT_CODE, stderr[-3000:]
    latest = tf.train.latest_checkpoint(str(stopped / "checkpoints"))
    stop = int(latest.rsplit("-", 1)[1])
    assert f"SIGTERM at iteration {stop}" in stderr
    trained = [line["iter"] for line in read_log(stopped) if "loss" in line]
    assert trained[-1] == stop  # the step in flight finished and was checkpointed
    result = run(args(stopped))
    assert f"ckpt-{stop}" in result.stderr
    resumed = [line["iter"] for line in read_log(stopped) if "loss" in line]
    assert resumed == list(range(1, 31))  # every iteration once: none lost, none repeated
    for a, b in zip(final_weights(straight), final_weights(stopped), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_checkpoint_that_cannot_be_written_names_the_folder_and_keeps_the_last(
    tiny_data, tmp_path
):
    workdir = tmp_path / "run"
    run(train_args(tiny_data, workdir, "--config.solver.max_iter=5", *COMMON))
    checkpoints = workdir / "checkpoints"
    data_file = next(checkpoints.glob("ckpt-5.data-*"))
    limit = data_file.stat().st_size // 2  # logs fit, a checkpoint does not

    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        train_args(tiny_data, workdir, "--config.solver.max_iter=10", *COMMON),
        cwd=ROOT, capture_output=True, text=True, timeout=600, preexec_fn=small_disk,
    )  # fmt: skip
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: could not write checkpoint 10 in ") and str(checkpoints) in last
    assert "ckpt-5" in last
    assert tf.train.latest_checkpoint(str(checkpoints)).endswith("ckpt-5")
    reader = tf.train.load_checkpoint(str(checkpoints / "ckpt-5"))
    assert reader.get_variable_to_shape_map()
    with open(workdir / "log.jsonl") as f:
        assert max(json.loads(line)["iter"] for line in f) == 10
    assert os.path.getsize(data_file) > limit

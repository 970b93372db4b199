"""Faults at scale on tiny data: damaged shards, SIGTERM, a checkpoint that cannot be written.

The file-size limit needs a process of its own (this one's captured output
would hit it too); the rest runs `nlkeras.training.run.train` in this
process, SIGTERM included (sent to this process by a thread).
"""

import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import tensorflow as tf

from nlkeras import cli
from nlkeras.training import preemption
from tests.testing import (
    ROOT,
    damage,
    final_weights,
    read_log,
    tiny_training,
    train_command,
    train_in_process,
)

COMMON = dict(
    log_period=1, train__eval_period=1000, checkpoint__period=5, train__test_after_train=False,
    solver__step_sizes=(12,),
)  # fmt: skip


def damaged_copy(tiny_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    damage(data / "train-00000-of-00002.tfrecord", "truncate")
    damage(data / "train-00001-of-00002.tfrecord", "zero")
    return data


def test_a_damaged_shard_stops_training_with_one_line_naming_it(
    tiny_data, tmp_path, monkeypatch, capsys
):
    settings = tiny_training(damaged_copy(tiny_data, tmp_path), solver__max_iter=12, **COMMON)
    monkeypatch.setattr(sys, "argv", ["nlkeras.train"])
    with pytest.raises(SystemExit) as exit:
        cli.run(lambda argv: train_in_process(settings, tmp_path / "run"), recipe_required=False)
    assert exit.value.code == 2
    stderr = capsys.readouterr().err
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: damaged data: ") and "train-0000" in last, last
    assert "at byte" in last and "skip_corrupt_records" in last
    assert "Traceback" not in stderr


def test_skipping_damaged_records_finishes_and_counts_them(tiny_data, tmp_path, caplog):
    data = damaged_copy(tiny_data, tmp_path)
    workdir = tmp_path / "run"
    settings = tiny_training(data, solver__max_iter=12, data__skip_corrupt_records=True, **COMMON)
    train_in_process(settings, workdir)
    skips = [
        line["corrupt_record_skips"] for line in read_log(workdir) if "corrupt_record_skips" in line
    ]
    assert skips, "no count in log.jsonl"
    assert set(skips[-1]) == {str(data / f"train-0000{i}-of-00002.tfrecord") for i in (0, 1)}
    assert all(count >= 1 for count in skips[-1].values())
    assert caplog.text.count("Skipping the rest of") == 2  # warned once per shard
    assert (workdir / "final.weights.h5").exists()


def test_sigterm_checkpoints_the_step_and_the_restart_equals_an_uninterrupted_run(
    tiny_data, tmp_path, caplog
):
    caplog.set_level(logging.INFO)
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    settings = tiny_training(tiny_data, solver__max_iter=12, **COMMON)
    train_in_process(settings, straight)

    def terminate_once_training_runs():
        deadline = time.time() + 300
        while time.time() < deadline and not (stopped / "log.jsonl").exists():
            time.sleep(0.02)
        time.sleep(np.random.default_rng().uniform(0, 0.2))
        os.kill(os.getpid(), signal.SIGTERM)

    # A SIGTERM outside the run (too late) is noted here, not this process's end.
    late = []
    previous = signal.signal(signal.SIGTERM, lambda *_: late.append(True))
    killer = threading.Thread(target=terminate_once_training_runs)
    try:
        killer.start()
        with pytest.raises(SystemExit) as exit:
            train_in_process(settings, stopped)
        killer.join()
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert not late and exit.value.code == preemption.EXIT_CODE
    latest = tf.train.latest_checkpoint(str(stopped / "checkpoints"))
    stop = int(latest.rsplit("-", 1)[1])
    assert f"SIGTERM at iteration {stop}" in caplog.text
    trained = [line["iter"] for line in read_log(stopped) if "loss" in line]
    assert trained[-1] == stop  # the step in flight finished and was checkpointed
    train_in_process(settings, stopped)
    assert f"ckpt-{stop}" in caplog.text
    resumed = [line["iter"] for line in read_log(stopped) if "loss" in line]
    assert resumed == list(range(1, 13))  # every iteration once: none lost, none repeated
    for a, b in zip(
        final_weights(straight, settings), final_weights(stopped, settings), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_checkpoint_that_cannot_be_written_names_the_folder_and_keeps_the_last(
    tiny_data, tmp_path
):
    workdir = tmp_path / "run"
    train_in_process(tiny_training(tiny_data, solver__max_iter=5, **COMMON), workdir)
    checkpoints = workdir / "checkpoints"
    data_file = next(checkpoints.glob("ckpt-5.data-*"))
    limit = data_file.stat().st_size // 2  # logs fit, a checkpoint does not

    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        train_command(tiny_training(tiny_data, solver__max_iter=10, **COMMON), workdir),
        cwd=ROOT, capture_output=True, text=True, timeout=600, preexec_fn=small_disk,
    )  # fmt: skip
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: could not write checkpoint 10 in ") and str(checkpoints) in last
    assert "ckpt-5" in last
    assert tf.train.latest_checkpoint(str(checkpoints)).endswith("ckpt-5")
    reader = tf.train.load_checkpoint(str(checkpoints / "ckpt-5"))
    assert reader.get_variable_to_shape_map()
    assert max(line["iter"] for line in read_log(workdir)) == 10
    assert os.path.getsize(data_file) > limit

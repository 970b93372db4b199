"""Training end to end on tiny data: learning, resuming, surviving kill -9, initialising.

One test runs the command (`python -m nlkeras.train`); the others call
`nlkeras.training.run.train` in this process, apart from the run that is killed.
"""

import json
import logging
import os
import pickle
import signal
import subprocess
import time

import numpy as np
import pytest
import tensorflow as tf

from nlkeras import cli
from nlkeras import config as config_lib
from nlkeras.models import build_classifier
from nlkeras.training.metrics_writer import MetricWriter
from tests.testing import (
    BRIGHTNESS_CLASSES,
    ROOT,
    caffe2_checkpoint,
    final_weights,
    read_log,
    tiny_training,
    train_command,
    train_in_process,
)


def run(args, timeout=600):
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_the_command_learns_and_writes_its_outputs(tiny_data, tmp_path):
    workdir = tmp_path / "run"
    settings = tiny_training(
        tiny_data, solver__max_iter=40, log_period=10, train__eval_period=40,
        checkpoint__period=20, solver__step_sizes=(40,),
    )  # fmt: skip
    result = run(train_command(settings, workdir))
    log = read_log(workdir)
    losses = [line["loss"] for line in log if "loss" in line]
    assert len(losses) == 4 and losses[-1] < 0.7 * losses[0], losses
    assert {"val_clip_top1", "val_clip_top5"} <= {k for line in log for k in line}
    test = [line for line in log if "test_video_top1" in line]
    assert test and test[0]["test_videos"] == 2 * BRIGHTNESS_CLASSES
    # Chance is 0.25; seeds 0-4 all reach 1.0 (the loss ratio above: 0.27-0.91).
    assert test[0]["test_video_top1"] >= 0.75, test
    assert "video top-1" in result.stdout
    assert (workdir / "final.weights.h5").exists()
    assert sorted(p.name for p in (workdir / "checkpoints").glob("*.index")) == [
        "ckpt-20.index", "ckpt-40.index",
    ]  # fmt: skip
    assert list((workdir / "tensorboard").glob("events.out.tfevents.*"))
    with open(workdir / "config.json") as f:
        assert json.load(f)["recipe"] == "demo"


def test_a_resumed_run_equals_an_uninterrupted_one(tiny_data, tmp_path, caplog):
    """Same weights and optimizer state: resume restores the iteration, the LR position and data."""
    caplog.set_level(logging.INFO)
    common = dict(
        log_period=2, train__eval_period=1000, checkpoint__period=3, solver__step_sizes=(4, 4),
        train__test_after_train=False,
    )  # fmt: skip
    straight, halves = tmp_path / "straight", tmp_path / "halves"
    train_in_process(tiny_training(tiny_data, solver__max_iter=6, **common), straight)
    train_in_process(tiny_training(tiny_data, solver__max_iter=3, **common), halves)
    caplog.clear()
    train_in_process(tiny_training(tiny_data, solver__max_iter=6, **common), halves)
    assert "Resumed from" in caplog.text and "ckpt-3" in caplog.text
    # Batch 8 instead of the demo's 16: the recipe's base LR halves; x0.1 from iteration index 4
    # on, also after resuming (the schedule goes on from the restored iteration).
    base = cli.load_recipe("demo").solver.base_lr / 2
    lrs = {line["iter"]: line["lr"] for line in read_log(halves) if "lr" in line}
    assert [lrs[2], lrs[4], lrs[6]] == pytest.approx([base, base, base / 10])
    settings = tiny_training(tiny_data)
    for a, b in zip(
        final_weights(straight, settings), final_weights(halves, settings), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for name in ("checkpoints/ckpt-6",):
        reader_a = tf.train.load_checkpoint(str(straight / name))
        reader_b = tf.train.load_checkpoint(str(halves / name))
        keys = [k for k in reader_a.get_variable_to_shape_map() if "optimizer" in k]
        assert keys
        for key in keys:
            np.testing.assert_allclose(
                reader_a.get_tensor(key), reader_b.get_tensor(key), rtol=1e-5, atol=1e-6
            )


def test_kill_9_while_checkpointing_resumes_from_a_good_checkpoint(tiny_data, tmp_path, caplog):
    """Checkpoints every iteration, SIGKILL at some point: the next run restores and goes on.

    The log then holds every iteration once: the lines the killed run wrote
    after its last checkpoint are dropped, as those iterations are trained again.
    """
    caplog.set_level(logging.INFO)
    workdir = tmp_path / "killed"
    common = dict(
        checkpoint__period=1, train__eval_period=1000, train__precise_bn=False, log_period=1
    )
    args = train_command(tiny_training(tiny_data, solver__max_iter=500, **common), workdir)
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    checkpoints = workdir / "checkpoints"
    while time.time() < deadline and len(list(checkpoints.glob("*.index"))) < 3:
        time.sleep(0.05)
    time.sleep(0.3)  # mid-run: a checkpoint is written every ~0.1-0.3 s
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    latest = tf.train.latest_checkpoint(str(checkpoints))
    assert latest is not None
    done = int(latest.rsplit("-", 1)[1])
    settings = tiny_training(
        tiny_data, solver__max_iter=done + 2, train__test_after_train=False, **common
    )
    train_in_process(settings, workdir)
    assert f"ckpt-{done}" in caplog.text
    assert tf.train.latest_checkpoint(str(checkpoints)).endswith(f"ckpt-{done + 2}")
    trained = [line["iter"] for line in read_log(workdir) if "loss" in line]
    assert trained == list(range(1, done + 3))


def test_a_resumed_log_drops_the_lines_after_the_checkpoint(tmp_path):
    """Lines after the resumed iteration, and one torn by a kill, go; the rest stay as written."""
    lines = [json.dumps({"iter": i, "loss": 1.0 / i}) for i in range(1, 6)]
    (tmp_path / "log.jsonl").write_text("\n".join(lines) + '\n{"iter": 6, "lo')
    writer = MetricWriter(str(tmp_path), start=3)
    assert (tmp_path / "log.jsonl").read_text() == "\n".join(lines[:3]) + "\n"
    writer.write(4, {"loss": 0.5, "corrupt_record_skips": {"a": 1}})
    assert read_log(tmp_path)[-1] == {"iter": 4, "loss": 0.5, "corrupt_record_skips": {"a": 1}}
    MetricWriter(str(tmp_path), start=0)
    assert read_log(tmp_path) == []  # a fresh run in an old workdir starts a fresh log


def test_initialises_from_an_original_checkpoint(tiny_data, tmp_path, caplog):
    """A `.pkl` of the original initialises the model; a 400-class `pred` is skipped."""
    caplog.set_level(logging.INFO)
    config = cli.load_recipe("demo")
    config.model.width, config.model.num_classes = 4, 400
    checkpoint = caffe2_checkpoint(build_classifier(**config_lib.model_kwargs(config)))
    path = tmp_path / "c2_model_iter400000.pkl"
    path.write_bytes(pickle.dumps(checkpoint, protocol=2))
    settings = tiny_training(
        tiny_data, train__init_weights=str(path), solver__max_iter=1,
        train__test_after_train=False, train__precise_bn=False,
    )  # fmt: skip
    train_in_process(settings, tmp_path / "run")
    assert f"Initialised from {path}" in caplog.text
    assert "skipped" in caplog.text and "pred_w" in caplog.text

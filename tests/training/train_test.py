"""`python -m nlkeras.train` end to end on tiny data: learning, resuming, surviving kill -9."""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from nlkeras.data import records

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NUM_CLASSES = 4


def write_brightness_videos(path, videos_per_class=4, seed=0):
    """Class c: frames of brightness 40 + 50c with noise, 10 frames of 72x80."""
    rng = np.random.default_rng(seed)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for c in range(NUM_CLASSES):
            for i in range(videos_per_class):
                frames = np.clip(40 + 50 * c + rng.normal(0, 12, (10, 72, 80, 3)), 0, 255)
                jpegs = [records.encode_jpeg(f.astype(np.uint8)) for f in frames]
                example = records.make_sequence_example(
                    jpegs, c, f"level{c}", f"v{c}_{i}", 10.0, 72, 80
                )
                writer.write(example.SerializeToString())


def train_args(data, workdir, *overrides):
    return [
        sys.executable, "-m", "nlkeras.train", "--recipe=demo", f"--workdir={workdir}",
        f"--config.data.train_files={data / 'train-*'}",
        f"--config.data.val_files={data / 'test-*'}",
        f"--config.data.test_files={data / 'test-*'}",
        "--config.data.synthetic_dir=", f"--config.model.num_classes={NUM_CLASSES}",
        "--config.model.width=4", "--config.train.batch_size=8", "--config.test.views_per_batch=8",
        "--config.test.num_clips=2", "--config.train.precise_bn_iters=2", *overrides,
    ]  # fmt: skip


def run(args, timeout=600):
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def read_log(workdir):
    with open(workdir / "log.jsonl") as f:
        return [json.loads(line) for line in f]


def test_loss_falls_and_the_run_writes_its_outputs(tiny_data, tmp_path):
    workdir = tmp_path / "run"
    result = run(
        train_args(
            tiny_data, workdir, "--config.solver.max_iter=40", "--config.log_period=10",
            "--config.train.eval_period=40", "--config.checkpoint.period=20",
            "--config.solver.step_sizes=(40,)",
        )
    )  # fmt: skip
    log = read_log(workdir)
    losses = [line["loss"] for line in log if "loss" in line]
    assert len(losses) == 4 and losses[-1] < 0.7 * losses[0], losses
    assert {"val_clip_top1", "val_clip_top5"} <= {k for line in log for k in line}
    test = [line for line in log if "test_video_top1" in line]
    assert test and test[0]["test_videos"] == 2 * NUM_CLASSES
    assert "video top-1" in result.stdout
    assert (workdir / "final.weights.h5").exists()
    assert sorted(p.name for p in (workdir / "checkpoints").glob("*.index")) == [
        "ckpt-20.index", "ckpt-40.index",
    ]  # fmt: skip
    assert list((workdir / "tensorboard").glob("events.out.tfevents.*"))
    with open(workdir / "config.json") as f:
        assert json.load(f)["recipe"] == "demo"


def final_weights(workdir):
    from nlkeras import cli
    from nlkeras import config as config_lib
    from nlkeras.models import build_classifier

    config = cli.load_recipe("demo")
    config.model.num_classes, config.model.width = NUM_CLASSES, 4
    model = build_classifier(**config_lib.model_kwargs(config))
    model.load_weights(workdir / "final.weights.h5")
    weights = [keras.ops.convert_to_numpy(w) for w in model.weights]
    keras.backend.clear_session()
    return weights


def test_a_resumed_run_equals_an_uninterrupted_one(tiny_data, tmp_path):
    """Same weights and optimizer state: resume restores the iteration, the LR position and data."""
    common = ["--config.log_period=2", "--config.train.eval_period=1000",
              "--config.checkpoint.period=3", "--config.solver.step_sizes=(4,4)",
              "--config.train.test_after_train=False"]  # fmt: skip
    straight, halves = tmp_path / "straight", tmp_path / "halves"
    run(train_args(tiny_data, straight, "--config.solver.max_iter=6", *common))
    run(train_args(tiny_data, halves, "--config.solver.max_iter=3", *common))
    second = run(train_args(tiny_data, halves, "--config.solver.max_iter=6", *common))
    assert "Resumed from" in second.stderr and "ckpt-3" in second.stderr
    # Batch 8 instead of the demo's 16: the recipe's base LR halves; x0.1 from iteration index 4
    # on, also after resuming (the schedule goes on from the restored iteration).
    from nlkeras import cli

    base = cli.load_recipe("demo").solver.base_lr / 2
    lrs = {line["iter"]: line["lr"] for line in read_log(halves) if "lr" in line}
    assert [lrs[2], lrs[4], lrs[6]] == pytest.approx([base, base, base / 10])
    for a, b in zip(final_weights(straight), final_weights(halves), strict=True):
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


def test_kill_9_while_checkpointing_resumes_from_a_good_checkpoint(tiny_data, tmp_path):
    """Checkpoints every iteration, SIGKILL at some point: the next run restores and goes on."""
    workdir = tmp_path / "killed"
    args = train_args(
        tiny_data, workdir, "--config.solver.max_iter=500", "--config.checkpoint.period=1",
        "--config.train.eval_period=1000", "--config.train.precise_bn=False",
    )  # fmt: skip
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
    result = run(
        train_args(
            tiny_data, workdir, f"--config.solver.max_iter={done + 2}",
            "--config.checkpoint.period=1", "--config.train.eval_period=1000",
            "--config.train.precise_bn=False", "--config.train.test_after_train=False",
        )
    )  # fmt: skip
    assert f"ckpt-{done}" in result.stderr
    assert tf.train.latest_checkpoint(str(checkpoints)).endswith(f"ckpt-{done + 2}")


def test_initialises_from_an_original_checkpoint(tiny_data, tmp_path):
    """A `.pkl` of the original initialises the model; a 400-class `pred` is skipped."""
    import pickle

    from nlkeras import cli
    from nlkeras import config as config_lib
    from nlkeras.models import build_classifier
    from tests.weights.caffe2_test import caffe2_checkpoint

    config = cli.load_recipe("demo")
    config.model.width, config.model.num_classes = 4, 400
    checkpoint = caffe2_checkpoint(build_classifier(**config_lib.model_kwargs(config)))
    path = tmp_path / "c2_model_iter400000.pkl"
    path.write_bytes(pickle.dumps(checkpoint, protocol=2))
    result = run(
        train_args(
            tiny_data, tmp_path / "run", f"--config.train.init_weights={path}",
            "--config.solver.max_iter=1", "--config.train.test_after_train=False",
            "--config.train.precise_bn=False",
        )
    )  # fmt: skip
    assert f"Initialised from {path}" in result.stderr
    assert "skipped" in result.stderr and "pred_w" in result.stderr

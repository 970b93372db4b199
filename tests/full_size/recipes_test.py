"""The real recipes end to end (slow: `python -m pytest -q -m slow -n 0`).

For the full I3D-NL R50 (`i3d_nl_8f`) and the 128-frame frozen-BN model
(`i3d_nl_affine_128f`): 340x256 videos built by the real builder, a few
training iterations at one clip per replica with precise BN, a checkpoint
and a resume; `nlkeras.evaluate` with both protocols; `python -m export` with
its default formats, every artifact compared with Keras (SavedModel, TFLite
float32 / float16 / int8, ONNX), within the memory this project promises on
a 24 GiB machine. Every full-size model is built in a child process: the
test process stays small.
"""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from export.artifacts import in_child
from nlkeras import cli
from nlkeras import config as config_lib
from nlkeras.data import builder, sources, synthetic
from nlkeras.models import build_classifier
from tests.testing import calibrated

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPES = ("i3d_nl_8f", "i3d_nl_affine_128f")
# The most any stage of `python -m export` may hold (the command's own process
# adds about 0.7 GiB): 6 GiB in all for i3d_nl_8f, 8 GiB for the 128-frame model.
EXPORT_STAGE_MIB = {"i3d_nl_8f": 5 * 1024, "i3d_nl_affine_128f": 7 * 1024}


def write_calibrated_weights(recipe, path):
    config = cli.load_recipe(recipe)
    d = config.data
    model = build_classifier(**config_lib.model_kwargs(config))
    calibrated(model, (2, d.num_frames, d.crop_size, d.crop_size, 3)).save_weights(path)


def run(module, *args):
    result = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
        timeout=1800, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    return result


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Two classes of 340x256 videos of 130 frames (enough for 128-frame clips), as records."""
    folder = tmp_path_factory.mktemp("full_size_data")
    for class_index in (0, 1):
        name = synthetic.CLASS_NAMES[class_index]
        for i in range(2):
            rng = np.random.default_rng([class_index, i])
            frames = synthetic.render_video(class_index, rng, 256, 340, num_frames=130)
            synthetic.write_video(folder / "videos" / name / f"{name}_{i}.mp4", frames, 30.0)
    entries = sources.from_class_folders(str(folder / "videos"))
    for split in ("train", "test"):
        builder.build_tfrecords(
            entries, str(folder), split, num_shards=2, workers=0, progress=False
        )
    return folder


@pytest.fixture(scope="module", params=RECIPES)
def trained(request, videos, tmp_path_factory):
    """The recipe trained 2 iterations, then resumed for a third: `(recipe, workdir, logs)`."""
    recipe = request.param
    workdir = tmp_path_factory.mktemp(recipe)
    # A full-size model built here would stay in the test process's memory.
    in_child(write_calibrated_weights, recipe, str(workdir / "init.weights.h5"))
    args = [
        f"--recipe={recipe}", f"--workdir={workdir}",
        f"--config.data.train_files={videos / 'train-*'}",
        f"--config.data.val_files={videos / 'test-*'}",
        f"--config.data.test_files={videos / 'test-*'}",
        f"--config.train.init_weights={workdir / 'init.weights.h5'}",
        "--config.train.batch_size=1", "--config.train.tuned_replicas=1",
        "--config.train.precise_bn_iters=2", "--config.train.eval_period=2",
        "--config.train.test_after_train=false", "--config.data.shuffle_buffer=4",
        "--config.checkpoint.period=2", "--config.log_period=1",
    ]  # fmt: skip
    first = run("nlkeras.train", *args, "--config.solver.max_iter=2")
    second = run("nlkeras.train", *args, "--config.solver.max_iter=3")
    return recipe, workdir, first.stderr + second.stderr


def test_trains_with_precise_bn_a_checkpoint_and_a_resume(trained):
    recipe, workdir, logs = trained
    with open(workdir / "log.jsonl") as f:
        lines = [json.loads(line) for line in f]
    losses = [line for line in lines if "loss" in line]
    assert [line["iter"] for line in losses] == [1, 2, 3]  # the resumed run trained only 3
    assert all(np.isfinite(line["loss"]) for line in losses)
    assert [line["iter"] for line in lines if "val_clip_top1" in line] == [2, 3]
    assert "Resumed from" in logs and "ckpt-2" in logs
    checkpoints = sorted(p.name for p in (workdir / "checkpoints").glob("ckpt-*.index"))
    assert checkpoints == ["ckpt-2.index", "ckpt-3.index"]
    assert (workdir / "final.weights.h5").stat().st_size > 100 * 2**20


@pytest.mark.parametrize("protocol", ["three_crop", "full_frame"])
def test_evaluates_with_both_protocols(trained, videos, protocol, tmp_path):
    recipe, workdir, _ = trained
    run(
        "nlkeras.evaluate", f"--recipe={recipe}", f"--weights={workdir / 'final.weights.h5'}",
        f"--data={videos / 'test-*'}", f"--config.test.protocol={protocol}", f"--out={tmp_path}",
        "--config.test.num_clips=2",
    )  # fmt: skip
    with open(tmp_path / "summary.json") as f:
        summary = json.load(f)
    views = 2 * (3 if protocol == "three_crop" else 1)
    assert summary["videos"] == summary["videos_scored"] == 4
    assert summary["views"] == 4 * views and summary["videos_with_missing_views"] == []
    assert 0 <= summary["top1"] <= 1


def test_exports_every_default_format_in_bounded_memory(trained, tmp_path):
    recipe, workdir, _ = trained
    run(
        "export", f"--recipe={recipe}", f"--weights={workdir / 'final.weights.h5'}",
        f"--out={tmp_path}",
    )  # fmt: skip
    with open(tmp_path / "export.json") as f:
        rows = json.load(f)
    formats = {row["format"] for row in rows}
    assert formats == {
        "keras", "saved_model", "saved_model_video", "onnx",
        "tflite_float32", "tflite_float16", "tflite_int8",
    }  # fmt: skip
    tolerance = {"tflite_float16": 1e-2, "tflite_int8": 5e-2, "tflite_float32": 1e-4}
    for row in rows:
        assert row["max_abs_diff"] <= tolerance.get(row["format"], 1e-5), row
        assert row["top1_agrees"], row
        assert row["stage_peak_mib"] <= EXPORT_STAGE_MIB[recipe], row
        if row["format"].startswith("tflite"):
            # Builtin ops only at full size too: pool1, pool2 and pool5 are 2-D pools.
            ops = row["ops"]
            assert "CONV_3D" in ops
            assert not [op for op in ops if "FLEX" in op or ("POOL" in op and "3D" in op)], ops


def peak_mib(module, *args, out):
    """Runs `python -m module args`, output to files under `out`; returns (status, peak MiB)."""
    with open(out / "stdout.txt", "w") as stdout, open(out / "stderr.txt", "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args], cwd=ROOT, stdout=stdout, stderr=stderr
        )
        _, status, usage = os.wait4(process.pid, 0)
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024


def write_long_video(path, seconds=120, fps=30.0):
    """A 340x256 video of a moving bar, written frame by frame (never held whole)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (340, 256))
    frame = np.zeros((256, 340, 3), np.uint8)
    for i in range(int(seconds * fps)):
        frame[:] = 40
        frame[:, (i * 3) % 320 : (i * 3) % 320 + 20] = 220
        writer.write(frame)
    writer.release()


def test_predicts_a_long_video_in_the_memory_of_a_short_one(trained, videos, tmp_path):
    """3600 frames cost no more than 130: only the sampled frames are kept."""
    recipe, workdir, _ = trained
    write_long_video(tmp_path / "long.mp4")
    name = synthetic.CLASS_NAMES[0]
    short = str(videos / "videos" / name / f"{name}_0.mp4")
    args = [
        f"--recipe={recipe}", f"--weights={workdir / 'final.weights.h5'}",
        f"--config.data.test_files={videos / 'test-*'}", "--config.test.num_clips=2",
    ]  # fmt: skip
    peaks = {}
    for name, video in (("short", short), ("long", str(tmp_path / "long.mp4"))):
        out = tmp_path / name
        out.mkdir()
        status, peaks[name] = peak_mib(
            "nlkeras.predict", *args, f"--out={out / 'top.jsonl'}", video, out=out
        )
        assert status == 0, (out / "stderr.txt").read_text()[-4000:]
        (line,) = [json.loads(x) for x in (out / "top.jsonl").read_text().splitlines()]
        assert len(line["top"]) == 5 and sum(c["probability"] for c in line["top"]) <= 1 + 1e-6
    assert line["frames"] == 3600
    assert peaks["long"] < peaks["short"] + 256, peaks

"""`python -m export` end to end on a tiny demo model: every artifact reloaded and compared."""

import importlib.util
import json
import os
import resource
import subprocess
import sys

import numpy as np
import pytest

from nlkeras import cli
from nlkeras import config as config_lib
from nlkeras.models import build_classifier

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAMES = ["push", "pull", "spin left", "spin right"]
OVERRIDES = [
    "--config.model.num_classes=4", "--config.model.width=4",
    "--config.model.stage_blocks=(1, 1, 1, 1)", "--config.test.num_clips=2",
]  # fmt: skip


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The tiny demo model exported to every format; TensorRT is absent here."""
    folder = tmp_path_factory.mktemp("export")
    config = cli.load_recipe("demo")
    config.model.update(num_classes=4, width=4, stage_blocks=(1, 1, 1, 1))
    model = build_classifier(**config_lib.model_kwargs(config))
    rng = np.random.default_rng(0)
    kernel, bias = model.get_layer("pred").get_weights()
    model.get_layer("pred").set_weights([rng.normal(0, 1, kernel.shape), bias])
    model.save_weights(str(folder / "tiny.weights.h5"))
    (folder / "classes.txt").write_text("\n".join(NAMES) + "\n")
    args = [
        sys.executable, "-m", "export", "--recipe=demo", f"--weights={folder / 'tiny.weights.h5'}",
        f"--out={folder / 'out'}", f"--class_names={folder / 'classes.txt'}",
        "--formats=saved_model,tflite,onnx,tensorrt", *OVERRIDES,
    ]  # fmt: skip
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    return folder / "out", result


def test_every_artifact_agrees_with_keras(exported):
    out, result = exported
    with open(out / "export.json") as f:
        rows = json.load(f)
    by_format = {}
    for row in rows:
        by_format.setdefault(row["format"], []).append(row)
        assert row["top1_agrees"], row
    # The SavedModel and ONNX at the training clip and at a full 64x85 frame.
    assert [r["input_shape"] for r in by_format["saved_model"]] == [
        [1, 8, 64, 64, 3],
        [1, 8, 64, 85, 3],
    ]
    assert [r["input_shape"] for r in by_format["onnx"]] == [[1, 8, 64, 64, 3], [1, 8, 64, 85, 3]]
    assert all(r["max_abs_diff"] <= 1e-5 for r in by_format["saved_model"] + by_format["onnx"])
    # The `video` signature (the test protocol in the graph) against the Python functions.
    (video,) = by_format["saved_model_video"]
    assert video["input_shape"] == [16, 240, 320, 3] and video["max_abs_diff"] <= 1e-5
    assert by_format["tflite_float32"][0]["max_abs_diff"] <= 1e-4
    for variant in ("float16", "int8"):
        assert by_format[f"tflite_{variant}"][0]["max_abs_diff"] <= 5e-2
    for variant in ("float32", "float16", "int8"):
        assert (out / f"model_{variant}.tflite").stat().st_size > 0
        ops = by_format[f"tflite_{variant}"][0]["ops"]
        # 3-D convolutions are builtin; 3-D pools are not (the model uses 2-D ones).
        assert "CONV_3D" in ops
        assert not [op for op in ops if "FLEX" in op or ("POOL" in op and "3D" in op)]
    assert (out / "saved_model" / "1" / "saved_model.pb").exists()
    assert (
        out / "saved_model" / "1" / "assets" / "class_names.txt"
    ).read_text().splitlines() == NAMES
    assert "max |diff|" in result.stdout


@pytest.mark.skipif(
    importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed here"
)
def test_tensorrt_without_tensorrt_fails_clearly_after_the_other_formats(exported):
    out, result = exported
    assert result.returncode != 0
    assert "tensorrt" in result.stderr and "trtexec --onnx=" in result.stderr
    assert (out / "model.onnx").exists() and (out / "export.json").exists()
    assert not list(out.glob("*.engine"))


def test_unknown_format_is_refused(tmp_path):
    args = [
        sys.executable, "-m", "export", "--recipe=demo", "--weights=x.weights.h5",
        f"--out={tmp_path}", "--formats=saved_model,coreml",
    ]  # fmt: skip
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "Unknown --formats ['coreml']" in result.stderr


def test_an_artifact_that_cannot_be_written_is_named_and_left_out(exported, tmp_path):
    """A full disk (a file-size limit) during the SavedModel: one error line, no partial folder."""
    out, _ = exported
    largest = max(p.stat().st_size for p in (out / "saved_model").rglob("*") if p.is_file())
    limit = largest // 2

    def small_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    weights = out.parent / "tiny.weights.h5"
    args = [
        sys.executable, "-m", "export", "--recipe=demo", f"--weights={weights}",
        f"--out={tmp_path}", f"--class_names={out.parent / 'classes.txt'}",
        "--formats=saved_model", *OVERRIDES,
    ]  # fmt: skip
    result = subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, timeout=600, preexec_fn=small_disk
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: saved_model: Could not write ") and "saved_model/1" in last
    assert not list(tmp_path.glob("saved_model/*"))

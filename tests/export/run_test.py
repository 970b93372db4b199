"""`export.run.export_model` on a tiny demo model: every format, export.json, the table, failures.

Each stage runs in this process (its arguments and result still pickled as
for a child): what spawning adds is tested on `artifacts.in_child` itself, a
full disk in a real SavedModel stage's process, and every format's stage in
its own process at full size in the slow suite (tests/full_size).
"""

import contextlib
import importlib.util
import io
import itertools
import json
import os
import pickle
import re
import resource
import types

import numpy as np
import pytest

from export import artifacts
from export.artifacts import in_child
from export.run import export_model
from nlkeras import cli
from nlkeras import config as config_lib
from nlkeras.models import build_classifier

NAMES = ["push", "pull", "spin left", "spin right"]
ALL_FORMATS = ("saved_model", "tflite", "onnx", "tensorrt")
STAGES = (
    "keras", "saved_model", "tflite_float32", "tflite_float16", "tflite_int8",
    "onnx_freeze", "onnx_convert", "onnx", "tensorrt",
)  # fmt: skip


def in_this_process(peaks):
    """`artifacts.in_child` without the child; the stages' peaks drawn from `peaks`."""

    def run(stage, *args):
        stage, args = pickle.loads(pickle.dumps((stage, args)))
        return pickle.loads(pickle.dumps(stage(*args))), next(peaks)

    return run


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The demo recipe at width 4 with a spread classifier: `export_model`'s arguments."""
    folder = tmp_path_factory.mktemp("tiny")
    config = cli.load_recipe("demo")
    config.model.update(num_classes=4, width=4, stage_blocks=(1, 1, 1, 1))
    config.test.num_clips = 2
    config = config_lib.validate(config)
    model = build_classifier(**config_lib.model_kwargs(config))
    rng = np.random.default_rng(0)
    kernel, bias = model.get_layer("pred").get_weights()
    model.get_layer("pred").set_weights([rng.normal(0, 1, kernel.shape), bias])
    model.save_weights(str(folder / "tiny.weights.h5"))
    (folder / "classes.txt").write_text("\n".join(NAMES) + "\n")
    return dict(
        model_kwargs=config_lib.model_kwargs(config),
        protocol=config_lib.test_protocol_kwargs(config),
        weights=str(folder / "tiny.weights.h5"),
        class_names_file=str(folder / "classes.txt"),
    )


@pytest.fixture(scope="module")
def exported(tiny, tmp_path_factory):
    """The tiny model exported to every format; TensorRT is absent here."""
    out = tmp_path_factory.mktemp("export") / "out"
    stdout = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(stdout):
        # Peaks 100, 101, ... in the stages' order, so each row names its stage.
        patch.setattr(artifacts, "in_child", in_this_process(itertools.count(100)))
        unavailable = export_model(**tiny, out=str(out), formats=ALL_FORMATS)
    with open(out / "export.json") as f:
        rows = json.load(f)
    return types.SimpleNamespace(out=out, rows=rows, stdout=stdout.getvalue(), error=unavailable)


def test_every_artifact_agrees_with_keras(exported):
    out = exported.out
    by_format = {}
    for row in exported.rows:
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
    assert "max |diff|" in exported.stdout


def test_every_stage_in_order_and_each_row_with_its_stages_peak(exported):
    peaks = dict(zip(STAGES, itertools.count(100)))
    line = ", ".join(f"{name} {peak}" for name, peak in peaks.items())
    assert f"peak resident MiB per stage: {line}\n" in exported.stdout
    for row in exported.rows:
        assert row["stage_peak_mib"] == peaks[row["format"].removesuffix("_video")], row
    assert not (exported.out / "model.frozen_graph.pb").exists()


@pytest.mark.skipif(
    importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed here"
)
def test_tensorrt_without_tensorrt_fails_clearly_after_the_other_formats(exported):
    out = exported.out
    assert "tensorrt" in exported.error and "trtexec --onnx=" in exported.error
    assert (out / "model.onnx").exists() and (out / "export.json").exists()
    assert not list(out.glob("*.engine"))


def test_unknown_format_is_refused_first(tiny, tmp_path):
    """Before the class names are read (here they could not be) and before any stage."""
    tiny = {**tiny, "class_names_file": str(tmp_path / "absent.txt")}
    with pytest.raises(ValueError, match=re.escape("Unknown --formats ['coreml']")):
        export_model(**tiny, out=str(tmp_path / "out"), formats=("saved_model", "coreml"))
    assert not (tmp_path / "out").exists()


def test_a_stage_runs_in_a_process_of_its_own(tmp_path):
    pid, peak_mib = in_child(os.getpid)
    assert pid != os.getpid() and peak_mib > 0
    with pytest.raises(FileNotFoundError, match="absent"):
        in_child(os.stat, str(tmp_path / "absent"))


def with_file_size_limit(limit, stage, *args):
    """`stage(*args)` where no file may grow past `limit` bytes: a full disk."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return stage(*args)


def test_an_artifact_that_cannot_be_written_is_named_and_left_out(
    tiny, exported, monkeypatch, tmp_path
):
    """A full disk in the SavedModel's process: an error naming the stage, no partial folder."""
    largest = max(
        p.stat().st_size for p in (exported.out / "saved_model").rglob("*") if p.is_file()
    )
    keras_stage = in_this_process(itertools.count())

    def small_disk_for_the_saved_model(stage, *args):
        if stage is artifacts.saved_model:
            return in_child(with_file_size_limit, largest // 2, stage, *args)
        return keras_stage(stage, *args)

    monkeypatch.setattr(artifacts, "in_child", small_disk_for_the_saved_model)
    with pytest.raises(OSError) as error:
        export_model(**tiny, out=str(tmp_path), formats=("saved_model",))
    # `python -m export` prints it as one line: `error: saved_model: Could not write ...`.
    message = str(error.value)
    assert message.startswith("saved_model: Could not write ") and "saved_model/1" in message
    assert not list(tmp_path.glob("saved_model/*")) and not (tmp_path / "export.json").exists()

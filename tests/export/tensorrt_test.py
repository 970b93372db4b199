"""TensorRT: the shape profile, the trtexec command, and a clear error where TensorRT is missing."""

import sys

import pytest

from export import tensorrt
from tests.export.conftest import CROP, NUM_FRAMES


def test_shape_profile(serving_functions):
    assert tensorrt.shape_profile(serving_functions, CROP) == {
        "min": (1, serving_functions.min_frames, 5, 5, 3),
        "opt": (1, NUM_FRAMES, CROP, CROP, 3),
        "max": (8, NUM_FRAMES, 456, 456, 3),
    }
    assert tensorrt.shape_profile(serving_functions, CROP, 2, 16, 64)["max"] == (2, 16, 64, 64, 3)


def test_shape_profile_rejects_max_below_opt(serving_functions):
    with pytest.raises(ValueError, match="min <= opt <= max"):
        tensorrt.shape_profile(serving_functions, CROP, max_side=CROP - 1)


def test_trtexec_command(serving_functions):
    profile = tensorrt.shape_profile(serving_functions, CROP)
    assert tensorrt.trtexec_command("m.onnx", "m.engine", profile, "fp16") == (
        "trtexec --onnx=m.onnx --saveEngine=m.engine --minShapes=clips:1x4x5x5x3 "
        "--optShapes=clips:1x4x32x32x3 --maxShapes=clips:8x4x456x456x3 --fp16"
    )
    assert not tensorrt.trtexec_command("m.onnx", "m.engine", profile).endswith("--fp16")
    with pytest.raises(ValueError, match="precision"):
        tensorrt.trtexec_command("m.onnx", "m.engine", profile, "int8")


def test_build_engine_without_tensorrt_is_a_clear_error(serving_functions, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # `import tensorrt` fails, as here.
    profile = tensorrt.shape_profile(serving_functions, CROP)
    engine = tmp_path / "m.engine"
    command = tensorrt.trtexec_command("m.onnx", str(engine), profile, "fp16")
    missing = "`tensorrt` Python package"
    with pytest.raises(tensorrt.TensorRTUnavailableError, match=missing) as info:
        tensorrt.build_engine("m.onnx", str(engine), profile, "fp16")
    assert command in str(info.value)

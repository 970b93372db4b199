"""ONNX export: symbolic batch, frames, height and width; onnxruntime agrees with Keras."""

import os

import onnx
import pytest
import tensorflow as tf

from export import onnx as onnx_export
from tests.export.conftest import CROP, NUM_CLASSES, NUM_FRAMES
from tests.testing import random_clips

# Measured max abs difference from Keras: 1.0e-7.
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def onnx_path(serving_functions, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    onnx_export.convert(serving_functions, str(path))
    return str(path)


def test_file_written_whole(onnx_path):
    assert os.listdir(os.path.dirname(onnx_path)) == ["model.onnx"]


def test_input_has_symbolic_dims(onnx_path):
    model = onnx.load(onnx_path)
    (clips,), (output,) = model.graph.input, model.graph.output
    assert clips.name == "clips"
    assert clips.type.tensor_type.elem_type == onnx.TensorProto.UINT8
    dims = clips.type.tensor_type.shape.dim
    assert [d.dim_param for d in dims[:4]] == ["batch", "frames", "height", "width"]
    assert not any(d.HasField("dim_value") for d in dims[:4])
    assert dims[4].dim_value == 3
    assert output.name == "probabilities"
    assert output.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert output.type.tensor_type.shape.dim[1].dim_value == NUM_CLASSES


@pytest.mark.parametrize(
    "shape",
    [(2, NUM_FRAMES, CROP, CROP, 3), (1, NUM_FRAMES + 2, CROP + 8, CROP + 16, 3)],
)
def test_agrees_with_keras(onnx_path, serving_functions, shape):
    clips = random_clips(shape, seed=sum(shape))
    expected = serving_functions.probabilities(tf.constant(clips)).numpy()
    got = onnx_export.run(onnx_path, clips)
    assert got.shape == (shape[0], NUM_CLASSES)
    assert abs(got - expected).max() <= TOLERANCE
    assert (got.argmax(-1) == expected.argmax(-1)).all()

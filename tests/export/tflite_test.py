"""TFLite export: each variant runs in LiteRT, agrees with Keras and uses builtin ops only."""

import types

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from export import tflite
from tests.export.conftest import CROP, NUM_CLASSES, NUM_FRAMES
from tests.testing import random_clips

CLIP_SHAPE = (1, NUM_FRAMES, CROP, CROP, 3)

# Max abs difference of probabilities from Keras, measured on 5 clips: float32
# 6e-8 to 1.8e-7; float16 9.6e-5 to 3.0e-4 (float16 weights); int8 1.0e-3 to
# 2.3e-3 (only `pred`, 128x10, gets int8 weights: TFLite's CONV_3D has no
# hybrid kernel).
TOLERANCES = {"float32": 1e-4, "float16": 2e-3, "int8": 1e-2}


@pytest.fixture(scope="module")
def flatbuffers(serving_functions):
    return {v: tflite.convert(serving_functions, CLIP_SHAPE, v) for v in tflite.VARIANTS}


@pytest.mark.parametrize("variant", tflite.VARIANTS)
@pytest.mark.parametrize("seed", [0, 1])
def test_agrees_with_keras(flatbuffers, serving_functions, variant, seed):
    clips = random_clips(CLIP_SHAPE, seed)
    expected = serving_functions.probabilities(tf.constant(clips)).numpy()
    got = tflite.run(flatbuffers[variant], clips)
    assert got.shape == (1, NUM_CLASSES)
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCES[variant])
    assert got.argmax() == expected.argmax()


@pytest.mark.parametrize("variant", tflite.VARIANTS)
def test_builtin_ops_only(flatbuffers, variant):
    ops = tflite.op_names(flatbuffers[variant])
    builtins = {name for name in vars(tflite.schema.BuiltinOperator) if not name.startswith("_")}
    assert set(ops) <= builtins - {"CUSTOM"}, ops
    assert not [name for name in ops if "FLEX" in name.upper() or "POOL_3D" in name], ops
    assert {"CONV_3D", "MAX_POOL_2D", "AVERAGE_POOL_2D", "BATCH_MATMUL", "SOFTMAX"} <= set(ops)


def test_float16_stores_half_precision_weights(flatbuffers):
    assert "DEQUANTIZE" in tflite.op_names(flatbuffers["float16"])
    assert len(flatbuffers["float16"]) < 0.75 * len(flatbuffers["float32"])


def test_input_is_fixed_uint8(flatbuffers):
    interpreter = Interpreter(model_content=flatbuffers["float32"])
    (inputs,), (outputs,) = interpreter.get_input_details(), interpreter.get_output_details()
    assert inputs["dtype"] == np.uint8
    assert tuple(inputs["shape"]) == CLIP_SHAPE
    assert tuple(inputs["shape_signature"]) == CLIP_SHAPE
    assert outputs["dtype"] == np.float32
    assert tuple(outputs["shape"]) == (1, NUM_CLASSES)


def test_select_tf_ops_are_a_clear_error():
    inputs = keras.Input((4, 8, 8, 3))
    pooled = keras.layers.MaxPooling3D((2, 2, 2))(inputs)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling3D()(pooled))
    functions = types.SimpleNamespace(
        model=model, probabilities=lambda clips: model(tf.cast(clips, "float32"))
    )
    with pytest.raises(tflite.UnsupportedOpsError, match="MaxPool3D"):
        tflite.convert(functions, (1, 4, 8, 8, 3))


def test_rejects_unknown_variant_and_open_shapes(serving_functions):
    with pytest.raises(ValueError, match="variant"):
        tflite.convert(serving_functions, CLIP_SHAPE, "int4")
    with pytest.raises(ValueError, match="clip_shape"):
        tflite.convert(serving_functions, (1, None, CROP, CROP, 3))


def test_int8_stores_int8_weights(flatbuffers):
    """Dynamic-range quantisation did quantise something (here `pred`)."""
    tensors = Interpreter(model_content=flatbuffers["int8"]).get_tensor_details()
    assert any(t["dtype"] == np.int8 for t in tensors)
    float32 = Interpreter(model_content=flatbuffers["float32"]).get_tensor_details()
    assert not any(t["dtype"] == np.int8 for t in float32)

"""The ONNX model of the clip classifier (through tf2onnx), and a run through onnxruntime.

ONNX keeps the fully-convolutional head's freedom: batch, frames, height and
width stay symbolic, so one file scores 224 crops, 256 crops and whole
frames, and TensorRT builds its engines from it (`export.tensorrt`).
"""

import numpy as np
import onnx
import onnxruntime
import tensorflow as tf
import tf2onnx

from nlkeras import atomic

INPUT_NAME = "clips"
OUTPUT_NAME = "probabilities"
INPUT_DIMS = ("batch", "frames", "height", "width")


def convert(functions, path, opset=17):
    """Writes the ONNX model of `functions.probabilities` to `path`.

    Input `clips`: uint8 `(batch, frames, height, width, 3)`; output
    `probabilities`: float32 `(batch, num_classes)`. The file appears whole
    or not at all.
    """
    spec = tf.TensorSpec((None, None, None, None, 3), tf.uint8, name=INPUT_NAME)

    @tf.function(input_signature=[spec])
    def probabilities(clips):
        return {OUTPUT_NAME: functions.probabilities(clips)}

    model, _ = tf2onnx.convert.from_function(probabilities, input_signature=[spec], opset=opset)
    # tf2onnx names the unknown dims `unk__N`; name them for the users of the file.
    (clips,), (output,) = model.graph.input, model.graph.output
    for dim, name in zip(clips.type.tensor_type.shape.dim, INPUT_DIMS, strict=False):
        dim.dim_param = name
    output.type.tensor_type.shape.dim[0].dim_param = INPUT_DIMS[0]
    onnx.checker.check_model(model)
    atomic.write_bytes(path, model.SerializeToString())


def runner(path):
    """A function uint8 `clips` (any size the model accepts) -> probabilities `(B, K)`.

    One onnxruntime CPU session, built once, so timing the function times
    inference only.
    """
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    return lambda clips: session.run([OUTPUT_NAME], {INPUT_NAME: np.asarray(clips)})[0]


def run(path, clips):
    """Probabilities of uint8 `clips` in onnxruntime, once."""
    return runner(path)(clips)

"""The ONNX model of the clip classifier (through tf2onnx), and a run through onnxruntime.

ONNX keeps the fully-convolutional head's freedom: batch, frames, height and
width stay symbolic, so one file scores 224 crops, 256 crops and whole
frames, and TensorRT builds its engines from it (`export.tensorrt`).
"""

import gc

import numpy as np
import onnx
import onnxruntime
import tensorflow as tf
import tf2onnx
from tf2onnx import optimizer, tf_loader

from nlkeras import atomic

INPUT_NAME = "clips"
OUTPUT_NAME = "probabilities"
INPUT_DIMS = ("batch", "frames", "height", "width")


def freeze(functions):
    """The frozen, grappler-optimised TensorFlow graph of `functions.probabilities`.

    Returns `(GraphDef bytes, input names, output names, renames)`: plain
    values, so `convert_frozen` can run in another process (at full size
    freezing peaks at 3.7 GiB and converting at 2.7 GiB; in one process what
    freezing used stays and they add up).
    """
    spec = tf.TensorSpec((None, None, None, None, 3), tf.uint8, name=INPUT_NAME)

    @tf.function(input_signature=[spec])
    def probabilities(clips):
        return {OUTPUT_NAME: functions.probabilities(clips)}

    concrete = probabilities.get_concrete_function()
    inputs = [t.name for t in concrete.inputs if t.dtype != tf.dtypes.resource]
    outputs = [t.name for t in concrete.outputs if t.dtype != tf.dtypes.resource]
    renames = tf2onnx.convert.tensor_names_from_structed(concrete, inputs, outputs)
    graph = tf_loader.from_function(concrete, inputs, outputs)
    return graph.SerializeToString(), inputs, outputs, renames


def convert_frozen(frozen, path, opset=17):
    """Writes the ONNX model of a `freeze` result to `path`.

    Input `clips`: uint8 `(batch, frames, height, width, 3)`; output
    `probabilities`: float32 `(batch, num_classes)`. The file appears whole
    or not at all.
    """
    graph_bytes, inputs, outputs, renames = frozen
    graph = tf.compat.v1.GraphDef.FromString(graph_bytes)
    del graph_bytes
    # tf2onnx deep-copies the graph, weights included, before each optimiser
    # pass, and the copies (reference cycles) wait for Python's rare full
    # collections: 7.9 GiB at full size. Collecting before each pass: 2.7 GiB.
    optimizers = {
        name: _collecting_first(factory) for name, factory in optimizer._get_optimizers().items()
    }
    with tf.device("/cpu:0"):
        # tf2onnx's own `from_function` is `freeze` and this step in one process.
        model, _ = tf2onnx.convert._convert_common(
            graph, name="probabilities", continue_on_error=True, opset=opset,
            input_names=inputs, output_names=outputs, tensors_to_rename=renames,
            optimizers=optimizers,
        )  # fmt: skip
    # tf2onnx names the unknown dims `unk__N`; name them for the users of the file.
    (clips,), (output,) = model.graph.input, model.graph.output
    for dim, name in zip(clips.type.tensor_type.shape.dim, INPUT_DIMS, strict=False):
        dim.dim_param = name
    output.type.tensor_type.shape.dim[0].dim_param = INPUT_DIMS[0]
    onnx.checker.check_model(model)
    atomic.write_bytes(path, model.SerializeToString())


def _collecting_first(factory):
    def make():
        gc.collect()
        return factory()

    return make


def convert(functions, path, opset=17):
    """Writes the ONNX model of `functions.probabilities` to `path` (`freeze`, then convert)."""
    convert_frozen(freeze(functions), path, opset)


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

"""TFLite (LiteRT) flatbuffers of the clip classifier: uint8 clips in, probabilities out.

LiteRT plans its memory for fixed shapes, so each flatbuffer takes one clip
shape, e.g. `(1, 8, 224, 224, 3)`. Only builtin ops are allowed: a model that
would need the Select-TF ops (the full TensorFlow runtime linked into the
app) fails to convert, naming the ops.

Variants:
- `"float32"`: the model as trained.
- `"float16"`: weights stored as float16 (half the file), computed in float32.
- `"int8"`: dynamic-range quantisation, int8 weights of the ops that have
  hybrid kernels (`FULLY_CONNECTED`, `CONV_2D`, ...). TFLite's `CONV_3D` has
  none, so an I3D's 3-D convolutions stay float32.
"""

import os
import re
import tempfile

import keras
import numpy as np
import tensorflow as tf
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter
from tensorflow.lite.python.convert_phase import ConverterError

VARIANTS = ("float32", "float16", "int8")

_BUILTIN_NAMES = {
    code: name for name, code in vars(schema.BuiltinOperator).items() if not name.startswith("_")
}


class UnsupportedOpsError(ValueError):
    """The model needs TensorFlow ops that have no TFLite builtin."""


def convert(functions, clip_shape, variant="float32"):
    """The TFLite flatbuffer (bytes) of `functions.probabilities` at a fixed uint8 `clip_shape`.

    Args:
        functions: `export.serving.ServingFunctions`.
        clip_shape: `(batch, frames, height, width, 3)`.
        variant: one of `VARIANTS`.
    """
    if variant not in VARIANTS:
        raise ValueError(f"`variant` must be one of {VARIANTS}. Received: {variant!r}")
    clip_shape = tuple(clip_shape)
    if len(clip_shape) != 5 or clip_shape[-1] != 3 or not all(n and n > 0 for n in clip_shape):
        raise ValueError(f"`clip_shape` must be a fixed (B, T, H, W, 3). Received: {clip_shape}")
    # Through a SavedModel written by Keras' ExportArchive, as `model.export(format="litert")`
    # does: it tracks the Keras variables so the converter freezes them into constants
    # (`from_concrete_functions` kept them as variables, and DEFAULT then quantised nothing).
    with tempfile.TemporaryDirectory() as folder:
        archive = keras.export.ExportArchive()
        archive.track(functions.model)
        archive.add_endpoint(
            "serving_default",
            functions.probabilities,
            input_signature=[tf.TensorSpec(clip_shape, tf.uint8, name="clips")],
        )
        archive.write_out(folder, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(folder)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if variant != "float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if variant == "float16":
            converter.target_spec.supported_types = [tf.float16]
        try:
            return converter.convert()
        except ConverterError as error:
            needed = re.search(r"TF Select ops: (.+)", str(error))
            if needed is None:
                raise
            raise UnsupportedOpsError(
                f"The model needs TensorFlow ops that TFLite has no builtin for: "
                f"{needed.group(1)}. Write them with builtin ops (3-D pools as 2-D pools over "
                f"merged axes, as nlkeras.layers.SeparablePooling3D does)."
            ) from error


def op_names(model_bytes):
    """Sorted names of the ops in a flatbuffer: builtins (`"CONV_3D"`) and custom ops (`"Flex..."`).

    Read from the flatbuffer's operator table rather than from an interpreter,
    which shows ops taken by the XNNPACK delegate as `DELEGATE` and cannot
    load a model with Flex ops at all.
    """
    model = schema.Model.GetRootAsModel(model_bytes, 0)
    names = set()
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == schema.BuiltinOperator.CUSTOM:
            names.add(code.CustomCode().decode())
        else:
            names.add(_BUILTIN_NAMES[builtin])
    return sorted(names)


def runner(model_bytes):
    """A function uint8 `clips` (the flatbuffer's exact shape) -> probabilities `(B, K)` in LiteRT.

    The interpreter is built once, so timing the function times inference only;
    it uses every core (LiteRT's default may use fewer).
    """
    interpreter = Interpreter(model_content=model_bytes, num_threads=os.cpu_count())
    interpreter.allocate_tensors()
    (inputs,), (outputs,) = interpreter.get_input_details(), interpreter.get_output_details()

    def run(clips):
        interpreter.set_tensor(inputs["index"], np.asarray(clips))
        interpreter.invoke()
        return interpreter.get_tensor(outputs["index"]).copy()

    return run


def run(model_bytes, clips):
    """Probabilities of uint8 `clips` in LiteRT, once."""
    return runner(model_bytes)(clips)

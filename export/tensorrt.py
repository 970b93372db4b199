"""TensorRT engines, built from the ONNX model (`export.onnx`).

TensorFlow's wheels have no TF-TRT, so the engine comes from the ONNX file
through TensorRT's ONNX parser: in Python with `build_engine` (needs the
`tensorrt` package and a CUDA GPU, the one the engine will run on), or with
the equivalent `trtexec` command.

An engine serves every clip shape inside its optimization profile and is
fastest at the profile's `opt` shape.
"""

import os

from export.onnx import INPUT_NAME
from nlkeras import atomic

PRECISIONS = ("fp32", "fp16")


class TensorRTUnavailableError(RuntimeError):
    """No engine can be built here: the `tensorrt` package or a CUDA GPU is missing."""


def shape_profile(functions, crop_size, max_batch=8, max_frames=None, max_side=456):
    """Min, opt and max shapes of the `clips` input, as `{"min": ..., "opt": ..., "max": ...}`.

    - min: one clip of the smallest size the head scores (`functions.min_frames`
      frames of `functions.min_side` pixels);
    - opt: one training clip, `(1, num_frames, crop_size, crop_size, 3)`;
    - max: `max_batch` clips of `max_frames` frames (default: the test clip
      length, `functions.test_views.num_frames`) of `max_side` x `max_side` pixels. The
      default 456 holds whole test frames at short side 256 up to 16:9
      (Kinetics' 455x256) in either orientation, and 8 clips hold a batch
      of the 3-crop views.

    Larger max shapes cost GPU memory at build and run time, not speed at opt.
    """
    max_frames = functions.test_views.num_frames if max_frames is None else max_frames
    profile = {
        "min": (1, functions.min_frames, functions.min_side, functions.min_side, 3),
        "opt": (1, functions.test_views.num_frames, crop_size, crop_size, 3),
        "max": (max_batch, max_frames, max_side, max_side, 3),
    }
    if not all(low <= mid <= high for low, mid, high in zip(*profile.values(), strict=True)):
        raise ValueError(f"The profile must have min <= opt <= max in every axis: {profile}")
    return profile


def trtexec_command(onnx_path, engine_path, profile, precision="fp32"):
    """The `trtexec` command that builds the same engine as `build_engine`."""
    _check_precision(precision)
    flags = [f"--onnx={onnx_path}", f"--saveEngine={engine_path}"]
    for key in ("min", "opt", "max"):
        flags.append(f"--{key}Shapes={INPUT_NAME}:{'x'.join(str(n) for n in profile[key])}")
    if precision == "fp16":
        flags.append("--fp16")
    return " ".join(["trtexec", *flags])


def build_engine(onnx_path, engine_path, profile, precision="fp32"):
    """Builds the serialized TensorRT engine of an ONNX model and writes it to `engine_path`.

    Raises `TensorRTUnavailableError` (with the `trtexec` command to run where
    TensorRT is) when the `tensorrt` package or a CUDA GPU is missing. The
    engine file appears whole or not at all.
    """
    _check_precision(precision)
    command = trtexec_command(onnx_path, engine_path, profile, precision)
    try:
        import tensorrt as trt
    except ImportError as error:
        raise TensorRTUnavailableError(
            "The `tensorrt` Python package is not installed (pip install tensorrt, on a machine "
            f"with a CUDA GPU). Or build the engine with: {command}"
        ) from error
    logger = trt.Logger(trt.Logger.WARNING)
    try:
        builder = trt.Builder(logger)
    except (TypeError, RuntimeError) as error:
        raise TensorRTUnavailableError(
            f"TensorRT found no usable CUDA GPU ({error}). Build the engine on the GPU it "
            f"will run on with: {command}"
        ) from error
    # TensorRT 10 networks are always explicit-batch; TensorRT 8 needs the flag.
    flags = 0
    if int(trt.__version__.split(".")[0]) < 10:
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(os.fspath(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ValueError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    optimization_profile = builder.create_optimization_profile()
    optimization_profile.set_shape(INPUT_NAME, profile["min"], profile["opt"], profile["max"])
    config.add_optimization_profile(optimization_profile)
    if precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    engine = builder.build_serialized_network(network, config)
    if engine is None:
        raise RuntimeError(f"TensorRT failed to build the engine; see its log. Command: {command}")
    atomic.write_bytes(engine_path, bytes(engine))


def _check_precision(precision):
    if precision not in PRECISIONS:
        raise ValueError(f"`precision` must be one of {PRECISIONS}. Received: {precision!r}")

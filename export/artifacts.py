"""Each artifact of `python -m export` written, loaded back and compared, in a process of its own.

A converter holds several copies of a full-size model's graph and weights,
and memory a process has used is not given back to the system: run one after
another in one process, the formats' peaks add up. Every stage here is
therefore a function of plain values that `in_child` runs in a fresh spawned
process; it rebuilds the model from its arguments and returns result rows
and the stage's peak resident memory. The parent never builds the
model.
"""

import concurrent.futures
import multiprocessing
import os
import time

import numpy as np


def in_child(stage, *args):
    """`(stage(*args), its peak resident MiB)`, run in a fresh spawned process.

    The child's memory is the system's again once it ends.
    """
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, context, max_tasks_per_child=1) as pool:
        return pool.submit(_measured, stage, *args).result()


def _measured(stage, *args):
    from nlkeras import memory

    result = stage(*args)
    return result, memory.peak_resident_bytes() / 2**20


def serving_functions(model_kwargs, protocol, weights):
    """The recipe's model with `weights`, as `export.serving.ServingFunctions`."""
    from export.serving import ServingFunctions
    from nlkeras.models import build_classifier
    from nlkeras.weights.files import load_weights

    model = build_classifier(**model_kwargs, head="probabilities")
    load_weights(model, weights, strict=True)
    return ServingFunctions(model, **protocol)


def compare(name, path, expected, run, inputs):
    """Runs an artifact (`run`, loaded once) on `inputs`: agreement with Keras, size, latency."""
    import tensorflow as tf

    got = np.asarray(run(inputs))
    latencies = []
    for _ in range(3):
        start = time.perf_counter()
        run(inputs)
        latencies.append(time.perf_counter() - start)
    if path is None:
        size = 0
    elif tf.io.gfile.isdir(path):
        size = sum(
            tf.io.gfile.stat(os.path.join(root, f)).length
            for root, _, files in tf.io.gfile.walk(path)
            for f in files
        )
    else:
        size = tf.io.gfile.stat(path).length
    return {
        "format": name,
        "path": path,
        "megabytes": size / 2**20,
        "input_shape": list(inputs.shape),
        "max_abs_diff": float(np.max(np.abs(got - expected))),
        "top1_agrees": bool(np.all(np.argmax(got, -1) == np.argmax(expected, -1))),
        "latency_ms": 1000 * float(np.median(latencies)),
    }


def keras_reference(model_kwargs, protocol, weights, inputs):
    """The Keras outputs every artifact is compared with: `(expected by input name, rows)`.

    `inputs`: `clip` and `full_frame` uint8 clips and a `video` of frames.
    """
    import tensorflow as tf

    functions = serving_functions(model_kwargs, protocol, weights)
    clips = tf.function(functions.probabilities, reduce_retracing=True)
    expected = {name: np.asarray(clips(inputs[name])) for name in ("clip", "full_frame")}
    # In a graph, each activation is freed once used (eagerly, a model call keeps them).
    expected["video"] = np.asarray(tf.function(functions.video)(inputs["video"]))
    rows = [compare("keras", None, expected["clip"], clips, inputs["clip"])]
    return expected, rows


def saved_model_only(model_kwargs, protocol, weights, class_names, path):
    """Writes the SavedModel for TF Serving (export/saved_model.py)."""
    from export.saved_model import write_saved_model
    from nlkeras import atomic

    functions = serving_functions(model_kwargs, protocol, weights)
    atomic.write_folder(path, lambda folder: write_saved_model(functions, class_names, folder))


def saved_model(model_kwargs, protocol, weights, class_names, path, inputs, expected):
    """Writes the SavedModel, then compares `serving_default` and `video` with Keras."""
    import tensorflow as tf

    saved_model_only(model_kwargs, protocol, weights, class_names, path)
    signatures = tf.saved_model.load(path).signatures
    run_clips = lambda c: signatures["serving_default"](clips=tf.constant(c))["probabilities"]
    run_video = lambda v: signatures["video"](frames=tf.constant(v))["probabilities"]
    rows = [
        compare("saved_model", path, expected[name], run, inputs[name])
        for name, run in (("clip", run_clips), ("full_frame", run_clips))
    ]
    rows.append(compare("saved_model_video", path, expected["video"], run_video, inputs["video"]))
    return rows


def tflite(model_kwargs, protocol, weights, variant, path, inputs, expected):
    """Converts to TFLite `variant` at the training clip's shape, writes, reads back, compares."""
    import tensorflow as tf

    from export import tflite as converter
    from nlkeras import atomic

    functions = serving_functions(model_kwargs, protocol, weights)
    data = converter.convert(functions, inputs["clip"].shape, variant)
    atomic.write_bytes(path, data)
    del functions, data
    with tf.io.gfile.GFile(path, "rb") as f:
        data = f.read()
    row = compare(
        f"tflite_{variant}", path, expected["clip"], converter.runner(data), inputs["clip"]
    )
    return [{**row, "ops": converter.op_names(data)}]


def onnx_graph(model_kwargs, protocol, weights, graph_path):
    """Writes the frozen TensorFlow graph ONNX is converted from (`export.onnx.freeze`)."""
    from export import onnx as converter
    from nlkeras import atomic

    graph, *names = converter.freeze(serving_functions(model_kwargs, protocol, weights))
    atomic.write_bytes(graph_path, graph)
    return names


def onnx(graph_path, names, path):
    """Converts the frozen graph at `graph_path` to ONNX at `path` (dynamic shapes)."""
    import tensorflow as tf

    from export import onnx as converter

    with tf.io.gfile.GFile(graph_path, "rb") as f:
        converter.convert_frozen((f.read(), *names), path)


def onnx_check(path, inputs, expected):
    """onnxruntime on both clip sizes against Keras."""
    from export import onnx as converter

    run = converter.runner(path)
    return [compare("onnx", path, expected[n], run, inputs[n]) for n in ("clip", "full_frame")]


def tensorrt(model_kwargs, protocol, weights, onnx_path, out, crop_size):
    """Builds the TensorRT engines from the ONNX file; returns the reason if it cannot."""
    import logging

    from export import tensorrt as builder

    profile = builder.shape_profile(serving_functions(model_kwargs, protocol, weights), crop_size)
    try:
        for precision in builder.PRECISIONS:
            path = os.path.join(out, f"model_{precision}.engine")
            builder.build_engine(onnx_path, path, profile, precision)
            # No TensorRT runtime is among this project's dependencies: the
            # engine is checked where it runs (trtexec --loadEngine).
            logging.info("TensorRT %s engine (built, not compared here): %s", precision, path)
    except builder.TensorRTUnavailableError as error:
        return str(error)
    return None

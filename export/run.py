"""A whole export as `python -m export` runs it: `export_model(...)`, from plain values.

The Keras reference, then each asked format, every stage in a process of
its own (export/artifacts.py); each artifact's comparison with Keras goes to
`OUT/export.json` and a printed table. Tests call it in process; the command
line is export/__main__.py.
"""

import os

import numpy as np
import tensorflow as tf

from export import FORMATS, artifacts, tflite
from nlkeras import atomic, memory
from nlkeras.data.class_names import class_names


def export_model(
    model_kwargs,
    protocol,
    weights,
    out,
    formats,
    class_names_file=None,
    split_patterns=(),
    version=1,
):
    """Writes the model in `formats` to `out`, each artifact loaded back and compared with Keras.

    Args:
        model_kwargs: dict. The arguments of `nlkeras.models.build_classifier`.
        protocol: dict. The arguments of `nlkeras.data.views.TestViews`.
        weights: str. A `.weights.h5`, original `.pkl` or training checkpoint.
        out: str. The output folder.
        formats: sequence of str, any of `FORMATS`.
        class_names_file: str or None. A `classids.json` or a text file, one name
            per line, for the SavedModel's top-5; default: the builder
            summaries of `split_patterns` (`nlkeras.data.class_names`).
        split_patterns: sequence of str. The recipe's TFRecord patterns.
        version: int. The SavedModel's version folder (TF Serving).

    Returns:
        Why the TensorRT engines could not be built (with the `trtexec` command
        that builds them where TensorRT is), or None. Raises `OSError` naming
        the stage when an artifact cannot be written.
    """
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"Unknown --formats {sorted(unknown)}; choose from {FORMATS}.")
    names = class_names(model_kwargs["num_classes"], class_names_file, split_patterns)
    tf.io.gfile.makedirs(out)
    # Every stage rebuilds the model from these in a process of its own.
    model = (model_kwargs, protocol, weights)

    # Random inputs: a clip at the training size, one at a whole test frame (any
    # size works), and a short random video for the `video` signature.
    rng = np.random.default_rng(0)
    frames, crop, scale = protocol["num_frames"], model_kwargs["crop_size"], protocol["scale"]
    inputs = {
        "clip": rng.integers(0, 256, (1, frames, crop, crop, 3), np.uint8),
        "full_frame": rng.integers(0, 256, (1, frames, scale, scale * 4 // 3, 3), np.uint8),
        "video": rng.integers(0, 256, (frames * protocol["sample_rate"], 240, 320, 3), np.uint8),
    }
    peaks = {}

    def stage(name, function, *args):
        """`function(*args)` in a process of its own; its peak memory noted as `name`'s."""
        try:
            result, peaks[name] = artifacts.in_child(function, *args)
        except OSError as error:  # a full disk, no permission: named by the stage
            raise OSError(f"{name}: {error}") from error
        return result

    expected, results = stage("keras", artifacts.keras_reference, *model, inputs)
    if "saved_model" in formats:
        path = os.path.join(out, "saved_model", str(version))
        results += stage(
            "saved_model", artifacts.saved_model, *model, names, path, inputs, expected
        )
    if "tflite" in formats:
        for variant in tflite.VARIANTS:
            path = os.path.join(out, f"model_{variant}.tflite")
            results += stage(
                f"tflite_{variant}", artifacts.tflite, *model, variant, path, inputs, expected
            )
    onnx_path = os.path.join(out, "model.onnx")
    if "onnx" in formats or "tensorrt" in formats:
        # Freezing, converting and running ONNX each peak at 2-5 GiB at full size.
        graph_path = os.path.join(out, "model.frozen_graph.pb")
        tensor_names = stage("onnx_freeze", artifacts.onnx_graph, *model, graph_path)
        stage("onnx_convert", artifacts.onnx, graph_path, tensor_names, onnx_path)
        tf.io.gfile.remove(graph_path)
        results += stage("onnx", artifacts.onnx_check, onnx_path, inputs, expected)
    unavailable = None
    if "tensorrt" in formats:
        unavailable = stage("tensorrt", artifacts.tensorrt, *model, onnx_path, out, crop)

    for row in results:
        row["stage_peak_mib"] = peaks[row["format"].removesuffix("_video")]
    atomic.write_json(os.path.join(out, "export.json"), results)
    _print_table(results, peaks, out)
    return unavailable


def _print_table(results, peaks, out):
    print(
        f"{'format':<18} {'input':<22} {'MB':>8} {'max |diff|':>11} {'top-1':>6} {'ms':>8} "
        f"{'peak MiB':>9}"
    )
    for r in results:
        shape = "x".join(map(str, r["input_shape"]))
        print(
            f"{r['format']:<18} {shape:<22} {r['megabytes']:8.2f} {r['max_abs_diff']:11.2e} "
            f"{'same' if r['top1_agrees'] else 'DIFF':>6} {r['latency_ms']:8.1f} "
            f"{r['stage_peak_mib']:9.0f}"
        )
    print("peak resident MiB per stage: " + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items()))
    print(
        f"Wrote {out} (comparison in {out}/export.json); this process peaked at "
        f"{memory.peak_resident_bytes() / 2**20:.0f} MiB beside its stages"
    )

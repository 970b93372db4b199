r"""Exports a trained model: `python -m export --recipe NAME --weights W --out DIR [--formats ...]`.

Formats (`--formats`, comma-separated):

- `saved_model`: `DIR/saved_model/1/` for TF Serving, signatures
  `serving_default`, `video` and `encoded_frames` (see export/serving.py);
- `tflite`: `DIR/model_{float32,float16,int8}.tflite`, a fixed
  `(1, T, crop, crop, 3)` uint8 clip, builtin ops only;
- `onnx`: `DIR/model.onnx`, dynamic batch, frames, height and width;
- `tensorrt`: `DIR/model_{fp32,fp16}.engine` from the ONNX file (needs the
  `tensorrt` package and an NVIDIA GPU).

Every artifact is loaded back and run on the same clip as the Keras model;
the comparison is printed and written to `DIR/export.json`.

    python -m export --recipe demo --weights runs/demo/final.weights.h5 --out exported/demo
"""

import logging
import os

import numpy as np
import tensorflow as tf
from absl import flags

from export import artifacts, tflite
from nlkeras import atomic, cli, memory
from nlkeras import config as config_lib
from nlkeras.data.class_names import class_names

FORMATS = ("saved_model", "tflite", "onnx", "tensorrt")

_CONFIG = cli.define_config_flag()
_WEIGHTS = flags.DEFINE_string(
    "weights", None, ".weights.h5, original .pkl, or training checkpoint.", required=True
)
_OUT = flags.DEFINE_string("out", None, "Output folder.", required=True)
_FORMATS = flags.DEFINE_list("formats", "saved_model,tflite,onnx", f"Any of {FORMATS}.")
_CLASS_NAMES = flags.DEFINE_string(
    "class_names",
    None,
    "classids.json or a text file, one name per line; default: the test split's builder summary.",
)
_VERSION = flags.DEFINE_integer("version", 1, "SavedModel version folder (TF Serving).")


def main(argv):
    del argv
    config = config_lib.resolve_num_classes(config_lib.validate(_CONFIG.value))
    formats = _FORMATS.value
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise SystemExit(f"Unknown --formats {sorted(unknown)}; choose from {FORMATS}.")
    logging.getLogger().setLevel(logging.INFO)
    out = _OUT.value
    tf.io.gfile.makedirs(out)
    names = class_names(
        config.model.num_classes,
        _CLASS_NAMES.value,
        config_lib.split_patterns(config),
    )
    # Every stage rebuilds the model in a process of its own (export/artifacts.py).
    model = (
        config_lib.model_kwargs(config),
        config_lib.test_protocol_kwargs(config),
        _WEIGHTS.value,
    )
    d, t = config.data, config.test

    # Random inputs: a clip at the training size, one at a whole test frame (any
    # size works), and a short random video for the `video` signature.
    rng = np.random.default_rng(0)
    inputs = {
        "clip": rng.integers(0, 256, (1, d.num_frames, d.crop_size, d.crop_size, 3), np.uint8),
        "full_frame": rng.integers(
            0, 256, (1, d.num_frames, t.scale, t.scale * 4 // 3, 3), np.uint8
        ),
        "video": rng.integers(0, 256, (d.num_frames * d.sample_rate, 240, 320, 3), np.uint8),
    }
    peaks = {}

    def stage(name, function, *args):
        """`function(*args)` in a process of its own; its peak memory noted as `name`'s."""
        try:
            result, peaks[name] = artifacts.in_child(function, *args)
        except OSError as error:  # a full disk, no permission: named by the stage
            raise SystemExit(f"error: {name}: {error}") from None
        return result

    expected, results = stage("keras", artifacts.keras_reference, *model, inputs)
    if "saved_model" in formats:
        path = os.path.join(out, "saved_model", str(_VERSION.value))
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
        unavailable = stage("tensorrt", artifacts.tensorrt, *model, onnx_path, out, d.crop_size)

    for row in results:
        row["stage_peak_mib"] = peaks[row["format"].removesuffix("_video")]
    atomic.write_json(os.path.join(out, "export.json"), results)
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
    if unavailable:
        raise SystemExit(unavailable)


if __name__ == "__main__":
    cli.run(main)

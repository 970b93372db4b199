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
import time

import numpy as np
import tensorflow as tf
from absl import flags

from export import onnx, saved_model, serving, tensorrt, tflite
from export.class_names import class_names
from nlkeras import atomic, cli
from nlkeras import config as config_lib
from nlkeras.models import build_classifier
from nlkeras.weights.files import load_weights

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


def compare(name, path, expected, run, clips):
    """Runs an artifact (`run`, loaded once) on `clips`: agreement with Keras, size, latency."""
    got = np.asarray(run(clips))
    latencies = []
    for _ in range(3):
        start = time.perf_counter()
        run(clips)
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
        "input_shape": list(clips.shape),
        "max_abs_diff": float(np.max(np.abs(got - expected))),
        "top1_agrees": bool(np.all(np.argmax(got, -1) == np.argmax(expected, -1))),
        "latency_ms": 1000 * float(np.median(latencies)),
    }


def main(argv):
    del argv
    config = config_lib.validate(_CONFIG.value)
    unknown = set(_FORMATS.value) - set(FORMATS)
    if unknown:
        raise SystemExit(f"Unknown --formats {sorted(unknown)}; choose from {FORMATS}.")
    logging.getLogger().setLevel(logging.INFO)
    out = _OUT.value
    tf.io.gfile.makedirs(out)

    model = build_classifier(**config_lib.model_kwargs(config), head="probabilities")
    load_weights(model, _WEIGHTS.value, strict=True)
    functions = serving.ServingFunctions(model, **config_lib.test_protocol_kwargs(config))
    d, t = config.data, config.test

    # Random clips: one at the training size, one at a whole test frame (any size
    # works), and a short random video for the `video` signature.
    rng = np.random.default_rng(0)
    train_clip = rng.integers(0, 256, (1, d.num_frames, d.crop_size, d.crop_size, 3), np.uint8)
    full_frame = rng.integers(0, 256, (1, d.num_frames, t.scale, t.scale * 4 // 3, 3), np.uint8)
    video = rng.integers(0, 256, (d.num_frames * d.sample_rate, 240, 320, 3), np.uint8)
    keras_clips = tf.function(functions.probabilities, reduce_retracing=True)
    expected = {c.shape: np.asarray(keras_clips(c)) for c in (train_clip, full_frame)}
    expected[video.shape] = np.asarray(functions.video(video))
    results = [compare("keras", None, expected[train_clip.shape], keras_clips, train_clip)]

    if "saved_model" in _FORMATS.value:
        path = os.path.join(out, "saved_model", str(_VERSION.value))
        saved_model.write_saved_model(functions, class_names(config, _CLASS_NAMES.value), path)
        signatures = tf.saved_model.load(path).signatures
        run_clips = lambda c: signatures["serving_default"](clips=tf.constant(c))["probabilities"]
        run_video = lambda v: signatures["video"](frames=tf.constant(v))["probabilities"]
        for name, run, inputs in (
            ("saved_model", run_clips, train_clip),
            ("saved_model", run_clips, full_frame),
            ("saved_model_video", run_video, video),
        ):
            results.append(compare(name, path, expected[inputs.shape], run, inputs))

    if "tflite" in _FORMATS.value:
        for variant in tflite.VARIANTS:
            path = os.path.join(out, f"model_{variant}.tflite")
            data = tflite.convert(functions, train_clip.shape, variant)
            atomic.write_bytes(path, data)
            with tf.io.gfile.GFile(path, "rb") as f:
                run = tflite.runner(f.read())
            row = compare(f"tflite_{variant}", path, expected[train_clip.shape], run, train_clip)
            results.append({**row, "ops": tflite.op_names(data)})

    onnx_path = os.path.join(out, "model.onnx")
    if "onnx" in _FORMATS.value or "tensorrt" in _FORMATS.value:
        onnx.convert(functions, onnx_path)
        run = onnx.runner(onnx_path)
        for clip in (train_clip, full_frame):
            results.append(compare("onnx", onnx_path, expected[clip.shape], run, clip))

    unavailable = None
    if "tensorrt" in _FORMATS.value:
        profile = tensorrt.shape_profile(functions, d.crop_size)
        try:
            for precision in tensorrt.PRECISIONS:
                path = os.path.join(out, f"model_{precision}.engine")
                tensorrt.build_engine(onnx_path, path, profile, precision)
                # No TensorRT runtime is among this project's dependencies: the
                # engine is checked where it runs (trtexec --loadEngine).
                logging.info("TensorRT %s engine (built, not compared here): %s", precision, path)
        except tensorrt.TensorRTUnavailableError as error:
            unavailable = str(error)

    atomic.write_json(os.path.join(out, "export.json"), results)
    print(f"{'format':<18} {'input':<22} {'MB':>8} {'max |diff|':>11} {'top-1':>6} {'ms':>8}")
    for r in results:
        shape = "x".join(map(str, r["input_shape"]))
        print(
            f"{r['format']:<18} {shape:<22} {r['megabytes']:8.2f} {r['max_abs_diff']:11.2e} "
            f"{'same' if r['top1_agrees'] else 'DIFF':>6} {r['latency_ms']:8.1f}"
        )
    print(f"Wrote {out} (comparison in {out}/export.json)")
    if unavailable:
        raise SystemExit(unavailable)


if __name__ == "__main__":
    cli.run(main)

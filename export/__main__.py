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

import json
import logging
import os
import time

import numpy as np
import tensorflow as tf
from absl import flags

from export import onnx, saved_model, serving, tensorrt, tflite
from nlkeras import cli
from nlkeras import config as config_lib
from nlkeras.data import builder, pipelines, sources
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


def class_names(config, path=None):
    """Names by class id: from `path`, else the builder summary of the test split."""
    num_classes = config.model.num_classes
    if path:
        ids = sources.load_classes(path)
    else:
        try:
            files = pipelines.list_files(config.data.test_files)
        except ValueError:
            files = []
        ids = {}
        for summary in builder.summaries_of(files).values():
            ids.update(summary.get("class_ids", {}))
    names = [f"class_{i}" for i in range(num_classes)]
    for name, i in ids.items():
        if not 0 <= i < num_classes:
            raise ValueError(f"Class {name!r} has id {i}, outside the model's {num_classes}.")
        names[i] = name
    unnamed = sum(name == f"class_{i}" for i, name in enumerate(names))
    if unnamed:
        logging.warning("%d of %d classes have no name (use --class_names).", unnamed, num_classes)
    return names


def compare(name, path, expected, run, clips):
    """Runs an artifact on `clips`; its agreement with Keras and its latency."""
    got = np.asarray(run(clips))
    latencies = []
    for _ in range(3):
        start = time.perf_counter()
        run(clips)
        latencies.append(time.perf_counter() - start)
    size = sum(
        os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(path) for f in files
    ) if os.path.isdir(path) else os.path.getsize(path)  # fmt: skip
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
    os.makedirs(out, exist_ok=True)

    model = build_classifier(**config_lib.model_kwargs(config), head="probabilities")
    load_weights(model, _WEIGHTS.value, strict=True)
    d, t = config.data, config.test
    functions = serving.ServingFunctions(
        model, d.mean, d.std, d.use_bgr, d.num_frames, d.sample_rate, t.num_clips, t.scale,
        t.protocol, t.flip,
    )  # fmt: skip

    # One random clip at the training size, one at a full test frame (any size works).
    rng = np.random.default_rng(0)
    train_clip = rng.integers(0, 256, (1, d.num_frames, d.crop_size, d.crop_size, 3), np.uint8)
    full_frame = rng.integers(0, 256, (1, d.num_frames, t.scale, t.scale * 4 // 3, 3), np.uint8)
    expected = {c.shape: np.asarray(functions.probabilities(c)) for c in (train_clip, full_frame)}
    results = []

    if "saved_model" in _FORMATS.value:
        path = os.path.join(out, "saved_model", str(_VERSION.value))
        saved_model.write_saved_model(functions, class_names(config, _CLASS_NAMES.value), path)
        signature = tf.saved_model.load(path).signatures["serving_default"]
        for clip in (train_clip, full_frame):
            run = lambda c: signature(clips=tf.constant(c))["probabilities"].numpy()
            results.append(compare("saved_model", path, expected[clip.shape], run, clip))

    if "tflite" in _FORMATS.value:
        for variant in tflite.VARIANTS:
            path = os.path.join(out, f"model_{variant}.tflite")
            data = tflite.convert(functions, train_clip.shape, variant)
            _write_atomically(path, data)
            run = lambda c, data=data: tflite.run(data, c)
            results.append(
                compare(f"tflite_{variant}", path, expected[train_clip.shape], run, train_clip)
            )
            results[-1]["ops"] = tflite.op_names(data)

    onnx_path = os.path.join(out, "model.onnx")
    if "onnx" in _FORMATS.value:
        onnx.convert(functions, onnx_path)
        for clip in (train_clip, full_frame):
            run = lambda c: onnx.run(onnx_path, c)
            results.append(compare("onnx", onnx_path, expected[clip.shape], run, clip))

    unavailable = None
    if "tensorrt" in _FORMATS.value:
        if not os.path.exists(onnx_path):
            onnx.convert(functions, onnx_path)
        profile = tensorrt.shape_profile(functions, d.crop_size)
        try:
            for precision in ("fp32", "fp16"):
                path = os.path.join(out, f"model_{precision}.engine")
                tensorrt.build_engine(onnx_path, path, profile, precision)
                logging.info("TensorRT %s engine: %s", precision, path)
        except tensorrt.TensorRTUnavailableError as error:
            unavailable = str(error)

    with open(os.path.join(out, "export.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(f"{'format':<16} {'input':<22} {'MB':>8} {'max |diff|':>11} {'top-1':>6} {'ms':>8}")
    for r in results:
        shape = "x".join(map(str, r["input_shape"]))
        print(
            f"{r['format']:<16} {shape:<22} {r['megabytes']:8.2f} {r['max_abs_diff']:11.2e} "
            f"{'same' if r['top1_agrees'] else 'DIFF':>6} {r['latency_ms']:8.1f}"
        )
    print(f"Wrote {out} (comparison in {out}/export.json)")
    if unavailable:
        raise SystemExit(unavailable)


def _write_atomically(path, data):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


if __name__ == "__main__":
    cli.run(main)

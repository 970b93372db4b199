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
the comparison is printed and written to `DIR/export.json`. The export
itself is `export.run.export_model`, which tests call in process; this
module is its command line.

    python -m export --recipe demo --weights runs/demo/final.weights.h5 --out exported/demo
"""

import logging

from absl import flags

from export import FORMATS
from nlkeras import cli

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
    from export.run import export_model
    from nlkeras import config as config_lib

    logging.getLogger().setLevel(logging.INFO)
    config = config_lib.resolve_num_classes(config_lib.validate(_CONFIG.value))
    unavailable = export_model(
        config_lib.model_kwargs(config),
        config_lib.test_protocol_kwargs(config),
        _WEIGHTS.value,
        _OUT.value,
        _FORMATS.value,
        _CLASS_NAMES.value,
        config_lib.split_patterns(config),
        _VERSION.value,
    )
    if unavailable:  # TensorRT, after the other formats were written
        raise SystemExit(unavailable)


if __name__ == "__main__":
    cli.run(main)

"""The SavedModel for TF Serving: `serving_default`, `video` and `encoded_frames`.

Class names travel as an asset (`assets/class_names.txt`, one per line, in
id order) read by a lookup table, so the top-5 names come from the model.
"""

import os
import tempfile

import keras
import tensorflow as tf

TOP_K = 5
CLASS_NAMES_FILE = "class_names.txt"

SIGNATURES = {
    "serving_default": tf.TensorSpec((None, None, None, None, 3), tf.uint8, name="clips"),
    "video": tf.TensorSpec((None, None, None, 3), tf.uint8, name="frames"),
    "encoded_frames": tf.TensorSpec((None,), tf.string, name="jpeg_bytes"),
}


def write_saved_model(functions, class_names, path):
    """Writes the SavedModel of `functions` (an `export.serving.ServingFunctions`) to `path`."""
    if len(class_names) != functions.num_classes:
        raise ValueError(
            f"{len(class_names)} class names for a model of {functions.num_classes} classes."
        )
    bad = [name for name in class_names if not name or "\n" in name]
    if bad:
        raise ValueError(f"Class names must be non-empty single lines: {bad[:5]}")
    with tempfile.TemporaryDirectory() as folder:
        names_file = os.path.join(folder, CLASS_NAMES_FILE)
        with open(names_file, "w") as f:
            f.write("".join(f"{name}\n" for name in class_names))
        table = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(
                names_file,
                tf.int64,
                tf.lookup.TextFileIndex.LINE_NUMBER,
                tf.string,
                tf.lookup.TextFileIndex.WHOLE_LINE,
            ),
            default_value="",
        )
        k = min(TOP_K, functions.num_classes)

        def with_top_k(fn):
            def endpoint(inputs):
                probabilities = fn(inputs)
                ids = tf.math.top_k(probabilities, k=k).indices
                return {
                    "probabilities": probabilities,
                    "top5_ids": ids,
                    "top5_names": table.lookup(tf.cast(ids, tf.int64)),
                }

            return endpoint

        endpoints = {
            "serving_default": functions.checked_probabilities,
            "video": functions.video,
            "encoded_frames": functions.encoded_frames,
        }
        archive = keras.export.ExportArchive()
        archive.track(functions.model)
        archive.track(table)
        for name, fn in endpoints.items():
            archive.add_endpoint(name, with_top_k(fn), input_signature=[SIGNATURES[name]])
        archive.write_out(path, verbose=False)

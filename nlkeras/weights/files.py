"""Loading a model's weights from any file a user has, by its kind.

- `.pkl`: the original's checkpoints and converted files, by blob name
  (through the restricted unpickler);
- `.weights.h5`: nlkeras weights (`final.weights.h5` of a run);
- otherwise a training checkpoint prefix (`runs/NAME/checkpoints/ckpt-N`)
  or its folder (the newest checkpoint in it).
"""

import os

import tensorflow as tf

from nlkeras.weights import caffe2


def load_weights(model, path, strict=True):
    """Loads `path` into `model`; returns the blob report for a `.pkl`, else None.

    With `strict` (evaluation, export), a `.pkl` must match the model
    exactly; without it (initialising a training run), fresh layers keep
    their initialisation and a classifier for another class count is skipped.
    """
    if path.endswith(".pkl"):
        return caffe2.load_blobs(model, caffe2.load_pickle(path), strict=strict)
    if path.endswith(".h5"):
        model.load_weights(path)
        return None
    prefix = tf.train.latest_checkpoint(path) if os.path.isdir(path) else path
    if prefix is None or not tf.io.gfile.exists(f"{prefix}.index"):
        raise FileNotFoundError(
            f"{path}: not a .pkl, a .weights.h5 or a training checkpoint (prefix or folder)."
        )
    tf.train.Checkpoint(model=model).restore(
        prefix
    ).expect_partial().assert_existing_objects_matched()
    return None

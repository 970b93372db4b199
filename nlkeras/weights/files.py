"""Loading a model's weights from any file a user has, by its kind.

- `.pkl`: the original's checkpoints and converted files, by blob name
  (through the restricted unpickler);
- `.weights.h5`: nlkeras weights (`final.weights.h5` of a run);
- otherwise a training checkpoint prefix (`runs/NAME/checkpoints/ckpt-N`)
  or its folder (the newest checkpoint in it).
"""

import h5py
import tensorflow as tf

from nlkeras.weights import caffe2


def load_weights(model, path, strict=True):
    """Loads `path` into `model`; returns the blob report for a `.pkl`, else None.

    With `strict` (evaluation, export), the file must hold exactly the
    model's weights; without it (initialising a training run), fresh layers
    keep their initialisation and a classifier for another class count is
    skipped. A training checkpoint must provide every weight of the model.
    Raises `FileNotFoundError` for a missing file and `OSError` naming the
    file for one that is not readable as its kind.
    """
    if path.endswith((".pkl", ".h5")) and not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"{path}: no such weights file.")
    if path.endswith(".pkl"):
        return caffe2.load_blobs(model, caffe2.load_pickle(path), strict=strict)
    if path.endswith(".h5"):
        # Keras ignores arrays of layers the model lacks (e.g. the non-local
        # blocks of another recipe).
        try:
            shapes = _array_shapes(path)
        except OSError as error:
            raise OSError(f"{path}: not a readable .weights.h5 file ({error}).") from error
        if strict and len(shapes) != len(model.weights):
            raise ValueError(
                f"{path} holds {len(shapes)} weight arrays, the model has {len(model.weights)}: "
                "weights of another recipe or override?"
            )
        stored_classes = _classifier_classes(shapes)
        if strict and stored_classes not in (None, model.num_classes):
            raise ValueError(
                f"{path} holds a classifier of {stored_classes} classes, the model has "
                f"{model.num_classes} (config.model.num_classes)."
            )
        if not strict and stored_classes not in (None, model.num_classes):
            # Loaded through a twin with the file's classifier: the backbone is
            # shared, `model`'s own `pred` keeps its initialisation.
            model.with_classes(stored_classes).load_weights(path)
        else:
            model.load_weights(path)
        return None
    restore_checkpoint(tf.train.Checkpoint(model=model), checkpoint_prefix(path)).expect_partial()
    return None


def restore_checkpoint(checkpoint, prefix):
    """`checkpoint.restore(prefix)`, which must provide every object of `checkpoint`.

    A training checkpoint keeps a model's layers by position, so one written
    for another model fails here, named, rather than half-restored.
    Returns the restore status.
    """
    try:
        status = checkpoint.restore(prefix)
        status.assert_existing_objects_matched()
    except (AssertionError, ValueError) as error:
        detail = str(error).strip().splitlines()[0]
        raise ValueError(
            f"{prefix} does not fit this model ({detail}). A training checkpoint keeps layers by "
            "position: it fits the recipe and overrides that wrote it, with the nlkeras that wrote "
            "it (0.2.0 moved them: stride-1 convolutions pad themselves, without padding layers). "
            "Resume it with that nlkeras, or start from the run's final.weights.h5 (it loads)."
        ) from None
    return status


def checkpoint_prefix(path):
    """The checkpoint `path` names: a `ckpt-N` prefix, or the newest in a folder."""
    prefix = tf.train.latest_checkpoint(path) if tf.io.gfile.isdir(path) else path
    if prefix is None or not tf.io.gfile.exists(f"{prefix}.index"):
        raise FileNotFoundError(
            f"{path}: not a .pkl, a .weights.h5 or a training checkpoint (prefix or folder)."
        )
    return prefix


def weight_files(path):
    """The files holding the weights `path` names (a checkpoint has an index and data)."""
    if path.endswith((".pkl", ".h5")):
        return [path]
    prefix = checkpoint_prefix(path)
    return [f"{prefix}.index", *sorted(tf.io.gfile.glob(f"{prefix}.data-*"))]


def _array_shapes(path):
    """`{name: shape}` of every array in a `.weights.h5` file."""
    shapes = {}
    with h5py.File(path, "r") as f:
        f.visititems(
            lambda name, item: (
                shapes.update({name: item.shape}) if isinstance(item, h5py.Dataset) else None
            )
        )
    return shapes


def _classifier_classes(shapes):
    """The class count of the file's classifier: its one top-level 2-D array (`pred`'s kernel)."""
    # "layers/<layer>/vars/<i>": the classifier's own arrays, not the backbone's.
    kernels = [shape for name, shape in shapes.items() if name.count("/") == 3 and len(shape) == 2]
    return kernels[0][1] if len(kernels) == 1 else None

"""The original's Caffe2 blobs <-> nlkeras weights, by the blob naming rules.

Layer names are the original's blob prefixes, so every Keras weight has one
blob: `<layer>_w` (conv, OITHW), `<layer>_b` (bias), `<bn>_s`/`_b`/`_rm`/`_riv`
(gamma, beta, running mean, running variance), `pred_w` (classes, 2048).
Non-local sub-layers add their role: `nonlocal_conv3_1_theta_w`,
`nonlocal_conv3_1_bn_s`. `_momentum`, `lr` and `model_iter` are not weights.
"""

import pickle

import numpy as np

from nlkeras import atomic
from nlkeras.weights import safe_pickle

# Keras variable name -> blob suffix (BN and Affine share `_s` / `_b`).
_SUFFIX = {
    "kernel": "w",
    "bias": "b",
    "gamma": "s",
    "beta": "b",
    "scale": "s",
    "moving_mean": "rm",
    "moving_variance": "riv",
}
_NOT_WEIGHTS = ("lr", "model_iter", "epoch")


def blob_name(variable):
    """The Caffe2 blob of a Keras variable, from its path (`layer[/sublayer]/name`)."""
    *layers, name = variable.path.split("/")
    return f"{'_'.join(layers)}_{_SUFFIX.get(name, name)}"


def _to_keras(blob, shape):
    """A Caffe2 array in the layout of a Keras variable of `shape`."""
    blob = np.asarray(blob, np.float32)
    if blob.ndim == 5 and len(shape) == 5:  # conv OITHW -> THWIO
        return blob.transpose(2, 3, 4, 1, 0)
    if blob.ndim == 4 and len(shape) == 5:  # 2D ImageNet conv: inflate (replicate / T)
        frames = shape[0]
        return np.repeat(blob.transpose(2, 3, 1, 0)[None], frames, axis=0) / frames
    if len(shape) == 2:  # pred: (K, C) or a (K, C, 1, 1, 1) test-net conv -> (C, K)
        return blob.reshape(blob.shape[0], -1).T
    return blob


def _to_caffe2(value):
    if value.ndim == 5:
        return value.transpose(4, 3, 0, 1, 2)
    if value.ndim == 2:
        return value.T
    return value


def load_blobs(model, blobs, strict=False):
    """Assigns `blobs` (a checkpoint's dict, `{'blobs': ...}` or flat) to `model`.

    Returns a report: `loaded` blob names, `missing` (model weights without a
    blob, left as they are, as the original did for fresh layers),
    `unexpected` (blobs no weight uses), `skipped` (name and reason: a `pred`
    with another class count is skipped, for fine-tuning). With `strict`, any
    missing, unexpected or skipped blob raises `ValueError` naming them.
    """
    blobs = blobs.get("blobs", blobs)
    report = {"loaded": [], "missing": [], "unexpected": [], "skipped": []}
    used = set()
    for variable in model.weights:
        if "seed_generator" in variable.path:
            continue
        name = blob_name(variable)
        if name not in blobs:
            report["missing"].append(name)
            continue
        used.add(name)
        blob = np.asarray(blobs[name])
        if name.startswith("pred") and blob.size != np.prod(variable.shape):
            report["skipped"].append((name, f"{blob.shape} does not fit {tuple(variable.shape)}"))
            continue
        value = _to_keras(blob, tuple(variable.shape))
        if value.shape != tuple(variable.shape):
            raise ValueError(
                f"Blob {name} of shape {blob.shape} does not fit {variable.path} "
                f"of shape {tuple(variable.shape)}."
            )
        variable.assign(value)
        report["loaded"].append(name)
    report["unexpected"] = sorted(
        n for n in blobs if n not in used and not n.endswith("_momentum") and n not in _NOT_WEIGHTS
    )
    if strict and (report["missing"] or report["unexpected"] or report["skipped"]):
        raise ValueError(
            f"Checkpoint does not match the model: missing {report['missing']}, "
            f"unexpected {report['unexpected']}, skipped {report['skipped']}."
        )
    return report


def model_blobs(model):
    """The model's weights as the original's blob dict (flat), float32."""
    return {
        blob_name(v): _to_caffe2(np.asarray(v.numpy(), np.float32))
        for v in model.weights
        if "seed_generator" not in v.path
    }


def save_pickle(blobs, path, lr, model_iter=0):
    """Writes `{"blobs": blobs}` with `lr` and `model_iter`, atomically (protocol 2: Python 2).

    The original's tools need both: its loader raises "No lr blob found"
    without `lr` and `modify_blob_rm.py` deletes `model_iter` (§3.1, §3.2,
    §3.5 of docs/original-semantics.md). `model_iter` is the iteration the
    weights were trained to, 0 when a new run starts from them (a
    `.weights.h5` carries none; the surgery tools start a new run, as the
    original's scripts dropped it); `lr` is the LR to go on with: that of
    the writer's recipe or of the original's script.
    """
    blobs = {**blobs, "lr": np.array([lr], np.float32), "model_iter": int(model_iter)}
    atomic.write_bytes(path, pickle.dumps({"blobs": blobs}, protocol=2))


def load_pickle(path):
    """The flat blob dict of an original checkpoint, through the restricted unpickler."""
    data = safe_pickle.load(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a dict of blobs, found {type(data).__name__}.")
    return data.get("blobs", data)


def read_blobs(path, model=None):
    """Blobs of a `.pkl`, or of nlkeras weights loaded into `model` (its recipe's model)."""
    if path.endswith(".pkl"):
        return load_pickle(path)
    if model is None:
        raise ValueError(f"{path}: nlkeras weights need the recipe of their model (--recipe).")
    model.load_weights(path)
    return model_blobs(model)


def write_blobs(blobs, path, model=None, *, lr):
    """Writes blobs as a `.pkl` (with `lr`, see `save_pickle`), or as nlkeras weights of `model`.

    Returns the load report of nlkeras weights, else None.
    """
    if path.endswith(".pkl"):
        save_pickle(blobs, path, lr)
        return None
    if model is None:
        raise ValueError(
            f"{path}: writing nlkeras weights needs the recipe of the model (--recipe)."
        )
    report = load_blobs(model, blobs)
    model.save_weights(path)
    return report

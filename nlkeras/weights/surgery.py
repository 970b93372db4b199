"""Checkpoint surgery of the original, on blob dicts (process_data/convert_models)."""

import numpy as np

BN_TO_AFFINE_EPSILON = 1e-5  # modify_caffe2_ftvideo.py's, not the model's 1.0000001e-5
# The `lr` the original's scripts write into their outputs (modify_caffe2_ftvideo.py,
# modify_blob_rm.py): what its tools read from a `.pkl` these tools write.
BN_TO_AFFINE_LR = 0.00125
FINETUNE_LR = 0.01


def bn_to_affine(blobs, epsilon=BN_TO_AFFINE_EPSILON):
    """Folds every BN into a fixed affine map: the first step of the long-clip recipes.

    `s' = s / sqrt(riv + eps)`, `b' = b - rm * s'`; running statistics, `pred`,
    momentum, `lr`, `model_iter` and `epoch` are dropped (the classifier is
    trained anew). Returns a new flat dict.
    """
    blobs = dict(blobs.get("blobs", blobs))
    out = {}
    for name, value in blobs.items():
        if (
            name.endswith("_momentum")
            or name.startswith("pred")
            or name in ("lr", "model_iter", "epoch")
        ):
            continue
        if name.endswith(("_bn_rm", "_bn_riv")):
            continue
        if name.endswith("_bn_s") or name.endswith("_bn_b"):
            layer = name[: -len("_s")]
            if f"{layer}_rm" in blobs:
                scale = blobs[f"{layer}_s"] / np.sqrt(blobs[f"{layer}_riv"] + epsilon)
                value = (
                    scale
                    if name.endswith("_s")
                    else blobs[f"{layer}_b"] - blobs[f"{layer}_rm"] * scale
                )
        out[name] = np.asarray(value, np.float32)
    return out


def prepare_finetune(blobs):
    """Drops iteration, momentum, BN running statistics and `pred` (modify_blob_rm.py).

    The running statistics restart from their defaults and are re-estimated
    by precise BN, as the original's fine-tuning recipe.
    """
    blobs = blobs.get("blobs", blobs)
    return {
        name: value
        for name, value in blobs.items()
        if not (
            name.endswith(("_momentum", "_rm", "_riv"))
            or name.startswith("pred")
            or name in ("lr", "model_iter", "epoch")
        )
    }

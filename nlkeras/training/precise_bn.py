"""Precise BN: BN statistics recomputed over many training batches (bn_helper.py)."""

import keras
import numpy as np


def batch_norm_layers(model):
    """Every trainable `BatchNormalization` of the model, nested models included."""
    layers = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            layers.append(layer)
    return layers


def recompute_batch_norm(model, batches):
    """Sets every BN's moving mean and variance to its statistics pooled over `batches`.

    As the original: for each batch the layer's batch mean and (biased)
    variance are taken; the pooled mean is the mean of the batch means and the
    pooled variance `mean(var + mean**2) - mean(mean)**2`, which includes the
    spread of the means between batches. `batches` yields clips (or
    `(clips, labels)`). Returns the number of batches used; a model without
    BN is left as it is (the frozen-BN recipes).
    """
    layers = batch_norm_layers(model)
    if not layers:
        return 0
    saved = [layer.momentum for layer in layers]
    sums = [np.zeros(layer.moving_mean.shape, np.float64) for layer in layers]
    squares = [np.zeros_like(s) for s in sums]
    count = 0
    try:
        for layer in layers:
            layer.momentum = 0.0  # the moving statistics become this batch's
        for batch in batches:
            clips = batch[0] if isinstance(batch, tuple | list) else batch
            model(clips, training=True)
            for layer, total, square in zip(layers, sums, squares, strict=True):
                mean = keras.ops.convert_to_numpy(layer.moving_mean).astype(np.float64)
                variance = keras.ops.convert_to_numpy(layer.moving_variance).astype(np.float64)
                total += mean
                square += variance + mean**2
            count += 1
    finally:
        for layer, momentum in zip(layers, saved, strict=True):
            layer.momentum = momentum
    if count == 0:
        raise ValueError("Precise BN needs at least one batch.")
    for layer, total, square in zip(layers, sums, squares, strict=True):
        mean = total / count
        layer.moving_mean.assign(mean.astype("float32"))
        layer.moving_variance.assign((square / count - mean**2).astype("float32"))
    return count

"""Multiply-accumulates of a model of the zoo on one clip (the paper's FLOPs column).

Convolutions, non-local matrix products and the classifier are counted; BN,
ReLU and pooling are not.
"""

import keras
import numpy as np

from nlkeras.layers import NonLocalBlock


def _non_local_macs(layer, shape):
    """theta/phi/g/out convs plus the two (queries x keys x width) products."""
    _, frames, height, width, channels = shape
    inner = layer.g.filters
    groups = frames // layer.group_size if layer.group_size else 1
    queries = frames * height * width
    keys = frames * (height // 2) * (width // 2) if layer.subsample else queries
    key_convs = 1 if layer.mode == "gaussian" else 2  # g, and phi unless gaussian
    macs = (keys if layer.pool_before_conv else queries) * channels * inner * key_convs
    if layer.mode != "gaussian":
        macs += queries * channels * inner  # theta
    pairs = queries * keys // groups
    score_width = channels if layer.mode == "gaussian" else inner
    if layer.mode == "concatenation":
        score_width = 0  # relu(a_i + b_j): projections only, counted below
        macs += (queries + keys) * inner
    macs += pairs * score_width + pairs * inner  # affinities, weighted sum of g
    return macs + queries * inner * channels  # out


def count_macs(model, clip_shape):
    """Multiply-accumulates of `model` on one clip of `clip_shape` (T, H, W, 3)."""
    backbone = model.backbone
    layers = [
        layer for layer in backbone.layers if isinstance(layer, keras.layers.Conv3D | NonLocalBlock)
    ]
    probe = keras.Model(backbone.input, [layer.output for layer in layers] + [backbone.output])
    *shapes, res5 = (
        spec.shape for spec in probe.compute_output_spec(keras.KerasTensor((1, *clip_shape)))
    )
    total = 0
    for layer, shape in zip(layers, shapes, strict=True):
        if isinstance(layer, NonLocalBlock):
            total += _non_local_macs(layer, shape)
        else:
            total += int(np.prod(shape[1:4])) * int(np.prod(layer.kernel.shape))
    positions = model.get_layer("pool5").compute_output_shape(res5)[1:4]
    return total + int(np.prod(positions)) * int(np.prod(model.pred.kernel.shape))

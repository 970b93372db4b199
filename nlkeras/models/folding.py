"""The inference twin of a backbone: each normalisation folded into the convolution before it."""

from nlkeras.layers import Affine, BatchNormalization
from nlkeras.models.resnet3d_backbone import ResNet3DBackbone

NORMALIZATIONS = (BatchNormalization, Affine)


def fold_normalization(backbone):
    """A copy of `backbone` for inference whose trunk has no normalisation layer.

    At inference a BN (or `Affine`) is `y = x * scale + shift` per channel,
    so the convolution before it with kernel `kernel * scale` and bias
    `shift` is the same function, to float rounding, without a pass over the
    activation; on TensorFlow the bias, the ReLU and the residual sum after
    it then run inside the convolution's oneDNN kernel. The non-local blocks,
    with their own BN, are copied as they are. Returns a
    `ResNet3DBackbone(folded_normalization=True)` with the same layer names;
    its weights are a copy (later changes to `backbone`'s do not reach it),
    made under the caller's distribution scope.
    """
    if backbone.folded_normalization:
        raise ValueError(f"`{backbone.name}` is folded already.")
    norm_of_conv = {
        norm.input._keras_history.operation.name: norm
        for norm in backbone.layers
        if isinstance(norm, NORMALIZATIONS)
    }
    twin = ResNet3DBackbone.from_config({**backbone.get_config(), "folded_normalization": True})
    for layer in backbone.layers:
        if not layer.weights or isinstance(layer, NORMALIZATIONS):
            continue
        folded = twin.get_layer(layer.name)
        if layer.name in norm_of_conv:
            scale, shift = norm_of_conv[layer.name].scale_and_shift()
            folded.kernel.assign(layer.kernel * scale)
            folded.bias.assign(shift)
        else:
            folded.set_weights(layer.get_weights())
    return twin

"""The inference twin: each normalisation folded into its convolution."""

import numpy as np
import pytest
import tensorflow as tf

from nlkeras.layers import Affine, BatchNormalization, Conv3D, NonLocalBlock
from nlkeras.models.folding import fold_normalization
from tests.testing import TINY_NL, randomized, tiny_classifier


def clips(shape=(2, 4, 48, 64, 3)):
    return np.random.default_rng(1).normal(size=shape).astype("float32")


@pytest.mark.parametrize(
    "options",
    [dict(TINY_NL), dict(TINY_NL, frozen_bn=True), dict(arch="c2d"), dict(arch="i3d")],
    ids=["bn_nonlocal", "affine_nonlocal", "c2d", "i3d"],
)
def test_the_twin_gives_the_models_probabilities(options):
    model = randomized(tiny_classifier(**options), scale=0.3)
    inference = model.for_inference()
    expected = model.with_head("probabilities")(clips(), training=False)
    got = inference(clips(), training=False)
    assert not np.allclose(expected, expected[:1])  # the clips tell apart
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_the_twins_trunk_has_no_normalization_and_biased_convolutions():
    model = tiny_classifier(**TINY_NL)
    backbone, twin = model.backbone, fold_normalization(model.backbone)
    assert [layer.name for layer in twin.layers] == [layer.name for layer in backbone.layers]
    assert not [layer for layer in twin.layers if isinstance(layer, (BatchNormalization, Affine))]
    trunk_convs = [layer for layer in twin.layers if isinstance(layer, Conv3D)]
    assert len(trunk_convs) == len(
        [layer for layer in backbone.layers if isinstance(layer, BatchNormalization)]
    )
    assert all(conv.use_bias for conv in trunk_convs)
    # The non-local blocks keep their own BN, copied.
    blocks = [layer for layer in twin.layers if isinstance(layer, NonLocalBlock)]
    assert blocks and all(isinstance(block.bn, BatchNormalization) for block in blocks)
    assert twin.get_config() == {**backbone.get_config(), "folded_normalization": True}


def test_a_folded_convolution_has_the_scaled_kernel_and_the_shift_as_bias():
    backbone = randomized(tiny_classifier(), scale=0.3).backbone
    twin = fold_normalization(backbone)
    bn = backbone.get_layer("res3_0_branch2b_bn")
    scale = bn.gamma.numpy() / np.sqrt(bn.moving_variance.numpy() + bn.epsilon)
    shift = bn.beta.numpy() - bn.moving_mean.numpy() * scale
    folded = twin.get_layer("res3_0_branch2b")
    kernel = backbone.get_layer("res3_0_branch2b").kernel.numpy()
    np.testing.assert_allclose(folded.kernel.numpy(), kernel * scale, rtol=1e-6)
    np.testing.assert_allclose(folded.bias.numpy(), shift, rtol=1e-6, atol=1e-7)


def test_the_twin_is_a_copy_and_its_own_inference_model():
    model = randomized(tiny_classifier(), scale=0.3)
    inference = model.for_inference()
    before = inference(clips(), training=False).numpy()
    randomized(model, seed=1, scale=0.3)
    np.testing.assert_array_equal(inference(clips(), training=False), before)
    assert inference.for_inference() is inference
    with pytest.raises(ValueError, match="folded already"):
        fold_normalization(inference.backbone)


def test_each_convolution_of_the_twin_adds_its_bias_as_tensorflows_bias_add():
    """The pattern Grappler's remapper fuses: Conv3D -> BiasAdd (-> Add) -> Relu."""
    model = tiny_classifier().for_inference()
    forward = tf.function(lambda x: model(x, training=False))
    graph = forward.get_concrete_function(tf.constant(clips())).graph
    convs = [op for op in graph.get_operations() if op.type == "Conv3D"]
    assert len(convs) == len(
        [layer for layer in model.backbone.layers if isinstance(layer, Conv3D)]
    )
    assert all([c.type for c in op.outputs[0].consumers()] == ["BiasAdd"] for op in convs)
    types = {op.type for op in graph.get_operations()}
    assert not types & {"FusedBatchNormV3", "Rsqrt", "Sub"}

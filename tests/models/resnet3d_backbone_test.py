"""Structure of the backbone: padding rules, initial values, names, errors."""

import keras
import numpy as np
import pytest

from nlkeras.layers import NonLocalBlock, SeparablePooling3D
from nlkeras.models import ResNet3DBackbone, specs
from nlkeras.training.precise_bn import batch_norm_layers
from tests.testing import TINY_NL, original_blob_prefixes, tiny_classifier


def tiny_i3d_nl(**kwargs):
    return tiny_classifier(**{**TINY_NL, "num_frames": 8, "num_classes": 5, **kwargs})


def test_symmetric_padding_explicit_before_strided_convs_same_otherwise():
    """Caffe2 pads both sides equally; Keras "same" would pad 28 -> 14 asymmetrically.

    A strided layer pads explicitly and is "valid"; a stride-1 convolution is
    "same", which for its odd kernels is that symmetric padding (next test).
    """
    backbone = tiny_i3d_nl().backbone
    assert backbone.get_layer("conv1_pad").padding == ((2, 2), (3, 3), (3, 3))
    conv1 = backbone.get_layer("conv1")
    assert conv1.padding == "valid" and conv1.strides == (1, 2, 2)
    assert isinstance(backbone.get_layer("pool1"), SeparablePooling3D)  # "valid" pools only
    assert backbone.get_layer("pool1").pool_size == (1, 3, 3)
    assert backbone.get_layer("pool2").pool_size == (2, 1, 1)
    assert backbone.get_layer("pool2").strides == (2, 1, 1)
    # The temporal kernel lives in branch2a, the spatial stride in branch2b.
    assert backbone.get_layer("res3_0_branch2a").kernel_size == (3, 1, 1)
    assert backbone.get_layer("res3_0_branch2a").padding == "same"
    assert backbone.get_layer("res3_0_branch2b_pad").padding == ((0, 0), (1, 1), (1, 1))
    assert backbone.get_layer("res3_0_branch2b").strides == (1, 2, 2)
    assert backbone.get_layer("res3_1_branch2b").padding == "same"
    assert backbone.get_layer("res3_0_branch1").strides == (1, 2, 2)
    pads = {
        layer.name for layer in backbone.layers if isinstance(layer, keras.layers.ZeroPadding3D)
    }
    assert pads == {
        "conv1_pad",
        "res3_0_branch2b_pad",
        "res4_0_branch2b_pad",
        "res5_0_branch2b_pad",
    }
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.Conv3D):
            strided = layer.strides != (1, 1, 1)
            padded = any(k > 1 for k in layer.kernel_size)
            expected = "same" if padded and not strided else "valid"
            assert layer.padding == expected and not layer.use_bias, layer.name
            if strided and padded:
                assert f"{layer.name}_pad" in pads, layer.name


@pytest.mark.parametrize("kernel", [(3, 1, 1), (1, 3, 3), (5, 7, 7)])
def test_a_stride_1_same_conv_is_the_symmetric_pad_then_a_valid_conv(kernel):
    x = np.random.default_rng(0).normal(size=(2, 6, 9, 8, 3)).astype("float32")
    same = keras.layers.Conv3D(4, kernel, padding="same", use_bias=False)
    valid = keras.layers.Conv3D(4, kernel, padding="valid", use_bias=False)
    valid.build(x.shape)
    same.build(x.shape)
    same.set_weights(valid.get_weights())
    padded = keras.layers.ZeroPadding3D(tuple((k // 2, k // 2) for k in kernel))(x)
    np.testing.assert_allclose(same(x), valid(padded), rtol=1e-5, atol=1e-5)


def test_resnet_video_org_stem_strides_time():
    backbone = tiny_i3d_nl(variant="resnet_video_org").backbone
    assert backbone.get_layer("conv1").strides == (2, 2, 2)
    assert backbone.get_layer("pool1").pool_size == (2, 3, 3)
    assert backbone.get_layer("pool1").strides == (2, 2, 2)


def test_fresh_model_starts_as_the_original():
    """branch2c BN gamma = 0 (BN_INIT_GAMMA), non-local BN gamma = 0, pred N(0, 0.01)."""
    model = tiny_i3d_nl()
    backbone = model.backbone
    for layer in backbone.layers:
        if layer.name.endswith("branch2c_bn"):
            assert np.all(keras.ops.convert_to_numpy(layer.gamma) == 0), layer.name
        elif isinstance(layer, keras.layers.BatchNormalization):
            assert np.all(keras.ops.convert_to_numpy(layer.gamma) == 1), layer.name
    for layer in backbone.layers:
        if isinstance(layer, NonLocalBlock):
            assert np.all(keras.ops.convert_to_numpy(layer.bn.gamma) == 0)
    big = tiny_classifier(arch="c2d", num_classes=400, num_frames=8, stage_blocks=(1, 2, 2, 1))
    kernel = keras.ops.convert_to_numpy(big.pred.kernel)
    assert kernel.shape == (128, 400) and abs(kernel.std() - 0.01) < 0.001
    assert np.all(keras.ops.convert_to_numpy(big.pred.bias) == 0)


def test_layer_names_map_one_to_one_to_original_blobs():
    model = tiny_i3d_nl()
    with_weights = {layer.name for layer in model.backbone.layers if layer.weights}
    with_weights |= {
        layer.name for layer in model.layers if layer.weights and layer is not model.backbone
    }
    expected = original_blob_prefixes((1, 2, 2, 1), {"nonlocal_conv3_1", "nonlocal_conv4_1"})
    assert with_weights == expected
    block = model.backbone.get_layer("nonlocal_conv3_1")
    paths = sorted(w.path for w in block.weights)
    for part in ("theta", "phi", "g", "out", "bn"):
        assert any(f"/{part}/" in p for p in paths), part


def test_frozen_bn_weights_are_not_trainable():
    model = tiny_i3d_nl(frozen_bn=True, non_local=dict(use_bn=False, zero_init_output=True))
    assert not any("bn" in w.path for w in model.trainable_weights)
    assert any("res_conv1_bn" in w.path for w in model.non_trainable_weights)


def test_unknown_time_height_width():
    model = tiny_i3d_nl()
    for shape in [(1, 8, 32, 32, 3), (3, 16, 48, 64, 3)]:
        out = model.with_head("probabilities")(np.zeros(shape, "float32"))
        assert out.shape == (shape[0], 5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(block_temporal_kernels=((1,), (1,), (1,))), "4 non-empty stages"),
        (dict(block_temporal_kernels=((2,), (1,), (1,), (1,))), "odd positive"),
        (
            dict(
                block_temporal_kernels=((1,), (1,), (1,), (1,)), nonlocal_blocks=((), (1,), (), ())
            ),
            "does not have",
        ),
    ],
)
def test_backbone_rejects_bad_stage_specs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ResNet3DBackbone(**kwargs)


def test_r101_non_local_rule():
    """R101 keeps res3 blocks 1, 3, moves res4's to 6, 13, 20 (docs/original-semantics.md §2.6)."""
    assert specs.nonlocal_blocks((3, 4, 23, 3), (3, 4), depth=101) == ((), (1, 3), (6, 13, 20), ())
    assert specs.nonlocal_blocks((3, 4, 6, 3), (3, 4), depth=50) == ((), (1, 3), (1, 3, 5), ())
    assert specs.nonlocal_blocks((3, 4, 6, 3), (4,), depth=50) == ((), (), (1, 3, 5), ())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(arch="x3d", depth=50, variant="resnet_video"), "arch"),
        (dict(arch="i3d", depth=34, variant="resnet_video"), "depth"),
        (dict(arch="i3d", depth=50, variant="slowfast"), "variant"),
        (dict(arch="i3d", depth=50, variant="resnet_video", non_local_stages=(6,)), "subset"),
    ],
)
def test_specs_reject_unknown_names(kwargs, message):
    with pytest.raises(ValueError, match=message):
        specs.backbone_kwargs(**kwargs)


def test_clip_too_small_is_refused():
    with pytest.raises(ValueError, match="too small"):
        tiny_classifier(arch="c2d", num_frames=1, stage_blocks=(1, 2, 2, 1))


def test_bn_batch_size_normalises_groups_of_clips_as_separate_batches():
    """`bn_batch_size=2`: a training pass over 4 clips is two passes over 2 clips.

    Trunk and non-local BN alike (grouped res3 blocks included), as the
    original's BN over each GPU's clips.
    """
    ghost = tiny_i3d_nl(bn_batch_size=2, non_local_res3_group_size=2)
    norms = batch_norm_layers(ghost)
    assert len(norms) > 20 and {n.ghost_batch_size for n in norms} == {2}
    assert ghost.backbone.get_config()["bn_batch_size"] == 2
    whole = tiny_i3d_nl(non_local_res3_group_size=2)
    whole.set_weights(ghost.get_weights())
    x = np.random.default_rng(0).normal(0, 1, (4, 8, 32, 32, 3)).astype("float32")
    pairs = [whole.backbone(x[i : i + 2], training=True) for i in (0, 2)]
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(ghost.backbone(x, training=True)),
        np.concatenate([keras.ops.convert_to_numpy(p) for p in pairs]),
        rtol=1e-4,
        atol=1e-4,
    )

"""Original-format checkpoints, made from the naming rules, land where the rules say."""

import pickle

import keras
import numpy as np
import pytest

from nlkeras.weights import caffe2, safe_pickle
from tests.testing import TINY_NL, caffe2_checkpoint, original_blob_prefixes, tiny_classifier


def tiny(**kwargs):
    """An I3D-NL of the tiny preset, 5 classes."""
    return tiny_classifier(**{**TINY_NL, "num_classes": 5, **kwargs})


def test_blob_names_follow_the_original_rules():
    model = tiny()
    layers = {name.rsplit("_", 1)[0] for name in map(caffe2.blob_name, model.weights)}
    prefixes = original_blob_prefixes((1, 2, 2, 1), set())
    for nl in ("nonlocal_conv3_1", "nonlocal_conv4_1"):
        prefixes |= {f"{nl}_{part}" for part in ("theta", "phi", "g", "out", "bn")}
    assert layers == prefixes


def test_every_value_lands_where_the_rules_say(tmp_path):
    model = tiny()
    checkpoint = caffe2_checkpoint(model)
    path = tmp_path / "c2_model_iter400000.pkl"
    path.write_bytes(pickle.dumps(checkpoint, protocol=2))
    report = caffe2.load_blobs(model, safe_pickle.load(str(path)), strict=True)
    assert not report["missing"] and not report["unexpected"] and not report["skipped"]
    blobs = checkpoint["blobs"]
    kernel = keras.ops.convert_to_numpy(model.backbone.get_layer("conv1").kernel)
    # conv1_w[o, i, t, h, w] -> kernel[t, h, w, i, o]
    assert kernel[4, 6, 2, 1, 3] == blobs["conv1_w"][3, 1, 4, 6, 2]
    theta = model.backbone.get_layer("nonlocal_conv3_1").theta
    assert (
        keras.ops.convert_to_numpy(theta.kernel)[0, 0, 0, 7, 2]
        == blobs["nonlocal_conv3_1_theta_w"][2, 7, 0, 0, 0]
    )
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(theta.bias), blobs["nonlocal_conv3_1_theta_b"]
    )
    bn = model.backbone.get_layer("res3_1_branch2b_bn")
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(bn.moving_variance), blobs["res3_1_branch2b_bn_riv"]
    )
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(bn.moving_mean), blobs["res3_1_branch2b_bn_rm"]
    )
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(bn.gamma), blobs["res3_1_branch2b_bn_s"]
    )
    # pred_w (K, 2048-like) -> Dense kernel (C, K)
    assert keras.ops.convert_to_numpy(model.pred.kernel)[10, 3] == blobs["pred_w"][3, 10]


def test_round_trip_keras_to_caffe2_to_keras_is_exact():
    source = tiny()
    caffe2.load_blobs(source, caffe2_checkpoint(source, seed=1))
    target = tiny()
    caffe2.load_blobs(target, caffe2.model_blobs(source), strict=True)
    for a, b in zip(source.weights, target.weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))


def test_frozen_bn_checkpoint_has_scale_and_bias_only():
    model = tiny(frozen_bn=True, non_local=dict(use_bn=False, zero_init_output=True))
    checkpoint = caffe2_checkpoint(model)
    assert "res_conv1_bn_s" in checkpoint["blobs"] and "res_conv1_bn_rm" not in checkpoint["blobs"]
    caffe2.load_blobs(model, checkpoint, strict=True)
    affine = model.backbone.get_layer("res_conv1_bn")
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(affine.scale), checkpoint["blobs"]["res_conv1_bn_s"]
    )


def test_missing_and_extra_blobs_are_named_and_strict_fails():
    model = tiny()
    blobs = dict(caffe2_checkpoint(model)["blobs"])
    del blobs["res4_1_branch2a_w"]
    blobs["res6_0_branch2a_w"] = np.zeros(3, np.float32)
    report = caffe2.load_blobs(model, blobs)
    assert report["missing"] == ["res4_1_branch2a_w"]
    assert report["unexpected"] == ["res6_0_branch2a_w"]
    with pytest.raises(ValueError, match="res4_1_branch2a_w.*res6_0_branch2a_w"):
        caffe2.load_blobs(model, blobs, strict=True)


def test_pred_with_another_class_count_is_skipped_for_fine_tuning():
    source = tiny()
    blobs = caffe2_checkpoint(source)["blobs"]
    target = tiny(num_classes=7)
    before = keras.ops.convert_to_numpy(target.pred.kernel).copy()
    report = caffe2.load_blobs(target, blobs)
    assert [name for name, _ in report["skipped"]] == ["pred_w", "pred_b"]
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(target.pred.kernel), before)


def test_2d_kernels_are_inflated_by_replicating_over_time_divided_by_t():
    """An ImageNet (O, I, H, W) kernel becomes T copies / T in a (T, H, W, I, O) kernel.

    §3.2 of docs/original-semantics.md.
    """
    model = tiny()
    w2d = np.random.default_rng(3).normal(size=(4, 3, 7, 7)).astype(np.float32)
    caffe2.load_blobs(model, {"conv1_w": w2d})
    kernel = keras.ops.convert_to_numpy(model.backbone.get_layer("conv1").kernel)
    assert kernel.shape == (5, 7, 7, 3, 4)
    for t in range(5):
        np.testing.assert_allclose(kernel[t], w2d.transpose(2, 3, 1, 0) / 5, rtol=1e-6)


def test_resnet101_i3d_nl_checkpoint_loads_strictly():
    """R101: non-local after res4 blocks 6, 13, 20 and 23 res4 blocks, all by name.

    At width 4: the names and the rules placing them do not depend on it.
    """
    model = tiny(depth=101, stage_blocks=())
    checkpoint = caffe2_checkpoint(model, seed=2)
    assert (
        "nonlocal_conv4_13_theta_w" in checkpoint["blobs"]
        and "res4_22_branch2c_w" in checkpoint["blobs"]
    )
    report = caffe2.load_blobs(model, checkpoint, strict=True)
    assert len(report["loaded"]) == len(
        [w for w in model.weights if "seed_generator" not in w.path]
    )
    theta = model.backbone.get_layer("nonlocal_conv4_13").theta
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(theta.bias), checkpoint["blobs"]["nonlocal_conv4_13_theta_b"]
    )
    keras.backend.clear_session()

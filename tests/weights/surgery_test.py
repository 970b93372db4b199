"""BN -> affine folding, fine-tune preparation, and the weight tools' runs on real pickles."""

import pickle

import keras
import numpy as np
import pytest

from nlkeras import cli
from nlkeras import config as config_lib
from nlkeras.models import build_classifier
from nlkeras.weights import caffe2, conversions, surgery
from tests.testing import caffe2_checkpoint, tiny_classifier
from tests.weights.caffe2_test import tiny


def test_bn_to_affine_folds_with_the_originals_epsilon():
    blobs = {
        "res2_0_branch2a_bn_s": np.array([2.0]),
        "res2_0_branch2a_bn_b": np.array([1.0]),
        "res2_0_branch2a_bn_rm": np.array([3.0]),
        "res2_0_branch2a_bn_riv": np.array([4.0]),
        "res2_0_branch2a_w": np.ones((1, 1, 1, 1, 1)),
        "pred_w": np.ones((2, 1)),
        "res2_0_branch2a_w_momentum": np.zeros((1, 1, 1, 1, 1)),
        "lr": 0.01,
        "model_iter": 5,
    }
    out = surgery.bn_to_affine({"blobs": blobs})
    scale = 2.0 / np.sqrt(4.0 + 1e-5)
    assert out["res2_0_branch2a_bn_s"] == pytest.approx([scale])
    assert out["res2_0_branch2a_bn_b"] == pytest.approx([1.0 - 3.0 * scale])
    assert set(out) == {"res2_0_branch2a_bn_s", "res2_0_branch2a_bn_b", "res2_0_branch2a_w"}


def test_folded_bn_model_equals_the_bn_model_in_inference():
    """A BN model and its folded frozen-BN twin give the same outputs (up to the eps rounding)."""
    # The baselines that start the frozen-BN recipes have no non-local blocks.
    bn_model = tiny_classifier(stage_blocks=(1, 2, 2, 1), num_classes=5, dropout=0.0)
    caffe2.load_blobs(bn_model, caffe2_checkpoint(bn_model, seed=4))
    blobs = surgery.bn_to_affine(caffe2.model_blobs(bn_model))
    frozen = tiny_classifier(stage_blocks=(1, 2, 2, 1), num_classes=5, dropout=0.0, frozen_bn=True)
    report = caffe2.load_blobs(frozen, blobs)
    assert report["missing"] == ["pred_w", "pred_b"] and not report["unexpected"]
    frozen.pred.set_weights(bn_model.pred.get_weights())
    clips = np.random.default_rng(5).normal(size=(2, 4, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(frozen(clips)),
        keras.ops.convert_to_numpy(bn_model(clips)),
        rtol=1e-3,
        atol=1e-3,
    )


def test_prepare_finetune_drops_what_modify_blob_rm_drops():
    blobs = {
        "conv1_w": 1,
        "conv1_w_momentum": 0,
        "res_conv1_bn_s": 1,
        "res_conv1_bn_rm": 0,
        "res_conv1_bn_riv": 1,
        "pred_w": 2,
        "pred_b": 3,
        "model_iter": 9,
        "lr": 0.1,
    }
    assert set(surgery.prepare_finetune({"blobs": blobs})) == {"conv1_w", "res_conv1_bn_s"}


def test_tools_on_pickles(tmp_path):
    model = tiny()
    source = tmp_path / "c2_model_iter400000.pkl"
    source.write_bytes(pickle.dumps(caffe2_checkpoint(model), protocol=2))
    conversions.bn_to_affine(str(source), str(tmp_path / "affine.pkl"))
    folded = caffe2.load_pickle(str(tmp_path / "affine.pkl"))
    assert "res_conv1_bn_rm" not in folded and "pred_w" not in folded and "res_conv1_bn_s" in folded
    assert originals_tools_read(folded) == (pytest.approx(0.00125), 0)
    conversions.prepare_finetune(str(source), str(tmp_path / "ft.pkl"))
    finetune = caffe2.load_pickle(str(tmp_path / "ft.pkl"))
    assert "pred_w" not in finetune
    assert originals_tools_read(finetune) == (pytest.approx(0.01), 0)


def originals_tools_read(blobs):
    """`(lr, model_iter)` as the original's tools take them from a `.pkl`.

    §3.2 and §3.5 of docs/original-semantics.md: its loader needs `lr` and
    reads `model_iter`; modify_blob_rm.py then does `del blobs['model_iter']`,
    a KeyError on a file without it.
    """
    blobs = dict(blobs)
    lr = float(blobs["lr"][0])
    model_iter = blobs["model_iter"]
    del blobs["model_iter"]
    return lr, model_iter


def test_convert_caffe2_writes_weights_and_reports(tmp_path, capsys):
    config = cli.load_recipe("demo")
    model_kwargs = config_lib.model_kwargs(config)
    model = build_classifier(**model_kwargs)
    blobs = caffe2_checkpoint(model)["blobs"]
    del blobs["res5_0_branch2c_bn_riv"]
    source = tmp_path / "demo.pkl"
    source.write_bytes(pickle.dumps({"blobs": blobs}, protocol=2))
    lr = config.solver.base_lr
    conversions.convert(str(source), str(tmp_path / "w.weights.h5"), model_kwargs, lr)
    out = capsys.readouterr().out
    assert "blobs loaded" in out and "missing: res5_0_branch2c_bn_riv" in out
    model.load_weights(tmp_path / "w.weights.h5")
    kernel = keras.ops.convert_to_numpy(model.backbone.get_layer("conv1").kernel)
    np.testing.assert_array_equal(kernel, blobs["conv1_w"].transpose(2, 3, 4, 1, 0))
    with pytest.raises(ValueError, match="res5_0_branch2c_bn_riv"):
        conversions.convert(str(source), str(tmp_path / "x.weights.h5"), model_kwargs, lr, True)
    assert not (tmp_path / "x.weights.h5").exists()


def test_tools_on_nlkeras_weights(tmp_path):
    """nlkeras weights -> .pkl -> back is exact; BN folding writes the frozen-BN twin's weights."""
    config = cli.load_recipe("demo")
    model_kwargs = config_lib.model_kwargs(config)
    model = build_classifier(**model_kwargs)
    caffe2.load_blobs(model, caffe2_checkpoint(model, seed=7))
    model.save_weights(tmp_path / "bn.weights.h5")
    conversions.convert(
        str(tmp_path / "bn.weights.h5"), str(tmp_path / "bn.pkl"), model_kwargs,
        config.solver.base_lr,
    )  # fmt: skip
    blobs = caffe2.load_pickle(str(tmp_path / "bn.pkl"))
    assert originals_tools_read(blobs) == (pytest.approx(config.solver.base_lr), 0)
    again = build_classifier(**model_kwargs)
    caffe2.load_blobs(again, blobs, strict=True)
    for a, b in zip(model.weights, again.weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    conversions.bn_to_affine(
        str(tmp_path / "bn.weights.h5"), str(tmp_path / "affine.weights.h5"), model_kwargs
    )
    frozen = build_classifier(**{**model_kwargs, "frozen_bn": True})
    frozen.load_weights(tmp_path / "affine.weights.h5")
    bn = model.backbone.get_layer("res3_0_branch2a_bn")
    expected = keras.ops.convert_to_numpy(bn.gamma) / np.sqrt(
        keras.ops.convert_to_numpy(bn.moving_variance) + 1e-5
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(frozen.backbone.get_layer("res3_0_branch2a_bn").scale),
        expected, rtol=1e-6,
    )  # fmt: skip

"""The two heads: training logits and the fully-convolutional test head."""

import keras
import numpy as np
import pytest

from nlkeras.models import VideoClassifier
from tests.testing import TINY_NL, randomized, tiny_classifier


def tiny(num_classes=6, **kwargs):
    return tiny_classifier(**TINY_NL, num_classes=num_classes, **kwargs)


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_fully_convolutional_head_is_mean_of_per_position_softmax():
    """pred as a 1x1x1 conv on the pool5 map, softmax per position, then mean.

    The original's test head (§2.9 of docs/original-semantics.md).
    """
    model = tiny()
    randomized(model)
    clips = np.random.default_rng(1).normal(size=(2, 4, 48, 64, 3)).astype("float32")
    res5 = keras.ops.convert_to_numpy(model.backbone(clips))
    t, h, w = model.pool_size
    positions = np.stack(
        [
            res5[:, i : i + t, j : j + h, k : k + w].mean(axis=(1, 2, 3))
            for i in range(res5.shape[1] - t + 1)
            for j in range(res5.shape[2] - h + 1)
            for k in range(res5.shape[3] - w + 1)
        ],
        axis=1,
    )
    assert positions.shape[1] > 1  # the test input gives several positions
    kernel, bias = (keras.ops.convert_to_numpy(v) for v in model.pred.weights)
    expected = softmax(positions @ kernel + bias).mean(axis=1)
    got = keras.ops.convert_to_numpy(model.with_head("probabilities")(clips))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    # The training head averages the logits over the same positions.
    logits = keras.ops.convert_to_numpy(model(clips, training=False))
    np.testing.assert_allclose(
        logits, (positions @ kernel + bias).mean(axis=1), rtol=1e-4, atol=1e-5
    )


def test_heads_share_the_same_weights():
    model = tiny()
    test_model = model.with_head("probabilities")
    assert test_model.pred is model.pred and test_model.backbone is model.backbone
    model.pred.bias.assign(np.arange(6, dtype="float32") * 100)
    clips = np.zeros((1, 4, 32, 32, 3), "float32")
    assert int(np.argmax(keras.ops.convert_to_numpy(test_model(clips)))) == 5


def test_dropout_only_in_training():
    model = tiny(dropout=0.9)
    randomized(model)
    clips = np.random.default_rng(2).normal(size=(2, 4, 32, 32, 3)).astype("float32")
    a, b = (keras.ops.convert_to_numpy(model(clips, training=False)) for _ in range(2))
    np.testing.assert_array_equal(a, b)
    c = keras.ops.convert_to_numpy(model(clips, training=True))
    assert not np.allclose(a, c)


def test_save_and_load_whole_model(tmp_path):
    """A whole model survives `.keras` save/load: same class, config and outputs."""
    model = tiny(
        frozen_bn=True, non_local=dict(use_bn=False, zero_init_output=True, mode="dot_product")
    )
    randomized(model)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, VideoClassifier)
    assert loaded.backbone.get_config() == model.backbone.get_config()
    assert loaded.backbone.non_local["mode"] == "dot_product"
    clips = np.random.default_rng(3).normal(size=(2, 4, 40, 36, 3)).astype("float32")
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(loaded(clips)), keras.ops.convert_to_numpy(model(clips))
    )


def test_unknown_head_is_refused():
    with pytest.raises(ValueError, match="head"):
        tiny(head="features")

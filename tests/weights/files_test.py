"""`load_weights`: every kind of weights file, and strictness for evaluation and export."""

import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from nlkeras.weights import caffe2
from nlkeras.weights.files import load_weights
from tests.testing import TINY_NL, tiny_classifier

DATA = pathlib.Path(__file__).parent / "data"


def assert_same_weights(a, b):
    for x, y in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.fixture
def trained():
    model = tiny_classifier()
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(size=w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


def test_weights_h5(trained, tmp_path):
    trained.save_weights(str(tmp_path / "m.weights.h5"))
    model = tiny_classifier()
    assert load_weights(model, str(tmp_path / "m.weights.h5")) is None
    assert_same_weights(model, trained)


def test_weights_h5_of_another_recipe_is_refused_strictly(tmp_path):
    """Keras alone would load the shared layers and ignore the non-local blocks' arrays."""
    tiny_classifier(non_local_stages=(3,), non_local_layer_mod=1).save_weights(
        str(tmp_path / "nl.weights.h5")
    )
    with pytest.raises(ValueError, match=r"holds \d+ weight arrays, the model has \d+"):
        load_weights(tiny_classifier(), str(tmp_path / "nl.weights.h5"))
    load_weights(tiny_classifier(), str(tmp_path / "nl.weights.h5"), strict=False)


def test_pkl_is_strict_by_default(trained, tmp_path):
    blobs = caffe2.model_blobs(trained)
    caffe2.save_pickle(blobs, str(tmp_path / "m.pkl"), lr=0.01)
    model = tiny_classifier()
    report = load_weights(model, str(tmp_path / "m.pkl"))
    assert not report["missing"] and not report["unexpected"]
    assert_same_weights(model, trained)
    del blobs["pred_w"]
    caffe2.save_pickle(blobs, str(tmp_path / "partial.pkl"), lr=0.01)
    with pytest.raises(ValueError, match="missing \\['pred_w'\\]"):
        load_weights(tiny_classifier(), str(tmp_path / "partial.pkl"))


def test_training_checkpoint_by_folder_or_prefix(trained, tmp_path):
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=trained), str(tmp_path), 2)
    prefix = manager.save(checkpoint_number=7)
    for path in (str(tmp_path), prefix):
        model = tiny_classifier()
        load_weights(model, path)
        assert_same_weights(model, trained)


def test_a_checkpoint_of_another_layout_is_a_clear_error_not_a_half_restore(trained, tmp_path):
    """Layers are kept by position: another recipe's (or an older layout's) is refused, named."""
    prefix = tf.train.Checkpoint(model=trained).write(str(tmp_path / "ckpt-1"))
    other = tiny_classifier(non_local_stages=(3,), non_local_layer_mod=1)
    with pytest.raises(ValueError, match=r"ckpt-1 does not fit this model .*final\.weights\.h5"):
        load_weights(other, prefix)


def test_weights_written_by_nlkeras_0_1_0_load_and_give_its_probabilities():
    """A `.weights.h5` of 0.1.0 (explicit pads before every convolution, Keras' Conv3D).

    `.weights.h5` keys layers by class name and order, so 0.2.0's changes
    (fewer padding layers, nlkeras' Conv3D) must leave the weighted layers'
    keys as they were. Written by 0.1.0 (7807d8c) from
    `trained_looking(tiny_classifier(**TINY_NL, num_frames=8, crop_size=64))`
    after `keras.utils.set_random_seed(0)`; the probabilities are 0.1.0's on
    this clip.
    """
    model = tiny_classifier(**TINY_NL, num_frames=8, crop_size=64)
    load_weights(model, str(DATA / "tiny_nl_0.1.0.weights.h5"))
    clip = np.random.default_rng(3).normal(0, 1, (1, 8, 64, 64, 3)).astype("float32")
    probabilities = model.with_head("probabilities")(clip, training=False)
    expected = [0.9092779, 0.01026041, 0.08046167]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(probabilities)[0], expected, atol=2e-6)


def test_a_path_that_is_no_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(
        FileNotFoundError, match="not a .pkl, a .weights.h5 or a training checkpoint"
    ):
        load_weights(tiny_classifier(), str(tmp_path / "nothing"))
    with pytest.raises(FileNotFoundError, match="not a .pkl"):
        load_weights(tiny_classifier(), str(tmp_path))  # a folder without checkpoints


def test_weights_h5_of_another_class_count_initialise_all_but_the_classifier(trained, tmp_path):
    """Fine-tuning from nlkeras weights: the backbone loads, `pred` keeps its fresh init."""
    trained.save_weights(str(tmp_path / "m.weights.h5"))
    model = tiny_classifier(num_classes=5)
    fresh = model.pred.get_weights()
    load_weights(model, str(tmp_path / "m.weights.h5"), strict=False)
    assert_same_weights(model.backbone, trained.backbone)
    for x, y in zip(model.pred.get_weights(), fresh, strict=True):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="classifier of 3 classes, the model has 5"):
        load_weights(tiny_classifier(num_classes=5), str(tmp_path / "m.weights.h5"), strict=True)


def test_a_missing_or_unreadable_file_is_named(tmp_path):
    for name in ("absent.weights.h5", "absent.pkl"):
        with pytest.raises(FileNotFoundError, match=f"{name}: no such weights file"):
            load_weights(tiny_classifier(), str(tmp_path / name))
    (tmp_path / "junk.weights.h5").write_text("not hdf5")
    with pytest.raises(OSError, match=r"junk\.weights\.h5: not a readable \.weights\.h5 file"):
        load_weights(tiny_classifier(), str(tmp_path / "junk.weights.h5"))

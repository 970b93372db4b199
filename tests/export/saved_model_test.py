"""The SavedModel's three signatures against the Keras model and the evaluation pipeline."""

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from export.saved_model import SIGNATURES, write_saved_model
from export.serving import ServingFunctions
from nlkeras.data import pipelines, records, views
from nlkeras.evaluation.video_scores import score_views
from nlkeras.models import build_classifier
from tests.export.conftest import NUM_CLASSES, NUM_FRAMES
from tests.testing import random_clips

CLASS_NAMES = [f"class {i}" for i in range(NUM_CLASSES)]


@pytest.fixture(scope="module")
def saved_model_dir(serving_functions, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("saved_model") / "model")
    write_saved_model(serving_functions, CLASS_NAMES, path)
    return path


@pytest.fixture(scope="module")
def loaded(saved_model_dir):
    return tf.saved_model.load(saved_model_dir)


def keras_probabilities(model, clips):
    return np.asarray(model.with_head("probabilities")((clips.astype("float32") - 114.75) / 57.375))


@pytest.mark.parametrize(
    "shape", [(2, 4, 32, 32, 3), (1, 4, 40, 54, 3), (2, 7, 32, 32, 3), (1, 9, 45, 38, 3)]
)
def test_serving_default_equals_keras(loaded, tiny_model, shape):
    """Two frame sizes and two clip lengths through one signature; top-5 ids and names agree."""
    clips = random_clips(shape, seed=sum(shape))
    outputs = loaded.signatures["serving_default"](clips=tf.constant(clips))
    expected = keras_probabilities(tiny_model, clips)
    np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, atol=1e-5)
    top5 = np.argsort(-expected, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(outputs["top5_ids"].numpy(), top5)
    names = outputs["top5_names"].numpy().astype(str)
    np.testing.assert_array_equal(names, np.array(CLASS_NAMES)[top5])


def test_signatures_have_dynamic_shapes_and_the_class_names_asset(saved_model_dir):
    """The SignatureDefs a server reads (what `saved_model_cli show --all` prints)."""
    with open(f"{saved_model_dir}/saved_model.pb", "rb") as f:
        (meta_graph,) = saved_model_pb2.SavedModel.FromString(f.read()).meta_graphs
    signatures = {
        name: {
            key: (tf.dtypes.as_dtype(t.dtype).name, [d.size for d in t.tensor_shape.dim])
            for key, t in signature.inputs.items()
        }
        for name, signature in meta_graph.signature_def.items()
        if not name.startswith("__")  # the asset's table initializer
    }
    assert signatures == {
        "serving_default": {"clips": ("uint8", [-1, -1, -1, -1, 3])},
        "video": {"frames": ("uint8", [-1, -1, -1, 3])},
        "encoded_frames": {"jpeg_bytes": ("string", [-1])},
    }
    with open(f"{saved_model_dir}/assets/class_names.txt") as f:
        assert f.read().splitlines() == CLASS_NAMES


def write_video_record(path, frames):
    jpegs = [records.encode_jpeg(frame) for frame in frames]
    example = records.make_sequence_example(
        jpegs, 2, "class 2", "the_video", 10.0, *frames.shape[1:3]
    )
    with tf.io.TFRecordWriter(str(path)) as writer:
        writer.write(example.SerializeToString())
    return jpegs


@pytest.mark.parametrize("protocol, flip", [("three_crop", False), ("full_frame", True)])
def test_video_signatures_equal_the_evaluation(
    loaded, serving_functions, tiny_model, tmp_path, protocol, flip
):
    """`video` and `encoded_frames` give the video-level score of `nlkeras.evaluate`, per view."""
    functions = ServingFunctions(
        tiny_model, num_frames=NUM_FRAMES, sample_rate=2, num_clips=3, scale=40,
        protocol=protocol, flip=flip,
    )  # fmt: skip
    if functions.test_views != serving_functions.test_views:  # else `loaded` is this SavedModel
        write_saved_model(functions, CLASS_NAMES, str(tmp_path / "model"))
        loaded = tf.saved_model.load(str(tmp_path / "model"))
    smooth = np.linspace(0, 255, 11 * 36 * 50 * 3).reshape(11, 36, 50, 3)
    frames = np.clip(smooth + random_clips((11, 36, 50, 3)) * 0.3, 0, 255).astype(np.uint8)
    jpegs = write_video_record(tmp_path / "test-00000-of-00001.tfrecord", frames)

    dataset = pipelines.eval_dataset(
        str(tmp_path / "test-*"), 5, protocol, num_frames=NUM_FRAMES, sample_rate=2,
        num_clips=3, scale=40, flip=flip,
    )  # fmt: skip
    scores = score_views(tiny_model.with_head("probabilities"), dataset)
    assert scores.views[0] == views.TestViews(protocol, num_clips=3, flip=flip).views_per_video
    expected = scores.sums[0] / scores.views[0]

    decoded = np.stack([tf.io.decode_jpeg(j).numpy() for j in jpegs])
    by_frames = loaded.signatures["video"](frames=tf.constant(decoded))
    by_jpegs = loaded.signatures["encoded_frames"](jpeg_bytes=tf.constant(jpegs))
    for outputs in (by_frames, by_jpegs):
        np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, atol=1e-5)
        assert outputs["top5_ids"].numpy()[0] == np.argmax(expected)
        assert outputs["top5_names"].numpy()[0].decode() == CLASS_NAMES[np.argmax(expected)]


@pytest.mark.parametrize(
    "signature, value, message",
    [
        (
            "serving_default",
            np.zeros((4, 32, 32, 3), np.uint8),
            "not compatible with expected shape",
        ),
        ("serving_default", np.zeros((1, 3, 32, 32, 3), np.uint8), "at least 4 frames"),
        ("serving_default", np.zeros((1, 4, 32, 4, 3), np.uint8), "at least 5 pixels"),
        ("video", np.zeros((1, 4, 32, 32, 3), np.uint8), "not compatible with expected shape"),
        ("video", np.zeros((0, 32, 32, 3), np.uint8), "at least one frame"),
        ("encoded_frames", np.array([], dtype=object), "holds no frame"),
    ],
)
def test_bad_input_gets_a_clear_error(loaded, signature, value, message):
    fn = loaded.signatures[signature]
    tensor = tf.constant(value, tf.string) if value.dtype == object else tf.constant(value)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        fn(tensor)


def test_frames_of_different_sizes_are_refused(loaded):
    jpegs = [tf.io.encode_jpeg(random_clips(shape)).numpy() for shape in [(32, 40, 3), (36, 40, 3)]]
    with pytest.raises(tf.errors.InvalidArgumentError, match="frames must all have the same size"):
        loaded.signatures["encoded_frames"](jpeg_bytes=tf.constant(jpegs))


def test_wrong_dtype_is_refused(loaded):
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a uint8 tensor"):
        loaded.signatures["serving_default"](tf.zeros((1, 4, 32, 32, 3)))


def test_views_smaller_than_the_model_are_refused_at_export(tiny_model):
    with pytest.raises(ValueError, match="smaller than the model's minimum"):
        ServingFunctions(tiny_model, num_frames=3, scale=40)


def test_class_names_must_fit_the_model(serving_functions, tmp_path):
    with pytest.raises(ValueError, match="5 class names for a model of 10 classes"):
        write_saved_model(serving_functions, CLASS_NAMES[:5], str(tmp_path / "m"))


def test_grouped_non_local_blocks_need_whole_groups():
    """res3 attends within groups of 2 frames: a clip leaving res3 an odd count is refused.

    Traced as the SavedModel's `serving_default` is, with its dynamic input signature.
    """
    model = build_classifier(
        num_classes=NUM_CLASSES, num_frames=8, crop_size=32, width=4, stage_blocks=(1, 2, 1, 1),
        non_local_stages=(3,), non_local_layer_mod=1, non_local_res3_group_size=2,
    )  # fmt: skip
    functions = ServingFunctions(model, num_frames=8, sample_rate=1, num_clips=1, scale=32)
    assert (functions.min_frames, functions.res3_group_size) == (8, 2)
    signature = tf.function(
        functions.checked_probabilities, input_signature=[SIGNATURES["serving_default"]]
    )
    assert signature(random_clips((1, 12, 32, 32, 3))).shape == (1, NUM_CLASSES)
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=r"multiple of 2 frames .*\(e.g. 8, 12 or 16"
    ):
        signature(random_clips((1, 10, 32, 32, 3)))


def test_a_group_size_without_non_local_blocks_sets_no_rule():
    """The frozen-BN baselines carry res3_group_size but no non-local block."""
    model = build_classifier(
        num_classes=NUM_CLASSES, num_frames=8, crop_size=32, width=4, stage_blocks=(1, 2, 1, 1),
        non_local_res3_group_size=2,
    )  # fmt: skip
    functions = ServingFunctions(model, num_frames=8, sample_rate=1, num_clips=1, scale=32)
    assert functions.res3_group_size == 0
    probabilities = functions.checked_probabilities(random_clips((1, 10, 32, 32, 3)))
    assert probabilities.shape == (1, NUM_CLASSES)

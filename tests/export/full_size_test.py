"""The full-size I3D-NL R50 (`i3d_nl_8f`) exports to every format (slow: `pytest -m slow`)."""

import numpy as np
import pytest
import tensorflow as tf

from export import onnx, saved_model, serving, tflite
from nlkeras import cli
from nlkeras import config as config_lib
from nlkeras.models import build_classifier
from tests.export.conftest import calibrated, random_clips

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def functions():
    config = cli.load_recipe("i3d_nl_8f")
    model = calibrated(build_classifier(**config_lib.model_kwargs(config)), (2, 8, 224, 224, 3))
    return serving.ServingFunctions(model, **config_lib.test_protocol_kwargs(config))


@pytest.fixture(scope="module")
def clip(functions):
    clip = random_clips((1, 8, 224, 224, 3), seed=1)
    return clip, np.asarray(functions.probabilities(clip))


def test_saved_model(functions, clip, tmp_path):
    clips, expected = clip
    names = [f"class {i}" for i in range(400)]
    saved_model.write_saved_model(functions, names, str(tmp_path / "1"))
    loaded = tf.saved_model.load(str(tmp_path / "1"))
    got = loaded.signatures["serving_default"](clips=tf.constant(clips))["probabilities"]
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-5)


@pytest.mark.parametrize(
    "variant, tolerance", [("float32", 1e-4), ("float16", 1e-2), ("int8", 5e-2)]
)
def test_tflite(functions, clip, variant, tolerance):
    clips, expected = clip
    data = tflite.convert(functions, clips.shape, variant)
    assert not [op for op in tflite.op_names(data) if "FLEX" in op]
    got = tflite.run(data, clips)
    assert np.max(np.abs(got - expected)) <= tolerance
    assert np.argmax(got) == np.argmax(expected)


def test_onnx(functions, clip, tmp_path):
    clips, expected = clip
    path = str(tmp_path / "model.onnx")
    onnx.convert(functions, path)
    np.testing.assert_allclose(onnx.run(path, clips), expected, atol=1e-5)

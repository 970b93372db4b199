"""The model code on Keras' JAX backend: the same weights give TensorFlow's probabilities.

The backend is chosen when Keras is imported, so JAX runs in a child
process with `KERAS_BACKEND=jax`; it builds the model with the same builder,
loads the `.weights.h5` this process wrote and scores the same clips.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

from nlkeras.data import processors
from nlkeras.models import build_classifier
from tests.testing import TINY, calibrated

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = dict(
    TINY, num_classes=5, non_local_stages=(3, 4), non_local_layer_mod=1, head="probabilities"
)

_ON_JAX = """
import ast
import sys
import numpy as np
import keras
from nlkeras.models import build_classifier
assert keras.backend.backend() == "jax", keras.backend.backend()
model = build_classifier(**ast.literal_eval(sys.argv[1]))
model.load_weights(sys.argv[2])
clips = np.load(sys.argv[3])
np.save(sys.argv[4], np.asarray(model(clips, training=False)))
"""


@pytest.mark.parametrize("arch", ["i3d", "c2d"])
def test_jax_backend_gives_tensorflows_probabilities(arch, tmp_path):
    pytest.importorskip("jax")
    kwargs = {**MODEL, "arch": arch}
    model = calibrated(build_classifier(**kwargs), (2, 4, 32, 32, 3))
    model.save_weights(str(tmp_path / "m.weights.h5"))
    rng = np.random.default_rng(0)
    # A training-size clip and a larger, fully-convolutional one.
    for shape in ((2, 4, 32, 32, 3), (1, 4, 40, 54, 3)):
        clips = ((rng.integers(0, 256, shape) - processors.MEAN) / processors.STD).astype("float32")
        np.save(tmp_path / "clips.npy", clips)
        result = subprocess.run(
            [sys.executable, "-c", _ON_JAX, repr(kwargs), str(tmp_path / "m.weights.h5"),
             str(tmp_path / "clips.npy"), str(tmp_path / "jax.npy")],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
            env={**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        on_jax = np.load(tmp_path / "jax.npy")
        on_tf = np.asarray(model(clips, training=False))
        assert on_tf.std() > 0.01  # spread probabilities: the comparison can fail
        np.testing.assert_allclose(on_jax, on_tf, atol=1.1e-5)

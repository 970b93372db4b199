"""The model code on Keras' JAX backend: the same weights give TensorFlow's numbers.

The backend is chosen when Keras is imported, so JAX runs in one child
process with `KERAS_BACKEND=jax`: it builds each model with the same builder,
loads the `.weights.h5` this process wrote, scores the same clips, and takes
a training-mode pass (BN on batch statistics: the Keras-ops path with its
closed-form gradient there, TensorFlow's fused kernel here) with the
gradient with respect to the clips; the inference twin, whose
normalisations are folded, is built and scored there too.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from nlkeras.data import processors
from nlkeras.models import build_classifier
from tests.testing import TINY, calibrated

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = dict(
    TINY,
    num_classes=5,
    non_local_stages=(3, 4),
    non_local_layer_mod=1,
    head="probabilities",
    dropout=0.0,  # the training-mode pass is compared too
)
# A training-size clip and a larger, fully-convolutional one.
SHAPES = ((2, 4, 32, 32, 3), (1, 4, 40, 54, 3))

_ON_JAX = """
import json, sys
import jax, jax.numpy as jnp, keras, numpy as np
from nlkeras.models import build_classifier
assert keras.backend.backend() == "jax", keras.backend.backend()
for job in json.load(open(sys.argv[1])):
    model = build_classifier(**job["model"])
    model.load_weights(job["weights"])
    trainable = [v.value for v in model.trainable_variables]
    fixed = [v.value for v in model.non_trainable_variables]
    # Compiled, as JAX programs run: op by op, the eager calls take most of the test's time.
    predict = jax.jit(lambda t, f, x: model.stateless_call(t, f, x, training=False)[0])
    out = {f"probabilities{i}": np.asarray(predict(trainable, fixed, np.load(c)))
           for i, c in enumerate(job["clips"])}
    # The inference twin (normalisations folded into the convolutions) builds there too.
    twin = model.for_inference()
    out["folded"] = np.asarray(twin(np.load(job["clips"][1]), training=False))
    clips, weights = np.load(job["clips"][0]), np.load(job["output_weights"])
    def loss(t, f, x):
        y, _ = model.stateless_call(t, f, x, training=True)
        return jnp.sum(y * weights), y
    gradient = jax.jit(jax.value_and_grad(loss, argnums=2, has_aux=True))
    (_, out["training"]), out["clip_gradient"] = gradient(trainable, fixed, clips)
    np.savez(job["out"], **{k: np.asarray(v) for k, v in out.items()})
"""


def test_jax_backend_gives_tensorflows_numbers(tmp_path):
    pytest.importorskip("jax")
    rng = np.random.default_rng(0)
    clips = []
    for i, shape in enumerate(SHAPES):
        values = (rng.integers(0, 256, shape) - processors.MEAN) / processors.STD
        np.save(tmp_path / f"clips{i}.npy", values.astype("float32"))
        clips.append(str(tmp_path / f"clips{i}.npy"))
    output_weights = rng.normal(size=(SHAPES[0][0], MODEL["num_classes"])).astype("float32")
    np.save(tmp_path / "output_weights.npy", output_weights)
    models, jobs = {}, []
    for arch in ("i3d", "c2d"):
        kwargs = {**MODEL, "arch": arch}
        models[arch] = calibrated(build_classifier(**kwargs), SHAPES[0])
        models[arch].save_weights(str(tmp_path / f"{arch}.weights.h5"))
        jobs.append(
            {"model": kwargs, "weights": str(tmp_path / f"{arch}.weights.h5"), "clips": clips,
             "output_weights": str(tmp_path / "output_weights.npy"),
             "out": str(tmp_path / f"{arch}_jax.npz")}
        )  # fmt: skip
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    child = subprocess.Popen(
        [sys.executable, "-c", _ON_JAX, str(tmp_path / "jobs.json")],
        cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"},
    )  # fmt: skip
    on_tf = {
        arch: tensorflow_outputs(model, clips, output_weights) for arch, model in models.items()
    }
    _, stderr = child.communicate(timeout=600)
    assert child.returncode == 0, stderr[-3000:]
    for arch, expected in on_tf.items():
        on_jax = np.load(tmp_path / f"{arch}_jax.npz")
        for i, probabilities in enumerate(expected["probabilities"]):
            assert probabilities.std() > 0.01  # spread probabilities: the comparison can fail
            np.testing.assert_allclose(on_jax[f"probabilities{i}"], probabilities, atol=1.1e-5)
        np.testing.assert_allclose(on_jax["folded"], expected["probabilities"][1], atol=1.1e-5)
        np.testing.assert_allclose(on_jax["training"], expected["training"], atol=1.1e-5)
        gradient = expected["clip_gradient"]
        scale = np.abs(gradient).max()
        assert scale > 0
        # BN's backward subtracts near-equal sums, which magnifies float32 rounding; the two
        # backends sum in different orders (measured: up to 5e-4 of the largest value).
        np.testing.assert_allclose(on_jax["clip_gradient"], gradient, atol=2e-3 * scale)


def tensorflow_outputs(model, clips, output_weights):
    """What the JAX child computes, here on TensorFlow (while the child runs)."""
    probabilities = [np.asarray(model(np.load(path), training=False)) for path in clips]
    x = tf.constant(np.load(clips[0]))
    with tf.GradientTape() as tape:
        tape.watch(x)
        training = model(x, training=True)
        loss = tf.reduce_sum(training * output_weights)
    return {
        "probabilities": probabilities,
        "training": training.numpy(),
        "clip_gradient": tape.gradient(loss, x).numpy(),
    }

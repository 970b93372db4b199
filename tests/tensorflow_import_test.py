"""TensorFlow and Keras load without JAX in an nlkeras process; JAX itself still imports."""

import json
import pathlib
import subprocess
import sys

import pytest

pytest.importorskip("jax")

ROOT = pathlib.Path(__file__).resolve().parent.parent

_CHILD = """
import json, sys
import nlkeras, tensorflow, keras
after_tensorflow = "jax" in sys.modules
import jax
print(json.dumps({"jax_after_tensorflow": after_tensorflow,
                  "jax_works": float(jax.numpy.ones(3).sum())}))
"""


def test_tensorflow_and_keras_import_without_loading_jax_which_still_imports():
    env = {"TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["jax_after_tensorflow"] is False
    assert report["jax_works"] == 3.0

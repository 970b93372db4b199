"""The `video` signature runs its views in chunks: the same scores, one chunk's memory."""

import functools
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from export.saved_model import write_saved_model
from export.serving import ServingFunctions
from tests.testing import random_clips, tiny_classifier, trained_looking

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NUM_CLASSES = 10
NAMES = [f"class {i}" for i in range(NUM_CLASSES)]
# A model whose activations, not TensorFlow's own memory, dominate a request.
PROTOCOL = dict(num_frames=8, sample_rate=2, scale=128)


@pytest.fixture(scope="module")
def model():
    return trained_looking(
        tiny_classifier(
            num_classes=NUM_CLASSES,
            num_frames=8,
            crop_size=112,
            width=16,
            non_local_stages=(3,),
            non_local_layer_mod=1,
        )  # fmt: skip
    )


@pytest.fixture(scope="module")
def video():
    smooth = np.linspace(0, 255, 40 * 128 * 170 * 3).reshape(40, 128, 170, 3)
    return np.clip(smooth + random_clips(smooth.shape) * 0.3, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def saved_model(model, tmp_path_factory):
    """`saved_model(num_clips, views_per_batch)`: `(path, functions)`, each written once."""
    folder = tmp_path_factory.mktemp("saved_models")

    @functools.cache
    def write(num_clips, views_per_batch):
        path = str(folder / f"clips{num_clips}_chunk{views_per_batch}")
        functions = ServingFunctions(
            model, num_clips=num_clips, views_per_batch=views_per_batch, **PROTOCOL
        )
        write_saved_model(functions, NAMES, path)
        return path, functions

    return write


def test_chunks_equal_one_stacked_batch(saved_model, video):
    """30 views in chunks of 3 (10 loop iterations) equal the 30 views in one model call."""
    path, functions = saved_model(num_clips=10, views_per_batch=3)
    got = tf.saved_model.load(path).signatures["video"](frames=tf.constant(video))
    views = functions.test_views.views(
        lambda i: tf.gather(video, i), len(video), tf.range(10, dtype=tf.int32)
    )
    assert views.shape[0] == 30
    stacked = np.asarray(functions.model(views, training=False)).mean(axis=0)
    assert np.max(np.abs(got["probabilities"].numpy() - stacked)) <= 1e-6


MEASURE = textwrap.dedent(
    """
    import json, sys
    import numpy as np, tensorflow as tf
    from nlkeras import memory
    signature = tf.saved_model.load(sys.argv[1]).signatures["video"]
    frames = tf.constant(np.load(sys.argv[2]))
    before = memory.resident_bytes()
    memory.reset_peak()
    signature(frames=frames)["probabilities"].numpy()
    print(json.dumps((memory.peak_resident_bytes() - before) / 2**20))
    """
)


def request_megabytes(paths, frames):
    """What one `video` request adds to a fresh serving process's resident memory, per SavedModel.

    The processes run at once: each measures its own memory.
    """
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", MEASURE, path, frames],
            cwd=ROOT,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ROOT},
        )  # fmt: skip
        for path in paths
    ]
    megabytes = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr[-3000:]
        megabytes.append(json.loads(stdout.strip().splitlines()[-1]))
    return megabytes


def test_memory_is_one_chunks_whatever_the_views(saved_model, tmp_path):
    """A 30-view request in chunks of 3 costs at most 1.5x a 3-view one; unchunked it would not.

    Each in a fresh process: memory freed by one request would hide the next one's.
    """
    frames = str(tmp_path / "frames.npy")
    np.save(frames, random_clips((24, 128, 170, 3), seed=3))
    settings = ((1, 3), (10, 3), (10, 30))
    one_clip, chunked, stacked = request_megabytes(
        [saved_model(*setting)[0] for setting in settings], frames
    )
    print(
        f"request MiB: 3 views {one_clip:.0f}, 30 chunked {chunked:.0f}, 30 stacked {stacked:.0f}"
    )
    assert chunked <= 1.5 * one_clip
    assert stacked > 3 * one_clip  # the measurement sees a stacked batch

"""Builder data with a skipped video, and tiny weights, shared by the evaluation tests."""

import numpy as np
import pytest

from nlkeras.data import builder, sources
from nlkeras.models import build_classifier
from tests.testing import EVALUATION_MODEL, smooth_frames, write_mp4


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    """6 videos of 3 classes through the real builder, plus one corrupt file it skips."""
    root = tmp_path_factory.mktemp("eval")
    for c, name in enumerate(["ant", "bee", "cat"]):
        for i in range(2):
            write_mp4(
                root / "videos" / name / f"{name}{i}.mp4",
                smooth_frames(6 + 3 * i, 64, 80, seed=10 * c + i),
            )
    (root / "videos" / "cat" / "broken.mp4").write_bytes(b"not a video")
    entries = sources.from_class_folders(str(root / "videos"))
    builder.build_tfrecords(
        entries, str(root / "data"), "test", 2, workers=0, short_side=64, progress=False
    )
    return root / "data"


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    model = build_classifier(**EVALUATION_MODEL)
    rng = np.random.default_rng(0)
    # A classifier with spread logits, so views disagree and the sums matter.
    model.get_layer("pred").set_weights([rng.normal(0, 3, (128, 3)), np.zeros(3)])
    path = str(tmp_path_factory.mktemp("weights") / "tiny.weights.h5")
    model.save_weights(path)
    return path

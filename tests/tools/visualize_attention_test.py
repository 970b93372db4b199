"""`python -m tools.visualize_attention`: the pictures, the printed weights, a bad block name."""

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from nlkeras import cli
from nlkeras import config as config_lib
from nlkeras.data import synthetic
from nlkeras.models import build_classifier

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A synthetic 96x128 video and random weights of the demo's model."""
    root = tmp_path_factory.mktemp("visualize")
    video = root / "move_left.mp4"
    synthetic.write_video(video, synthetic.render_video(0, np.random.default_rng(0), num_frames=24))
    model = build_classifier(**config_lib.model_kwargs(cli.load_recipe("demo")))
    weights = root / "random.weights.h5"
    model.save_weights(str(weights))
    return video, weights


def visualize(video, weights, *args):
    return subprocess.run(
        [sys.executable, "-m", "tools.visualize_attention", "--recipe=demo",
         f"--weights={weights}", str(video), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_writes_the_pictures(inputs, tmp_path):
    video, weights = inputs
    out = tmp_path / "pictures"
    result = visualize(video, weights, f"--out={out}", "--query=1,2,3", "--top_k=3")
    assert result.returncode == 0, result.stderr[-3000:]
    # The demo's res4 block on a whole 64x85 test frame: 4x4x6 queries, 4x2x3 keys.
    assert "nonlocal_conv4_1: queries on a 4x4x6 grid, keys on 4x2x3" in result.stdout
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("query (1, 2, 3)")]
    assert line.count("(") == 4  # the query and its 3 keys
    for name in ("attention.png", "heatmap.png", "cam.png"):
        picture = cv2.imread(str(out / name))
        assert picture is not None and picture.shape[1] == 4 * round(85 * 160 / 64), name
    ok, animation = cv2.imreadanimation(str(out / "attention.gif"))
    assert ok and len(animation.frames) == 8  # one per frame of the clip


def test_a_bad_block_name_is_one_error_line(inputs, tmp_path):
    video, weights = inputs
    result = visualize(video, weights, f"--out={tmp_path}", "--block=nonlocal_conv4_3")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: No non-local block 'nonlocal_conv4_3'. "
        "Non-local blocks of this model: nonlocal_conv3_1, nonlocal_conv4_1."
    )

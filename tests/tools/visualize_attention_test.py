"""`tools.visualize_attention`'s run: the pictures, the printed weights, a bad block name."""

import cv2
import numpy as np
import pytest

from nlkeras import cli
from nlkeras import config as config_lib
from nlkeras.data import synthetic
from nlkeras.models import build_classifier
from nlkeras.visualization.run import visualize


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


def visualize_demo(video, weights, out, **options):
    """`python -m tools.visualize_attention --recipe=demo --weights=W VIDEO --out=OUT ...`."""
    config = config_lib.validate(cli.load_recipe("demo"))
    return visualize(
        config_lib.model_kwargs(config), config_lib.test_protocol_kwargs(config),
        config_lib.split_patterns(config), str(weights), str(video), str(out), **options,
    )  # fmt: skip


def test_writes_the_pictures(inputs, tmp_path, capsys):
    video, weights = inputs
    out = tmp_path / "pictures"
    visualize_demo(video, weights, out, queries=["1,2,3"], top_k=3)
    stdout = capsys.readouterr().out
    # The demo's res4 block on a whole 64x85 test frame: 4x4x6 queries, 4x2x3 keys.
    assert "nonlocal_conv4_1: queries on a 4x4x6 grid, keys on 4x2x3" in stdout
    (line,) = [line for line in stdout.splitlines() if line.startswith("query (1, 2, 3)")]
    assert line.count("(") == 4  # the query and its 3 keys
    for name in ("attention.png", "heatmap.png", "cam.png"):
        picture = cv2.imread(str(out / name))
        assert picture is not None and picture.shape[1] == 4 * round(85 * 160 / 64), name
    ok, animation = cv2.imreadanimation(str(out / "attention.gif"))
    assert ok and len(animation.frames) == 8  # one per frame of the clip


def test_a_bad_block_name_is_named_with_the_models_blocks(inputs, tmp_path):
    """The command prints this `ValueError` as its one `error:` line (tests/cli_test.py)."""
    video, weights = inputs
    with pytest.raises(ValueError) as error:
        visualize_demo(video, weights, tmp_path, block="nonlocal_conv4_3")
    assert str(error.value) == (
        "No non-local block 'nonlocal_conv4_3'. "
        "Non-local blocks of this model: nonlocal_conv3_1, nonlocal_conv4_1."
    )

"""`tools.model_info`: the table, the counts, and its refusals."""

import subprocess
import sys

import keras
import pytest

from nlkeras import cli
from nlkeras import config as config_lib
from nlkeras.models import build_classifier
from nlkeras.models.info import parse_size, print_model_info
from nlkeras.models.macs import count_macs
from tests.models.zoo_test import expected_trainable
from tests.testing import ROOT, recipe_config


def test_prints_the_table_for_r101_long_clips(capsys):
    """The issue's acceptance command, `--recipe i3d_nl_affine_128f --config.model.depth=101`.

    I3D-NL R101, 128x1 frames, frozen BN.
    """
    config = config_lib.validate(recipe_config("i3d_nl_affine_128f", {"model.depth": 101}))
    print_model_info(config_lib.model_kwargs(config), config.data.sample_rate, config.test.scale)
    out = capsys.readouterr().out
    assert "I3D R101 (resnet_video_org), 128x1 frames" in out
    assert "frozen BN" in out
    # §2.11 of docs/original-semantics.md, 128x1 on resnet_video_org: 64 -> 32 -> 32 -> 16.
    assert "conv1  64x112x112, 64" in out and "res5   16x7x7, 2048" in out
    assert "16x8x11, 2048" in out  # whole 256x340 frames
    assert f"{expected_trainable('i3d', 101, True, True):,} trainable" in out
    assert "multiply-accumulates, train 128x224x224 clip:" in out


def test_wrong_type_and_unknown_key_stop_with_the_key_named():
    """A wrong type stops in absl's flag parsing: the command line itself."""
    result = subprocess.run(
        [sys.executable, "-m", "tools.model_info", "--recipe", "demo", "--config.model.depth=deep"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode != 0 and "config.model.depth" in result.stderr
    # An unknown key: cli.run prints this ValueError as one line, status 2 (tests/cli_test.py).
    with pytest.raises(ValueError, match=r"Unknown config key 'model.dpeth'.*model\.depth"):
        cli.expand_argv(["model_info", "--recipe", "demo", "--config.model.dpeth=101"])


def test_a_bad_test_size_is_named():
    with pytest.raises(ValueError, match="'256x' is not a size HEIGHTxWIDTH"):
        parse_size("256x")
    assert parse_size("256x340") == (256, 340)


def test_non_local_macs_match_the_hand_count():
    """I3D-NL minus I3D is exactly the 5 blocks' convs and matrix products at 224."""
    with_nl = config_lib.validate(cli.load_recipe("i3d_nl_8f"))
    without = config_lib.validate(cli.load_recipe("i3d_8f"))
    clip = (8, 224, 224, 3)
    delta = count_macs(build_classifier(**config_lib.model_kwargs(with_nl)), clip) - count_macs(
        build_classifier(**config_lib.model_kwargs(without)), clip
    )

    def block(frames, size, channels):
        inner, queries = channels // 2, frames * size * size
        keys = frames * (size // 2) ** 2
        convs = queries * channels * inner * 2 + keys * channels * inner * 2  # theta, out; phi, g
        return convs + 2 * queries * keys * inner  # affinities, weighted sum

    assert delta == 2 * block(4, 28, 512) + 3 * block(4, 14, 1024)
    keras.backend.clear_session()


def test_macs_scale_with_frames_and_count_the_classifier_per_position():
    """Convolutions are linear in the frames; `pred` runs once per pool5 position."""
    config = config_lib.validate(cli.load_recipe("c2d_8f"))
    model = build_classifier(**config_lib.model_kwargs(config))
    eight = count_macs(model, (8, 224, 224, 3))  # pool5: 1 position
    sixteen = count_macs(model, (16, 224, 224, 3))  # res5 T=8: 5 positions
    assert sixteen - 2 * eight == 3 * 2048 * 400
    keras.backend.clear_session()

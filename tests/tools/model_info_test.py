"""`python -m tools.model_info`: the table, the counts, and its refusals."""

import os
import subprocess
import sys

import keras

from nlkeras import cli
from nlkeras import config as config_lib
from nlkeras.models import build_classifier
from nlkeras.models.macs import count_macs
from tests.models.zoo_test import expected_trainable

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_model_info(*args):
    return subprocess.run(
        [sys.executable, "-m", "tools.model_info", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_prints_the_table_for_r101_long_clips():
    """The issue's acceptance command: I3D-NL R101, 128x1 frames, frozen BN."""
    result = run_model_info("--recipe", "i3d_nl_affine_128f", "--config.model.depth=101")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "I3D R101 (resnet_video_org), 128x1 frames" in out
    assert "frozen BN" in out
    # §2.11 of docs/original-semantics.md, 128x1 on resnet_video_org: 64 -> 32 -> 32 -> 16.
    assert "conv1  64x112x112, 64" in out and "res5   16x7x7, 2048" in out
    assert "16x8x11, 2048" in out  # whole 256x340 frames
    assert f"{expected_trainable('i3d', 101, True, True):,} trainable" in out
    assert "multiply-accumulates, train 128x224x224 clip:" in out


def test_wrong_type_and_unknown_key_stop_with_the_key_named():
    result = run_model_info("--recipe", "demo", "--config.model.depth=deep")
    assert result.returncode != 0 and "config.model.depth" in result.stderr
    result = run_model_info("--recipe", "demo", "--config.model.dpeth=101")
    assert result.returncode == 2
    assert "Unknown config key 'model.dpeth'" in result.stderr and "model.depth" in result.stderr


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

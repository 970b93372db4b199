"""Inflation: on identical frames, an I3D inflated from 2D weights is the 2D network (C2D)."""

import keras
import numpy as np

from nlkeras.weights import caffe2
from tests.testing import tiny_classifier

# 16 frames: the temporal kernels have positions away from the clip's borders.
INFLATION = dict(stage_blocks=(1, 2, 2, 1), num_frames=16, num_classes=5)


def imagenet_like_blobs(model, seed=0):
    """A 2D checkpoint: every conv kernel (O, I, H, W), BN statistics, from a C2D's shapes."""
    rng = np.random.default_rng(seed)
    blobs = {}
    for variable in model.weights:
        if "seed_generator" in variable.path or variable.path.startswith("pred"):
            continue
        shape = tuple(variable.shape)
        if len(shape) == 5:
            shape = (shape[4], shape[3], shape[1], shape[2])
        value = rng.normal(0, 0.3, shape)
        if variable.path.endswith("moving_variance"):
            value = np.abs(value) + 0.5
        blobs[caffe2.blob_name(variable)] = value.astype(np.float32)
    return blobs


def stage(model, name, clips):
    backbone = model.backbone
    probe = keras.Model(backbone.input, backbone.get_layer(backbone.stage_layers[name]).output)
    return keras.ops.convert_to_numpy(probe(clips, training=False))


def test_inflated_i3d_equals_c2d_on_identical_frames_away_from_temporal_borders():
    c2d = tiny_classifier(arch="c2d", **INFLATION)
    i3d = tiny_classifier(arch="i3d", **INFLATION)
    blobs = imagenet_like_blobs(c2d)
    assert not caffe2.load_blobs(c2d, blobs)["unexpected"]
    assert not caffe2.load_blobs(i3d, blobs)["unexpected"]
    frame = np.random.default_rng(1).normal(size=(1, 1, 32, 32, 3)).astype("float32")
    clips = np.repeat(frame, 16, axis=1)
    # conv1 (kernel 5, pad 2) leaves frames 2..13 untouched by the zero padding; res2's three
    # 3x1x1 kernels widen the border by one frame each: frames 5..10 are exact.
    np.testing.assert_allclose(
        stage(i3d, "conv1", clips)[:, 2:14],
        stage(c2d, "conv1", clips)[:, 2:14],
        rtol=1e-5,
        atol=1e-5,
    )
    np.testing.assert_allclose(
        stage(i3d, "res2", clips)[:, 5:11], stage(c2d, "res2", clips)[:, 5:11], rtol=1e-4, atol=1e-4
    )
    # ... and the border frames do differ (the check can fail).
    assert not np.allclose(stage(i3d, "conv1", clips)[:, 0], stage(c2d, "conv1", clips)[:, 0])
    # C2D on identical frames: every frame gives the 2D network's response.
    res2 = stage(c2d, "res2", clips)
    np.testing.assert_allclose(res2[:, 0], res2[:, -1], rtol=1e-6, atol=1e-6)

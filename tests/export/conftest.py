"""A tiny trained-looking I3D-NL and its serving functions, shared by the export tests."""

import keras
import numpy as np
import pytest

from export.serving import ServingFunctions
from nlkeras.models import build_classifier
from nlkeras.training.precise_bn import batch_norm_layers

NUM_CLASSES = 10  # pred 128x10: enough weights for int8 quantisation (>= 1024)
NUM_FRAMES = 4
CROP = 32


def tiny_classifier(seed=0):
    """An I3D with a non-local block, random BN statistics so BN is not the identity."""
    model = build_classifier(
        num_classes=NUM_CLASSES,
        num_frames=NUM_FRAMES,
        crop_size=CROP,
        width=4,
        stage_blocks=(1, 1, 1, 1),
        non_local_stages=(3,),
        non_local_layer_mod=1,
    )
    return trained_looking(model, seed)


def trained_looking(model, seed=0):
    """`model` with BN away from the identity and a classifier with spread logits.

    Fresh BN statistics and the non-local output's zero gamma would hide
    mistakes in what an artifact computes; trained weights do not exist here.
    """
    rng = np.random.default_rng(seed)

    def value_for(variable, value):
        name = variable.path
        if "moving_variance" in name:
            return rng.uniform(0.5, 1.5, value.shape)
        if "moving_mean" in name or "beta" in name:
            return rng.normal(0, 0.1, value.shape)
        if "gamma" in name:
            return rng.normal(1, 0.2, value.shape)
        if name.startswith("pred"):
            return rng.normal(0, 1.0, value.shape) / np.sqrt(value.shape[0])
        return value

    model.set_weights(
        [
            value_for(v, w).astype(w.dtype)
            for v, w in zip(model.weights, model.get_weights(), strict=True)
        ]
    )
    return model


def calibrated(model, clip_shape, seed=0):
    """`trained_looking`, then BN statistics of real activations and logits of std 2.

    At full size random BN statistics let activations grow layer by layer
    until every softmax is one-hot, and any two artifacts then agree
    trivially. Here BN sees its actual batch statistics (precise BN on random
    uint8 clips) and `pred` is scaled to logits of standard deviation 2.
    """
    model = trained_looking(model, seed)
    # Small scales at the ends of the residual branches (zero in a fresh model)
    # keep each block from doubling the signal, as in a trained ResNet.
    for layer in batch_norm_layers(model):
        if not layer.name.endswith(("branch1_bn", "branch2a_bn", "branch2b_bn")):
            layer.gamma.assign(layer.gamma * 0.2)
    rng = np.random.default_rng(seed)
    # Normalised random uint8 clips, as the artifacts are compared on.
    clips = ((rng.integers(0, 256, clip_shape) - 114.75) / 57.375).astype("float32")
    features = keras.Model(model.input, model.get_layer("pred").input)
    pooled = np.asarray(features(clips, training=False)).reshape(-1, model.pred.kernel.shape[0])
    kernel, bias = model.pred.get_weights()
    kernel *= 2.0 / max(float(np.std(pooled @ kernel)), 1e-12)
    model.pred.set_weights([kernel, bias])
    return model


@pytest.fixture(scope="session")
def tiny_model():
    return tiny_classifier()


@pytest.fixture(scope="session")
def serving_functions(tiny_model):
    """The recipe-like test protocol: 3 clips x 3 crops at short side 40."""
    return ServingFunctions(tiny_model, num_frames=NUM_FRAMES, sample_rate=2, num_clips=3, scale=40)


def random_clips(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)

"""A tiny trained-looking I3D-NL and its serving functions, shared by the export tests."""

import numpy as np
import pytest

from export.serving import ServingFunctions
from nlkeras.models import build_classifier

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


@pytest.fixture(scope="session")
def tiny_model():
    return tiny_classifier()


@pytest.fixture(scope="session")
def serving_functions(tiny_model):
    """The recipe-like test protocol: 3 clips x 3 crops at short side 40."""
    return ServingFunctions(tiny_model, num_frames=NUM_FRAMES, sample_rate=2, num_clips=3, scale=40)


def random_clips(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)

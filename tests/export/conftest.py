"""A tiny trained-looking I3D-NL and its serving functions, shared by the export tests."""

import keras
import pytest

from export.serving import ServingFunctions
from tests.testing import tiny_classifier, trained_looking

NUM_CLASSES = 10  # pred 128x10: enough weights for int8 quantisation (>= 1024)
NUM_FRAMES = 4
CROP = 32


def tiny_export_model(seed=0):
    """An I3D with a non-local block, random BN statistics so BN is not the identity.

    Seeded before it is built: its initial kernels must not depend on the tests that ran
    before in the process (under another order an int8 top-1 near-tie flipped).
    """
    keras.utils.set_random_seed(seed)
    model = tiny_classifier(
        num_classes=NUM_CLASSES,
        num_frames=NUM_FRAMES,
        crop_size=CROP,
        non_local_stages=(3,),
        non_local_layer_mod=1,
    )
    return trained_looking(model, seed)


@pytest.fixture(scope="session")
def tiny_model():
    return tiny_export_model()


@pytest.fixture(scope="session")
def serving_functions(tiny_model):
    """The recipe-like test protocol: 3 clips x 3 crops at short side 40."""
    return ServingFunctions(tiny_model, num_frames=NUM_FRAMES, sample_rate=2, num_clips=3, scale=40)

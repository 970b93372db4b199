"""Builder data with a skipped video, and tiny weights, shared by the evaluation tests."""

import pytest

from tests.testing import write_evaluation_split, write_evaluation_weights


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    """6 videos of 3 classes through the real builder, plus one corrupt file it skips."""
    return write_evaluation_split(tmp_path_factory.mktemp("eval"))


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return write_evaluation_weights(tmp_path_factory.mktemp("weights") / "tiny.weights.h5")

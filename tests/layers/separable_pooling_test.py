"""Tests of `nlkeras.layers.SeparablePooling3D` (3-D max and average pooling from 2-D pools)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from nlkeras.layers import SeparablePooling3D
from tests.testing import run_layer_test

POOLS = [
    ((1, 3, 3), (1, 2, 2)),  # pool1 of the 8x8 / 32x4 variants
    ((2, 3, 3), (2, 2, 2)),  # pool1 of the 32x2 / 128x1 variants
    ((2, 1, 1), (2, 1, 1)),  # pool2
]


@pytest.mark.parametrize("pool_size, strides", POOLS)
@pytest.mark.parametrize("shape", [(2, 8, 16, 12, 3), (1, 7, 17, 11, 4)])
def test_equals_max_pooling_3d(pool_size, strides, shape):
    """Exactly `MaxPooling3D` ("valid"), odd sizes included."""
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    got = SeparablePooling3D(pool_size, strides)(x)
    want = keras.layers.MaxPooling3D(pool_size, strides)(x)
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


@pytest.mark.parametrize(
    "pool_size, shape",
    [((4, 7, 7), (2, 4, 7, 7, 5)), ((4, 7, 7), (1, 5, 9, 11, 3)), ((2, 3, 3), (1, 6, 8, 9, 2))],
)
def test_average_equals_average_pooling_3d(pool_size, shape):
    """pool5: stride 1, one position at the training size, several on larger inputs."""
    x = np.random.default_rng(1).standard_normal(shape).astype("float32")
    got = SeparablePooling3D(pool_size, (1, 1, 1), reduction="average")(x)
    want = keras.layers.AveragePooling3D(pool_size, strides=1)(x)
    assert got.shape == want.shape
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6)


def test_unknown_reduction_is_refused():
    with pytest.raises(ValueError, match="`reduction` must be one of"):
        SeparablePooling3D((1, 2, 2), reduction="min")


def test_gradient_equals_max_pooling_3d():
    """Training sees the same gradient: it flows to the window maxima."""
    x = tf.constant(np.random.default_rng(1).standard_normal((2, 6, 9, 9, 2)), tf.float32)
    # Distinct weights per output, so a gradient routed to the wrong input shows.
    weights = tf.reshape(tf.range(1.0, 2 * 3 * 4 * 4 * 2 + 1), (2, 3, 4, 4, 2))
    grads = []
    for layer in (
        SeparablePooling3D((2, 3, 3), (2, 2, 2)),
        keras.layers.MaxPooling3D((2, 3, 3), (2, 2, 2)),
    ):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(layer(x) * weights)
        grads.append(tape.gradient(y, x).numpy())
    np.testing.assert_array_equal(*grads)


def test_unknown_sizes():
    """None frames, height and width stay None symbolically and work when called."""
    layer = SeparablePooling3D((2, 3, 3), (2, 2, 2))
    assert layer(keras.Input((None, None, None, 3))).shape == (None, None, None, None, 3)
    fn = tf.function(layer, input_signature=[tf.TensorSpec((None, None, None, None, 3))])
    assert fn(tf.zeros((1, 9, 20, 21, 3))).shape == (1, 4, 9, 10, 3)


@pytest.mark.filterwarnings("ignore:The model does not have any trainable weights")
def test_layer_round_trip():
    """Config, symbolic/eager calls, fit and `.keras` save/load; no weights."""
    run_layer_test(
        SeparablePooling3D,
        {"pool_size": (1, 3, 3), "strides": (1, 2, 2), "reduction": "max", "name": "pool1"},
        input_shape=(2, 4, 9, 9, 3),
        expected_output_shape=(2, 4, 4, 4, 3),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
    )

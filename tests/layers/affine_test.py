"""Tests of `nlkeras.layers.Affine` (frozen BN as a per-channel affine map)."""

import keras
import numpy as np
import pytest

from nlkeras.layers import Affine
from tests.testing import run_layer_test


def test_matches_numpy():
    """y = x * scale + bias, broadcast on the last (channel) axis."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4, 5, 6)).astype("float32")
    scale = rng.standard_normal(6).astype("float32")
    bias = rng.standard_normal(6).astype("float32")
    layer = Affine()
    layer.build(x.shape)
    layer.set_weights([scale, bias])
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(x)), x * scale + bias, rtol=1e-6, atol=1e-6
    )


def test_starts_as_identity():
    """Fresh weights (scale 1, bias 0) leave the input unchanged."""
    x = np.random.default_rng(2).standard_normal((2, 3, 4)).astype("float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(Affine()(x)), x)


def test_weights_are_frozen():
    """No trainable weights, and a fit step (training=True) leaves scale and bias unchanged."""
    rng = np.random.default_rng(3)
    inputs = keras.Input((4, 6))
    affine = Affine()
    dense = keras.layers.Dense(2)
    model = keras.Model(inputs, dense(affine(inputs)))
    assert affine.trainable_weights == []
    assert len(affine.non_trainable_weights) == 2
    scale = rng.standard_normal(6).astype("float32")
    bias = rng.standard_normal(6).astype("float32")
    affine.set_weights([scale, bias])
    dense_before = dense.get_weights()[0].copy()
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    x = rng.standard_normal((3, 4, 6)).astype("float32")
    y = rng.standard_normal((3, 4, 2)).astype("float32")
    model.fit(x, y, epochs=1, verbose=0)
    # The step did train something (so the check below is not vacuous)...
    assert not np.allclose(dense.get_weights()[0], dense_before)
    # ...but not the affine parameters.
    np.testing.assert_array_equal(affine.get_weights()[0], scale)
    np.testing.assert_array_equal(affine.get_weights()[1], bias)


@pytest.mark.filterwarnings("ignore:The model does not have any trainable weights")
def test_layer_round_trip():
    """Config, symbolic/eager calls, fit and `.keras` save/load (fit has nothing to train)."""
    run_layer_test(
        Affine,
        {"name": "res_conv1_bn"},
        input_shape=(2, 3, 4, 4, 5),
        expected_output_shape=(2, 3, 4, 4, 5),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=2,
    )


def test_unknown_channels_raises():
    """The per-channel weights need a known channel axis."""
    with pytest.raises(ValueError, match="known channel axis"):
        Affine()(keras.KerasTensor((None, 4, None)))

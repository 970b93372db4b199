"""Precise BN against the original's pooling formula (bn_helper.py)."""

import keras
import numpy as np

from nlkeras.layers import Affine
from nlkeras.training.precise_bn import batch_norm_layers, recompute_batch_norm


def test_statistics_are_pooled_over_batches_as_the_original():
    """mean = E[batch mean], var = E[batch var + batch mean^2] - mean^2 (original)."""
    inputs = keras.Input((None, 3))
    model = keras.Model(inputs, keras.layers.BatchNormalization(momentum=0.9, name="bn")(inputs))
    rng = np.random.default_rng(0)
    # Batches with different means, so the between-batch term matters.
    batches = [rng.normal(loc=i, scale=1 + i, size=(4, 5, 3)).astype("float32") for i in range(6)]
    assert recompute_batch_norm(model, batches) == 6
    means = np.stack([b.reshape(-1, 3).mean(0) for b in batches])
    variances = np.stack([b.reshape(-1, 3).var(0) for b in batches])
    expected_mean = means.mean(0)
    expected_var = (variances + means**2).mean(0) - expected_mean**2
    bn = model.get_layer("bn")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_mean), expected_mean, rtol=1e-5)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(bn.moving_variance), expected_var, rtol=1e-4
    )
    assert not np.allclose(expected_var, variances.mean(0), rtol=0.05)  # the spread counted
    assert bn.momentum == 0.9  # restored


def test_nested_models_and_frozen_bn():
    inner_input = keras.Input((4,))
    inner = keras.Model(inner_input, keras.layers.BatchNormalization(name="inner_bn")(inner_input))
    outer_input = keras.Input((4,))
    outer = keras.Model(outer_input, inner(Affine(name="frozen")(outer_input)))
    assert [layer.name for layer in batch_norm_layers(outer)] == ["inner_bn"]
    frozen_input = keras.Input((4,))
    frozen = keras.Model(frozen_input, Affine()(frozen_input))
    assert recompute_batch_norm(frozen, [np.ones((2, 4), "float32")]) == 0

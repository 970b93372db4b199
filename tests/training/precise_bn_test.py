"""Precise BN against the original's pooling formula (bn_helper.py).

On 2 replicas, each pooling its own batches: tests/two_devices_test.py.
"""

import keras
import numpy as np

from nlkeras.layers import Affine
from nlkeras.training.checkpoints import seed_variables
from nlkeras.training.precise_bn import PooledMoments, batch_norm_layers, recompute_batch_norm


def test_statistics_are_pooled_over_batches_as_the_original():
    """mean = E[batch mean], var = E[batch var + batch mean^2] - mean^2 (original)."""
    inputs = keras.Input((None, 3))
    model = keras.Model(inputs, keras.layers.BatchNormalization(momentum=0.9, name="bn")(inputs))
    rng = np.random.default_rng(0)
    # Batches with different means, so the between-batch term matters.
    batches = [rng.normal(loc=i, scale=1 + i, size=(4, 5, 3)).astype("float32") for i in range(6)]
    assert recompute_batch_norm(model, iter(batches), 6) == 6
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


def test_a_runs_passes_share_one_traced_function():
    """Precise BN before every checkpoint: traced once, each pass pooled over its own batches."""
    inputs = keras.Input((None, 3))
    model = keras.Model(inputs, keras.layers.BatchNormalization(name="bn")(inputs))
    moments = PooledMoments(model)
    rng = np.random.default_rng(0)
    for loc in (0.0, 5.0):
        batches = [rng.normal(loc, 1, (4, 5, 3)).astype("float32") for _ in range(2)]
        assert recompute_batch_norm(model, iter(batches), 2, moments=moments) == 2
        expected = np.stack([b.reshape(-1, 3).mean(0) for b in batches]).mean(0)
        moving_mean = keras.ops.convert_to_numpy(model.get_layer("bn").moving_mean)
        np.testing.assert_allclose(moving_mean, expected, rtol=1e-5)
    assert moments._function.experimental_get_tracing_count() == 1


def test_dropouts_random_state_is_put_back():
    """Training-mode passes draw dropout masks; after precise BN training draws the same next."""
    inputs = keras.Input((4,))
    outputs = keras.layers.Dropout(0.5, seed=1)(keras.layers.BatchNormalization()(inputs))
    model = keras.Model(inputs, outputs)
    (state,) = seed_variables(model)
    before = keras.ops.convert_to_numpy(state)
    batches = [np.ones((2, 4), "float32") * i for i in range(3)]
    assert recompute_batch_norm(model, iter(batches), 3) == 3
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(state), before)
    model(batches[0], training=True)  # a training pass does move it
    assert not np.array_equal(keras.ops.convert_to_numpy(state), before)


def test_nested_models_and_frozen_bn():
    inner_input = keras.Input((4,))
    inner = keras.Model(inner_input, keras.layers.BatchNormalization(name="inner_bn")(inner_input))
    outer_input = keras.Input((4,))
    outer = keras.Model(outer_input, inner(Affine(name="frozen")(outer_input)))
    assert [layer.name for layer in batch_norm_layers(outer)] == ["inner_bn"]
    frozen_input = keras.Input((4,))
    frozen = keras.Model(frozen_input, Affine()(frozen_input))
    assert recompute_batch_norm(frozen, iter([np.ones((2, 4), "float32")]), 1) == 0

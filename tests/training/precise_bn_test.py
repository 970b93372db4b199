"""Precise BN against the original's pooling formula (bn_helper.py)."""

import json
import os
import subprocess
import sys
import textwrap

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


def pooled(batches):
    """The original's formula over `batches` of (N, C) values."""
    means = np.stack([b.mean(0) for b in batches])
    variances = np.stack([b.var(0) for b in batches])
    mean = means.mean(0)
    return mean, (variances + means**2).mean(0) - mean**2


def test_each_replica_pools_its_own_batches():
    """MirroredStrategy over 2 CPUs: each replica's half of a global batch is its own BN batch.

    The statistics are pooled over the 2 x 3 per-replica batches with the
    original's formula (with equal batches that is the variance of all
    clips, the spread between replicas included).
    """
    code = textwrap.dedent(
        """
        import json
        import keras, numpy as np, tensorflow as tf
        from nlkeras.training.precise_bn import recompute_batch_norm
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        rng = np.random.default_rng(0)
        batches = [rng.normal(i, 1 + i, (8, 3)).astype("float32") for i in range(3)]
        # Replica 1's half is shifted, so per-replica and global statistics differ.
        for b in batches:
            b[4:] += 5
        with strategy.scope():
            inputs = keras.Input((3,))
            model = keras.Model(inputs, keras.layers.BatchNormalization(name="bn")(inputs))
        dataset = tf.data.Dataset.from_tensor_slices(np.concatenate(batches)).batch(8)
        used = recompute_batch_norm(
            model, iter(strategy.experimental_distribute_dataset(dataset)), 3, strategy
        )
        bn = model.get_layer("bn")
        print(json.dumps({"used": used, "mean": np.asarray(bn.moving_mean).tolist(),
                          "variance": np.asarray(bn.moving_variance).tolist(),
                          "batches": [b.tolist() for b in batches]}))
        """
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": root},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    batches = [np.array(b) for b in out["batches"]]
    assert out["used"] == 3
    halves = [half for b in batches for half in (b[:4], b[4:])]
    mean, variance = pooled(halves)
    np.testing.assert_allclose(out["mean"], mean, rtol=1e-5)
    np.testing.assert_allclose(out["variance"], variance, rtol=1e-4)
    # Both replicas count: replica 0's halves alone give another mean.
    assert not np.allclose(out["mean"], pooled(halves[0::2])[0], rtol=0.05)

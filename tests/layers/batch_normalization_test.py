"""Tests of `nlkeras.layers.BatchNormalization`: Keras' layer, its gradient, ghost batches."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from nlkeras.layers import BatchNormalization
from tests.testing import run_layer_test


def outputs_and_gradients(layer, x, dy):
    """Training-mode output and the gradients of `sum(output * dy)` by x, gamma and beta."""
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        loss = tf.reduce_sum(y * dy)
    grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
    return [y.numpy()] + [g.numpy() for g in grads]


def built(layer, shape, seed=0):
    """`layer` built for `shape`, with gamma and beta away from 1 and 0."""
    layer.build(shape)
    rng = np.random.default_rng(seed)
    layer.gamma.assign(rng.normal(1, 0.3, shape[-1]))
    layer.beta.assign(rng.normal(0, 0.3, shape[-1]))
    return layer


def clips(shape, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 2, shape) + rng.normal(0, 1, shape[:1] + (1,) * (len(shape) - 1))


def test_layer_harness_with_a_ghost_batch():
    run_layer_test(
        BatchNormalization,
        {"ghost_batch_size": 2, "epsilon": 1.0000001e-5, "momentum": 0.9},
        input_shape=(4, 2, 3, 3, 5),
        expected_output_shape=(4, 2, 3, 3, 5),
        expected_num_trainable_weights=2,
        expected_num_non_trainable_weights=2,
    )


def test_whole_batch_equals_keras_forward_and_gradient():
    """`ghost_batch_size=0` (the default) is Keras' BN, with its gradient."""
    shape = (4, 2, 3, 3, 5)
    x = clips(shape).astype("float32")
    dy = np.random.default_rng(2).normal(0, 1, shape).astype("float32")
    ours = outputs_and_gradients(built(BatchNormalization(epsilon=1e-3), shape), x, dy)
    keras_bn = built(keras.layers.BatchNormalization(epsilon=1e-3), shape)
    for got, want in zip(ours, outputs_and_gradients(keras_bn, x, dy), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_a_ghost_batch_is_normalised_as_a_batch_of_its_own():
    """With ghost batches of g, a batch of 2g is two batches of g: output and gradients."""
    g, shape = 3, (3, 2, 4, 4, 6)
    first, second = clips(shape, seed=3).astype("float32"), clips(shape, seed=4).astype("float32")
    dy = np.random.default_rng(5).normal(0, 1, (2 * g, *shape[1:])).astype("float32")
    ghost = built(BatchNormalization(ghost_batch_size=g), (None, *shape[1:]))
    y, dx, dgamma, dbeta = outputs_and_gradients(ghost, np.concatenate([first, second]), dy)
    alone = built(BatchNormalization(), (None, *shape[1:]))
    y1, dx1, dgamma1, dbeta1 = outputs_and_gradients(alone, first, dy[:g])
    y2, dx2, dgamma2, dbeta2 = outputs_and_gradients(alone, second, dy[g:])
    tolerance = dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(y, np.concatenate([y1, y2]), **tolerance)
    np.testing.assert_allclose(dx, np.concatenate([dx1, dx2]), **tolerance)
    np.testing.assert_allclose(dgamma, dgamma1 + dgamma2, **tolerance)
    np.testing.assert_allclose(dbeta, dbeta1 + dbeta2, **tolerance)


def test_moving_statistics_follow_the_whole_batch():
    """The option changes what training normalises with, not the moving statistics."""
    shape = (4, 2, 3, 3, 5)
    x = clips(shape, seed=6).astype("float32")
    ghost = built(BatchNormalization(ghost_batch_size=2, momentum=0.5), shape)
    whole = built(BatchNormalization(momentum=0.5), shape)
    ghost(x, training=True)
    whole(x, training=True)
    for a, b in zip(ghost.non_trainable_weights, whole.non_trainable_weights, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    inference = ghost(x, training=False).numpy()
    np.testing.assert_allclose(inference, whole(x, training=False).numpy(), rtol=1e-5, atol=1e-5)


def test_errors_name_the_values():
    with pytest.raises(ValueError, match=r"ghost_batch_size=2, synchronized=True"):
        BatchNormalization(ghost_batch_size=2, synchronized=True)
    with pytest.raises(ValueError, match=r"ghost_batch_size=-1"):
        BatchNormalization(ghost_batch_size=-1)
    layer = BatchNormalization(ghost_batch_size=4)
    with pytest.raises(ValueError, match="A batch of 6 does not divide into ghost batches of 4"):
        layer(np.zeros((6, 2, 2, 2, 3), "float32"), training=True)
    with pytest.raises(ValueError, match="channels last. Received: axis=1"):
        BatchNormalization(ghost_batch_size=2, axis=1)(
            np.zeros((4, 3, 2), "float32"), training=True
        )


def test_precise_bn_pools_the_ghost_batches_as_the_original_pools_gpus():
    """Precise BN over ghost batches of 2 gives bn_helper.py's statistics over groups of 2 clips.

    The original pools each GPU's batch mean and variance (§5.3 of
    docs/original-semantics.md): `mean(m)` and `mean(v + m**2) - mean(m)**2`.
    """
    from nlkeras.training.precise_bn import recompute_batch_norm

    shape = (4, 2, 3, 3, 5)
    inputs = keras.Input(shape[1:])
    model = keras.Model(inputs, BatchNormalization(ghost_batch_size=2)(inputs))
    batches = [clips(shape, seed=s).astype("float32") for s in range(3)]
    assert recompute_batch_norm(model, iter(batches), len(batches)) == 3
    groups = np.concatenate(batches).reshape(-1, 2 * 2 * 3 * 3, 5)
    means, variances = groups.mean(axis=1), groups.var(axis=1)
    mean = means.mean(axis=0)
    layer = model.layers[-1]
    np.testing.assert_allclose(layer.moving_mean.numpy(), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        layer.moving_variance.numpy(), (variances + means**2).mean(axis=0) - mean**2, rtol=1e-4
    )


@pytest.mark.parametrize("fused", [True, False])
def test_fused_kernel_and_keras_ops_paths_equal_keras_bn(fused, monkeypatch):
    """TensorFlow's fused kernel and the hand-written gradient: Keras' values, moving stats too."""
    shape = (2, 4, 6, 6, 5)
    x = clips(shape).astype("float32")
    dy = np.random.default_rng(3).normal(0, 1, shape).astype("float32")
    ours = built(BatchNormalization(epsilon=1.0000001e-5, momentum=0.9), shape)
    assert ours._fused_kernel_applies(tf.constant(x))
    if not fused:
        monkeypatch.setattr(BatchNormalization, "_fused_kernel_applies", lambda self, x: False)
    keras_bn = built(keras.layers.BatchNormalization(epsilon=1.0000001e-5, momentum=0.9), shape)
    got, want = outputs_and_gradients(ours, x, dy), outputs_and_gradients(keras_bn, x, dy)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.moving_mean.numpy(), keras_bn.moving_mean.numpy(), atol=1e-6)
    np.testing.assert_allclose(
        ours.moving_variance.numpy(), keras_bn.moving_variance.numpy(), rtol=1e-5
    )


def test_fused_kernel_in_bfloat16_reads_and_writes_bfloat16():
    shape = (2, 4, 6, 6, 5)
    x = clips(shape).astype("float32")
    ours = built(BatchNormalization(dtype="mixed_bfloat16"), shape)
    reference = built(keras.layers.BatchNormalization(dtype="mixed_bfloat16"), shape)
    bf16 = tf.cast(x, tf.bfloat16)
    got, want = ours(bf16, training=True), reference(bf16, training=True)
    assert got.dtype == want.dtype == tf.bfloat16
    np.testing.assert_allclose(
        tf.cast(got, tf.float32).numpy(), tf.cast(want, tf.float32).numpy(), atol=0.05
    )

"""The solver against a literal NumPy transcription of the original's update rule."""

import keras
import numpy as np
import pytest

from nlkeras.training.optimizer import CaffeSGD, is_norm_variable
from nlkeras.training.schedule import StepSchedule


def caffe2_updates(w, grads, lrs, momentum=0.9, wd=0.0):
    """`MomentumSGDUpdate` (nesterov), LR inside the buffer, rescaled when the LR changes."""
    m = np.zeros_like(w)
    previous_lr = lrs[0]
    for g, lr in zip(grads, lrs, strict=True):
        if abs(lr - previous_lr) > 1e-7 * previous_lr:
            m *= lr / previous_lr  # _CorrectMomentum (SCALE_MOMENTUM)
        g = g + wd * w
        m_new = momentum * m + lr * g
        w = w - ((1 + momentum) * m_new - momentum * m)
        m, previous_lr = m_new, lr
    return w


@pytest.mark.parametrize("wd", [0.0, 1e-2])
def test_matches_caffe2_momentum_sgd_across_lr_steps(wd):
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(3, 4)).astype("float64")
    grads = [rng.normal(size=(3, 4)) for _ in range(9)]
    schedule = StepSchedule(0.5, step_sizes=(3, 3, 3), lrs=(1.0, 0.1, 0.01))
    lrs = [float(schedule(i)) for i in range(9)]
    assert lrs[2:4] == pytest.approx([0.5, 0.05]) and lrs[6] == pytest.approx(0.005)
    variable = keras.Variable(w0.astype("float32"), name="kernel")
    optimizer = CaffeSGD(schedule, momentum=0.9, nesterov=True, l2=wd)
    for g in grads:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(g, "float32"), variable)])
    expected = caffe2_updates(w0, grads, lrs, wd=wd)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(variable), expected, rtol=1e-5, atol=1e-6)


def test_keras_sgd_would_differ_after_an_lr_step():
    """Why a custom optimizer: Keras' velocity keeps the old LR after a step."""
    rng = np.random.default_rng(1)
    grads = [rng.normal(size=(2,)) for _ in range(4)]
    schedule = StepSchedule(1.0, step_sizes=(2, 2), lrs=(1.0, 0.01))
    plain = keras.Variable(np.zeros(2, "float32"))
    keras_sgd = keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True)
    for g in grads:
        keras_sgd.apply_gradients([(keras.ops.convert_to_tensor(g, "float32"), plain)])
    expected = caffe2_updates(np.zeros(2), grads, [float(schedule(i)) for i in range(4)])
    assert not np.allclose(keras.ops.convert_to_numpy(plain), expected, atol=1e-3)


def test_weight_decay_skips_norm_parameters_but_not_biases():
    inputs = keras.Input((4,))
    x = keras.layers.Dense(3, name="res2_0_branch2a")(inputs)
    x = keras.layers.BatchNormalization(name="res2_0_branch2a_bn")(x)
    model = keras.Model(inputs, x)
    paths = {w.path: is_norm_variable(w) for w in model.trainable_weights}
    assert paths == {
        "res2_0_branch2a/kernel": False,
        "res2_0_branch2a/bias": False,
        "res2_0_branch2a_bn/gamma": True,
        "res2_0_branch2a_bn/beta": True,
    }
    optimizer = CaffeSGD(0.1, momentum=0.0, l2=0.5, l2_norm=0.0)
    before = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    zeros = [keras.ops.zeros_like(w) for w in model.trainable_weights]
    optimizer.apply_gradients(zip(zeros, model.trainable_weights, strict=True))
    for w, old in zip(model.trainable_weights, before, strict=True):
        factor = 1.0 if is_norm_variable(w) else 1 - 0.1 * 0.5
        np.testing.assert_allclose(keras.ops.convert_to_numpy(w), old * factor, rtol=1e-6)


def test_non_local_bn_is_a_norm_variable():
    from nlkeras.layers import NonLocalBlock

    block = NonLocalBlock(name="nonlocal_conv3_1")
    block.build((None, 2, 4, 4, 8))
    norm = {w.path for w in block.trainable_weights if is_norm_variable(w)}
    assert norm == {"nonlocal_conv3_1/bn/gamma", "nonlocal_conv3_1/bn/beta"}


def test_optimizer_config_round_trip():
    optimizer = CaffeSGD(0.3, momentum=0.8, nesterov=False, l2=2e-4, l2_norm=1e-5)
    config = optimizer.get_config()
    assert (config["l2"], config["l2_norm"], config["momentum"], config["nesterov"]) == (
        2e-4, 1e-5, 0.8, False,
    )  # fmt: skip
    assert CaffeSGD.from_config(config).get_config() == config

"""PointwiseConv3D: Keras' 1x1x1 convolution, trained in bfloat16 as a matrix product."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from nlkeras.layers import PointwiseConv3D
from tests.testing import run_layer_test


def test_pointwise_conv_basics():
    run_layer_test(
        PointwiseConv3D,
        {"filters": 6, "use_bias": False},
        input_shape=(2, 3, 4, 5, 8),
        expected_output_shape=(2, 3, 4, 5, 6),
        expected_num_trainable_weights=1,
    )


def pair(dtype="float32", **kwargs):
    """Inputs, a PointwiseConv3D and a Keras Conv3D with the same weights."""
    x = np.random.default_rng(0).normal(size=(2, 3, 5, 4, 8)).astype("float32")
    ours = PointwiseConv3D(6, dtype=dtype, **kwargs)
    keras_conv = keras.layers.Conv3D(6, 1, dtype=dtype, **kwargs)
    ours.build(x.shape)
    keras_conv.build(x.shape)
    rng = np.random.default_rng(1)
    ours.set_weights([rng.normal(size=w.shape).astype("float32") for w in ours.get_weights()])
    keras_conv.set_weights(ours.get_weights())
    return tf.constant(x), ours, keras_conv


def values_and_gradients(layer, x, **call_kwargs):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, **call_kwargs)
        loss = tf.reduce_sum(tf.cast(y, tf.float32) * tf.range(6, dtype=tf.float32))
    return [tf.cast(y, tf.float32), *tape.gradient(loss, [x, *layer.trainable_weights])]


def op_types(layer, x, training):
    graph = tf.function(lambda x: layer(x, training=training)).get_concrete_function(x).graph
    return {op.type for op in graph.get_operations()}


@pytest.mark.parametrize("use_bias", [False, True])
def test_bfloat16_training_is_a_matrix_product_equal_to_the_convolution(use_bias):
    x, ours, keras_conv = pair("mixed_bfloat16", use_bias=use_bias, activation="relu")
    assert "MatMul" in op_types(ours, x, True) and "Conv3D" not in op_types(ours, x, True)
    ours_results = values_and_gradients(ours, x, training=True)
    keras_results = values_and_gradients(keras_conv, x)
    assert ours(x, training=True).dtype == tf.bfloat16 and ours.kernel.dtype == "float32"
    for a, b in zip(ours_results, keras_results, strict=True):
        np.testing.assert_allclose(a, b, rtol=0.01, atol=0.01 * float(tf.reduce_max(tf.abs(b))))


def test_float32_and_inference_are_keras_convolution_exactly():
    x, ours, keras_conv = pair(use_bias=True)
    ours_results = values_and_gradients(ours, x, training=True)
    for a, b in zip(ours_results, values_and_gradients(keras_conv, x), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ours(x, training=False), keras_conv(x))
    x16, ours16, keras16 = pair("mixed_bfloat16")
    assert "Conv3D" in op_types(ours16, x16, False)
    np.testing.assert_array_equal(ours16(x16), keras16(x16))


@pytest.mark.parametrize(
    "kwargs", [{"kernel_size": 3}, {"strides": (1, 2, 2)}, {"data_format": "channels_first"}]
)
def test_anything_but_a_1x1x1_stride_1_channels_last_convolution_is_refused(kwargs):
    with pytest.raises(ValueError, match="1x1x1 convolution of stride 1"):
        PointwiseConv3D(4, **kwargs)

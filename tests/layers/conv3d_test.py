"""nlkeras' Conv3D: Keras' layer, whose 1x1x1 and stem cases train faster in bfloat16."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from nlkeras.layers import Conv3D
from tests.testing import run_layer_test


def test_conv3d_basics():
    run_layer_test(
        Conv3D,
        {"filters": 6, "kernel_size": (1, 1, 1), "use_bias": False},
        input_shape=(2, 3, 4, 5, 8),
        expected_output_shape=(2, 3, 4, 5, 6),
        expected_num_trainable_weights=1,
    )


def pair(dtype="float32", kernel_size=1, shape=(2, 3, 5, 4, 8), **kwargs):
    """Inputs of `shape`, an nlkeras Conv3D and a Keras Conv3D with the same weights."""
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    ours = Conv3D(6, kernel_size, dtype=dtype, **kwargs)
    keras_conv = keras.layers.Conv3D(6, kernel_size, dtype=dtype, **kwargs)
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


@pytest.mark.parametrize("use_bias, strides", [(False, 1), (True, 1), (True, (1, 2, 2))])
def test_bfloat16_training_of_a_1x1x1_kernel_is_a_matrix_product_equal_to_the_convolution(
    use_bias, strides
):
    x, ours, keras_conv = pair(
        "mixed_bfloat16", use_bias=use_bias, strides=strides, activation="relu"
    )
    assert "MatMul" in op_types(ours, x, True) and "Conv3D" not in op_types(ours, x, True)
    ours_results = values_and_gradients(ours, x, training=True)
    keras_results = values_and_gradients(keras_conv, x)
    assert ours(x, training=True).dtype == tf.bfloat16 and ours.kernel.dtype == "float32"
    for a, b in zip(ours_results, keras_results, strict=True):
        np.testing.assert_allclose(a, b, rtol=0.01, atol=0.01 * float(tf.reduce_max(tf.abs(b))))


@pytest.mark.parametrize("kernel_size, shape", [(3, (2, 3, 5, 4, 8)), (5, (1, 6, 5, 4, 8))])
def test_bfloat16_training_of_a_temporal_kernel_takes_its_gradient_as_matrix_products(
    kernel_size, shape
):
    """The kernel's gradient, one product per tap, equals the convolution's (frames 3 and 6)."""
    x, ours, keras_conv = pair("mixed_bfloat16", (kernel_size, 1, 1), shape, padding="same")

    def gradient_op_types(layer, training):
        @tf.function
        def kernel_gradient(x):
            with tf.GradientTape() as tape:
                y = layer(x, training=training)
            return tape.gradient(y, layer.kernel)

        graph = kernel_gradient.get_concrete_function(x).graph
        return {op.type for op in graph.get_operations()}

    assert "Conv3DBackpropFilterV2" in gradient_op_types(keras_conv, None)
    types = gradient_op_types(ours, True)
    assert "Conv3DBackpropFilterV2" not in types and "Conv3D" in types
    ours_results = values_and_gradients(ours, x, training=True)
    keras_results = values_and_gradients(keras_conv, x)
    for a, b in zip(ours_results, keras_results, strict=True):
        np.testing.assert_allclose(a, b, rtol=0.01, atol=0.01 * float(tf.reduce_max(tf.abs(b))))


@pytest.mark.parametrize("shape", [(2, 5, 12, 10, 3), (1, 6, 11, 13, 3)], ids=["even", "odd"])
@pytest.mark.parametrize("temporal_stride", [1, 2])
def test_bfloat16_training_of_a_strided_stem_is_space_to_depth_equal_to_the_convolution(
    shape, temporal_stride
):
    strides = (temporal_stride, 2, 2)
    x, ours, keras_conv = pair("mixed_bfloat16", (3, 7, 7), shape, strides=strides, use_bias=True)
    graph = tf.function(lambda x: ours(x, training=True)).get_concrete_function(x).graph
    (conv,) = [op for op in graph.get_operations() if op.type == "Conv3D"]
    assert list(conv.get_attr("strides")) == [1, temporal_stride, 1, 1, 1]
    assert conv.inputs[0].shape[-1] == 12  # 2x2 blocks of the 3 channels
    ours_results = values_and_gradients(ours, x, training=True)
    keras_results = values_and_gradients(keras_conv, x)
    assert ours_results[0].shape == keras_results[0].shape
    for a, b in zip(ours_results, keras_results, strict=True):
        np.testing.assert_allclose(a, b, rtol=0.01, atol=0.01 * float(tf.reduce_max(tf.abs(b))))


@pytest.mark.parametrize(
    "dtype, kernel_size, kwargs",
    [
        ("float32", 1, {}),
        ("mixed_bfloat16", (1, 3, 3), {"padding": "same"}),
        ("float32", (3, 1, 1), {"padding": "same"}),
        ("mixed_bfloat16", (3, 1, 1), {}),
        ("float32", (3, 7, 7), {"strides": (1, 2, 2), "shape": (2, 5, 12, 10, 3)}),
        ("mixed_bfloat16", (3, 7, 7), {"strides": (1, 2, 2), "shape": (2, 5, 12, 10, 8)}),
    ],
)
def test_every_other_training_call_is_keras_convolution_exactly(dtype, kernel_size, kwargs):
    x, ours, keras_conv = pair(dtype, kernel_size, use_bias=True, **kwargs)
    assert "Conv3D" in op_types(ours, x, True)
    ours_results = values_and_gradients(ours, x, training=True)
    for a, b in zip(ours_results, values_and_gradients(keras_conv, x), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", ["float32", "mixed_bfloat16"])
def test_inference_is_keras_convolution_exactly(dtype):
    x, ours, keras_conv = pair(dtype, use_bias=True)
    assert "Conv3D" in op_types(ours, x, False)
    np.testing.assert_array_equal(ours(x, training=False), keras_conv(x))
    np.testing.assert_array_equal(ours(x), keras_conv(x))

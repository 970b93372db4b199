"""Tests of `nlkeras.layers.NonLocalBlock` against the paper's formula, in NumPy.

z = x + BN(W_z y),  y_i = (1 / C(x)) sum_j f(x_i, x_j) g(x_j)  (Wang et al. 2018, Sec. 3), with
the original's details: 1x1x1 convolutions with bias, keys/values max-pooled by (1, 2, 2) with the
floor rule, positions flattened in (T, H, W) order.
"""

import keras
import numpy as np
import pytest

from nlkeras.layers import NonLocalBlock
from tests.testing import run_layer_test

EPS = 1.0000001e-5
C = 8
SHAPES = [(2, 4, 6, 6, C), (2, 3, 7, 5, C)]  # 7x5: the floor rule of the pooling matters


# ---------------------------------------------------------------- NumPy reference


def np_pool(x):
    """(1, 2, 2) max pool, stride (1, 2, 2), no padding (odd rows/columns dropped)."""
    b, t, h, w, c = x.shape
    x = x[:, :, : h // 2 * 2, : w // 2 * 2]
    return x.reshape(b, t, h // 2, 2, w // 2, 2, c).max(axis=(3, 5))


def np_conv(x, kernel, bias):
    """1x1x1 convolution: a matmul on the channel axis."""
    return x @ kernel.reshape(kernel.shape[-2:]) + bias


def np_softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def np_pre_bn(
    x, w, mode="embedded_gaussian", scale=True, subsample=True, pool_before_conv=True, **_
):
    """W_z y, before the BN. `w` maps weight paths ("theta/kernel", ...) to arrays."""
    b, t, h, wd, _c = x.shape

    def conv(name, v):
        return np_conv(v, w[f"{name}/kernel"], w[f"{name}/bias"])

    pool = np_pool if subsample else (lambda v: v)
    if mode == "gaussian":
        theta, phi = x, pool(x)
    else:
        theta = conv("theta", x)
        phi = conv("phi", pool(x)) if pool_before_conv else pool(conv("phi", x))
    g = conv("g", pool(x)) if pool_before_conv else pool(conv("g", x))

    theta = theta.reshape(b, t * h * wd, -1)  # queries, (T, H, W) order
    phi = phi.reshape(b, -1, phi.shape[-1])  # keys
    g = g.reshape(b, -1, g.shape[-1])
    num_keys = phi.shape[1]

    if mode == "concatenation":
        wc = w["concat_project"][:, 0]
        ci = theta.shape[-1]
        pairs = (theta @ wc[:ci])[:, :, None] + (phi @ wc[ci:])[:, None, :]
        f = np.maximum(pairs, 0.0) / num_keys
    else:
        dots = np.einsum("bic,bjc->bij", theta, phi)
        if mode == "dot_product":
            f = dots / num_keys
        else:  # embedded_gaussian, gaussian
            if scale:
                dots = dots / np.sqrt(theta.shape[-1])
            f = np_softmax(dots)
    y = np.einsum("bij,bjc->bic", f, g).reshape(b, t, h, wd, -1)
    return conv("out", y)


def np_non_local(x, w, use_bn=True, bn_epsilon=EPS, **kwargs):
    """z = x + BN(W_z y), the BN in inference mode (moving statistics)."""
    o = np_pre_bn(x, w, **kwargs)
    if use_bn:
        o = (o - w["bn/moving_mean"]) / np.sqrt(w["bn/moving_variance"] + bn_epsilon)
        o = o * w["bn/gamma"] + w["bn/beta"]
    return x + o


def randomize(layer, rng):
    """Set every weight of a built layer to random values; return them (float64) by path."""
    values = {}
    for v in layer.weights:
        key = v.path.split("/", 1)[1]
        if key.endswith("moving_variance"):
            value = rng.uniform(0.5, 1.5, v.shape)
        elif key.startswith("bn/"):
            value = rng.standard_normal(v.shape)
        else:
            value = 0.3 * rng.standard_normal(v.shape)
        value = value.astype("float32")
        v.assign(value)
        values[key] = value.astype("float64")
    return values


def call(layer, x, training=False):
    return keras.ops.convert_to_numpy(layer(x, training=training))


def random_input(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


# ---------------------------------------------------------------- identity at initialisation


@pytest.mark.parametrize("mode", ["embedded_gaussian", "dot_product", "gaussian", "concatenation"])
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"use_bn": False, "zero_init_output": True}],
    ids=["bn_gamma0", "zero_out_conv"],
)
@pytest.mark.parametrize("training", [True, False])
def test_identity_at_init(mode, kwargs, training):
    """A fresh block is exactly the identity (BN gamma 0, or zero output conv without BN)."""
    x = random_input(SHAPES[1])
    np.testing.assert_array_equal(call(NonLocalBlock(mode=mode, **kwargs), x, training), x)


@pytest.mark.parametrize("training", [True, False])
def test_not_identity_without_zero_init(training):
    """Counter-check: without BN and zero init, the fresh block changes its input."""
    x = random_input(SHAPES[1])
    z = call(NonLocalBlock(use_bn=False, zero_init_output=False), x, training)
    assert np.abs(z - x).max() > 1e-6


# ---------------------------------------------------------------- the formula

FORMULA_CASES = {
    "embedded_gaussian": {},
    "embedded_gaussian_no_scale": {"scale": False},
    "embedded_gaussian_inner3": {"inner_channels": 3},
    "dot_product": {"mode": "dot_product"},
    "gaussian": {"mode": "gaussian"},
    "gaussian_no_scale": {"mode": "gaussian", "scale": False},
    "concatenation": {"mode": "concatenation"},
    "concatenation_inner3": {"mode": "concatenation", "inner_channels": 3},
    "no_subsample": {"subsample": False},
    "gaussian_no_subsample": {"mode": "gaussian", "subsample": False},
    "pool_after_conv": {"pool_before_conv": False},
    "dot_product_pool_after_conv": {"mode": "dot_product", "pool_before_conv": False},
    "concatenation_pool_after_conv": {"mode": "concatenation", "pool_before_conv": False},
    "no_bn": {"use_bn": False},
    "bn_epsilon": {"bn_epsilon": 0.5},
}


@pytest.mark.parametrize("shape", SHAPES, ids=["6x6", "7x5"])
@pytest.mark.parametrize("kwargs", FORMULA_CASES.values(), ids=FORMULA_CASES.keys())
def test_matches_numpy_formula(kwargs, shape):
    """Each variant, with random weights and BN statistics, equals the NumPy formula."""
    x = random_input(shape)
    layer = NonLocalBlock(**kwargs)
    layer.build(shape)
    w = randomize(layer, np.random.default_rng(1))
    inner = kwargs.get("inner_channels") or C // 2
    assert w["g/kernel"].shape == (1, 1, 1, C, inner)
    np.testing.assert_allclose(
        call(layer, x), np_non_local(x.astype("float64"), w, **kwargs), rtol=1e-5, atol=1e-5
    )


def test_bn_training_mode_and_momentum():
    """training=True: BN uses batch statistics and moves its means by `bn_momentum`."""
    shape = SHAPES[1]
    x = random_input(shape)
    layer = NonLocalBlock(bn_momentum=0.7)
    layer.build(shape)
    w = randomize(layer, np.random.default_rng(2))
    o = np_pre_bn(x.astype("float64"), w)
    mean, var = o.mean(axis=(0, 1, 2, 3)), o.var(axis=(0, 1, 2, 3))
    expected = x + (o - mean) / np.sqrt(var + EPS) * w["bn/gamma"] + w["bn/beta"]
    np.testing.assert_allclose(call(layer, x, training=True), expected, rtol=1e-4, atol=1e-4)
    moving_mean = keras.ops.convert_to_numpy(layer.bn.moving_mean)
    np.testing.assert_allclose(
        moving_mean, 0.7 * w["bn/moving_mean"] + 0.3 * mean, rtol=1e-5, atol=1e-5
    )


# ---------------------------------------------------------------- grouped attention


@pytest.mark.parametrize("mode", ["embedded_gaussian", "concatenation"])
def test_grouped_equals_separate_groups(mode):
    """group_size=2 on T=4 attends within frames [0:2] and [2:4] only."""
    shape = SHAPES[0]
    x = random_input(shape)
    grouped = NonLocalBlock(mode=mode, group_size=2)
    grouped.build(shape)
    randomize(grouped, np.random.default_rng(3))
    plain = NonLocalBlock(mode=mode)
    plain.build(shape)
    plain.set_weights(grouped.get_weights())
    expected = np.concatenate([call(plain, x[:, 0:2]), call(plain, x[:, 2:4])], axis=1)
    z = call(grouped, x)
    np.testing.assert_allclose(z, expected, rtol=1e-5, atol=1e-5)
    # Counter-check: attention over the whole clip gives something else.
    assert np.abs(z - call(plain, x)).max() > 1e-3


# ---------------------------------------------------------------- the attention weights

ATTENTION_CASES = {
    "embedded_gaussian": {},
    "dot_product": {"mode": "dot_product"},
    "gaussian": {"mode": "gaussian"},
    "concatenation": {"mode": "concatenation"},
    "pool_after_conv": {"pool_before_conv": False},
    "no_subsample": {"subsample": False},
    "grouped": {"group_size": 2},
}


@pytest.mark.parametrize("kwargs", ATTENTION_CASES.values(), ids=ATTENTION_CASES.keys())
def test_attention_is_what_call_averages_g_with(kwargs):
    """`attention(x) @ g` followed by `out` and BN gives the block's output: the same weights."""
    shape = (2, 4, 7, 5, C)
    x = random_input(shape)
    layer = NonLocalBlock(**kwargs)
    layer.build(shape)
    w = randomize(layer, np.random.default_rng(6))
    weights = keras.ops.convert_to_numpy(layer.attention(x)).astype("float64")

    query_grid, key_grid = layer.grids(*shape[1:4])
    groups = shape[1] // query_grid[0]
    assert weights.shape == (shape[0] * groups, np.prod(query_grid), np.prod(key_grid))
    if layer.mode in ("embedded_gaussian", "gaussian"):
        np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-5)

    xg = x.astype("float64").reshape(-1, query_grid[0], *shape[2:])
    pool = np_pool if layer.subsample else (lambda v: v)
    g_kernel, g_bias = w["g/kernel"], w["g/bias"]
    if layer.pool_before_conv:
        g = np_conv(pool(xg), g_kernel, g_bias)
    else:
        g = pool(np_conv(xg, g_kernel, g_bias))
    y = (weights @ g.reshape(len(xg), -1, g.shape[-1])).reshape(*shape[:4], -1)
    o = np_conv(y, w["out/kernel"], w["out/bias"])
    o = (o - w["bn/moving_mean"]) / np.sqrt(w["bn/moving_variance"] + EPS)
    expected = x + o * w["bn/gamma"] + w["bn/beta"]
    np.testing.assert_allclose(call(layer, x), expected, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- argument checks


def test_group_size_must_divide_frames():
    with pytest.raises(ValueError, match=r"frames \(4\) must divide by `group_size` \(3\)"):
        NonLocalBlock(group_size=3).build((2, 4, 6, 6, C))


def test_invalid_group_size():
    with pytest.raises(ValueError, match="`group_size` must be a positive int"):
        NonLocalBlock(group_size=0)


def test_invalid_mode():
    with pytest.raises(ValueError, match="`mode` must be one of"):
        NonLocalBlock(mode="softmax")


# ---------------------------------------------------------------- unknown shapes


UNKNOWN_SHAPE_INPUTS = [(1, 4, 6, 6, C), (3, 2, 7, 5, C)]


def np_reference_grouped(x, w, group_size=None, **kwargs):
    if not group_size:
        return np_non_local(x, w, **kwargs)
    groups = [x[:, i : i + group_size] for i in range(0, x.shape[1], group_size)]
    return np.concatenate([np_non_local(g, w, **kwargs) for g in groups], axis=1)


@pytest.mark.parametrize("kwargs", [{}, {"group_size": 2}], ids=["plain", "grouped"])
def test_unknown_shapes_functional_model(kwargs):
    """Batch, T, H, W all unknown: no fixed-batch reshape (the original's bug)."""
    layer = NonLocalBlock(**kwargs)
    inputs = keras.Input((None, None, None, C))
    model = keras.Model(inputs, layer(inputs))
    w = randomize(layer, np.random.default_rng(4))
    for seed, shape in enumerate(UNKNOWN_SHAPE_INPUTS):
        x = random_input(shape, seed)
        z = keras.ops.convert_to_numpy(model(x, training=False))
        expected = np_reference_grouped(x.astype("float64"), w, **kwargs)
        np.testing.assert_allclose(z, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs", [{}, {"group_size": 2}], ids=["plain", "grouped"])
def test_unknown_shapes_tf_function(kwargs):
    """One graph traced with None dims serves every batch size and clip shape."""
    import tensorflow as tf

    layer = NonLocalBlock(**kwargs)
    layer.build((None, None, None, None, C))
    w = randomize(layer, np.random.default_rng(5))
    fn = tf.function(
        lambda x: layer(x, training=False),
        input_signature=[tf.TensorSpec((None, None, None, None, C), tf.float32)],
    )
    for seed, shape in enumerate(UNKNOWN_SHAPE_INPUTS):
        x = random_input(shape, seed)
        expected = np_reference_grouped(x.astype("float64"), w, **kwargs)
        np.testing.assert_allclose(fn(x).numpy(), expected, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- config, saving, weights

CONFIG_CASES = {
    "default": ({}, 10, 2),
    "concatenation": (
        {
            "inner_channels": 3,
            "mode": "concatenation",
            "scale": False,
            "subsample": False,
            "pool_before_conv": False,
            "use_bn": False,
            "zero_init_output": True,
            "group_size": 2,
            "kernel_init_std": 0.02,
        },
        9,
        0,
    ),
    "gaussian": (
        {"mode": "gaussian", "bn_epsilon": 1e-3, "bn_momentum": 0.99, "group_size": 4},
        6,
        2,
    ),
    "dot_product": ({"mode": "dot_product", "name": "nonlocal_conv3_1"}, 10, 2),
}


@pytest.mark.parametrize("case", CONFIG_CASES.values(), ids=CONFIG_CASES.keys())
def test_layer_round_trip(case):
    """Non-default arguments survive get_config; fit and `.keras` save/load work."""
    kwargs, num_trainable, num_non_trainable = case
    run_layer_test(
        NonLocalBlock,
        kwargs,
        input_shape=(2, 4, 6, 6, C),
        expected_output_shape=(2, 4, 6, 6, C),
        expected_num_trainable_weights=num_trainable,
        expected_num_non_trainable_weights=num_non_trainable,
    )


@pytest.mark.parametrize("mode", ["embedded_gaussian", "gaussian", "concatenation"])
def test_weight_paths(mode):
    """Weight paths are stable names the Caffe2 converter maps blobs (`..._theta_w`) onto."""
    layer = NonLocalBlock(mode=mode, name="nonlocal_conv3_1")
    inputs = keras.Input((4, 6, 6, C))
    keras.Model(inputs, layer(inputs))
    convs = ["g", "out"] if mode == "gaussian" else ["theta", "phi", "g", "out"]
    expected = {f"{conv}/{var}" for conv in convs for var in ("kernel", "bias")}
    expected |= {f"bn/{var}" for var in ("gamma", "beta", "moving_mean", "moving_variance")}
    if mode == "concatenation":
        expected.add("concat_project")
    paths = [w.path for w in layer.weights]
    assert len(paths) == len(expected)
    assert {f"nonlocal_conv3_1/{p}" for p in expected} == set(paths)

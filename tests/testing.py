"""Shared test helpers."""

import os
import tempfile

import keras
import numpy as np


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_shape,
    expected_output_shape,
    expected_num_trainable_weights=None,
    expected_num_non_trainable_weights=None,
):
    """Generic checks for a Keras layer: config, symbolic and eager calls, fit, `.keras` save/load.

    `input_shape` and `expected_output_shape` include the batch axis; the
    symbolic call uses a `None` batch instead.
    """
    rng = np.random.default_rng(0)

    # Config: every argument passed is kept with its value, and the config round-trips.
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    for key, value in init_kwargs.items():
        assert key in config, f"`{key}` missing from get_config()"
        got = list(config[key]) if isinstance(config[key], tuple) else config[key]
        want = list(value) if isinstance(value, tuple) else value
        assert got == want, f"get_config()[{key!r}] is {config[key]!r}, passed {value!r}"
    revived = layer_cls.from_config(config)
    assert revived.get_config() == config

    # Weight counts after build.
    layer.build(input_shape)
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights
    if expected_num_non_trainable_weights is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights

    # Symbolic call with an unknown batch.
    symbolic_in = keras.KerasTensor((None, *input_shape[1:]))
    symbolic_out = layer_cls(**init_kwargs)(symbolic_in)
    assert tuple(symbolic_out.shape) == (None, *expected_output_shape[1:])

    # Eager call.
    x = rng.standard_normal(input_shape).astype("float32")
    assert tuple(layer(x).shape) == tuple(expected_output_shape)

    # One training step in a functional model.
    inputs = keras.Input(input_shape[1:], batch_size=None)
    model = keras.Model(inputs, layer_cls(**init_kwargs)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    y = rng.standard_normal(expected_output_shape).astype("float32")
    model.fit(x, y, batch_size=input_shape[0], epochs=1, verbose=0)

    # `.keras` save/load gives identical outputs.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=0, atol=1e-6
    )


def damage(shard, kind):
    """Truncates a shard to two thirds, or zeroes 64 bytes in its middle."""
    data = bytearray(shard.read_bytes())
    if kind == "truncate":
        data = data[: len(data) * 2 // 3]
    else:
        data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    shard.write_bytes(bytes(data))

"""Precise BN: BN statistics recomputed over many training batches (bn_helper.py)."""

import contextlib

import keras
import numpy as np
import tensorflow as tf

from nlkeras.data import pipelines, shards
from nlkeras.training.checkpoints import seed_variables


def batch_norm_layers(model):
    """Every trainable `BatchNormalization` of the model, nested models included."""
    layers = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            layers.append(layer)
    return layers


@contextlib.contextmanager
def _recorded_moments(layers, recorded):
    """While open, each BN layer's batch mean and variance of a call land in `recorded`."""

    def recorder(layer, moments):
        def record(inputs, mask):
            mean, variance = moments(inputs, mask)
            recorded[id(layer)] = (mean, variance)
            return mean, variance

        return record

    for layer in layers:
        if not hasattr(layer, "_moments"):
            raise RuntimeError(
                f"This Keras {keras.__version__} BatchNormalization has no `_moments`: "
                "precise BN cannot read its batch statistics."
            )
        layer._moments = recorder(layer, layer._moments)
    try:
        yield
    finally:
        for layer in layers:
            del layer._moments  # the class's own method again


class PooledMoments:
    """`clips -> (means, means of squares)` of every BN layer, summed over the replicas.

    One `tf.function` for all of a run's precise BN passes: traced once per
    clip shape, not at every checkpoint.
    """

    def __init__(self, model, strategy=None):
        self.layers = batch_norm_layers(model)
        self.strategy = strategy or tf.distribute.get_strategy()
        self._recorded = {}

        def replica_moments(clips):
            model(clips, training=True)
            moments = [self._recorded[id(layer)] for layer in self.layers]
            return [m for m, _ in moments], [v + tf.square(m) for m, v in moments]

        def pooled(clips):
            per_replica = self.strategy.run(replica_moments, args=(clips,))
            return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

        self._function = tf.function(pooled)

    def __call__(self, clips):
        with _recorded_moments(self.layers, self._recorded):  # read while tracing
            return self._function(clips)


def recompute_batch_norm(model, batches, num_batches, strategy=None, moments=None):
    """Sets every BN's moving mean and variance to its statistics pooled over batches.

    As the original: every device takes each layer's batch mean and (biased)
    variance of its own batch; the pooled mean is the mean of those means and
    the pooled variance `mean(var + mean**2) - mean(mean)**2` over all
    devices and batches, which includes the spread of the means. Each replica
    runs a training-mode forward pass of its own batch under `strategy`, so a
    device holds what a training step's forward pass holds.

    Args:
        model: the Keras model.
        batches: iterator of `(clips, labels)` or clips; per-replica values
            under a strategy (`iter(distributed_train_dataset(...))`).
        num_batches: int. Global batches to pool.
        strategy: `tf.distribute.Strategy` or None (the default strategy).
        moments: the model's `PooledMoments`, to reuse across calls (its
            strategy is the one used; pass no `strategy` with it); by
            default a new one under `strategy`.

    The training-mode passes draw dropout masks; the seed generators are put
    back afterwards, so training goes on with the masks it would have drawn
    without precise BN (and does not depend on how often it runs).

    Returns the number of batches used; a model without BN is left as it is
    (the frozen-BN recipes).
    """
    moments = moments or PooledMoments(model, strategy)
    layers, strategy = moments.layers, moments.strategy
    if not layers:
        return 0
    if num_batches < 1:
        raise ValueError(f"Precise BN needs at least one batch. Received: {num_batches}")
    seeds = [(v, v.numpy()) for v in seed_variables(model)]
    sums = [np.zeros(layer.moving_mean.shape, np.float64) for layer in layers]
    squares = [np.zeros_like(s) for s in sums]
    for _ in range(num_batches):
        batch = next(batches)
        means, mean_squares = moments(batch[0] if isinstance(batch, tuple | list) else batch)
        for total, square, mean, mean_square in zip(
            sums, squares, means, mean_squares, strict=True
        ):
            total += mean.numpy()
            square += mean_square.numpy()
    for variable, state in seeds:
        variable.assign(state)
    count = num_batches * strategy.num_replicas_in_sync
    for layer, total, square in zip(layers, sums, squares, strict=True):
        mean = total / count
        layer.moving_mean.assign(mean.astype("float32"))
        layer.moving_variance.assign((square / count - mean**2).astype("float32"))
    return num_batches


def from_training_data(model, strategy, files, data_kwargs, num_batches):
    """`iteration -> None`: precise BN over `num_batches` fresh training batches.

    The batches are drawn with a seed of the iteration (`data_kwargs["seed"]
    + 1 + iteration`), so a resumed run computes the statistics an
    uninterrupted one would. Each replica reads and normalises its own
    per-replica batches.

    Args:
        model, strategy, num_batches: as in `recompute_batch_norm`.
        files: list of the training shards.
        data_kwargs: `pipelines.train_dataset` arguments after the files.
    """

    moments = PooledMoments(model, strategy)

    def recompute(iteration):
        seed = data_kwargs["seed"] + 1 + iteration
        batches = pipelines.distributed_train_dataset(
            strategy, files, **{**data_kwargs, "seed": seed}
        )
        batches = shards.named_errors(iter(batches), files)
        recompute_batch_norm(model, batches, num_batches, moments=moments)

    return recompute

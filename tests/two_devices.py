"""two_devices_test's scenarios under MirroredStrategy over 2 logical CPUs, in one process.

Logical devices must be configured before TensorFlow starts, so the
scenarios share a process of their own; the test process keeps its one
device. `python tests/two_devices.py FOLDER` reads `FOLDER/inputs.json` and
writes `FOLDER/results.json`: each scenario's values, or its traceback.
"""

import functools
import json
import os
import sys
import traceback

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from nlkeras.data import pipelines  # noqa: E402
from nlkeras.models import build_classifier  # noqa: E402
from nlkeras.training.loop import make_train_step  # noqa: E402
from nlkeras.training.optimizer import CaffeSGD  # noqa: E402
from nlkeras.training.precise_bn import recompute_batch_norm  # noqa: E402
from tests.testing import DISTRIBUTED_MODEL, TRAIN_PIPELINE, evaluation_scores  # noqa: E402

TWO = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


def one_step(strategy, sync_batchnorm, weights, clips, labels):
    """Loss and weights after one step on the global batch (clips, labels)."""
    with strategy.scope():
        model = build_classifier(**DISTRIBUTED_MODEL, sync_batchnorm=sync_batchnorm)
        model.set_weights(weights)
        optimizer = CaffeSGD(0.1)
        optimizer.build(model.trainable_variables)
    dataset = tf.data.Dataset.from_tensor_slices((clips, labels)).batch(len(labels)).repeat()
    step = make_train_step(model, optimizer, strategy, len(labels))
    loss = float(step(*next(iter(strategy.experimental_distribute_dataset(dataset)))))
    return loss, [keras.ops.convert_to_numpy(w).tolist() for w in model.weights]


def synchronized_bn():
    """One step: 2 replicas with synchronized BN, one device, 2 replicas with per-replica BN."""
    rng = np.random.default_rng(0)
    clips = rng.normal(size=(4, 4, 32, 32, 3)).astype("float32")
    clips[2:] += 1.5  # the two replicas' halves differ, so per-replica BN would differ
    labels = np.array([0, 1, 2, 3], "int32")
    keras.utils.set_random_seed(0)
    weights = build_classifier(**DISTRIBUTED_MODEL).get_weights()
    losses, after = {}, {}
    for name, strategy, sync in (
        ("two_sync", TWO, True),
        ("one", tf.distribute.OneDeviceStrategy("/cpu:0"), True),
        ("two_local", TWO, False),
    ):
        losses[name], after[name] = one_step(strategy, sync, weights, clips, labels)
    return {"losses": losses, "weights": {name: after[name] for name in ("two_sync", "one")}}


def evaluation_sums(pattern, weights):
    """Video scores on 2 replicas; 7 views per batch split unevenly, the last batch too."""
    scores = evaluation_scores(pattern, weights, views_per_batch=7, strategy=TWO)
    sums = {str(v): np.asarray(s).tolist() for v, s in scores.sums.items()}
    return {"sums": sums, "views": scores.views}


def precise_bn():
    """Precise BN over 3 global batches of 8 whose halves (one a replica) differ."""
    rng = np.random.default_rng(0)
    batches = [rng.normal(i, 1 + i, (8, 3)).astype("float32") for i in range(3)]
    # Replica 1's half is shifted, so per-replica and global statistics differ.
    for b in batches:
        b[4:] += 5
    with TWO.scope():
        inputs = keras.Input((3,))
        model = keras.Model(inputs, keras.layers.BatchNormalization(name="bn")(inputs))
    dataset = tf.data.Dataset.from_tensor_slices(np.concatenate(batches)).batch(8)
    used = recompute_batch_norm(model, iter(TWO.experimental_distribute_dataset(dataset)), 3, TWO)
    bn = model.get_layer("bn")
    return {
        "used": used, "mean": np.asarray(bn.moving_mean).tolist(),
        "variance": np.asarray(bn.moving_variance).tolist(),
        "batches": [b.tolist() for b in batches],
    }  # fmt: skip


def per_replica_batches(pattern):
    """Each replica's shapes and dtypes in the first global batch of 4."""
    dataset = pipelines.distributed_train_dataset(TWO, pattern, 4, seed=0, **TRAIN_PIPELINE)
    clips, labels = (TWO.experimental_local_results(t) for t in next(iter(dataset)))
    return {
        "replicas": TWO.num_replicas_in_sync,
        "batches": [
            [c.shape.as_list(), c.dtype.name, y.shape.as_list(), y.dtype.name]
            for c, y in zip(clips, labels, strict=True)
        ],
    }


def main(folder):
    with open(os.path.join(folder, "inputs.json")) as f:
        inputs = json.load(f)
    scenarios = {
        "synchronized_bn": synchronized_bn,
        "evaluation_sums": functools.partial(
            evaluation_sums, inputs["eval_shards"], inputs["weights"]
        ),
        "precise_bn": precise_bn,
        "per_replica_batches": functools.partial(per_replica_batches, inputs["train_shards"]),
    }
    results = {}
    for name, scenario in scenarios.items():
        try:
            results[name] = scenario()
        except Exception:  # reported by the scenario's test; the others still run
            results[name] = {"error": traceback.format_exc()}
    with open(os.path.join(folder, "results.json"), "w") as f:
        json.dump(results, f)


main(sys.argv[1])

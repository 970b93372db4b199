"""Runs a few training steps under a strategy and prints the losses (used by distributed_test)."""

import json
import sys

import tensorflow as tf

MODE = sys.argv[1]
if MODE == "mirrored":
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from nlkeras.data import pipelines  # noqa: E402
from nlkeras.models import build_classifier  # noqa: E402
from nlkeras.training.loop import make_train_step  # noqa: E402
from nlkeras.training.optimizer import CaffeSGD  # noqa: E402

TINY = dict(
    arch="i3d", non_local_stages=(3, 4), stage_blocks=(1, 2, 2, 1), width=4, num_frames=4,
    crop_size=32, num_classes=4, dropout=0.0,
)  # fmt: skip


def one_step(strategy, sync_batchnorm, weights, clips, labels):
    """Loss and weights after one step on the global batch (clips, labels)."""
    with strategy.scope():
        model = build_classifier(**TINY, sync_batchnorm=sync_batchnorm)
        model.set_weights(weights)
        optimizer = CaffeSGD(0.1)
        optimizer.build(model.trainable_variables)
    dataset = tf.data.Dataset.from_tensor_slices((clips, labels)).batch(len(labels)).repeat()
    step = make_train_step(model, optimizer, strategy, len(labels))
    loss = float(step(*next(iter(strategy.experimental_distribute_dataset(dataset)))))
    return loss, [keras.ops.convert_to_numpy(w) for w in model.weights]


def mirrored():
    rng = np.random.default_rng(0)
    clips = rng.normal(size=(4, 4, 32, 32, 3)).astype("float32")
    clips[2:] += 1.5  # the two replicas' halves differ, so per-replica BN would differ
    labels = np.array([0, 1, 2, 3], "int32")
    keras.utils.set_random_seed(0)
    weights = build_classifier(**TINY).get_weights()
    two = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    one = tf.distribute.OneDeviceStrategy("/cpu:0")
    results = {}
    for name, strategy, sync in (
        ("two_sync", two, True),
        ("one", one, True),
        ("two_local", two, False),
    ):
        loss, after = one_step(strategy, sync, weights, clips, labels)
        results[name] = loss
        np.save(f"{sys.argv[2]}/{name}.npy", np.array(after, dtype=object), allow_pickle=True)
    print(json.dumps(results))


def worker():
    keras.utils.set_random_seed(0)
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = build_classifier(**TINY, sync_batchnorm=True)
        optimizer = CaffeSGD(0.05)
        optimizer.build(model.trainable_variables)
    data = pipelines.distributed_train_dataset(
        strategy, sys.argv[2], 4, num_frames=4, sample_rate=1, crop_size=32,
        jitter_scales=(36, 40), shuffle_buffer=4,
    )  # fmt: skip
    step = make_train_step(model, optimizer, strategy, 4)
    iterator = iter(data)
    losses = [float(step(*next(iterator))) for _ in range(3)]
    print(json.dumps({"replicas": strategy.num_replicas_in_sync, "losses": losses}))


mirrored() if MODE == "mirrored" else worker()

"""The pieces of the training loop that every strategy shares."""

import json
import os

import keras
import tensorflow as tf


def make_strategy(name, tpu=""):
    """The `tf.distribute` strategy `config.distribution.strategy` names.

    `auto`: `MultiWorkerMirroredStrategy` when `TF_CONFIG` lists several
    workers, else `MirroredStrategy` over the local GPUs (the CPU when there
    is none).
    """
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    if name == "multi_worker" or (name == "auto" and worker_position()[1] > 1):
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "one_device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    return tf.distribute.MirroredStrategy()


def worker_position():
    """`(position, count)` of this task among `TF_CONFIG`'s chief and workers; `(0, 1)` alone."""
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    cluster, task = config.get("cluster", {}), config.get("task", {})
    chiefs = len(cluster.get("chief", []))
    count = chiefs + len(cluster.get("worker", []))
    if count <= 1:
        return 0, 1
    kind, index = task.get("type"), int(task.get("index", 0))
    if kind not in ("chief", "worker") or not 0 <= index < len(cluster.get(kind, [])):
        raise ValueError(f"TF_CONFIG's task {task} is not one of its cluster's chief or workers.")
    return (0 if kind == "chief" else chiefs) + index, count


class TrainMetrics:
    """Loss and top-1 / top-5 accuracy of the training clips since the last reset."""

    def __init__(self):
        self.loss = keras.metrics.Mean()
        self.top1 = keras.metrics.SparseTopKCategoricalAccuracy(1)
        self.top5 = keras.metrics.SparseTopKCategoricalAccuracy(5)

    def update(self, per_clip_loss, labels, logits):
        self.loss.update_state(per_clip_loss)
        self.top1.update_state(labels, logits)
        self.top5.update_state(labels, logits)

    def results(self):
        return {
            "loss": float(self.loss.result()),
            "top1": float(self.top1.result()),
            "top5": float(self.top5.result()),
        }

    def reset(self):
        for metric in (self.loss, self.top1, self.top5):
            metric.reset_state()


def make_train_step(model, optimizer, strategy, global_batch_size, metrics=None):
    """A `tf.function(clips, labels) -> loss`: one SGD step on a distributed global batch.

    Each replica computes the cross-entropy of its clips divided by the
    global batch size (`tf.nn.compute_average_loss`); the summed gradients
    are those of the mean loss over the global batch, as the original's
    per-GPU `scale=1/NUM_GPUS`.
    """
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)

    def replica_step(clips, labels):
        with tf.GradientTape() as tape:
            logits = model(clips, training=True)
            per_clip = loss_fn(labels, logits)
            loss = tf.nn.compute_average_loss(per_clip, global_batch_size=global_batch_size)
            scaled = optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        if metrics is not None:
            metrics.update(per_clip, labels, logits)
        return loss

    @tf.function
    def train_step(clips, labels):
        losses = strategy.run(replica_step, args=(clips, labels))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

    return train_step

"""The `tf.distribute` strategy of a run and this process's place among the workers.

Training and evaluation both ask here: which strategy a config names, where
a task stands in `TF_CONFIG`, and whether a global batch splits over the
replicas.
"""

import json
import os

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


def per_replica_batch(global_batch_size, strategy):
    """The clips each replica takes; a `ValueError` quoting both numbers if they do not divide."""
    replicas = strategy.num_replicas_in_sync
    if global_batch_size % replicas:
        raise ValueError(
            f"config.train.batch_size={global_batch_size} must divide by {replicas} replicas."
        )
    return global_batch_size // replicas

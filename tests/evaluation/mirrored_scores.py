"""Scores a split under MirroredStrategy on 2 logical CPUs (evaluate_test compares one device).

Logical devices must be set before TensorFlow starts, so this runs in a
process of its own; the test process keeps its one device.
"""

import json
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402

from nlkeras.data import pipelines  # noqa: E402
from nlkeras.evaluation.video_scores import score_views  # noqa: E402
from nlkeras.models import build_classifier  # noqa: E402

pattern, weights = sys.argv[1:3]
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    model = build_classifier(
        num_classes=3, num_frames=8, crop_size=64, width=4, stage_blocks=(1, 1, 1, 1),
        non_local_stages=(3,), non_local_layer_mod=1, head="probabilities",
    )  # fmt: skip
model.load_weights(weights)
# 7 views per batch: batches split unevenly over the replicas, the last one too.
dataset = pipelines.eval_dataset(pattern, 7, num_clips=2, scale=64, sample_rate=1)
scores = score_views(model, dataset, strategy)
sums = {str(v): np.asarray(s).tolist() for v, s in scores.sums.items()}
print(json.dumps({"sums": sums, "views": scores.views}))

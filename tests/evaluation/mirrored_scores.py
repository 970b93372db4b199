"""Scores a split under MirroredStrategy on 2 logical CPUs and on one device (evaluate_test)."""

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
results = {}
for name, strategy in (
    ("two", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])),
    ("one", tf.distribute.OneDeviceStrategy("/cpu:0")),
):
    with strategy.scope():
        model = build_classifier(
            num_classes=3, num_frames=8, crop_size=64, width=4, stage_blocks=(1, 1, 1, 1),
            non_local_stages=(3,), non_local_layer_mod=1, head="probabilities",
        )  # fmt: skip
    model.load_weights(weights)
    # 7 views per batch: batches split unevenly over the replicas, the last one too.
    dataset = pipelines.eval_dataset(pattern, 7, num_clips=2, scale=64, sample_rate=1)
    scores = score_views(model, dataset, strategy)
    results[name] = {str(v): np.asarray(s).tolist() for v, s in scores.sums.items()}
    results[name + "_views"] = scores.views
print(json.dumps(results))

"""One of distributed_test's two workers: prints its losses of 3 MultiWorkerMirroredStrategy steps.

`python tests/training/distributed_worker.py PATTERN`, with the cluster and
this worker's index in `TF_CONFIG`.
"""

import json
import sys

import keras
import tensorflow as tf

from nlkeras.data import pipelines
from nlkeras.models import build_classifier
from nlkeras.training.loop import make_train_step
from nlkeras.training.optimizer import CaffeSGD
from tests.testing import DISTRIBUTED_MODEL

keras.utils.set_random_seed(0)
strategy = tf.distribute.MultiWorkerMirroredStrategy()
with strategy.scope():
    model = build_classifier(**DISTRIBUTED_MODEL, sync_batchnorm=True)
    optimizer = CaffeSGD(0.05)
    optimizer.build(model.trainable_variables)
data = pipelines.distributed_train_dataset(
    strategy, sys.argv[1], 4, num_frames=4, sample_rate=1, crop_size=32,
    jitter_scales=(36, 40), shuffle_buffer=4,
)  # fmt: skip
step = make_train_step(model, optimizer, strategy, 4)
iterator = iter(data)
losses = [float(step(*next(iterator))) for _ in range(3)]
print(json.dumps({"replicas": strategy.num_replicas_in_sync, "losses": losses}))

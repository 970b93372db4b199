"""An evaluation shared by several workers: each writes its part, worker 0 merges them.

A part carries a key of what it scored, so worker 0 never merges a part an
earlier run left in the same folder.
"""

import hashlib
import json
import logging
import os
import time

import tensorflow as tf

from nlkeras.data import builder
from nlkeras.evaluation.video_scores import VideoScores
from nlkeras.weights.files import weight_files


def part_path(out, position, workers):
    """Where worker `position` of `workers` writes its part of the scores in `out`."""
    return os.path.join(out, f"scores-part{position}-of-{workers}.npz")


def run_key(weights, files, settings):
    """What a worker's part scored: the weights' content, the shards' input lists, the settings.

    `settings` are JSON-serialisable values (the config's `to_dict()`). Each
    worker computes the key alone; equal keys mean the same weights (wherever
    each copy lives), the same videos and the same protocol.
    """
    digest = hashlib.sha256()
    for path in weight_files(weights):
        with tf.io.gfile.GFile(path, "rb") as f:
            while chunk := f.read(1 << 24):
                digest.update(chunk)
    inputs = [s.input_hash for s in builder.summaries_of(files).values()]
    shards = sorted(os.path.basename(f) for f in files)
    digest.update(json.dumps([inputs, shards, settings], sort_keys=True).encode())
    return digest.hexdigest()


def wait_for(path, key, minutes, poll_seconds=5.0):
    """The scores another worker writes to `path` for the run `key`, within `minutes`."""
    deadline, warned = time.monotonic() + 60 * minutes, False
    while True:
        if tf.io.gfile.exists(path):
            scores = VideoScores.load(path)
            if scores.run_key == key:
                return scores
            if not warned:
                logging.warning(
                    "%s was scored with other weights, data or settings; waiting for this run's.",
                    path,
                )
                warned = True
        if time.monotonic() > deadline:
            raise SystemExit(f"Gave up waiting for {path} after {minutes} minutes.")
        time.sleep(poll_seconds)

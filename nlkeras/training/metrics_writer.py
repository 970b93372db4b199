"""A run's scalars: one JSON line each in `log.jsonl`, and TensorBoard events."""

import json
import numbers
import os

import tensorflow as tf

from nlkeras import atomic


class MetricWriter:
    """Writes `{"iter": step, **values}` lines to `workdir/log.jsonl`, numbers to TensorBoard.

    Through `tf.io.gfile`, so a `gs://` workdir works. A run resumed from
    iteration `start` first drops the lines logged after it (by the run that
    was stopped before its next checkpoint), so every iteration is logged
    once however often the run restarts; a line torn by a kill goes too.

    Args:
        workdir: str. The run's folder.
        start: int. The iteration the run starts (or resumes) from.
    """

    def __init__(self, workdir, start=0):
        self.path = os.path.join(workdir, "log.jsonl")
        if tf.io.gfile.exists(self.path):
            with tf.io.gfile.GFile(self.path) as f:
                kept = [line for line in f if _iteration(line) <= start]
            atomic.write_bytes(self.path, "".join(kept).encode())
        self._events = tf.summary.create_file_writer(os.path.join(workdir, "tensorboard"))

    def write(self, step, values):
        with self._events.as_default(step=step):
            for name, value in values.items():
                if isinstance(value, numbers.Number):
                    tf.summary.scalar(name, value)
        with tf.io.gfile.GFile(self.path, "a") as f:
            f.write(json.dumps({"iter": step, **values}) + "\n")


def _iteration(line):
    """The line's iteration; infinite for a line cut short, so that it is dropped."""
    try:
        return json.loads(line)["iter"]
    except (json.JSONDecodeError, KeyError):
        return float("inf")

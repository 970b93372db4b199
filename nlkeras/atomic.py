"""Files written whole or not at all: a crash mid-write never leaves half a file.

Each write goes to a temporary name beside the target, then is renamed over
it. Through `tf.io.gfile`, so `gs://` outputs work too.
"""

import json
import os

import tensorflow as tf


def write_bytes(path, data):
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with tf.io.gfile.GFile(tmp, "wb") as f:
            f.write(data)
        tf.io.gfile.rename(tmp, path, overwrite=True)
    finally:
        if tf.io.gfile.exists(tmp):
            tf.io.gfile.remove(tmp)


def write_json(path, data):
    write_bytes(path, json.dumps(data, indent=1, sort_keys=True).encode())

"""Files written whole or not at all: a crash mid-write never leaves half a file.

Each write goes to a temporary name beside the target, then is renamed over
it. Through `tf.io.gfile`, so `gs://` outputs work too. A write that fails (a
full disk, no permission) raises an `OSError` naming the target and leaves
what was there before.
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
    except (OSError, tf.errors.OpError) as error:
        raise OSError(f"Could not write {path}: {_reason(error)}") from error
    finally:
        if tf.io.gfile.exists(tmp):
            tf.io.gfile.remove(tmp)


def write_folder(path, write):
    """`write(folder)` fills a temporary folder, which then replaces `path`."""
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        write(tmp)
        if tf.io.gfile.exists(path):
            tf.io.gfile.rmtree(path)
        tf.io.gfile.rename(tmp, path)
    except (OSError, tf.errors.OpError) as error:
        raise OSError(f"Could not write {path}: {_reason(error)}") from error
    finally:
        if tf.io.gfile.exists(tmp):
            tf.io.gfile.rmtree(tmp)


def _reason(error):
    return getattr(error, "message", None) or str(error)


def write_json(path, data):
    write_bytes(path, json.dumps(data, indent=1, sort_keys=True).encode())

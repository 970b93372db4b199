"""A run's checkpoints and final weights: resumed where it stopped, written whole or not at all.

A write that fails (a full disk, no permission) ends in one error line naming
the file or folder, and leaves what was written before intact.
"""

import logging

import tensorflow as tf

from nlkeras.weights.files import restore_checkpoint


def seed_variables(model):
    """The states of the model's seed generators (dropout's random state)."""
    return [v for v in model.variables if "seed_generator_state" in v.path]


def checkpoint_manager(model, optimizer, directory, keep):
    """A `tf.train.CheckpointManager` of the model, the optimizer and dropout's random state.

    Dropout's state is not among the model's weights; checkpointed too, a
    resumed run draws the masks an uninterrupted one would.
    """
    seeds = [v.value for v in seed_variables(model)]
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, seeds=seeds)
    return tf.train.CheckpointManager(checkpoint, directory, max_to_keep=keep)


def restore_latest(manager):
    """Restores the newest checkpoint of `manager`; whether there was one.

    Raises `ValueError`, naming the checkpoint, when it does not fit the model.
    """
    if not manager.latest_checkpoint:
        return False
    restore_checkpoint(manager.checkpoint, manager.latest_checkpoint)
    logging.info("Resumed from %s", manager.latest_checkpoint)
    return True


def save_checkpoint(manager, iteration):
    """`manager.save`, or one error line naming the folder; earlier checkpoints stay intact."""
    try:
        manager.save(checkpoint_number=iteration)
    except (tf.errors.OpError, OSError) as error:
        latest = manager.latest_checkpoint or "none"
        raise SystemExit(
            f"error: could not write checkpoint {iteration} in {manager.directory}: "
            f"{getattr(error, 'message', error)}. The newest good checkpoint ({latest}) "
            "is intact; free space or fix permissions and run the same command to resume."
        ) from None


def save_weights(model, path):
    """Writes `path` whole or not at all (a partial file is removed), or one error line."""
    partial = path.removesuffix(".weights.h5") + ".partial.weights.h5"
    try:
        model.save_weights(partial)
        tf.io.gfile.rename(partial, path, overwrite=True)
    except (tf.errors.OpError, OSError) as error:
        if tf.io.gfile.exists(partial):
            tf.io.gfile.remove(partial)
        raise SystemExit(
            f"error: could not write {path}: {getattr(error, 'message', error)}. The "
            "checkpoints hold the same weights (nlkeras.evaluate and export read them)."
        ) from None

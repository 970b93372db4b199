r"""Trains a recipe: `python -m nlkeras.train --recipe NAME [--config.KEY=VALUE] [--workdir DIR]`.

One custom training loop for every strategy (Keras' `model.fit` fails under
`MultiWorkerMirroredStrategy`, keras-team/keras#20585): a Keras model and
optimizer inside `strategy.run`, the loss averaged over the global batch.
Iteration-based like the original: logs every `log_period`, clip-level
validation every `train.eval_period`, a checkpoint every `checkpoint.period`
and at the end, precise BN before both, then the test protocol on the test
split. A run resumes from its newest checkpoint, at the same point of the
data.

    python -m nlkeras.train --recipe demo
"""

import json
import logging
import os
import sys
import time

import keras
import numpy as np
import tensorflow as tf
from absl import flags

from nlkeras import cli
from nlkeras import config as config_lib
from nlkeras.data import features, pipelines, shards
from nlkeras.data.synthetic import make_synthetic_dataset
from nlkeras.evaluation.video_scores import score_views
from nlkeras.models import build_classifier
from nlkeras.training import preemption
from nlkeras.training.initialisation import initialise
from nlkeras.training.loop import TrainMetrics, make_strategy, make_train_step
from nlkeras.training.optimizer import CaffeSGD
from nlkeras.training.precise_bn import recompute_batch_norm
from nlkeras.training.schedule import StepSchedule

_CONFIG = cli.define_config_flag()
_WORKDIR = flags.DEFINE_string("workdir", None, "Output folder (default: runs/RECIPE).")


def ensure_training_data(config):
    """The training shards; the demo's synthetic sets are generated when missing."""
    try:
        return pipelines.list_files(config.data.train_files)
    except ValueError:
        if not config.data.synthetic_dir:
            raise
    logging.info("No training data: generating the synthetic set in %s", config.data.synthetic_dir)
    make_synthetic_dataset(config.data.synthetic_dir, classes=config.data.synthetic_classes)
    return pipelines.list_files(config.data.train_files)


def validate_clips(model, files, config, damaged_shards=None):
    """Clip-level accuracy: one centre clip per validation video (not the paper's number)."""
    kwargs = {**config_lib.eval_data_kwargs(config), "protocol": "center_crop"}
    kwargs.update(num_clips=1, flip=False, damaged_shards=damaged_shards)
    top1 = keras.metrics.SparseTopKCategoricalAccuracy(1)
    top5 = keras.metrics.SparseTopKCategoricalAccuracy(5)
    dataset = pipelines.eval_dataset(files, **kwargs)
    # In a graph each activation is freed once used; an eager call keeps them all
    # (for 128-frame views, tens of GiB).
    logits_of = tf.function(lambda clips: model(clips, training=False), reduce_retracing=True)
    for batch in shards.named_errors(iter(dataset), pipelines.list_files(files)):
        logits = logits_of(batch[features.CLIPS])
        top1.update_state(batch[features.LABEL], logits)
        top5.update_state(batch[features.LABEL], logits)
    return {"val_clip_top1": float(top1.result()), "val_clip_top5": float(top5.result())}


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


def test_videos(model, files, config):
    """The recipe's test protocol, video level (views' probabilities summed per video)."""
    # As `nlkeras.evaluate`: videos after a damaged record are missing (wrong), with a warning.
    dataset = pipelines.eval_dataset(
        files, **config_lib.eval_data_kwargs(config), damaged_shards=shards.DamagedShards()
    )
    scores = score_views(model.with_head("probabilities"), dataset)
    return {
        "test_video_top1": scores.accuracy(1),
        "test_video_top5": scores.accuracy(5),
        "test_videos": len(scores.sums),
    }


def main(argv):
    del argv
    # === Flags and logging ===
    config = config_lib.validate(_CONFIG.value)
    recipe = flags.FLAGS.recipe.partition(":")[0]
    config.recipe = recipe
    workdir = _WORKDIR.value or config.workdir or os.path.join("runs", recipe)
    os.makedirs(workdir, exist_ok=True)
    logging.getLogger().setLevel(logging.INFO)
    # Before the model: `model.num_classes` 0 is the training split's class count.
    train_files = ensure_training_data(config)
    config_lib.resolve_num_classes(config)
    with open(os.path.join(workdir, "config.json"), "w") as f:
        f.write(config.to_json_best_effort(indent=1, sort_keys=True))
    logging.info("Recipe %s, workdir %s, config:\n%s", recipe, workdir, config)
    keras.mixed_precision.set_global_policy(config.mixed_precision)
    keras.utils.set_random_seed(config.seed)

    # === Strategy ===
    strategy = make_strategy(config.distribution.strategy, config.distribution.tpu)
    replicas = strategy.num_replicas_in_sync
    global_batch = config.train.batch_size
    if global_batch % replicas:
        raise ValueError(
            f"config.train.batch_size={global_batch} must divide by {replicas} replicas."
        )
    recipe_batch = cli.load_recipe(flags.FLAGS.recipe).train.batch_size
    s = config.solver
    base_lr = s.base_lr * global_batch / recipe_batch
    if global_batch != recipe_batch:
        logging.warning(
            "Global batch %d instead of the recipe's %d: base LR scaled linearly, %g -> %g.",
            global_batch, recipe_batch, s.base_lr, base_lr,
        )  # fmt: skip
    logging.info(
        "%d replica(s), %d clips each; the recipe was tuned for %d replicas.",
        replicas, global_batch // replicas, config.train.tuned_replicas,
    )  # fmt: skip

    # === Model and optimizer ===
    with strategy.scope():
        model = build_classifier(**config_lib.model_kwargs(config))
        warmup = s.warmup_end_iter if s.warmup else 0
        schedule = StepSchedule(
            base_lr, s.step_sizes, s.lrs, s.lr_policy, s.gamma, warmup, s.warmup_start_lr
        )
        optimizer = CaffeSGD(
            schedule, s.momentum, s.nesterov, l2=s.weight_decay, l2_norm=s.weight_decay_bn
        )
        if config.mixed_precision == "mixed_float16":
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        optimizer.build(model.trainable_variables)
        metrics = TrainMetrics()

    # === Resume ===
    # Dropout's random state is not among the model's weights: checkpoint it too,
    # so a resumed run draws the masks an uninterrupted one would.
    seeds = [v.value for v in model.variables if "seed_generator_state" in v.path]
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, seeds=seeds)
    manager = tf.train.CheckpointManager(
        checkpoint, os.path.join(workdir, "checkpoints"), max_to_keep=config.checkpoint.keep
    )
    if config.checkpoint.resume and manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        logging.info("Resumed from %s", manager.latest_checkpoint)
    elif config.train.init_weights:
        initialise(model, config.train.init_weights, config.train.reinit_classifier)
    start = int(optimizer.iterations.numpy())

    # === Input ===
    data_kwargs = config_lib.train_data_kwargs(config)
    damaged = shards.DamagedShards() if config.data.skip_corrupt_records else None
    data_kwargs["damaged_shards"] = damaged
    train_data = pipelines.distributed_train_dataset(
        strategy, train_files, skip_batches=start, **data_kwargs
    )
    train_step = make_train_step(model, optimizer, strategy, global_batch, metrics)

    # === Fit and evaluate ===
    writer = tf.summary.create_file_writer(os.path.join(workdir, "tensorboard"))

    def record(step, values):
        with writer.as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(name, value)
        with open(os.path.join(workdir, "log.jsonl"), "a") as f:
            f.write(json.dumps({"iter": step, **values}) + "\n")
            if damaged is not None and damaged.found:
                # Per shard: how many passes stopped at its damaged record so far.
                f.write(json.dumps({"iter": step, "corrupt_record_skips": damaged.skips()}) + "\n")

    def precise_bn(iteration):
        # Fresh batches drawn from the iteration: a resumed run computes the same
        # statistics. Each replica reads and normalises its own per-replica batches.
        if config.train.precise_bn:
            batches = pipelines.distributed_train_dataset(
                strategy, train_files, **{**data_kwargs, "seed": config.seed + 1 + iteration}
            )
            batches = shards.named_errors(iter(batches), train_files)
            recompute_batch_norm(model, batches, config.train.precise_bn_iters, strategy)

    iterator = shards.named_errors(iter(train_data), train_files)
    progress = keras.utils.Progbar(s.max_iter, stateful_metrics=["loss", "lr"])
    progress.update(start)
    tick, step_time, data_time, last_log = time.perf_counter(), 0.0, 0.0, start
    # SIGTERM / SIGINT: finish the step, checkpoint it, exit (nlkeras/training/preemption.py).
    with preemption.StopRequest() as stop:
        for step in range(start, s.max_iter):
            before = time.perf_counter()
            clips, labels = next(iterator)
            fetched = time.perf_counter()
            loss = float(train_step(clips, labels))
            step_time += time.perf_counter() - before
            data_time += fetched - before
            if not np.isfinite(loss):
                raise FloatingPointError(f"Loss is {loss} at iteration {step}.")
            done = step + 1
            lr = float(schedule(step))
            progress.update(done, [("loss", loss), ("lr", lr)])
            if done % config.log_period == 0 or done == s.max_iter:
                elapsed, iterations = time.perf_counter() - tick, done - last_log
                record(
                    done,
                    {**metrics.results(), "lr": lr,
                     "clips_per_second": global_batch * iterations / elapsed,
                     "seconds_per_iteration": step_time / iterations,
                     "data_wait_seconds_per_iteration": data_time / iterations},
                )  # fmt: skip
                metrics.reset()
                tick, step_time, data_time, last_log = time.perf_counter(), 0.0, 0.0, done
            last = done == s.max_iter
            evaluate = config.data.val_files and (done % config.train.eval_period == 0 or last)
            save = done % config.checkpoint.period == 0 or last
            if evaluate or save:
                precise_bn(done)
            if evaluate:
                record(done, validate_clips(model, config.data.val_files, config, damaged))
            if save or stop.requested:
                save_checkpoint(manager, done)
            if stop.requested:
                logging.warning(
                    "%s at iteration %d: checkpoint written; the same command resumes here.",
                    stop.requested, done,
                )  # fmt: skip
                sys.exit(preemption.EXIT_CODE)
    final = os.path.join(workdir, "final.weights.h5")
    save_weights(model, final)
    logging.info("Final weights: %s", final)
    if config.train.test_after_train and config.data.test_files:
        results = test_videos(model, config.data.test_files, config)
        record(s.max_iter, results)
        print(
            f"test ({config.test.protocol}, {results['test_videos']} videos): "
            f"video top-1 {100 * results['test_video_top1']:.1f}%, "
            f"top-5 {100 * results['test_video_top5']:.1f}%"
        )


if __name__ == "__main__":
    cli.run(main)

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
import time

import keras
import numpy as np
import tensorflow as tf
from absl import flags

from nlkeras import cli
from nlkeras import config as config_lib
from nlkeras.data import features, pipelines
from nlkeras.data.synthetic import make_synthetic_dataset
from nlkeras.evaluation.video_scores import score_views
from nlkeras.models import build_classifier
from nlkeras.training.loop import TrainMetrics, make_strategy, make_train_step
from nlkeras.training.optimizer import CaffeSGD
from nlkeras.training.precise_bn import recompute_batch_norm
from nlkeras.training.schedule import StepSchedule
from nlkeras.weights.files import load_weights

_CONFIG = cli.define_config_flag()
_WORKDIR = flags.DEFINE_string("workdir", None, "Output folder (default: runs/RECIPE).")


def ensure_training_data(config):
    """The training shards; the demo's synthetic set is generated when missing."""
    try:
        return pipelines.list_files(config.data.train_files)
    except ValueError:
        if not config.data.synthetic_dir:
            raise
    logging.info("No training data: generating the synthetic set in %s", config.data.synthetic_dir)
    make_synthetic_dataset(config.data.synthetic_dir)
    return pipelines.list_files(config.data.train_files)


def validate_clips(model, files, config):
    """Clip-level accuracy: one centre clip per validation video (not the paper's number)."""
    kwargs = {**config_lib.eval_data_kwargs(config), "protocol": "center_crop"}
    kwargs.update(num_clips=1, flip=False)
    top1 = keras.metrics.SparseTopKCategoricalAccuracy(1)
    top5 = keras.metrics.SparseTopKCategoricalAccuracy(5)
    for batch in pipelines.eval_dataset(files, **kwargs):
        logits = model(batch[features.CLIPS], training=False)
        top1.update_state(batch[features.LABEL], logits)
        top5.update_state(batch[features.LABEL], logits)
    return {"val_clip_top1": float(top1.result()), "val_clip_top5": float(top5.result())}


def test_videos(model, files, config):
    """The recipe's test protocol, video level (views' probabilities summed per video)."""
    dataset = pipelines.eval_dataset(files, **config_lib.eval_data_kwargs(config))
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
        # The original's checkpoints and ImageNet files: 2D kernels are inflated, a
        # classifier for another class count is skipped, fresh layers keep their init.
        init = config.train.init_weights
        report = load_weights(model, init, strict=False) or {}
        for kind in ("missing", "unexpected", "skipped"):
            if report.get(kind):
                logging.info("Initialisation from %s, %s: %s", init, kind, report[kind])
        logging.info("Initialised from %s", init)
    start = int(optimizer.iterations.numpy())

    # === Input ===
    train_files = ensure_training_data(config)
    data_kwargs = config_lib.train_data_kwargs(config)
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

    def precise_bn(iteration):
        # Fresh batches drawn from the iteration: a resumed run computes the same
        # statistics. Each replica reads and normalises its own per-replica batches.
        if config.train.precise_bn:
            batches = pipelines.distributed_train_dataset(
                strategy, train_files, **{**data_kwargs, "seed": config.seed + 1 + iteration}
            )
            recompute_batch_norm(model, iter(batches), config.train.precise_bn_iters, strategy)

    iterator = iter(train_data)
    progress = keras.utils.Progbar(s.max_iter, stateful_metrics=["loss", "lr"])
    progress.update(start)
    tick, step_time, data_time, last_log = time.perf_counter(), 0.0, 0.0, start
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
            record(done, validate_clips(model, config.data.val_files, config))
        if save:
            manager.save(checkpoint_number=done)
    final = os.path.join(workdir, "final.weights.h5")
    model.save_weights(final)
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

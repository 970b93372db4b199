"""A whole training run as a recipe describes it: `train(config, workdir)`.

One custom training loop for every strategy (Keras' `model.fit` fails under
`MultiWorkerMirroredStrategy`, keras-team/keras#20585): a Keras model and
optimizer inside `strategy.run`, the loss averaged over the global batch.
Iteration-based like the original: logs every `log_period`, clip-level
validation every `train.eval_period`, a checkpoint every `checkpoint.period`
and at the end, precise BN before both, then the test protocol on the test
split. A run resumes from its newest checkpoint, at the same point of the
data; SIGTERM checkpoints the step in flight and exits with 42. The command
is `python -m nlkeras.train`.
"""

import logging
import os
import sys

import keras
import tensorflow as tf

from nlkeras import atomic
from nlkeras import config as config_lib
from nlkeras.data import pipelines, shards, views
from nlkeras.data.synthetic import make_synthetic_dataset
from nlkeras.distribution import make_strategy, per_replica_batch
from nlkeras.evaluation.summary import evaluate_split
from nlkeras.models import build_classifier
from nlkeras.training import checkpoints as checkpoints_lib
from nlkeras.training import precise_bn as precise_bn_lib
from nlkeras.training import preemption
from nlkeras.training.fit import fit
from nlkeras.training.initialisation import check_init, initialise
from nlkeras.training.loop import TrainMetrics, make_train_step
from nlkeras.training.metrics_writer import MetricWriter
from nlkeras.training.optimizer import CaffeSGD
from nlkeras.training.schedule import StepSchedule, scaled_base_lr
from nlkeras.training.validation import validate_clips


def training_files(patterns, synthetic_dir="", synthetic_classes="demo"):
    """The training shards; with `synthetic_dir` (the demo's), generated there when missing."""
    try:
        return pipelines.list_files(patterns)
    except ValueError:
        if not synthetic_dir:
            raise
    logging.info("No training data: generating the synthetic set in %s", synthetic_dir)
    make_synthetic_dataset(synthetic_dir, classes=synthetic_classes)
    return pipelines.list_files(patterns)


def train(config, workdir):
    """The run `config` describes, in `workdir`; returns its test summary (None without one)."""
    # === Config and outputs ===
    t, s, d = config.train, config.solver, config.data
    check_init(t.init_from, t.init_weights)
    tf.io.gfile.makedirs(workdir)
    # Before the model: `model.num_classes` 0 is the training split's class count.
    train_files = training_files(d.train_files, d.synthetic_dir, d.synthetic_classes)
    config_lib.resolve_num_classes(config)
    resolved = config.to_json_best_effort(indent=1, sort_keys=True)
    atomic.write_bytes(os.path.join(workdir, "config.json"), resolved.encode())
    logging.info("Recipe %s, workdir %s, config:\n%s", config.recipe, workdir, config)
    keras.mixed_precision.set_global_policy(config.mixed_precision)
    keras.utils.set_random_seed(config.seed)

    # === Strategy ===
    strategy = make_strategy(config.distribution.strategy, config.distribution.tpu)
    logging.info(
        "%d replica(s), %d clips each; the recipe was tuned for %d replicas.",
        strategy.num_replicas_in_sync, per_replica_batch(t.batch_size, strategy),
        t.tuned_replicas,
    )  # fmt: skip

    # === Model and optimizer ===
    with strategy.scope():
        model = build_classifier(**config_lib.model_kwargs(config))
        schedule = StepSchedule(
            scaled_base_lr(s.base_lr, t.batch_size, t.reference_batch_size), s.step_sizes,
            s.lrs, s.lr_policy, s.gamma, s.warmup_end_iter if s.warmup else 0, s.warmup_start_lr,
        )  # fmt: skip
        optimizer = CaffeSGD(
            schedule, s.momentum, s.nesterov, l2=s.weight_decay, l2_norm=s.weight_decay_bn
        )
        if config.mixed_precision == "mixed_float16":
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        optimizer.build(model.trainable_variables)
        metrics = TrainMetrics()

    # === Resume ===
    # The newest checkpoint in workdir, else init_weights, else scratch (§3.3 of
    # docs/original-semantics.md).
    checkpoints = checkpoints_lib.checkpoint_manager(
        model, optimizer, os.path.join(workdir, "checkpoints"), config.checkpoint.keep
    )
    resumed = config.checkpoint.resume and checkpoints_lib.restore_latest(checkpoints)
    if not resumed and t.init_weights:
        initialise(model, t.init_weights, t.reinit_classifier)
    start = int(optimizer.iterations.numpy())

    # === Input ===
    damaged = shards.DamagedShards() if d.skip_corrupt_records else None
    data_kwargs = {**config_lib.train_data_kwargs(config), "damaged_shards": damaged}
    batches = pipelines.distributed_train_dataset(
        strategy, train_files, skip_batches=start, **data_kwargs
    )
    precise_bn = precise_bn_lib.from_training_data(
        model, strategy, train_files, data_kwargs, t.precise_bn_iters
    )
    eval_kwargs = config_lib.eval_data_kwargs(config)

    # === Fit and test ===
    writer = MetricWriter(workdir, start)
    stopped = fit(
        make_train_step(model, optimizer, strategy, t.batch_size, metrics),
        shards.named_errors(iter(batches), train_files),
        start=start, max_iter=s.max_iter, global_batch_size=t.batch_size, schedule=schedule,
        metrics=metrics, writer=writer, checkpoints=checkpoints, log_period=config.log_period,
        checkpoint_period=config.checkpoint.period, eval_period=t.eval_period,
        validate=(lambda: validate_clips(model, d.val_files, eval_kwargs, damaged))
        if d.val_files else None,
        precise_bn=precise_bn if t.precise_bn else None, damaged_shards=damaged,
    )  # fmt: skip
    if stopped:
        sys.exit(preemption.EXIT_CODE)
    checkpoints_lib.save_weights(model, os.path.join(workdir, "final.weights.h5"))
    if not (t.test_after_train and d.test_files):
        return None
    views_per_video = views.TestViews(**config_lib.test_protocol_kwargs(config)).views_per_video
    summary = evaluate_split(
        model, pipelines.list_files(d.test_files), eval_kwargs, views_per_video
    )
    writer.write(
        s.max_iter,
        {"test_video_top1": summary["top1"], "test_video_top5": summary["top5"],
         "test_videos": summary["videos"], "test_videos_missing": summary["videos_missing"]},
    )  # fmt: skip
    return summary

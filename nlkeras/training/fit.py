"""The training loop: iterations with the original's logging, validation and checkpoint periods.

Iteration-based like the original's `train_net_video.py`: a log line every
`log_period`, validation every `eval_period`, a checkpoint every
`checkpoint_period` and at the end, precise BN before both (once when both
fall on one iteration, §5.3 of docs/original-semantics.md). SIGTERM or
SIGINT finishes the step in flight and checkpoints it
(`nlkeras/training/preemption.py`).
"""

import logging
import time

import keras
import numpy as np

from nlkeras.training import preemption
from nlkeras.training.checkpoints import save_checkpoint


def fit(
    train_step,
    batches,
    *,
    start,
    max_iter,
    global_batch_size,
    schedule,
    metrics,
    writer,
    checkpoints,
    log_period,
    checkpoint_period,
    eval_period=0,
    validate=None,
    precise_bn=None,
    damaged_shards=None,
):
    """Trains iterations `start` to `max_iter`; returns None, or the signal that stopped it.

    Args:
        train_step: `(clips, labels) -> loss`, one step on a global batch
            (`nlkeras.training.loop.make_train_step`).
        batches: iterator of `(clips, labels)`, from iteration `start` on.
        start, max_iter: int. First iteration and the number to end at.
        global_batch_size: int. Clips per step, for the clips per second.
        schedule: `iteration -> LR`, for the log.
        metrics: `TrainMetrics` that `train_step` updates; logged and reset
            every `log_period`.
        writer: `MetricWriter` of the run.
        checkpoints: `tf.train.CheckpointManager`; saved every
            `checkpoint_period`, at the end and when a signal stops the run.
        log_period, checkpoint_period: int. In iterations.
        eval_period: int. Iterations between validations (and at the end).
        validate: `() -> {name: value}`, or None for no validation.
        precise_bn: `iteration -> None`, recomputing the BN statistics before
            a checkpoint or a validation; or None.
        damaged_shards: `shards.DamagedShards` or None. Its skip counts are
            logged after each log line once it found a damaged record.

    Raises:
        FloatingPointError: the loss is not finite.
    """
    progress = keras.utils.Progbar(max_iter, stateful_metrics=["loss", "lr"])
    progress.update(start)
    tick, step_time, data_time, last_log = time.perf_counter(), 0.0, 0.0, start
    with preemption.StopRequest() as stop:
        for step in range(start, max_iter):
            before = time.perf_counter()
            clips, labels = next(batches)
            fetched = time.perf_counter()
            loss = float(train_step(clips, labels))
            step_time += time.perf_counter() - before
            data_time += fetched - before
            if not np.isfinite(loss):
                raise FloatingPointError(f"Loss is {loss} at iteration {step}.")
            done, last = step + 1, step + 1 == max_iter
            lr = float(schedule(step))
            progress.update(done, [("loss", loss), ("lr", lr)])
            if done % log_period == 0 or last:
                elapsed, iterations = time.perf_counter() - tick, done - last_log
                writer.write(
                    done,
                    {**metrics.results(), "lr": lr,
                     "clips_per_second": global_batch_size * iterations / elapsed,
                     "seconds_per_iteration": step_time / iterations,
                     "data_wait_seconds_per_iteration": data_time / iterations},
                )  # fmt: skip
                if damaged_shards is not None and damaged_shards.found:
                    # Per shard: how many passes stopped at its damaged record so far.
                    writer.write(done, {"corrupt_record_skips": damaged_shards.skips()})
                metrics.reset()
                tick, step_time, data_time, last_log = time.perf_counter(), 0.0, 0.0, done
            evaluate = validate is not None and (done % eval_period == 0 or last)
            save = done % checkpoint_period == 0 or last
            if precise_bn is not None and (evaluate or save):
                precise_bn(done)
            if evaluate:
                writer.write(done, validate())
            if save or stop.requested:
                save_checkpoint(checkpoints, done)
            if stop.requested:
                logging.warning(
                    "%s at iteration %d: checkpoint written; the same command resumes here.",
                    stop.requested, done,
                )  # fmt: skip
                return stop.requested
    return None

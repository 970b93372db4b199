"""The training step every strategy shares, and the training metrics it updates."""

import keras
import tensorflow as tf


class TrainMetrics:
    """Loss and top-1 / top-5 accuracy of the training clips since the last reset."""

    def __init__(self):
        self.loss = keras.metrics.Mean()
        self.top1 = keras.metrics.SparseTopKCategoricalAccuracy(1)
        self.top5 = keras.metrics.SparseTopKCategoricalAccuracy(5)

    def update(self, per_clip_loss, labels, logits):
        self.loss.update_state(per_clip_loss)
        self.top1.update_state(labels, logits)
        self.top5.update_state(labels, logits)

    def results(self):
        return {
            "loss": float(self.loss.result()),
            "top1": float(self.top1.result()),
            "top5": float(self.top5.result()),
        }

    def reset(self):
        for metric in (self.loss, self.top1, self.top5):
            metric.reset_state()


def make_train_step(model, optimizer, strategy, global_batch_size, metrics=None):
    """A `tf.function(clips, labels) -> loss`: one SGD step on a distributed global batch.

    Each replica computes the cross-entropy of its clips divided by the
    global batch size (`tf.nn.compute_average_loss`); the summed gradients
    are those of the mean loss over the global batch, as the original's
    per-GPU `scale=1/NUM_GPUS`.
    """
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)

    def replica_step(clips, labels):
        with tf.GradientTape() as tape:
            logits = model(clips, training=True)
            per_clip = loss_fn(labels, logits)
            loss = tf.nn.compute_average_loss(per_clip, global_batch_size=global_batch_size)
            scaled = optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        if metrics is not None:
            metrics.update(per_clip, labels, logits)
        return loss

    @tf.function
    def train_step(clips, labels):
        losses = strategy.run(replica_step, args=(clips, labels))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

    return train_step

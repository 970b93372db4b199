"""Validation during training: clip-level accuracy on one fixed view per validation video.

The original validated on randomly augmented training-style clips (§4.2,
§4.6 of docs/original-semantics.md), so two validations of the same weights
differ. Here every validation scores the same view of each video: the first
test clip (from frame 0), the centre crop at the test scale, no flip, logits
averaged over positions. Successive numbers then differ only by the model.
Like the original's, the number is clip-level (`val_clip_*`), not the
paper's 30-view video accuracy.
"""

import keras
import tensorflow as tf

from nlkeras.data import features, pipelines, shards

# The one view per video, in `pipelines.eval_dataset`'s terms.
VIEW = dict(protocol="center_crop", num_clips=1, flip=False)


def validate_clips(model, files, data_kwargs, damaged_shards=None):
    """`{"val_clip_top1", "val_clip_top5"}` of `model` (logits head) on `files`' fixed views.

    Args:
        model: the training model, `head="logits"`.
        files: str or list. TFRecord patterns of the validation split.
        data_kwargs: the test protocol's `pipelines.eval_dataset` arguments
            (normalisation, scale, batch size); `VIEW` replaces its views.
        damaged_shards: `shards.DamagedShards` or None, as in `eval_dataset`.
    """
    top1 = keras.metrics.SparseTopKCategoricalAccuracy(1)
    top5 = keras.metrics.SparseTopKCategoricalAccuracy(5)
    dataset = pipelines.eval_dataset(
        files, **{**data_kwargs, **VIEW}, damaged_shards=damaged_shards
    )
    # In a graph each activation is freed once used; an eager call keeps them all
    # (for 128-frame views, tens of GiB).
    logits_of = tf.function(lambda clips: model(clips, training=False), reduce_retracing=True)
    for batch in shards.named_errors(iter(dataset), pipelines.list_files(files)):
        logits = logits_of(batch[features.CLIPS])
        top1.update_state(batch[features.LABEL], logits)
        top5.update_state(batch[features.LABEL], logits)
    return {"val_clip_top1": float(top1.result()), "val_clip_top5": float(top5.result())}

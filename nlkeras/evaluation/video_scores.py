"""Video-level scores from view-level predictions (tools/test_net_video.py)."""

import os

import numpy as np
import tensorflow as tf


class VideoScores:
    """Sums each video's view probabilities; top-k over all videos of the split.

    As the original: a video's score is the sum over its views; a video
    with no view counts as wrong; accuracy is over `num_videos`. Each view
    is also scored on its own (clip-level accuracy, the number the original
    printed while testing).
    """

    def __init__(self):
        self.sums = {}
        self.labels = {}
        self.views = {}
        self.ids = {}
        self.view_hits = {1: 0, 5: 0}

    def add(self, video_indices, labels, probabilities, video_ids=None):
        probabilities = np.asarray(probabilities, np.float64)
        if video_ids is None:
            video_ids = [None] * len(probabilities)
        for video, label, p, video_id in zip(
            video_indices, labels, probabilities, video_ids, strict=True
        ):
            video = int(video)
            self.sums[video] = self.sums.get(video, 0.0) + p
            self.labels[video] = int(label)
            self.views[video] = self.views.get(video, 0) + 1
            if video_id is not None:
                self.ids[video] = video_id.decode() if isinstance(video_id, bytes) else video_id
            for k in self.view_hits:
                self.view_hits[k] += int(label) in _top_k(p, k)

    @property
    def num_views(self):
        return sum(self.views.values())

    def accuracy(self, k, num_videos=None):
        """Top-k video accuracy; `num_videos` (default: videos seen) is the denominator."""
        num_videos = len(self.sums) if num_videos is None else num_videos
        if not num_videos:
            raise ValueError("No videos to score.")
        hits = sum(self.labels[v] in _top_k(scores, k) for v, scores in self.sums.items())
        return hits / num_videos

    def clip_accuracy(self, k):
        """Top-k accuracy of the views, each on its own."""
        if not self.num_views:
            raise ValueError("No views to score.")
        return self.view_hits[k] / self.num_views

    def save(self, path):
        """Writes `video_id`, `label`, `views` and summed `scores` per video to an `.npz`.

        Plain arrays (no pickles): `np.load(path)` reads them back.
        """
        videos = sorted(self.sums)
        tmp = f"{path}.tmp{os.getpid()}.npz"
        np.savez(
            tmp,
            video_index=np.array(videos, np.int64),
            video_id=np.array([self.ids.get(v, str(v)) for v in videos], dtype=str),
            label=np.array([self.labels[v] for v in videos], np.int64),
            views=np.array([self.views[v] for v in videos], np.int64),
            scores=np.stack([self.sums[v] for v in videos]).astype(np.float32),
        )
        os.replace(tmp, path)


def _top_k(scores, k):
    return np.argsort(-scores, kind="stable")[:k]


def score_views(model, dataset, strategy=None, progress=None):
    """Runs `model` (the probabilities head) over an `eval_dataset`; returns `VideoScores`.

    With a `tf.distribute` strategy, each batch is split over its replicas
    and the views are regrouped on the host. `progress(views)` is called
    after each batch.
    """
    strategy = strategy or tf.distribute.get_strategy()
    # Video ids are strings: they stay on the host, only clips go to devices.
    options = tf.distribute.InputOptions(experimental_fetch_to_device=False)
    batches = strategy.experimental_distribute_dataset(dataset, options)

    def replica_predict(batch):
        # A short last batch leaves some replicas no view; TF's Conv3D
        # mishandles an empty batch, so those skip the model.
        clips = batch["clips"]
        return tf.cond(
            tf.shape(clips)[0] > 0,
            lambda: model(clips, training=False),
            lambda: tf.zeros((0, model.output_shape[-1]), model.output.dtype),
        )

    @tf.function(reduce_retracing=True)
    def predict(batch):
        return strategy.run(replica_predict, args=(batch,))

    scores = VideoScores()
    for batch in batches:
        local = strategy.experimental_local_results
        probabilities = local(predict(batch))
        fields = {key: local(batch[key]) for key in ("video_index", "label", "video_id")}
        for replica, p in enumerate(probabilities):
            scores.add(
                fields["video_index"][replica].numpy(),
                fields["label"][replica].numpy(),
                p.numpy(),
                fields["video_id"][replica].numpy(),
            )
            if progress:
                progress(len(p))
    return scores

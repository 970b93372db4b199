"""Video-level scores from view-level predictions (tools/test_net_video.py)."""

import io

import numpy as np
import tensorflow as tf

from nlkeras import atomic
from nlkeras.data import features


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
        self.run_key = ""

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
        """Top-k accuracy of the views, each on its own (k = 1 or 5)."""
        if k not in self.view_hits:
            raise ValueError(f"Clip accuracy is kept for k in {sorted(self.view_hits)}, not {k}.")
        if not self.num_views:
            raise ValueError("No views to score.")
        return self.view_hits[k] / self.num_views

    def save(self, path, run_key=""):
        """Writes `video_id`, `label`, `views` and summed `scores` per video to an `.npz`.

        Plain arrays (no pickles): `np.load(path)` reads them back, and
        `VideoScores.load` restores the scores (the view-level hits too).
        """
        videos = sorted(self.sums)
        buffer = io.BytesIO()
        np.savez(
            buffer,
            video_index=np.array(videos, np.int64),
            video_id=np.array([self.ids.get(v, str(v)) for v in videos], dtype=str),
            label=np.array([self.labels[v] for v in videos], np.int64),
            views=np.array([self.views[v] for v in videos], np.int64),
            # A worker may have had nothing to score: its part is empty, not missing.
            scores=np.array([self.sums[v] for v in videos] or np.zeros((0, 0)), np.float32),
            view_hits=np.array([self.view_hits[1], self.view_hits[5]], np.int64),
            run_key=np.array(run_key),
        )
        atomic.write_bytes(path, buffer.getvalue())

    @classmethod
    def load(cls, path):
        with tf.io.gfile.GFile(path, "rb") as f:
            saved = np.load(f, allow_pickle=False)
            scores = cls()
            for i, video in enumerate(saved["video_index"].tolist()):
                scores.sums[video] = saved["scores"][i].astype(np.float64)
                scores.labels[video] = int(saved["label"][i])
                scores.views[video] = int(saved["views"][i])
                scores.ids[video] = str(saved["video_id"][i])
            scores.view_hits = dict(zip((1, 5), saved["view_hits"].tolist(), strict=True))
            scores.run_key = str(saved["run_key"])
        return scores

    @classmethod
    def merge(cls, parts):
        """One `VideoScores` of disjoint parts (e.g. one per worker), videos renumbered."""
        merged = cls()
        for part in parts:
            offset = len(merged.sums)
            for new, video in enumerate(sorted(part.sums), offset):
                merged.sums[new] = part.sums[video]
                merged.labels[new] = part.labels[video]
                merged.views[new] = part.views[video]
                merged.ids[new] = part.ids.get(video, str(video))
            for k in merged.view_hits:
                merged.view_hits[k] += part.view_hits[k]
        return merged


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

    def replica_predict(clips):
        # A short last batch leaves some replicas no view; TF's Conv3D
        # mishandles an empty batch, so those skip the model.
        return tf.cond(
            tf.shape(clips)[0] > 0,
            lambda: model(clips, training=False),
            lambda: tf.zeros((0, model.output_shape[-1]), model.output.dtype),
        )

    @tf.function(reduce_retracing=True)
    def predict(clips):
        return strategy.run(replica_predict, args=(clips,))

    scores = VideoScores()
    for batch in batches:
        local = strategy.experimental_local_results
        probabilities = local(predict(batch[features.CLIPS]))
        fields = (features.VIDEO_INDEX, features.LABEL, features.VIDEO_ID)
        videos, labels, ids = (local(batch[key]) for key in fields)
        for p, video, label, video_id in zip(probabilities, videos, labels, ids, strict=True):
            scores.add(video.numpy(), label.numpy(), p.numpy(), video_id.numpy())
            if progress:
                progress(len(p))
    return scores

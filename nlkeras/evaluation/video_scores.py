"""Video-level scores from view-level predictions (tools/test_net_video.py)."""

import numpy as np


class VideoScores:
    """Sums each video's view probabilities; top-k over all videos of the split.

    As the original: a video's score is the sum over its views; a video
    with no view counts as wrong; accuracy is over `num_videos`.
    """

    def __init__(self):
        self.sums = {}
        self.labels = {}
        self.views = {}

    def add(self, video_indices, labels, probabilities):
        for video, label, p in zip(video_indices, labels, probabilities, strict=True):
            video = int(video)
            self.sums[video] = self.sums.get(video, 0.0) + np.asarray(p, np.float64)
            self.labels[video] = int(label)
            self.views[video] = self.views.get(video, 0) + 1

    def accuracy(self, k, num_videos=None):
        """Top-k video accuracy; `num_videos` (default: videos seen) is the denominator."""
        num_videos = len(self.sums) if num_videos is None else num_videos
        if not num_videos:
            raise ValueError("No videos to score.")
        hits = sum(
            self.labels[v] in np.argsort(-scores, kind="stable")[:k]
            for v, scores in self.sums.items()
        )
        return hits / num_videos


def score_views(model, dataset):
    """Runs `model` (the probabilities head) over an `eval_dataset`; returns `VideoScores`."""
    scores = VideoScores()
    for batch in dataset:
        probabilities = model(batch["clips"], training=False)
        scores.add(
            batch["video_index"].numpy(),
            batch["label"].numpy(),
            np.asarray(probabilities),
        )
    return scores

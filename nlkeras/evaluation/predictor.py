"""A recipe's test protocol on video files: class probabilities and pool5 features per video.

The file is decoded with OpenCV as the TFRecord builder decodes it (same
short side, same frame rate), but only the frames the protocol samples are
kept; the views are cut by `TestViews` and run through the model one chunk
of whole clips at a time. A video's memory is its sampled frames plus one
chunk's activations, whatever its length.
"""

import contextlib
import dataclasses
import json
import os
import tempfile
import zipfile

import keras
import numpy as np
import tensorflow as tf
import tqdm

from nlkeras.data import video_io
from nlkeras.data.views import frames_at


@dataclasses.dataclass(frozen=True)
class Prediction:
    """One video's result.

    Attributes:
        probabilities: float32 `(num_classes,)`, the views' probabilities
            averaged (the SavedModel's `video` signature).
        features: float32 `(views, channels)`, each view's pool5 output
            averaged over its positions (at the training size, the input of
            the classifier).
        num_video_frames: frames in the video (after resampling).
    """

    probabilities: np.ndarray
    features: np.ndarray
    num_video_frames: int


class VideoPredictor:
    """Runs `test_views` of video files through `model`.

    Args:
        model: `VideoClassifier` (either head; its `for_inference()` twin runs).
        test_views: `nlkeras.data.views.TestViews`.
        short_side: int. Frames are resized to this short side when decoded,
            as `tools.build_tfrecords` stores them.
        target_fps: float or None. Resample in time, as the builder's `--fps`.
    """

    def __init__(self, model, test_views, short_side=256, target_fps=None):
        model = model.for_inference()
        pool5 = model.get_layer("pool5").output
        features = keras.layers.GlobalAveragePooling3D(name="pool5_mean", dtype="float32")(pool5)
        self._outputs = keras.Model(model.input, [model.output, features])
        self.test_views = test_views
        self.short_side = short_side
        self.target_fps = target_fps
        self.num_classes = model.num_classes
        self.feature_channels = self._outputs.output_shape[1][-1]

    @tf.function(
        input_signature=[
            tf.TensorSpec((None, None, None, 3), tf.uint8),
            tf.TensorSpec((None,), tf.int32),
            tf.TensorSpec((), tf.int32),
            tf.TensorSpec((None,), tf.int32),
        ]
    )
    def _chunk(self, frames, indices, num_video_frames, clip_indices):
        """The model's outputs on the views of `clip_indices`; `frames` are at `indices`."""
        views = self.test_views.views(frames_at(frames, indices), num_video_frames, clip_indices)
        return self._outputs(views, training=False)

    def sampled_frames(self, path):
        """`(N, indices, frames)`: the frames of `path` the protocol samples (`VideoError`)."""
        return video_io.read_sampled_frames(
            path,
            lambda n: self.test_views.frame_indices(n).numpy(),
            self.short_side,
            self.target_fps,
        )

    def predict(self, path):
        """The `Prediction` of the video at `path`; a `VideoError` names why it is unusable."""
        num_video_frames, indices, frames = self.sampled_frames(path)
        return self.predict_frames(num_video_frames, indices, frames)

    def predict_frames(self, num_video_frames, indices, frames):
        """The `Prediction` of a video of `num_video_frames` frames, given those at `indices`."""
        total = np.zeros(self.num_classes, np.float64)
        features = []
        step = self.test_views.clips_per_chunk
        for start in range(0, self.test_views.num_clips, step):
            clips = np.arange(start, min(start + step, self.test_views.num_clips), dtype=np.int32)
            probabilities, chunk_features = self._chunk(frames, indices, num_video_frames, clips)
            total += np.sum(probabilities.numpy(), axis=0, dtype=np.float64)
            features.append(chunk_features.numpy())
        views = self.test_views.views_per_video
        return Prediction(
            probabilities=(total / views).astype(np.float32),
            features=np.concatenate(features),
            num_video_frames=int(num_video_frames),
        )


def top_classes(probabilities, names, k=5):
    """`[{"class", "id", "probability"}]` of the `k` most probable classes, best first."""
    order = np.argsort(-probabilities, kind="stable")[:k]
    return [
        {"class": names[i], "id": int(i), "probability": float(probabilities[i])} for i in order
    ]


class FeatureFile:
    """Features written to an `.npz` row by row, through a memory-mapped file.

    The rows live on disk until `close`, which writes `videos`, `features`
    (`(videos, channels)`, or `(videos, views, channels)` with `per_view`)
    into `path`, whole or not at all: memory does not grow with the videos.
    """

    def __init__(self, path, max_videos, views, channels, per_view=False):
        self.path = path
        self.per_view = per_view
        folder = os.path.dirname(os.path.abspath(path))
        handle, self._tmp = tempfile.mkstemp(suffix=".npy", dir=folder)
        os.close(handle)
        shape = (max_videos, views, channels) if per_view else (max_videos, channels)
        self._rows = np.lib.format.open_memmap(self._tmp, "w+", np.float32, shape)
        self.videos = []

    def add(self, video, features):
        row = features if self.per_view else features.mean(axis=0)
        self._rows[len(self.videos)] = row
        self.videos.append(video)

    def close(self):
        partial = f"{self.path}.partial"
        try:
            with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
                with archive.open("videos.npy", "w") as f:
                    np.lib.format.write_array(f, np.asarray(self.videos, dtype=str))
                with archive.open("features.npy", "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, self._rows[: len(self.videos)])
            os.replace(partial, self.path)
        finally:
            del self._rows
            os.remove(self._tmp)
            if os.path.exists(partial):
                os.remove(partial)


def predict_videos(predictor, paths, names, top_k=5, results=None, features=None, per_view=False):
    """Predicts every video of `paths`, printing each one's top classes under a progress bar.

    Args:
        predictor: `VideoPredictor`.
        paths: video files.
        names: class names by id.
        top_k: int. Classes printed and written per video.
        results: path or None. JSON lines, one per video: its top classes, or
            the reason it could not be read.
        features: path or None. An `.npz` of the readable videos' features.
        per_view: bool. Keep each view's features rather than their mean.

    Returns `{path: reason}` of the videos that could not be read.
    """
    unreadable = {}
    with contextlib.ExitStack() as stack:
        lines = stack.enter_context(open(results, "w")) if results else None
        feature_file = None
        if features:
            feature_file = FeatureFile(
                features,
                len(paths),
                predictor.test_views.views_per_video,
                predictor.feature_channels,
                per_view,
            )
            stack.callback(feature_file.close)  # also on an interruption: what is done is kept
        for path in tqdm.tqdm(paths, unit="video", desc="predict"):
            try:
                prediction = predictor.predict(path)
            except video_io.VideoError as error:
                unreadable[path] = str(error)
                tqdm.tqdm.write(f"{path}: skipped, {error}")
                record = {"video": path, "error": str(error)}
            else:
                top = top_classes(prediction.probabilities, names, top_k)
                tqdm.tqdm.write(_table(path, prediction, top, predictor.test_views))
                record = {"video": path, "frames": prediction.num_video_frames, "top": top}
                if feature_file:
                    feature_file.add(path, prediction.features)
            if lines:
                lines.write(json.dumps(record) + "\n")
                lines.flush()
    return unreadable


def _table(path, prediction, top, test_views):
    width = max(len(c["class"]) for c in top)
    rows = [f"{path} ({prediction.num_video_frames} frames, {test_views.views_per_video} views)"]
    rows += [
        f"  {rank}. {c['class']:<{width}}  {100 * c['probability']:5.1f}%"
        for rank, c in enumerate(top, start=1)
    ]
    return "\n".join(rows)

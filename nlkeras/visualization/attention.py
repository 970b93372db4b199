"""What a non-local block attends to in one clip, and where the top class is (paper Fig. 3).

Coordinates are grid cells: a query `(t, y, x)` is a position of the block's
input, `(frames, height, width)`; a key is a position of the block's key grid
(the input max-pooled by (1, 2, 2) when the block subsamples).
"""

import dataclasses
from typing import NamedTuple

import keras
import numpy as np
from keras import ops

from nlkeras.layers import NonLocalBlock


def non_local_blocks(backbone):
    """The names of the backbone's non-local blocks, in network order."""
    return [layer.name for layer in backbone.layers if isinstance(layer, NonLocalBlock)]


def find_block(backbone, name=None):
    """The non-local block `name`, by default the last one of res4.

    Raises `ValueError` naming the model's blocks when there is no such block.
    """
    names = non_local_blocks(backbone)
    available = f"Non-local blocks of this model: {', '.join(names) or 'none'}."
    if name is None:
        res4 = [n for n in names if n.startswith("nonlocal_conv4_")]
        if not res4:
            raise ValueError(f"No non-local block in res4 to default to. {available}")
        name = res4[-1]
    if name not in names:
        raise ValueError(f"No non-local block {name!r}. {available}")
    return backbone.get_layer(name)


def clip_view(views, frames_for, num_video_frames, clip_index):
    """Test clip `clip_index` of a video, as the model sees it and as pixels to draw on.

    Args:
        views: `nlkeras.data.views.TestViews`; its first view of the clip is taken.
        frames_for: `indices -> (len(indices), H, W, C)`, the video's frames
            (or any per-frame layer of it, such as an object mask scaled to
            0-255), as `TestViews.views` takes them.
        num_video_frames: int N.
        clip_index: int in `[0, views.num_clips)`.

    Returns `(clip, pixels)`: the normalised float32 `(T, H', W', C)` view and
    the same view before normalisation, float32 in the range of the frames.
    """

    def cut(protocol):
        return protocol.views(frames_for, num_video_frames, [clip_index])[0].numpy()

    raw = dataclasses.replace(views, mean=0.0, std=1.0, use_bgr=False)
    return cut(views), cut(raw)


class ClipAttention(NamedTuple):
    """One clip's attention in one non-local block, and its class activation map.

    Attributes:
        weights: float32 `(T, H, W, T', H', W')`, the weights of every query
            cell of the block's input over the key grid; 0 across temporal
            groups, which do not attend to each other.
        cam: float32 `(T5, H5, W5)`, `pred`'s logit of `top_class` at every
            position of the res5 map.
        scores: float32 `(num_classes,)`, the test head's class scores (mean
            over positions of the per-position softmax).
        top_class: int, the highest of `scores`.
        key_stride: int, query cells per key cell along height and width (2
            when the block subsamples its keys).
    """

    weights: np.ndarray
    cam: np.ndarray
    scores: np.ndarray
    top_class: int
    key_stride: int


class AttentionProbe:
    """The attention of one non-local block of a `VideoClassifier`, and the top class's CAM.

    A sub-model from the classifier's input to the block's input and to res5
    runs the clip once; the block's own `attention` gives the weights its
    `call` uses. `pred` applied to the res5 map before pool5 is an exact class
    activation map: pool5 is an average and `pred` is linear, so pooling the
    map gives the logits.

    Args:
        model: `VideoClassifier`.
        block: str or None. A non-local block's name; defaults to the last one
            of res4.
    """

    def __init__(self, model, block=None):
        backbone = model.backbone
        self.block = find_block(backbone, block)
        self._features = keras.Model(backbone.input, [self.block.input, backbone.output])
        self._pool5 = model.get_layer("pool5")
        self._pred = model.pred

    def __call__(self, clip):
        """`clip`: normalised float32 `(frames, height, width, 3)`. Returns a `ClipAttention`."""
        x, res5 = self._features(clip[None], training=False)
        frames, height, width = x.shape[1:4]
        query_grid, key_grid = self.block.grids(frames, height, width)
        groups = frames // query_grid[0]
        per_group = ops.convert_to_numpy(self.block.attention(x))
        per_group = per_group.reshape(groups, *query_grid, *key_grid)
        weights = np.zeros((groups, *query_grid, groups, *key_grid), np.float32)
        for group in range(groups):
            weights[group, :, :, :, group] = per_group[group]
        weights = weights.reshape(frames, height, width, -1, *key_grid[1:])

        logits = ops.convert_to_numpy(self._pred(self._pool5(res5)))
        scores = ops.convert_to_numpy(ops.softmax(logits, axis=-1)).reshape(-1, logits.shape[-1])
        scores = scores.mean(axis=0)
        top_class = int(np.argmax(scores))
        cam = ops.convert_to_numpy(self._pred(res5))[0, ..., top_class]
        return ClipAttention(weights, cam, scores, top_class, 2 if self.block.subsample else 1)


def top_keys(weights, query, k):
    """The `k` keys `query` `(t, y, x)` attends to most: `(k, 3)` int cells and their weights."""
    row = weights[tuple(query)]
    order = np.argsort(row, axis=None)[::-1][:k]
    return np.stack(np.unravel_index(order, row.shape), axis=-1), row.ravel()[order]


def strongest_queries(weights, num, k):
    """The queries the block "attends from most strongly", strongest first.

    Strength is concentration: the total weight of a query's `k` largest
    weights. Each frame of the grid gives its strongest query, and the `num`
    strongest of those are returned as `(t, y, x)` tuples, so the pictures
    show different moments of the clip rather than neighbouring cells.
    """
    frames, height, width = weights.shape[:3]
    rows = weights.reshape(frames, height * width, -1)
    mass = np.sort(rows, axis=-1)[..., -k:].sum(axis=-1)
    best = mass.argmax(axis=1)
    order = np.argsort(-mass[np.arange(frames), best], kind="stable")[:num]
    return [(int(t), *(int(i) for i in np.unravel_index(best[t], (height, width)))) for t in order]

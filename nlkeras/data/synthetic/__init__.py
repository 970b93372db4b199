"""A synthetic video dataset whose classes differ only in temporal order.

Two class sets (`CLASS_SETS`) of time-reversed pairs: the demo's eight classes,
and four novel ones (move up / down, orbit clockwise / counter-clockwise) that
the demo never sees, to fine-tune on. Within a set, class `2k + 1` is class
`2k` played backwards. The odd class is made by rendering the even class's
video with the same random draws (sensor noise included) and reversing the frame order, so a
video's *set* of frames has exactly the same distribution in both classes of a
pair. A C2D model (a 2D network per frame followed by order-invariant temporal
pooling) therefore cannot beat chance within a pair, while a model that mixes
information across time (I3D, non-local blocks) can: the dataset is a quick
check, on a laptop CPU, that the temporal parts of a model work.

Each video shows one or two textured objects (a randomly coloured disc, square
or polygon with stripes, checks or spokes and an off-centre dot, so that
rotation is visible) over a random cluttered background, with per-frame sensor
noise. Sizes, speeds, colours and start positions are random per video.

    from nlkeras.data import synthetic
    synthetic.write_synthetic_videos("data/synthetic/train", videos_per_class=40, seed=0)

writes `data/synthetic/train/<class_name>/<class_name>_0000.mp4`, ..., the
folder-per-class layout that `tools.build_tfrecords --videos` reads.

`render.py` draws one video (numpy and OpenCV only, so generating data stays
cheap), `motions.py` its objects' trajectories, and `dataset.py` writes the
videos and builds the shards.
"""

from nlkeras.data.synthetic.dataset import (
    make_synthetic_dataset,
    write_synthetic_videos,
    write_video,
)
from nlkeras.data.synthetic.render import (
    CLASS_NAMES,
    CLASS_SETS,
    MAX_FRAMES,
    MIN_FRAMES,
    VideoLayers,
    class_names,
    render_video,
    render_video_layers,
)

__all__ = [
    "CLASS_NAMES",
    "CLASS_SETS",
    "MAX_FRAMES",
    "MIN_FRAMES",
    "VideoLayers",
    "class_names",
    "make_synthetic_dataset",
    "render_video",
    "render_video_layers",
    "write_synthetic_videos",
    "write_video",
]

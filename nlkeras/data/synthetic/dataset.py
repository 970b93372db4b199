"""The synthetic dataset's driver: videos to files, then shards through the real builder."""

import pathlib

import cv2
import numpy as np

from nlkeras.data import builder, sources
from nlkeras.data.synthetic.render import CLASS_SETS, class_names, render_video

# Every class of every set, the demo's first: a class's position here keys its
# random draws, so no two classes (of one set or of two) share videos.
_ALL_CLASSES = tuple(name for names in CLASS_SETS.values() for name in names)


def write_video(path, frames, fps=12.0):
    """Writes RGB `frames` `(num_frames, height, width, 3)` uint8 to an .mp4 (MPEG-4, "mp4v").

    Creates the parent folders.

    Raises:
        ValueError: if `frames` is not a non-empty uint8 RGB video.
        RuntimeError: naming `path`, if the file cannot be created or opened for writing.
    """
    path = pathlib.Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or not len(frames):
        raise ValueError(
            "frames must be uint8 (num_frames, height, width, 3), "
            f"got {frames.dtype} {frames.shape}."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RuntimeError(f"Cannot create the folder for video {path}: {error}") from error
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (width, height)
    )
    try:
        if not writer.isOpened():
            raise RuntimeError(
                f"cv2.VideoWriter cannot open {path} for writing (mp4v, {width}x{height}, "
                f"{fps} fps): is the path writable, and is it not a folder?"
            )
        for frame in frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()


def write_synthetic_videos(
    out_dir, videos_per_class, seed=0, height=96, width=128, fps=12.0, progress=True,
    classes="demo",
):  # fmt: skip
    """Writes `videos_per_class` videos of every class as `out_dir/<class>/<class>_<i:04d>.mp4`.

    Video `i` of a class is drawn from `np.random.default_rng([seed, k, i])`,
    `k` the class's position among all sets' classes (the demo's first, so
    its class id): the output depends only on the arguments, any one video
    can be regenerated alone, and the sets share no draws. Use different
    seeds for the train and val splits.

    Returns:
        A list of `(path, class_name)` tuples, class by class.
    """
    out_dir = pathlib.Path(out_dir)
    names = class_names(classes)
    jobs = [(c, i) for c in range(len(names)) for i in range(videos_per_class)]
    if progress:
        from tqdm import tqdm

        jobs = tqdm(jobs, desc=f"synthetic videos -> {out_dir}", unit="video")
    written = []
    for class_index, i in jobs:
        name = names[class_index]
        rng = np.random.default_rng([seed, _ALL_CLASSES.index(name), i])
        path = out_dir / name / f"{name}_{i:04d}.mp4"
        write_video(path, render_video(class_index, rng, height, width, classes=classes), fps)
        written.append((path, name))
    return written


def make_synthetic_dataset(
    out_dir,
    train_per_class=40,
    test_per_class=10,
    seed=0,
    height=96,
    width=128,
    short_side=96,
    num_shards=4,
    workers=2,
    progress=True,
    classes="demo",
):
    """Writes the videos, then builds `train-*` and `test-*` TFRecords with the real builder.

    Videos go to `out_dir/videos/{train,test}/<class>/`; class ids follow
    `CLASS_SETS[classes]`, so the time-reversed pairs are (0, 1), (2, 3), ...
    The two splits draw from different seeds. Finished shards are reused when
    run again. Returns `{split: builder.SplitSummary}`.
    """
    out_dir = pathlib.Path(out_dir)
    ids = {name: i for i, name in enumerate(class_names(classes))}
    summaries = {}
    for split, per_class, split_seed in (
        ("train", train_per_class, seed),
        ("test", test_per_class, seed + 1),
    ):
        videos = out_dir / "videos" / split
        if not (out_dir / f"{split}.summary.json").exists():
            write_synthetic_videos(
                videos, per_class, split_seed, height, width, progress=progress, classes=classes
            )
        summaries[split] = builder.build_tfrecords(
            sources.from_class_folders(str(videos), ids),
            str(out_dir),
            name=split,
            num_shards=num_shards,
            workers=workers,
            short_side=short_side,
            shuffle_seed=seed if split == "train" else None,
            progress=progress,
        )
    return summaries

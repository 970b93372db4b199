"""Video files -> sharded TFRecords, in parallel, resumable, with a summary.

Videos are split into `num_shards` contiguous shards of the entry list (after
an optional seeded shuffle, for training splits). A shard is written to a
temporary file and renamed when complete, then its statistics are written
to `<split>.build/`; a shard whose statistics exist and match the current input and
options is not rewritten. A killed build, run again, therefore finishes the
missing shards and writes every video exactly once.

`build_split` and `verify_split` are `tools.build_tfrecords`' runs.
"""

import concurrent.futures
import dataclasses
import hashlib
import json
import multiprocessing
import os
import queue as queue_lib
import random
import re

import tensorflow as tf
import tqdm

from nlkeras import atomic
from nlkeras.data import pipelines, records, shards, sources
from nlkeras.data.video_io import VideoError, read_video


@dataclasses.dataclass(frozen=True)
class SplitSummary:
    """What `<split>.summary.json` beside the shards says about a built split.

    Written once by `build_tfrecords` and read through `read`, so the
    writer and its readers (evaluation, class names, num_classes, predict)
    share one list of fields. A field a file lacks takes its default.
    """

    split: str = ""
    shards: tuple = ()  # shard file names, in order
    videos_written: int = 0
    videos_skipped: int = 0
    skipped: tuple = ()  # {"path", "video_id", "reason"} per video the builder could not read
    frames: int = 0
    bytes: int = 0
    class_histogram: dict = dataclasses.field(default_factory=dict)  # videos written per class
    input_hash: str = ""  # `list_hash` of the input list
    num_shards: int = 0
    shuffle_seed: int | None = None
    short_side: int = 256  # the stored frames' (predict decodes new videos alike)
    target_fps: float | None = None  # None: native
    jpeg_quality: int = 90
    class_ids: dict = dataclasses.field(default_factory=dict)  # every listed class: its id

    @classmethod
    def read(cls, path):
        with tf.io.gfile.GFile(path) as f:
            data = json.load(f)
        for key in ("shards", "skipped"):  # JSON lists
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)

    def write(self, path):
        atomic.write_json(path, dataclasses.asdict(self))


def list_hash(entries):
    """sha256 of the input list (path, label) in its given order."""
    digest = hashlib.sha256()
    for entry in entries:
        digest.update(f"{entry.path}\t{entry.label}\n".encode())
    return digest.hexdigest()


def shard_path(out_dir, name, index, num_shards):
    return os.path.join(out_dir, f"{name}-{index:05d}-of-{num_shards:05d}.tfrecord")


def stats_path(path):
    """A shard's statistics: `<out>/<split>.build/<shard>.json`, outside `<split>-*` globs."""
    folder, shard = os.path.split(path)
    split = shard.rsplit("-", 3)[0]
    return os.path.join(folder, f"{split}.build", f"{shard}.json")


def written_videos(path):
    """The ids of the videos the builder wrote to shard `path`, in order ([] if unknown)."""
    stats = stats_path(path)
    if not tf.io.gfile.exists(stats):
        return []
    with tf.io.gfile.GFile(stats) as f:
        return json.load(f)["written"]


def _shard_done(path, signature):
    stats = stats_path(path)
    if not (os.path.exists(path) and os.path.exists(stats)):
        return None
    with open(stats) as f:
        data = json.load(f)
    return data if data.get("signature") == signature else None


_progress = None  # a worker's queue to the parent's progress bar


def _init_worker(queue):
    global _progress
    _progress = queue


def _write_shard(path, entries, signature, options):
    """Writes one shard, reads it back, then renames it into place; returns its statistics.

    Runs in a worker process. A shard that cannot be written whole (a full
    disk, no permission) or does not read back raises an `OSError` naming it,
    leaving no partial file.
    """
    stats = dict(signature=signature, written=[], skipped=[], frames=0, bytes=0, classes={})
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        _write_records(tmp, entries, stats, options)
        # Read back before it counts as done: a damaged shard is found now, not in training.
        report = shards.verify_shard(tmp)
        if not report.ok or report.records != len(stats["written"]):
            raise OSError(f"{report} (of {len(stats['written'])} written)")
    except (OSError, tf.errors.OpError) as error:
        if os.path.exists(tmp):
            os.remove(tmp)
        message = getattr(error, "message", None) or str(error)
        raise OSError(f"Could not write shard {path}: {message}") from error
    os.replace(tmp, path)
    atomic.write_json(stats_path(path), stats)
    return stats


def _write_records(tmp, entries, stats, options):
    with tf.io.TFRecordWriter(tmp) as writer:
        for entry in entries:
            try:
                frames, fps = read_video(entry.path, options["short_side"], options["target_fps"])
            except VideoError as error:
                stats["skipped"].append(
                    dict(path=entry.path, video_id=entry.video_id, reason=str(error))
                )
            else:
                jpegs = [records.encode_jpeg(f, options["jpeg_quality"]) for f in frames]
                example = records.make_sequence_example(
                    jpegs, entry.label, entry.label_text, entry.video_id, fps, *frames.shape[1:3]
                )
                data = example.SerializeToString()
                writer.write(data)
                stats["written"].append(entry.video_id)
                stats["frames"] += len(jpegs)
                stats["bytes"] += len(data)
                stats["classes"][entry.label_text] = stats["classes"].get(entry.label_text, 0) + 1
            if _progress is not None:
                _progress.put(1)


def build_tfrecords(
    entries,
    out_dir,
    name="train",
    num_shards=16,
    workers=2,
    short_side=256,
    target_fps=None,
    jpeg_quality=90,
    shuffle_seed=None,
    progress=True,
):
    """Writes `out_dir/{name}-00000-of-00016.tfrecord`, ... and `{name}.summary.json`.

    Args:
        entries: list of `sources.VideoEntry`.
        out_dir: str. Created if missing.
        name: str. Split name, the shards' prefix.
        num_shards: int. At most one shard per video.
        workers: int. Worker processes; 0 writes in this process.
        short_side: int. Stored frames' shorter side (aspect kept).
        target_fps: float or None. Resample in time; None keeps native fps.
        jpeg_quality: int. 0-100.
        shuffle_seed: int or None. Shuffle the videos before sharding (for
            training splits, whose shards are then already mixed).
        progress: bool. Show a progress bar.

    Returns the `SplitSummary`, also written as JSON beside the shards.
    """
    if not entries:
        raise ValueError("No videos to write.")
    os.makedirs(os.path.join(out_dir, f"{name}.build"), exist_ok=True)
    input_hash = list_hash(entries)
    if shuffle_seed is not None:
        entries = list(entries)
        random.Random(shuffle_seed).shuffle(entries)
    num_shards = max(1, min(num_shards, len(entries)))
    options = dict(short_side=short_side, target_fps=target_fps, jpeg_quality=jpeg_quality)
    signature = dict(
        input_hash=input_hash, num_shards=num_shards, shuffle_seed=shuffle_seed, **options
    )
    bounds = [len(entries) * i // num_shards for i in range(num_shards + 1)]
    shards = [
        (shard_path(out_dir, name, i, num_shards), entries[bounds[i] : bounds[i + 1]])
        for i in range(num_shards)
    ]
    results = {path: _shard_done(path, signature) for path, _ in shards}
    todo = [(path, chunk) for path, chunk in shards if results[path] is None]
    done_videos = len(entries) - sum(len(chunk) for _, chunk in todo)
    bar = tqdm.tqdm(
        total=len(entries), initial=done_videos, unit="video", disable=not progress, desc=name
    )
    if workers:
        # spawn, not fork: the parent may hold TensorFlow's threads.
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        with concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_worker, initargs=(queue,)
        ) as pool:
            futures = {
                pool.submit(_write_shard, path, chunk, signature, options): path
                for path, chunk in todo
            }
            pending = set(futures)
            while pending:
                finished, pending = concurrent.futures.wait(pending, timeout=0.2)
                for future in finished:
                    results[futures[future]] = future.result()
                _drain(queue, bar)
        _drain(queue, bar)
    else:
        for path, chunk in todo:
            results[path] = _write_shard(path, chunk, signature, options)
            bar.update(len(chunk))
    bar.close()
    # Every listed class with its id: the export stage names its outputs from it.
    class_ids = dict(sorted({e.label_text: e.label for e in entries}.items()))
    summary = _summarize(name, signature, [results[path] for path, _ in shards], shards, class_ids)
    summary.write(os.path.join(out_dir, f"{name}.summary.json"))
    return summary


def split_entries(videos=None, list_file=None, root="", kinetics_csv=None, classes=None):
    """The videos of a split, named one of three ways.

    The official Kinetics CSV and the folder of its videos (`kinetics_csv`,
    `videos`), the original's list file ("path label" lines, relative to
    `root`), or a folder per class (`videos`). `classes`: a `classids.json`
    or a text file of names, for the class ids.
    """
    classes = sources.load_classes(classes) if classes else None
    if kinetics_csv:
        if not videos:
            raise ValueError("--kinetics_csv needs --videos, the folder holding its videos.")
        return sources.from_kinetics_csv(kinetics_csv, videos, classes)
    if list_file:
        return sources.from_list_file(list_file, root, classes)
    if videos:
        return sources.from_class_folders(videos, classes)
    raise ValueError("Name the videos with --videos, --list_file or --kinetics_csv.")


def build_split(
    out_dir,
    name,
    videos=None,
    list_file=None,
    root="",
    kinetics_csv=None,
    classes=None,
    shuffle_seed=None,
    **options,
):
    """`build_tfrecords` of the `split_entries`; prints what was written and what skipped, why.

    A training split (`name` "train") is shuffled with seed 0 unless
    `shuffle_seed` says otherwise; `options` go to `build_tfrecords`.
    Returns the `SplitSummary`.
    """
    entries = split_entries(videos, list_file, root, kinetics_csv, classes)
    if shuffle_seed is None and name == "train":
        shuffle_seed = 0
    summary = build_tfrecords(entries, out_dir, name, shuffle_seed=shuffle_seed, **options)
    print(
        f"{summary.split}: {summary.videos_written} videos written, "
        f"{summary.videos_skipped} skipped, {summary.frames} frames, "
        f"{summary.bytes / 2**20:.1f} MiB in {len(summary.shards)} shards"
    )
    for item in summary.skipped:
        print(f"  skipped {item['path']}: {item['reason']}")
    return summary


def verify_split(out_dir, name):
    """Checks every shard of split `name` in `out_dir`, a line each; returns the bad reports."""
    paths = sorted(tf.io.gfile.glob(os.path.join(out_dir, f"{name}-*-of-*.tfrecord")))
    if not paths:
        raise ValueError(f"No shards {name}-*-of-*.tfrecord in {out_dir}.")
    bad = []
    for path in tqdm.tqdm(paths, desc=f"verify {name}", unit="shard"):
        report = shards.verify_shard(path)
        tqdm.tqdm.write(("ok   " if report.ok else "BAD  ") + str(report))
        if not report.ok:
            bad.append(report)
    print(f"{name}: {len(paths) - len(bad)} of {len(paths)} shards good, {len(bad)} bad")
    return bad


def _drain(queue, bar):
    while True:
        try:
            bar.update(queue.get_nowait())
        except queue_lib.Empty:
            return


def _summarize(name, signature, stats, shards, class_ids):
    classes = {}
    for shard in stats:
        for label, count in shard["classes"].items():
            classes[label] = classes.get(label, 0) + count
    skipped = [item for shard in stats for item in shard["skipped"]]
    return SplitSummary(
        split=name,
        shards=tuple(os.path.basename(path) for path, _ in shards),
        videos_written=sum(len(s["written"]) for s in stats),
        videos_skipped=len(skipped),
        skipped=tuple(skipped),
        frames=sum(s["frames"] for s in stats),
        bytes=sum(s["bytes"] for s in stats),
        class_histogram=dict(sorted(classes.items())),
        **signature,
        class_ids=class_ids,
    )


_SHARD = re.compile(r"^(?P<split>.+)-\d{5}-of-\d{5}(\.tfrecord)?$")


def summaries_of(files):
    """`{path: SplitSummary}` of the `<split>.summary.json` of each split the shards belong to."""
    paths = set()
    for file in files:
        match = _SHARD.match(os.path.basename(file))
        if match:
            paths.add(os.path.join(os.path.dirname(file), f"{match['split']}.summary.json"))
    summaries = {}
    for path in sorted(paths):
        if tf.io.gfile.exists(path):
            summaries[path] = SplitSummary.read(path)
    return summaries


def first_summaries(split_patterns):
    """The summaries of the first of `split_patterns` (TFRecord patterns) that has any, or {}."""
    for patterns in split_patterns:
        try:
            summaries = summaries_of(pipelines.list_files(patterns))
        except ValueError:  # no shards match
            continue
        if summaries:
            return summaries
    return {}


def stored_frames(split_patterns):
    """`(short side, fps)` the first of the splits with a summary stores frames at.

    How to decode a new video as the model's data were: `(256, None)`, the
    builder's defaults (native fps), when no split has a summary.
    """
    summary = next(iter(first_summaries(split_patterns).values()), SplitSummary())
    return summary.short_side, summary.target_fps


def num_classes(summaries):
    """The class count of a split's `summaries` (largest class id + 1); 0 if unknown."""
    ids = [i for s in summaries.values() for i in s.class_ids.values()]
    return max(ids) + 1 if ids else 0


def covers(summaries, files):
    """Whether `summaries` list exactly the shards `files` (so their counts are these files')."""
    listed = {shard for s in summaries.values() for shard in s.shards}
    return bool(summaries) and listed == {os.path.basename(f) for f in files}

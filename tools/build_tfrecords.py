r"""Builds the TFRecord shards of a video split.

Three ways to name the videos:

    # (a) a folder per class
    python -m tools.build_tfrecords --videos kinetics/train --split train --out data/k400
    # (b) the original's list file, "path label" per line
    python -m tools.build_tfrecords --list_file vallist.txt --classes classids.json \
        --split val --out data/k400
    # (c) the official Kinetics CSV and the folder the crawler filled
    python -m tools.build_tfrecords --kinetics_csv kinetics_400_val.csv --videos kinetics/val \
        --split val --out data/k400

Frames are stored as JPEG at short side 256 and native fps (`--fps` resamples);
shards are written by `--workers` processes. Re-running finishes an
interrupted build without rewriting finished shards. Unusable videos are
skipped and listed with their reason in `<out>/<split>.summary.json`. Every
shard is read back (record CRCs, every frame decoded) before it counts as
written. To check shards already there (e.g. after copying them):

    python -m tools.build_tfrecords --verify --out data/k400 --split train
"""

import sys

from absl import flags

from nlkeras import cli

FLAGS = flags.FLAGS
flags.DEFINE_string(
    "videos", None, "Folder of videos: one sub-folder per class, or the CSV's videos."
)
flags.DEFINE_string("list_file", None, "The original's list file: 'path label' per line.")
flags.DEFINE_string("root", "", "Prefix for relative paths in --list_file.")
flags.DEFINE_string("kinetics_csv", None, "Official Kinetics CSV: label,youtube_id,time_start,...")
flags.DEFINE_string(
    "classes", None, "Class ids: classids.json, or a text file with a name per line."
)
flags.DEFINE_string("out", None, "Output folder.", required=True)
flags.DEFINE_string("split", "train", "Split name: the shards' prefix.")
flags.DEFINE_integer("shards", 16, "Number of shards.")
flags.DEFINE_integer("workers", 2, "Worker processes (0: this process).")
flags.DEFINE_integer("short_side", 256, "Shorter side of the stored frames.")
flags.DEFINE_float("fps", None, "Resample to this frame rate (default: native).")
flags.DEFINE_integer("jpeg_quality", 90, "JPEG quality, 0-100.")
flags.DEFINE_integer(
    "shuffle_seed", None, "Shuffle before sharding (default: 0 for --split=train)."
)
flags.DEFINE_bool(
    "verify", False, "Check the split's existing shards instead; exit status 1 if any is bad."
)


def main(argv):
    del argv
    from nlkeras.data import builder

    if FLAGS.verify:
        sys.exit(1 if builder.verify_split(FLAGS.out, FLAGS.split) else 0)
    builder.build_split(
        FLAGS.out,
        FLAGS.split,
        videos=FLAGS.videos,
        list_file=FLAGS.list_file,
        root=FLAGS.root,
        kinetics_csv=FLAGS.kinetics_csv,
        classes=FLAGS.classes,
        shuffle_seed=FLAGS.shuffle_seed,
        num_shards=FLAGS.shards,
        workers=FLAGS.workers,
        short_side=FLAGS.short_side,
        target_fps=FLAGS.fps,
        jpeg_quality=FLAGS.jpeg_quality,
    )


if __name__ == "__main__":
    cli.run(main, recipe_required=False)

r"""Generates the synthetic video dataset the `demo` recipe trains on.

Real mp4 files of textured objects moving over cluttered, noisy backgrounds,
in 8 classes that form 4 time-reversed pairs (move left / right, approach /
recede, rotate clockwise / counter-clockwise, meet / part): only the order of
the frames tells a pair apart. The videos then go through the real TFRecord
builder:

    python -m tools.make_synthetic --out data/synthetic
    # -> data/synthetic/train-0000X-of-00004.tfrecord, test-*, *.summary.json

`--classes novel` writes the four classes the demo never sees (move up / down,
orbit clockwise / counter-clockwise), the set `finetune:demo` fine-tunes on:

    python -m tools.make_synthetic --classes novel --out data/synthetic_novel
"""

from absl import flags

from nlkeras import cli

_OUT = flags.DEFINE_string("out", "data/synthetic", "Output folder.")
_TRAIN = flags.DEFINE_integer("train_per_class", 40, "Training videos per class.")
_TEST = flags.DEFINE_integer("test_per_class", 10, "Test videos per class.")
_SEED = flags.DEFINE_integer("seed", 0, "Random seed (the test split uses seed + 1).")
_SHARDS = flags.DEFINE_integer("shards", 4, "Shards per split.")
_WORKERS = flags.DEFINE_integer("workers", 2, "Builder worker processes.")
_CLASSES = flags.DEFINE_string(
    "classes", "demo", "Class set: demo, or novel (nlkeras.data.synthetic.CLASS_SETS)."
)


def main(argv):
    del argv
    from nlkeras.data.synthetic import make_synthetic_dataset

    summaries = make_synthetic_dataset(
        _OUT.value,
        train_per_class=_TRAIN.value,
        test_per_class=_TEST.value,
        seed=_SEED.value,
        num_shards=_SHARDS.value,
        workers=_WORKERS.value,
        classes=_CLASSES.value,
    )
    for split, summary in summaries.items():
        print(
            f"{split}: {summary.videos_written} videos, {summary.frames} frames, "
            f"{summary.bytes / 2**20:.1f} MiB -> {_OUT.value}/{split}-*"
        )


if __name__ == "__main__":
    cli.run(main, recipe_required=False)

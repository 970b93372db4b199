r"""Tests a model: `python -m nlkeras.evaluate --recipe NAME --weights W [--data P] [--out DIR]`.

The protocols (`--config.test.protocol=X`, default the recipe's):

- `three_crop`, the original's test: 10 clips x 3 crops of 256x256 at short
  side 256 through the fully-convolutional head;
- `full_frame`, the paper's: 10 clips of the whole 256-short-side frame
  (e.g. 256x340), which the original never provided.

`--config.test.flip=true` adds the mirrored views. A view's score is the mean
over positions of the per-position softmax; a video's score is the sum over
its views; top-1 / top-5 are over all videos of the split's list, so a video
the data builder had to skip counts as wrong, as in the original. Writes
`scores.npz` (video id, label, views, summed scores per video) and
`summary.json` to `--out`. The run is `nlkeras.evaluation.run.evaluate`,
which tests call in process; this module is its command line.

    python -m nlkeras.evaluate --recipe demo --weights runs/demo/final.weights.h5
"""

import logging
import os

from absl import flags

from nlkeras import cli

_CONFIG = cli.define_config_flag()
_WEIGHTS = flags.DEFINE_string(
    "weights", None, ".weights.h5, original .pkl, or training checkpoint.", required=True
)
_DATA = flags.DEFINE_string("data", None, "TFRecord pattern(s); default: the recipe's test files.")
_OUT = flags.DEFINE_string("out", None, "Output folder (default: runs/RECIPE/eval_PROTOCOL).")
_WAIT_MINUTES = flags.DEFINE_float(
    "wait_minutes", 24 * 60, "With several workers: how long worker 0 waits for the others."
)


def main(argv):
    del argv
    from nlkeras import config as config_lib
    from nlkeras.distribution import worker_position
    from nlkeras.evaluation.parts import part_path
    from nlkeras.evaluation.run import evaluate

    logging.getLogger().setLevel(logging.INFO)
    config = config_lib.validate(_CONFIG.value)
    config.recipe = cli.recipe_name()
    protocol = config.test.protocol
    out = _OUT.value or os.path.join(cli.default_workdir(), f"eval_{protocol}")
    # Several workers (TF_CONFIG): each scores its share of the shards, the first merges them.
    position, workers = worker_position()
    summary = evaluate(
        config, _WEIGHTS.value, _DATA.value or config.data.test_files, out,
        position=position, workers=workers, wait_minutes=_WAIT_MINUTES.value,
    )  # fmt: skip
    if summary is None:
        print(
            f"Worker {position}: wrote {part_path(out, position, workers)}; "
            "worker 0 writes the summary."
        )
        return
    print(
        f"{protocol}: {summary['videos']} videos ({summary['videos_missing']} missing), "
        f"{summary['views']} views | video top-1 {100 * summary['top1']:.2f}%, "
        f"top-5 {100 * summary['top5']:.2f}% | clip top-1 {100 * summary['clip_top1']:.2f}%, "
        f"top-5 {100 * summary['clip_top5']:.2f}%\nWrote {out}/summary.json, {out}/scores.npz"
    )


if __name__ == "__main__":
    cli.run(main)

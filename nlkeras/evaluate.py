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
`summary.json` to `--out`.

    python -m nlkeras.evaluate --recipe demo --weights runs/demo/final.weights.h5
"""

import logging
import os

import tensorflow as tf
import tqdm
from absl import flags

from nlkeras import atomic, cli
from nlkeras import config as config_lib
from nlkeras.data import builder, pipelines, shards, views
from nlkeras.distribution import make_strategy, worker_position
from nlkeras.evaluation.parts import run_key, wait_for
from nlkeras.evaluation.summary import summarize
from nlkeras.evaluation.video_scores import VideoScores, score_views
from nlkeras.models import build_classifier
from nlkeras.weights.files import load_weights

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
    config = config_lib.resolve_num_classes(config_lib.validate(_CONFIG.value))
    protocol = config.test.protocol
    files = pipelines.list_files(_DATA.value or config.data.test_files)
    out = _OUT.value or os.path.join(cli.default_workdir(), f"eval_{protocol}")
    tf.io.gfile.makedirs(out)
    logging.getLogger().setLevel(logging.INFO)

    # Several workers (TF_CONFIG): each scores its share of the shards on its own
    # devices and writes it; the first merges the shares once all are there.
    position, workers = worker_position()
    name = config.distribution.strategy
    if workers > 1 and name in ("auto", "multi_worker"):
        name = "mirrored"
    strategy = make_strategy(name, config.distribution.tpu)
    if len(files) < workers:
        raise SystemExit(f"{len(files)} shards cannot be shared by {workers} workers.")
    with strategy.scope():
        model = build_classifier(**config_lib.model_kwargs(config), head="probabilities")
    load_weights(model, _WEIGHTS.value, strict=True)

    share = files[position::workers]
    # Every replica gets `test.views_per_batch` views of each batch.
    kwargs = config_lib.eval_data_kwargs(config)
    kwargs["batch_size"] *= strategy.num_replicas_in_sync
    damaged = shards.DamagedShards()
    dataset = pipelines.eval_dataset(share, **kwargs, damaged_shards=damaged)
    views_per_video = views.TestViews(**config_lib.test_protocol_kwargs(config)).views_per_video
    # The bar's total, when the builder's summaries list exactly this worker's shards.
    summaries = builder.summaries_of(share)
    written = sum(s.videos_written for s in summaries.values())
    total = written * views_per_video if builder.covers(summaries, share) else None
    with tqdm.tqdm(total=total, unit="view", desc=protocol) as bar:
        scores = score_views(model, dataset, strategy, progress=bar.update)
    if workers > 1:
        # A part left by an earlier run with other weights, data or settings is
        # not this run's: parts carry a key of what they scored.
        key = run_key(_WEIGHTS.value, files, config.to_dict())
        parts = [os.path.join(out, f"scores-part{i}-of-{workers}.npz") for i in range(workers)]
        scores.save(parts[position], run_key=key)
        if position:
            print(f"Worker {position}: wrote {parts[position]}; worker 0 writes the summary.")
            return
        scores = VideoScores.merge([wait_for(p, key, _WAIT_MINUTES.value) for p in parts])

    scores.save(os.path.join(out, "scores.npz"))
    summary = summarize(scores, files, protocol, views_per_video, damaged)
    summary.update(recipe=cli.recipe_name(), weights=_WEIGHTS.value)
    atomic.write_json(os.path.join(out, "summary.json"), summary)
    print(
        f"{protocol}: {summary['videos']} videos ({summary['videos_missing']} missing), "
        f"{summary['views']} views | video top-1 {100 * summary['top1']:.2f}%, "
        f"top-5 {100 * summary['top5']:.2f}% | clip top-1 {100 * summary['clip_top1']:.2f}%, "
        f"top-5 {100 * summary['clip_top5']:.2f}%\nWrote {out}/summary.json, {out}/scores.npz"
    )


if __name__ == "__main__":
    cli.run(main)

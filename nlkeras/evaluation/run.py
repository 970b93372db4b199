"""The evaluation commands' runs from a recipe's config: `evaluate` a split, `predict` videos.

`python -m nlkeras.evaluate` and `python -m nlkeras.predict` are their
command lines; tests and tools call them in process with plain values.
"""

import os

import tensorflow as tf
import tqdm

from nlkeras import atomic
from nlkeras import config as config_lib
from nlkeras.data import builder, pipelines, shards, views
from nlkeras.data.class_names import class_names
from nlkeras.distribution import make_strategy
from nlkeras.evaluation.parts import part_path, run_key, wait_for
from nlkeras.evaluation.predictor import VideoPredictor, predict_videos
from nlkeras.evaluation.summary import summarize
from nlkeras.evaluation.video_scores import VideoScores, score_views
from nlkeras.models import build_classifier
from nlkeras.weights.files import load_weights


def restored_model(config, weights, strategy):
    """The recipe's inference model in `strategy`'s scope, every array from `weights`."""
    with strategy.scope():
        model = build_classifier(**config_lib.model_kwargs(config), head="probabilities")
    load_weights(model, weights, strict=True)
    with strategy.scope():
        return model.for_inference()


def evaluate(config, weights, data, out, position=0, workers=1, wait_minutes=24 * 60):
    """The recipe's test protocol on the shards of `data`; writes and returns the summary.

    Writes `scores.npz` and `summary.json` into `out`. With several
    `workers`, worker `position` scores its share of the shards on its own
    devices and writes its part; worker 0 then merges every part, within
    `wait_minutes`, and the others return None.
    """
    config_lib.resolve_num_classes(config)
    protocol = config.test.protocol
    files = pipelines.list_files(data)
    tf.io.gfile.makedirs(out)
    name = config.distribution.strategy
    if workers > 1 and name in ("auto", "multi_worker"):
        name = "mirrored"
    strategy = make_strategy(name, config.distribution.tpu)
    if len(files) < workers:
        raise SystemExit(f"{len(files)} shards cannot be shared by {workers} workers.")
    model = restored_model(config, weights, strategy)

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
        key = run_key(weights, files, config.to_dict())
        scores.save(part_path(out, position, workers), run_key=key)
        if position:
            return None
        parts = [part_path(out, i, workers) for i in range(workers)]
        scores = VideoScores.merge([wait_for(p, key, wait_minutes) for p in parts])

    scores.save(os.path.join(out, "scores.npz"))
    summary = summarize(scores, files, protocol, views_per_video, damaged)
    summary.update(recipe=config.recipe, weights=weights)
    atomic.write_json(os.path.join(out, "summary.json"), summary)
    return summary


def predict(
    config, weights, paths, top_k=5, results=None, features=None, per_view=False,
    class_names_file=None, short_side=None, fps=None,
):  # fmt: skip
    """`predict_videos` of the video files `paths` under the recipe's test protocol.

    Frames are decoded as the recipe's data were stored (the short side and
    frame rate of its data summary, else 256 and native) unless `short_side`
    or `fps` is given; class names come from `class_names_file`, else the
    data summaries, else Kinetics-400's. Returns `{path: reason}` of the
    videos that could not be read.
    """
    config_lib.resolve_num_classes(config)
    splits = config_lib.split_patterns(config)
    stored_side, stored_fps = builder.stored_frames(splits)
    model = restored_model(config, weights, tf.distribute.get_strategy())
    names = class_names(config.model.num_classes, class_names_file, splits)
    predictor = VideoPredictor(
        model,
        views.TestViews(**config_lib.test_protocol_kwargs(config)),
        short_side=short_side or stored_side,
        target_fps=fps or stored_fps,
    )
    return predict_videos(predictor, paths, names, top_k, results, features, per_view)

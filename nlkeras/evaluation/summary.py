"""A split's test summary: what was tested, on which videos, and the video-level accuracies.

`nlkeras.evaluate` and the test after training both summarise here, so both
divide by the split's list, as the original does: a video the builder had to
skip, or one after a damaged record, counts as wrong.
"""

import logging

from nlkeras.data import builder, pipelines, shards
from nlkeras.evaluation.video_scores import score_views


def unreadable(found, scores):
    """The shards `DamagedShards` found, each with the videos of it that were not scored."""
    scored = set(scores.ids.values())
    items = []
    for path, entry in sorted(found.items()):
        lost = [video for video in builder.written_videos(path) if video not in scored]
        items.append({"shard": path, **entry, "videos_lost": lost})
    return items


def summarize(scores, files, protocol, views_per_video, damaged=None):
    """The summary JSON: what was tested, on which videos, and the accuracies.

    The denominator is the split's list (videos written plus those the
    builder skipped) when the builder's summaries are found, else the
    videos seen. A video in a shard after a damaged record is missing
    (wrong) and listed under `unreadable_shards` with the reason.
    """
    summaries = builder.summaries_of(files)
    listed = sum(s.videos_written + s.videos_skipped for s in summaries.values())
    complete = builder.covers(summaries, files)
    num_videos = listed if complete else len(scores.sums)
    if not complete:
        logging.warning(
            "No builder summary covers all of %s: accuracy is over the %d videos seen.",
            files, num_videos,
        )  # fmt: skip
    skipped = [item for s in summaries.values() for item in s.skipped] if complete else []
    incomplete = sorted(scores.ids[v] for v, n in scores.views.items() if n != views_per_video)
    return {
        "protocol": protocol,
        "files": files,
        "dataset_summaries": {
            path: {"input_hash": s.input_hash, "split": s.split} for path, s in summaries.items()
        },
        "videos": num_videos,
        "videos_scored": len(scores.sums),
        "videos_missing": num_videos - len(scores.sums),
        "videos_skipped_by_builder": [
            {"video_id": s["video_id"], "reason": s["reason"]} for s in skipped
        ],
        "videos_with_missing_views": incomplete,
        "unreadable_shards": unreadable(damaged.found if damaged else {}, scores),
        "views": scores.num_views,
        "views_per_video": views_per_video,
        "top1": scores.accuracy(1, num_videos),
        "top5": scores.accuracy(5, num_videos),
        "clip_top1": scores.clip_accuracy(1),
        "clip_top5": scores.clip_accuracy(5),
    }


def evaluate_split(model, files, data_kwargs, views_per_video):
    """The test protocol on `files` in this process: `summarize`'s summary of `model`.

    Args:
        model: a `VideoClassifier` (any head; scored with its probabilities).
        files: list of TFRecord shards of the split.
        data_kwargs: `pipelines.eval_dataset` arguments of the protocol.
        views_per_video: int. Views a video has when none is missing.
    """
    damaged = shards.DamagedShards()
    dataset = pipelines.eval_dataset(files, **data_kwargs, damaged_shards=damaged)
    scores = score_views(model.for_inference(), dataset)
    return summarize(scores, files, data_kwargs["protocol"], views_per_video, damaged)

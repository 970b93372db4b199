"""tf.data pipelines from TFRecord shards to batches of normalised clips.

Phases, as in DMVR: parse the record (JPEG strings, nothing decoded), sample
frame indices, decode only the sampled frames, preprocess (scale, crop, flip,
normalise), batch. Training yields `(clips, labels)`; the test protocols yield
dicts that also carry each view's video and view index, so views can be
regrouped into videos.
"""

import tensorflow as tf

from nlkeras.data import features, processors, records, shards, views

AUTOTUNE = tf.data.AUTOTUNE


def with_input_options(dataset):
    """One thread per op: per-clip ops are small, and sharding them costs more than it gains."""
    options = tf.data.Options()
    options.threading.max_intra_op_parallelism = 1
    return dataset.with_options(options)


def list_files(patterns):
    """Sorted files matching comma-separated glob patterns; an error if none."""
    if isinstance(patterns, str):
        patterns = [p for p in patterns.split(",") if p]
    files = sorted({f for p in patterns for f in tf.io.gfile.glob(p)})
    if not files:
        raise ValueError(f"No TFRecord files match {patterns}")
    return files


def train_dataset(
    patterns,
    batch_size,
    num_frames=8,
    sample_rate=8,
    crop_size=224,
    jitter_scales=(256, 320),
    flip_prob=0.5,
    mean=processors.MEAN,
    std=processors.STD,
    use_bgr=False,
    shuffle_buffer=1024,
    seed=0,
    input_context=None,
    cycle_length=8,
    skip_batches=0,
    damaged_shards=None,
):
    """Endless shuffled training clips: `(float32 (B, L, crop, crop, 3), int32 (B,))`.

    Args:
        patterns: str or list. TFRecord glob patterns (comma-separated in a str).
        batch_size: int. The global batch; with `input_context`, the per-replica
            batch is derived from it.
        num_frames, sample_rate: int. Clip length L and stride S in frames.
        crop_size: int. Random square crop.
        jitter_scales: (min, max). Range of the random shorter side.
        flip_prob: float. Probability of a horizontal flip of a clip.
        mean, std: float. Scalar normalisation.
        use_bgr: bool. Reverse the channels.
        shuffle_buffer: int. Records held for shuffling across shards.
        seed: int. Makes shard order, shuffling and augmentation repeatable.
        input_context: `tf.distribute.InputContext` or None. Each input
            pipeline reads its own subset of the shards.
        cycle_length: int. Shards read at once.
        skip_batches: int. Start after this many batches, without decoding
            them: a resumed run sees the clips an uninterrupted one would.
        damaged_shards: `shards.DamagedShards` or None. With one, the rest
            of a shard after a damaged record is skipped and counted there;
            without, a damaged record stops the pipeline with an error.
    """
    files = list_files(patterns)
    if input_context is not None:
        pipelines = input_context.num_input_pipelines
        if len(files) < pipelines:
            raise ValueError(
                f"{len(files)} shards cannot feed {pipelines} input pipelines; "
                "write at least one shard per worker."
            )
        files = files[input_context.input_pipeline_id :: pipelines]
        batch_size = input_context.get_per_replica_batch_size(batch_size)
        seed = seed + 1000003 * input_context.input_pipeline_id
    min_side, max_side = jitter_scales

    def make_clip(index, serialized):
        seeds = tf.random.experimental.stateless_split(tf.stack([seed, index]), 3)
        video = records.parse_sequence_example(serialized)
        jpegs = video[features.FRAMES]
        indices = processors.train_frame_indices(
            tf.shape(jpegs)[0], num_frames, sample_rate, seeds[0]
        )
        source = tf.image.extract_jpeg_shape(jpegs[0])
        box = processors.random_crop_box(
            source[0], source[1], min_side, max_side, crop_size, seeds[1]
        )
        frames = processors.decode_resized_crop(jpegs, indices, num_frames, box, crop_size)
        if flip_prob > 0:
            flip = tf.random.stateless_uniform([], seeds[2]) < flip_prob
            frames = processors.flip_clip(frames, flip)
        return frames, video[features.LABEL]

    def normalize_batch(clips, labels):
        return processors.normalize(clips, mean, std, use_bgr), labels

    dataset = tf.data.Dataset.from_tensor_slices(files)
    dataset = dataset.shuffle(len(files), seed=seed).repeat()
    dataset = dataset.interleave(
        shards.reader(damaged_shards),
        cycle_length=min(cycle_length, len(files)),
        num_parallel_calls=AUTOTUNE,
        deterministic=True,
    )
    dataset = dataset.shuffle(shuffle_buffer, seed=seed).enumerate()
    dataset = dataset.skip(skip_batches * batch_size)
    dataset = dataset.map(make_clip, num_parallel_calls=AUTOTUNE, deterministic=True)
    # Clips travel as uint8 (as the original's OpenCV frames) and are
    # normalised once per batch.
    dataset = dataset.batch(batch_size, drop_remainder=True)
    dataset = dataset.map(normalize_batch, num_parallel_calls=AUTOTUNE)
    return with_input_options(dataset.prefetch(AUTOTUNE))


def distributed_train_dataset(strategy, patterns, batch_size, **kwargs):
    """`train_dataset` split across `strategy`'s replicas, per-replica batches."""
    return strategy.distribute_datasets_from_function(
        lambda context: train_dataset(patterns, batch_size, input_context=context, **kwargs)
    )


def eval_dataset(patterns, batch_size, protocol="three_crop", damaged_shards=None, **options):
    """Every view of every video, in order, each exactly once, `batch_size` views a batch.

    `protocol` and `options`: the arguments of `views.TestViews` (frames,
    clips, scale, flip, normalisation). `damaged_shards`: as in
    `train_dataset` (the videos after a damaged record are then missing,
    and listed there). Each clip is decoded and scaled
    once for all its views. Full frames differ in size between videos, so a
    `full_frame` batch holds views of one video only.

    Yields dicts: `clips` float32 (B, L, H, W, 3), `label` int32 (B,),
    `video_index` int64 (B,) (order of the records), `view_index` int32
    (B,), `video_id` string (B,). A video's last batch may be smaller: no
    view is dropped or repeated.
    """
    test_views = views.TestViews(protocol, **{**options, "views_per_batch": batch_size})
    per_clip = test_views.views_per_clip

    def clip_views(video_index, video, clip_index):
        jpegs = video[features.FRAMES]
        clips = test_views.views(
            lambda indices: processors.decode_frames(jpegs, indices),
            tf.shape(jpegs)[0],
            clip_index[None],
        )
        return {
            features.CLIPS: clips,
            features.LABEL: tf.fill([per_clip], video[features.LABEL]),
            features.VIDEO_INDEX: tf.fill([per_clip], video_index),
            features.VIEW_INDEX: clip_index * per_clip + tf.range(per_clip),
            features.VIDEO_ID: tf.fill([per_clip], video[features.VIDEO_ID]),
        }

    def video_views(video_index, video):
        clip_indices = tf.data.Dataset.range(test_views.num_clips)
        dataset = clip_indices.map(
            lambda j: clip_views(video_index, video, tf.cast(j, tf.int32)),
            num_parallel_calls=AUTOTUNE,
            deterministic=True,
        ).unbatch()
        return dataset.batch(batch_size) if test_views.protocol == "full_frame" else dataset

    dataset = tf.data.Dataset.from_tensor_slices(list_files(patterns))
    dataset = dataset.flat_map(shards.reader(damaged_shards))
    dataset = dataset.map(records.parse_sequence_example)
    dataset = dataset.enumerate().flat_map(video_views)
    if test_views.protocol != "full_frame":
        dataset = dataset.batch(batch_size)
    return with_input_options(dataset.prefetch(AUTOTUNE))

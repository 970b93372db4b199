"""Shared test helpers."""

import os
import tempfile

import cv2
import keras
import numpy as np

from nlkeras.data import processors
from nlkeras.models import build_classifier
from nlkeras.training.precise_bn import batch_norm_layers
from nlkeras.weights import caffe2


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_shape,
    expected_output_shape,
    expected_num_trainable_weights=None,
    expected_num_non_trainable_weights=None,
):
    """Generic checks for a Keras layer: config, symbolic and eager calls, fit, `.keras` save/load.

    `input_shape` and `expected_output_shape` include the batch axis; the
    symbolic call uses a `None` batch instead.
    """
    rng = np.random.default_rng(0)

    # Config: every argument passed is kept with its value, and the config round-trips.
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    for key, value in init_kwargs.items():
        assert key in config, f"`{key}` missing from get_config()"
        got = list(config[key]) if isinstance(config[key], tuple) else config[key]
        want = list(value) if isinstance(value, tuple) else value
        assert got == want, f"get_config()[{key!r}] is {config[key]!r}, passed {value!r}"
    revived = layer_cls.from_config(config)
    assert revived.get_config() == config

    # Weight counts after build.
    layer.build(input_shape)
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights
    if expected_num_non_trainable_weights is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights

    # Symbolic call with an unknown batch.
    symbolic_in = keras.KerasTensor((None, *input_shape[1:]))
    symbolic_out = layer_cls(**init_kwargs)(symbolic_in)
    assert tuple(symbolic_out.shape) == (None, *expected_output_shape[1:])

    # Eager call.
    x = rng.standard_normal(input_shape).astype("float32")
    assert tuple(layer(x).shape) == tuple(expected_output_shape)

    # One training step in a functional model.
    inputs = keras.Input(input_shape[1:], batch_size=None)
    model = keras.Model(inputs, layer_cls(**init_kwargs)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    y = rng.standard_normal(expected_output_shape).astype("float32")
    model.fit(x, y, batch_size=input_shape[0], epochs=1, verbose=0)

    # `.keras` save/load gives identical outputs.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=0, atol=1e-6
    )


def damage(shard, kind):
    """Truncates a shard to two thirds, or zeroes 64 bytes in its middle."""
    data = bytearray(shard.read_bytes())
    if kind == "truncate":
        data = data[: len(data) * 2 // 3]
    else:
        data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    shard.write_bytes(bytes(data))


# === The tiny model ===

# The tests' member of the model family: one block per stage, width 4; it builds
# and runs in about a second on CPU. A test overrides what it is about.
TINY = dict(num_classes=3, num_frames=4, crop_size=32, width=4, stage_blocks=(1, 1, 1, 1))
# Non-local blocks where the R50 rule puts them (after block 1 of res3 and res4).
TINY_NL = dict(stage_blocks=(1, 2, 2, 1), non_local_stages=(3, 4))


def tiny_classifier(**overrides):
    """`build_classifier` of `TINY` with `overrides` (e.g. `**TINY_NL`, `num_classes=5`)."""
    return build_classifier(**{**TINY, **overrides})


def randomized(model, seed=0, scale=0.1):
    """`model` with every weight random (moving variances positive): a part dropping one fails."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        value = rng.normal(scale=scale, size=weight.shape)
        if "moving_variance" in weight.path:
            value = np.abs(value) + 0.5
        weight.assign(value.astype("float32"))
    return model


def trained_looking(model, seed=0):
    """`model` with BN away from the identity and a classifier with spread logits.

    Fresh BN statistics and the non-local output's zero gamma would hide
    mistakes in what an artifact computes; trained weights do not exist here.
    """
    rng = np.random.default_rng(seed)

    def value_for(variable, value):
        name = variable.path
        if "moving_variance" in name:
            return rng.uniform(0.5, 1.5, value.shape)
        if "moving_mean" in name or "beta" in name:
            return rng.normal(0, 0.1, value.shape)
        if "gamma" in name:
            return rng.normal(1, 0.2, value.shape)
        if name.startswith("pred"):
            return rng.normal(0, 1.0, value.shape) / np.sqrt(value.shape[0])
        return value

    model.set_weights(
        [
            value_for(v, w).astype(w.dtype)
            for v, w in zip(model.weights, model.get_weights(), strict=True)
        ]
    )
    return model


def calibrated(model, clip_shape, seed=0):
    """`trained_looking`, then BN statistics of real activations and logits of std 2.

    At full size random BN statistics let activations grow layer by layer
    until every softmax is one-hot, and any two artifacts then agree
    trivially. Here BN sees its actual batch statistics (precise BN on random
    uint8 clips) and `pred` is scaled to logits of standard deviation 2.
    """
    model = trained_looking(model, seed)
    # Small scales at the ends of the residual branches (zero in a fresh model)
    # keep each block from doubling the signal, as in a trained ResNet.
    for layer in batch_norm_layers(model):
        if not layer.name.endswith(("branch1_bn", "branch2a_bn", "branch2b_bn")):
            layer.gamma.assign(layer.gamma * 0.2)
    rng = np.random.default_rng(seed)
    # Normalised random uint8 clips, as the artifacts are compared on.
    clips = ((rng.integers(0, 256, clip_shape) - processors.MEAN) / processors.STD).astype(
        "float32"
    )
    features = keras.Model(model.input, model.get_layer("pred").input)
    pooled = np.asarray(features(clips, training=False)).reshape(-1, model.pred.kernel.shape[0])
    kernel, bias = model.pred.get_weights()
    kernel *= 2.0 / max(float(np.std(pooled @ kernel)), 1e-12)
    model.pred.set_weights([kernel, bias])
    return model


def random_clips(shape, seed=0):
    """Random uint8 frames of `shape`, as a client sends them."""
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


# === The original's checkpoints ===


def original_blob_prefixes(stage_blocks, non_local_names):
    """Layer-level blob prefixes of a checkpoint of the original.

    From the naming rules (§3.1 of docs/original-semantics.md).
    """
    names = {"conv1", "res_conv1_bn", "pred", *non_local_names}
    for stage, blocks in zip((2, 3, 4, 5), stage_blocks, strict=True):
        for i in range(blocks):
            for branch in ("branch2a", "branch2b", "branch2c") + (("branch1",) if i == 0 else ()):
                names |= {f"res{stage}_{i}_{branch}", f"res{stage}_{i}_{branch}_bn"}
    return names


def caffe2_checkpoint(model, seed=0):
    """A checkpoint in the original's layout with distinct random values.

    Made from the naming rules (§3.1 of docs/original-semantics.md).
    """
    rng = np.random.default_rng(seed)
    blobs = {}
    for variable in model.weights:
        if "seed_generator" in variable.path:
            continue
        shape = tuple(variable.shape)
        if len(shape) == 5:  # Keras THWIO -> Caffe2 OITHW
            shape = (shape[4], shape[3], shape[0], shape[1], shape[2])
        elif len(shape) == 2:  # Dense (C, K) -> pred_w (K, C)
            shape = shape[::-1]
        blobs[caffe2.blob_name(variable)] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        blobs[caffe2.blob_name(variable) + "_momentum"] = np.zeros(shape, np.float32)
    return {"blobs": {**blobs, "lr": np.float32(0.01), "model_iter": 400000}}


# === Small real videos ===


def write_mp4(path, frames, fps=10.0):
    """Writes RGB uint8 frames (N, H, W, 3) as an mp4 with OpenCV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def smooth_frames(num_frames, height, width, seed=0):
    """Frames with large smooth structures (JPEG/mp4 keep them nearly exact) and a frame counter."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width] / max(height, width)
    frames = []
    for t in range(num_frames):
        phase = rng.uniform(0, 6.28, size=3)
        channels = [127 + 100 * np.sin(4 * xs + 3 * ys + p + 0.3 * t) for p in phase]
        frames.append(np.stack(channels, -1))
    return np.clip(np.stack(frames), 0, 255).astype(np.uint8)


# === TFRecords written in memory (tests/data) ===

# `train_dataset` options for these tiny records (frames of 32 x 48): 4 frames, 24 x 24 crops.
TRAIN_PIPELINE = dict(
    num_frames=4, sample_rate=2, crop_size=24, jitter_scales=(32, 40), shuffle_buffer=8
)


def write_records(path, videos):
    """Writes `(frames, label, video_id)` videos as one TFRecord file; returns their JPEGs."""
    import tensorflow as tf

    from nlkeras.data import records

    all_jpegs = []
    with tf.io.TFRecordWriter(str(path)) as writer:
        for frames, label, video_id in videos:
            jpegs = [records.encode_jpeg(f) for f in frames]
            example = records.make_sequence_example(
                jpegs, label, f"class{label}", video_id, 10.0, *frames.shape[1:3]
            )
            writer.write(example.SerializeToString())
            all_jpegs.append(jpegs)
    return all_jpegs


def decoded(jpegs):
    """The frames exactly as the pipelines decode them."""
    import tensorflow as tf

    return np.stack([tf.io.decode_jpeg(j, channels=3).numpy() for j in jpegs])


def write_grey_shards(folder):
    """3 shards of 2 flat-grey videos each; label k has grey level 40 + 30 * k.

    Returns the shards' pattern and `{label: decoded grey level}`.
    """
    levels = {}
    for shard in range(3):
        videos = []
        for i in range(2):
            label = 2 * shard + i
            frames = np.full((12, 32, 48, 3), 40 + 30 * label, np.uint8)
            videos.append((frames, label, f"v{label}"))
        jpegs = write_records(folder / f"train-{shard:05d}-of-00003.tfrecord", videos)
        for (_, label, _), video_jpegs in zip(videos, jpegs, strict=True):
            levels[label] = decoded(video_jpegs[:1])[0, 0, 0, 0]
    return str(folder / "train-*.tfrecord"), levels


# === Tiny training runs (tests/training) ===

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BRIGHTNESS_CLASSES = 4
# The tiny non-local I3D the distributed tests step; no dropout, so replicas and one device agree.
DISTRIBUTED_MODEL = dict(TINY, **TINY_NL, arch="i3d", num_classes=BRIGHTNESS_CLASSES, dropout=0.0)


def write_brightness_videos(path, videos_per_class=4, seed=0):
    """Class c: frames of brightness 40 + 50c with noise, 10 frames of 72x80."""
    import tensorflow as tf

    from nlkeras.data import records

    rng = np.random.default_rng(seed)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for c in range(BRIGHTNESS_CLASSES):
            for i in range(videos_per_class):
                frames = np.clip(40 + 50 * c + rng.normal(0, 12, (10, 72, 80, 3)), 0, 255)
                jpegs = [records.encode_jpeg(f.astype(np.uint8)) for f in frames]
                example = records.make_sequence_example(
                    jpegs, c, f"level{c}", f"v{c}_{i}", 10.0, 72, 80
                )
                writer.write(example.SerializeToString())


def tiny_training(data, **overrides):
    """`{key: value}` of the demo shrunk to seconds on `data`'s brightness shards, plus `overrides`.

    Keys are config paths with `__` for the dots (`solver__max_iter=6`).
    """
    return {
        "data.train_files": str(data / "train-*"), "data.val_files": str(data / "test-*"),
        "data.test_files": str(data / "test-*"), "data.synthetic_dir": "",
        "model.num_classes": BRIGHTNESS_CLASSES, "model.width": 4, "train.batch_size": 8,
        "test.views_per_batch": 8, "test.num_clips": 2, "train.precise_bn_iters": 2,
        **{key.replace("__", "."): value for key, value in overrides.items()},
    }  # fmt: skip


def recipe_config(recipe, settings):
    """Recipe `recipe`'s config with `{"section.key": value}` settings applied."""
    from nlkeras import cli

    config = cli.load_recipe(recipe)
    for key, value in settings.items():
        *sections, field = key.split(".")
        target = config
        for section in sections:
            target = target[section]
        target[field] = value
    return config


def train_in_process(settings, workdir, recipe="demo"):
    """`nlkeras.training.run.train` on the recipe with `settings`, from a fresh Keras state."""
    from nlkeras import config as config_lib
    from nlkeras.training import run

    keras.backend.clear_session()
    config = config_lib.validate(recipe_config(recipe, settings))
    config.recipe = recipe.partition(":")[0]
    return run.train(config, str(workdir))


def train_command(settings, workdir, recipe="demo"):
    """The `python -m nlkeras.train` command line of `train_in_process`."""
    import sys

    overrides = [f"--config.{key}={value}" for key, value in settings.items()]
    return [
        sys.executable, "-m", "nlkeras.train", f"--recipe={recipe}", f"--workdir={workdir}",
        *overrides,
    ]  # fmt: skip


def read_log(workdir):
    """The JSON lines of a run's `log.jsonl`."""
    import json

    with open(os.path.join(workdir, "log.jsonl")) as f:
        return [json.loads(line) for line in f]


def final_weights(workdir, settings):
    """The arrays of a run's `final.weights.h5`, read with the demo's model under `settings`."""
    from nlkeras import config as config_lib
    from nlkeras.models import build_classifier

    config = recipe_config("demo", settings)
    model = build_classifier(**config_lib.model_kwargs(config))
    model.load_weights(os.path.join(workdir, "final.weights.h5"))
    weights = [keras.ops.convert_to_numpy(w) for w in model.weights]
    keras.backend.clear_session()
    return weights


# === Evaluation (tests/evaluation) ===

# The tiny model the evaluation tests score: 3 classes, one non-local block.
EVALUATION_MODEL = dict(
    TINY, num_frames=8, crop_size=64, non_local_stages=(3,), non_local_layer_mod=1
)


def write_evaluation_split(root):
    """6 videos of 3 classes through the real builder, plus one corrupt file it skips.

    Returns the builder's output folder (`test-*` shards and summary) under `root`.
    """
    from nlkeras.data import builder, sources

    for c, name in enumerate(["ant", "bee", "cat"]):
        for i in range(2):
            write_mp4(
                root / "videos" / name / f"{name}{i}.mp4",
                smooth_frames(6 + 3 * i, 64, 80, seed=10 * c + i),
            )
    (root / "videos" / "cat" / "broken.mp4").write_bytes(b"not a video")
    entries = sources.from_class_folders(str(root / "videos"))
    builder.build_tfrecords(
        entries, str(root / "data"), "test", 2, workers=0, short_side=64, progress=False
    )
    return root / "data"


def write_evaluation_weights(path):
    """Saves `EVALUATION_MODEL` weights to `path` and returns it (as a string)."""
    model = build_classifier(**EVALUATION_MODEL)
    rng = np.random.default_rng(0)
    # A classifier with spread logits, so views disagree and the sums matter.
    model.get_layer("pred").set_weights([rng.normal(0, 3, (128, 3)), np.zeros(3)])
    model.save_weights(str(path))
    return str(path)


def evaluation_scores(pattern, weights, protocol="three_crop", views_per_batch=4, strategy=None):
    """What an evaluation of `pattern` must compute: the model over `eval_dataset`, summed.

    `strategy` (default: this process's one device) holds the model and
    splits each batch over its replicas.
    """
    import tensorflow as tf

    from nlkeras.data import pipelines
    from nlkeras.evaluation.video_scores import score_views

    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        model = build_classifier(**EVALUATION_MODEL, head="probabilities")
    model.load_weights(weights)
    dataset = pipelines.eval_dataset(
        pattern, views_per_batch, protocol, num_clips=2, scale=64, sample_rate=1
    )
    return score_views(model, dataset, strategy)

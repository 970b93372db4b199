r"""Benchmarks that print numbers: `python -m tools.benchmark data|model|serve --recipe NAME`.

`model [--batch B] [--size HxW] [--precision P]` times the recipe's model on
random clips: the forward pass (probabilities head, one `tf.function`) and
the trainer's own training step (`CaffeSGD`), each the median of `--rounds`
runs after `--warmup`, with clips/s, the peak resident memory of each phase,
the multiply-accumulates (a step counts 3x the forward pass) and the
achieved rate as a fraction of this machine's fp32 and bf16 matrix-multiply
peak, measured in the same run.

`serve --weights W` writes the recipe's SavedModel (in a child process) and
times one `video` and one `encoded_frames` request of a 10 s, 340x256, 30 fps
video through it: latency and the request's peak resident memory.

`data` measures clips per second of a recipe's input pipelines on this
machine:

- `sampled JPEG decode`: parse the record, sample the training clip's frame
  indices and decode only those JPEGs, in parallel, nothing else: the limit
  of this design, since every pipeline must at least do this;
- `train`: the training pipeline (decode, scale jitter, random crop, flip,
  normalise, shuffle, batch);
- `test views`: the evaluation pipeline of the recipe's protocol.

The pipelines are timed in alternating rounds and the median of each is
reported. Prints a table and the same numbers as JSON (`--json` also writes
them).
"""

import json
import os
import statistics
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf
from absl import flags

from export import artifacts
from nlkeras import benchmarks, cli
from nlkeras import config as config_lib
from nlkeras.data import features, pipelines, processors, records, shards
from nlkeras.models import build_classifier
from nlkeras.models.macs import count_macs
from nlkeras.training.loop import make_train_step
from nlkeras.training.optimizer import CaffeSGD

_CONFIG = cli.define_config_flag()
_DATA = flags.DEFINE_string("data", None, "TFRecord pattern(s) to read (comma-separated).")
_BATCHES = flags.DEFINE_integer("batches", 20, "Batches per timed run.")
_ROUNDS = flags.DEFINE_integer(
    "rounds", 7, "Timed runs per pipeline (alternating) or phase; the median counts."
)
_WARMUP = flags.DEFINE_integer("warmup", 3, "Batches read or steps run before timing.")
_JSON = flags.DEFINE_string("json", None, "Also write the results to this JSON file.")
_BATCH = flags.DEFINE_integer("batch", 1, "model: clips per batch.")
_SIZE = flags.DEFINE_string("size", None, "model: HEIGHTxWIDTH of the clips (default: the crop).")
_PRECISION = flags.DEFINE_enum(
    "precision", None, list(config_lib.PRECISIONS), "model: Keras dtype policy (default: recipe's)."
)
_WEIGHTS = flags.DEFINE_string("weights", None, "serve: the model's weights.")


def sampled_decode_dataset(patterns, batch_size, num_frames, sample_rate, seed=0):
    """Records -> sampled frame indices -> decoded JPEGs, batched by count only."""

    def decode(index, serialized):
        jpegs = records.parse_sequence_example(serialized)[features.FRAMES]
        seed_pair = tf.stack([tf.constant(seed, tf.int64), index])
        indices = processors.train_frame_indices(
            tf.shape(jpegs)[0], num_frames, sample_rate, seed_pair
        )
        frames = processors.decode_frames(jpegs, indices, num_frames)
        return tf.shape(frames)[0]

    files = pipelines.list_files(patterns)
    dataset = tf.data.Dataset.from_tensor_slices(files).repeat()
    dataset = dataset.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(8, len(files)),
        num_parallel_calls=pipelines.AUTOTUNE,
        deterministic=True,
    )
    dataset = dataset.enumerate().map(decode, num_parallel_calls=pipelines.AUTOTUNE)
    return pipelines.with_input_options(dataset.batch(batch_size).prefetch(pipelines.AUTOTUNE))


def _count(batch):
    if isinstance(batch, dict):
        batch = batch[features.CLIPS]
    elif isinstance(batch, tuple):
        batch = batch[0]
    return int(batch.shape[0])


def compare_rates(datasets, batches, warmup, rounds):
    """Median clips/s of each dataset over `rounds` alternating timed runs.

    Alternating the pipelines round by round spreads the drift of a shared
    machine over all of them, so their ratios are stable.
    """
    rates = {name: [] for name in datasets}
    for _ in range(rounds):
        for name, dataset in datasets.items():
            # A fresh iterator per run: no buffer filled while another ran.
            iterator = iter(dataset.repeat())
            for _ in range(warmup):
                next(iterator)
            start = time.perf_counter()
            clips = sum(_count(next(iterator)) for _ in range(batches))
            rates[name].append(clips / (time.perf_counter() - start))
            del iterator
    return {name: statistics.median(values) for name, values in rates.items()}


def benchmark_data(config, patterns, batches, warmup, rounds):
    """{pipeline: clips/s} for the recipe's pipelines on `patterns`."""
    train = config_lib.train_data_kwargs(config)
    evaluation = config_lib.eval_data_kwargs(config)
    datasets = {
        "sampled JPEG decode": sampled_decode_dataset(
            patterns, train["batch_size"], train["num_frames"], train["sample_rate"]
        ),
        "train": pipelines.train_dataset(patterns, **train),
        "test views": pipelines.eval_dataset(patterns, **evaluation),
    }
    return compare_rates(datasets, batches, warmup, rounds)


def benchmark_model_command(config, batch, size, precision, warmup, rounds):
    keras.mixed_precision.set_global_policy(precision)
    peaks = {
        "float32": benchmarks.matmul_peak(tf.float32),
        "bfloat16": benchmarks.matmul_peak(tf.bfloat16),
    }
    model = build_classifier(**config_lib.model_kwargs(config))
    s = config.solver
    optimizer = CaffeSGD(s.base_lr, s.momentum, s.nesterov, s.weight_decay, s.weight_decay_bn)
    optimizer.build(model.trainable_variables)
    step = make_train_step(model, optimizer, tf.distribute.get_strategy(), batch)
    frames = config.data.num_frames
    height, width = size or (config.data.crop_size, config.data.crop_size)
    clips = tf.random.stateless_normal((batch, frames, height, width, 3), (0, 0))
    labels = tf.zeros((batch,), tf.int32)
    macs = count_macs(model, (frames, height, width, 3))
    results = benchmarks.benchmark_model(
        model, step, clips, labels, macs, warmup, rounds, machine_peaks=peaks
    )
    return {
        "input": [batch, frames, height, width, 3],
        "precision": precision,
        "forward_gmacs_per_clip": macs / 1e9,
        "machine_gmac_per_second": peaks,
        **results,
    }


def benchmark_serve_command(config, weights, warmup, rounds):
    with tempfile.TemporaryDirectory() as folder:
        names = [f"class_{i}" for i in range(config.model.num_classes)]
        protocol = config_lib.test_protocol_kwargs(config)
        path = os.path.join(folder, "1")
        artifacts.in_child(
            artifacts.saved_model_only, config_lib.model_kwargs(config), protocol, weights,
            names, path,
        )  # fmt: skip
        signatures = tf.saved_model.load(path).signatures
        # A smooth moving pattern: JPEG sizes as a real video's, not as noise's.
        t, y, x = np.meshgrid(np.arange(300), np.arange(256), np.arange(340), indexing="ij")
        frames = np.stack([(x + 3 * t) % 256, (y + 2 * t) % 256, (x + y) % 256], -1)
        frames = frames.astype(np.uint8)
        jpegs = [records.encode_jpeg(frame) for frame in frames]
        results = benchmarks.benchmark_serving(signatures, frames, jpegs, warmup, rounds)
    return {"video": list(frames.shape), **results}


def print_report(report, rows):
    print(f"{flags.FLAGS.recipe} on {report['machine']}")
    for row in rows:
        print(row)
    print(json.dumps(report))
    if _JSON.value:
        with open(_JSON.value, "w") as f:
            json.dump(report, f, indent=1)


def main(argv):
    command = argv[1:]
    if command not in (["data"], ["model"], ["serve"]):
        raise SystemExit("usage: python -m tools.benchmark data|model|serve --recipe NAME ...")
    config = config_lib.validate(_CONFIG.value)
    machine = f"{benchmarks.cpu_model()}, {os.cpu_count()} cores"
    report = dict(recipe=flags.FLAGS.recipe, machine=machine, tensorflow=tf.__version__)
    if command == ["model"]:
        size = tuple(int(v) for v in _SIZE.value.split("x")) if _SIZE.value else None
        precision = _PRECISION.value or config.mixed_precision
        report.update(
            benchmark_model_command(
                config, _BATCH.value, size, precision, _WARMUP.value, _ROUNDS.value
            )
        )
        peaks = report["machine_gmac_per_second"]
        rows = [
            f"input {'x'.join(map(str, report['input']))}, {precision}; "
            f"{report['forward_gmacs_per_clip']:.2f} GMAC per clip forward; machine peak "
            f"{peaks['float32']:.0f} GMAC/s fp32, {peaks['bfloat16']:.0f} bf16",
            f"{'phase':<12}{'s':>8}{'clips/s':>9}{'GMAC/s':>8}{'of fp32':>9}{'of bf16':>9}"
            f"{'peak MiB':>10}",
        ]
        for name in ("forward", "train_step"):
            r = report[name]
            rows.append(
                f"{name:<12}{r['seconds']:8.3f}{r['clips_per_second']:9.2f}"
                f"{r['gmac_per_second']:8.0f}{r['fraction_of_float32_peak']:9.0%}"
                f"{r['fraction_of_bfloat16_peak']:9.0%}{r['peak_mib']:10.0f}"
            )
        return print_report(report, rows)
    if command == ["serve"]:
        if not _WEIGHTS.value:
            raise SystemExit("error: serve needs --weights (.weights.h5, .pkl or checkpoint).")
        report.update(benchmark_serve_command(config, _WEIGHTS.value, 1, _ROUNDS.value))
        rows = [f"{'request':<16}{'s':>8}{'peak MiB':>10}"]
        for name in ("video", "encoded_frames"):
            rows.append(f"{name:<16}{report[name]['seconds']:8.2f}{report[name]['peak_mib']:10.0f}")
        return print_report(report, rows)
    if not _DATA.value:
        raise SystemExit("error: --data is required (TFRecord pattern).")
    try:
        results = benchmark_data(config, _DATA.value, _BATCHES.value, _WARMUP.value, _ROUNDS.value)
    except tf.errors.DataLossError as error:
        raise shards.damaged_shard_error(pipelines.list_files(_DATA.value), error) from None
    limit = results["sampled JPEG decode"]
    rows = [f"{'pipeline':<22}{'clips/s':>10}{'of decode limit':>18}"]
    for name, rate in results.items():
        rows.append(f"{name:<22}{rate:>10.1f}{rate / limit:>17.0%}")
    report.update(
        data=_DATA.value,
        clips_per_second=results,
        train_fraction_of_decode_limit=results["train"] / limit,
    )
    print_report(report, rows)


if __name__ == "__main__":
    cli.run(main)

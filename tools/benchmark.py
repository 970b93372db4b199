r"""Benchmarks that print numbers: `python -m tools.benchmark data --recipe NAME --data PATTERN`.

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
import platform
import statistics
import time

import tensorflow as tf
from absl import flags

from nlkeras import cli
from nlkeras import config as config_lib
from nlkeras.data import features, pipelines, processors, records

_CONFIG = cli.define_config_flag()
_DATA = flags.DEFINE_string("data", None, "TFRecord pattern(s) to read (comma-separated).")
_BATCHES = flags.DEFINE_integer("batches", 20, "Batches per timed run.")
_ROUNDS = flags.DEFINE_integer(
    "rounds", 7, "Timed runs per pipeline, alternating; the median counts."
)
_WARMUP = flags.DEFINE_integer("warmup", 3, "Batches read before timing.")
_JSON = flags.DEFINE_string("json", None, "Also write the results to this JSON file.")


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


def main(argv):
    if argv[1:] != ["data"]:
        raise SystemExit("usage: python -m tools.benchmark data --recipe NAME --data PATTERN")
    if not _DATA.value:
        raise SystemExit("error: --data is required (TFRecord pattern).")
    config = config_lib.validate(_CONFIG.value)
    results = benchmark_data(config, _DATA.value, _BATCHES.value, _WARMUP.value, _ROUNDS.value)
    limit = results["sampled JPEG decode"]
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    print(f"data pipelines of {flags.FLAGS.recipe} on {machine}")
    print(f"{'pipeline':<22}{'clips/s':>10}{'of decode limit':>18}")
    for name, rate in results.items():
        print(f"{name:<22}{rate:>10.1f}{rate / limit:>17.0%}")
    report = dict(
        recipe=flags.FLAGS.recipe,
        data=_DATA.value,
        machine=machine,
        tensorflow=tf.__version__,
        clips_per_second=results,
        train_fraction_of_decode_limit=results["train"] / limit,
    )
    print(json.dumps(report))
    if _JSON.value:
        with open(_JSON.value, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    cli.run(main)

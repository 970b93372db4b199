"""Benchmarks of a recipe's input pipelines, model and SavedModel: `tools.benchmark`'s runs.

Times are machine-bound and noisy on shared machines: each phase reports the
median of its timed runs after warm-up, and the achieved multiply-accumulate
rate as a fraction of this machine's matrix-multiply peak measured in the
same run, which carries over between machines far better than seconds.
Pipelines are timed in alternating rounds, so that their ratios are stable.
`run` measures one of `data`, `model` and `serve` and prints the table and
the JSON report.
"""

import gc
import json
import os
import statistics
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from nlkeras import atomic, memory
from nlkeras import config as config_lib
from nlkeras.data import features, pipelines, processors, records, shards
from nlkeras.models import build_classifier
from nlkeras.models.info import parse_size
from nlkeras.models.macs import count_macs
from nlkeras.training.loop import make_train_step
from nlkeras.training.optimizer import CaffeSGD


def cpu_model():
    """The processor's model name (Linux), else the platform's word for it."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def timed(run, warmup, runs):
    """Seconds of each of `runs` calls of `run()` after `warmup` calls."""
    for _ in range(warmup):
        run()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return seconds


def phase(run, warmup, runs):
    """`{"seconds": median, "runs": [...], "peak_mib": ...}`; the peak is reset first."""
    memory.reset_peak()
    seconds = timed(run, warmup, runs)
    return {
        "seconds": statistics.median(seconds),
        "runs": seconds,
        "peak_mib": memory.peak_resident_bytes() / 2**20,
    }


def matmul_peak(dtype, size=4096, runs=5):
    """This machine's matrix-multiply rate through TensorFlow, GMAC/s (median of `runs`)."""
    rng = np.random.default_rng(0)
    a = tf.constant(rng.normal(size=(size, size)), dtype)
    b = tf.constant(rng.normal(size=(size, size)), dtype)
    # One element comes back (the whole product is computed: measured, the same
    # rate as summing it), so no cast or copy of the result is timed.
    matmul = tf.function(lambda: tf.cast(tf.matmul(a, b)[0, 0], tf.float32))
    seconds = statistics.median(timed(lambda: matmul().numpy(), 2, runs))
    return size**3 / seconds / 1e9


def benchmark_model(model, train_step, clips, labels, warmup=2, runs=5):
    """The forward pass and a training step of `model` on `clips`, in this order.

    Args:
        model: `VideoClassifier` (its `for_inference()` twin is timed forward).
        train_step: `(clips, labels) -> loss`, the trainer's step.
        clips, labels: one batch.

    Returns `{phase: {seconds, runs, peak_mib}}` for "forward" and "train_step".
    """
    results = {"forward": _forward_phase(model, clips, warmup, runs)}
    gc.collect()  # the inference twin's weights are gone before the training phase
    results["train_step"] = phase(lambda: float(train_step(clips, labels)), warmup, runs)
    return results


def _forward_phase(model, clips, warmup, runs):
    inference = model.for_inference()
    forward = tf.function(lambda x: inference(x, training=False))
    return phase(lambda: forward(clips).numpy(), warmup, runs)


def add_rates(results, batch, forward_macs, machine_peaks):
    """Adds clips/s, GMAC/s and the fractions of `machine_peaks` to each phase's result.

    A training step counts 3x the forward multiply-accumulates (forward, and
    backward to inputs and to weights); `machine_peaks` is `{dtype: GMAC/s}`.
    """
    for name, result in results.items():
        macs = batch * forward_macs * (3 if name == "train_step" else 1)
        result["clips_per_second"] = batch / result["seconds"]
        result["gmac_per_second"] = macs / result["seconds"] / 1e9
        for dtype, peak in machine_peaks.items():
            result[f"fraction_of_{dtype}_peak"] = result["gmac_per_second"] / peak


def benchmark_serving(signatures, frames, jpegs, warmup=1, runs=3):
    """Latency and peak memory of one `video` and one `encoded_frames` request."""
    inputs = {"video": {"frames": tf.constant(frames)}}
    inputs["encoded_frames"] = {"jpeg_bytes": tf.constant(jpegs)}
    return {
        name: phase(lambda n=name, x=x: signatures[n](**x)["probabilities"].numpy(), warmup, runs)
        for name, x in inputs.items()
    }


# === The input pipelines ===


def sampled_decode_dataset(patterns, batch_size, num_frames, sample_rate, seed=0):
    """Records -> sampled frame indices -> decoded JPEGs, batched by count only.

    The limit of the design: every pipeline must at least do this.
    """

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
    try:
        return compare_rates(datasets, batches, warmup, rounds)
    except tf.errors.DataLossError as error:
        raise shards.damaged_shard_error(pipelines.list_files(patterns), error) from None


def _data_report(config, data, batches, warmup, rounds):
    if not data:
        raise ValueError("--data is required (TFRecord pattern).")
    results = benchmark_data(config, data, batches, warmup, rounds)
    limit = results["sampled JPEG decode"]
    rows = [f"{'pipeline':<22}{'clips/s':>10}{'of decode limit':>18}"]
    for name, rate in results.items():
        rows.append(f"{name:<22}{rate:>10.1f}{rate / limit:>17.0%}")
    fields = dict(
        data=data,
        clips_per_second=results,
        train_fraction_of_decode_limit=results["train"] / limit,
    )
    return fields, rows


# === The model ===


def _model_report(config, batch, size, precision, warmup, rounds):
    if precision not in config_lib.PRECISIONS:
        raise ValueError(f"--precision must be one of {config_lib.PRECISIONS}: {precision!r}.")
    keras.mixed_precision.set_global_policy(precision)
    model = build_classifier(**config_lib.model_kwargs(config))
    s = config.solver
    optimizer = CaffeSGD(s.base_lr, s.momentum, s.nesterov, s.weight_decay, s.weight_decay_bn)
    optimizer.build(model.trainable_variables)
    step = make_train_step(model, optimizer, tf.distribute.get_strategy(), batch)
    frames = config.data.num_frames
    height, width = parse_size(size) if size else (config.data.crop_size,) * 2
    clips = tf.random.stateless_normal((batch, frames, height, width, 3), (0, 0))
    labels = tf.zeros((batch,), tf.int32)
    macs = count_macs(model, (frames, height, width, 3))
    results = benchmark_model(model, step, clips, labels, warmup, rounds)
    # After the model's phases: the 4096x4096 matrices are not in their memory peaks.
    peaks = {"float32": matmul_peak(tf.float32), "bfloat16": matmul_peak(tf.bfloat16)}
    add_rates(results, batch, macs, peaks)
    fields = {
        "input": [batch, frames, height, width, 3],
        "precision": precision,
        "forward_gmacs_per_clip": macs / 1e9,
        "machine_gmac_per_second": peaks,
        **results,
    }
    rows = [
        f"input {'x'.join(map(str, fields['input']))}, {precision}; "
        f"{macs / 1e9:.2f} GMAC per clip forward; machine peak "
        f"{peaks['float32']:.0f} GMAC/s fp32, {peaks['bfloat16']:.0f} bf16",
        f"{'phase':<12}{'s':>8}{'clips/s':>9}{'GMAC/s':>8}{'of fp32':>9}{'of bf16':>9}"
        f"{'peak MiB':>10}",
    ]
    for name in ("forward", "train_step"):
        r = results[name]
        rows.append(
            f"{name:<12}{r['seconds']:8.3f}{r['clips_per_second']:9.2f}"
            f"{r['gmac_per_second']:8.0f}{r['fraction_of_float32_peak']:9.0%}"
            f"{r['fraction_of_bfloat16_peak']:9.0%}{r['peak_mib']:10.0f}"
        )
    return fields, rows


# === The SavedModel ===


def _serve_report(config, weights, rounds):
    if not weights:
        raise ValueError("serve needs --weights (.weights.h5, .pkl or checkpoint).")
    # The export package is the layer above this library: only this benchmark of it needs it.
    from export import artifacts

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
        results = benchmark_serving(signatures, frames, jpegs, 1, rounds)
    rows = [f"{'request':<16}{'s':>8}{'peak MiB':>10}"]
    for name in ("video", "encoded_frames"):
        rows.append(f"{name:<16}{results[name]['seconds']:8.2f}{results[name]['peak_mib']:10.0f}")
    return {"video_shape": list(frames.shape), **results}, rows


# === The command ===


def run(
    command,
    config,
    data=None,
    batches=20,
    warmup=3,
    rounds=7,
    batch=1,
    size=None,
    precision=None,
    weights=None,
    json_path=None,
):
    """Measures `command` ("data", "model" or "serve") of `config.recipe`; returns the report.

    Prints a table and the report as one JSON line, also written to
    `json_path`. `data`: TFRecord patterns; `batches`: per timed run;
    `warmup`: batches read or steps run before timing; `rounds`: timed runs,
    the median counts; `batch`, `size` ("HEIGHTxWIDTH", default the crop)
    and `precision` (default the recipe's): the model's clips; `weights`:
    the SavedModel's.
    """
    if command == "data":
        fields, rows = _data_report(config, data, batches, warmup, rounds)
    elif command == "model":
        precision = precision or config.mixed_precision
        fields, rows = _model_report(config, batch, size, precision, warmup, rounds)
    elif command == "serve":
        fields, rows = _serve_report(config, weights, rounds)
    else:
        raise ValueError(f"Unknown benchmark {command!r}: data, model or serve.")
    machine = f"{cpu_model()}, {os.cpu_count()} cores"
    report = dict(recipe=config.recipe, machine=machine, tensorflow=tf.__version__, **fields)
    print(f"{config.recipe} on {machine}")
    for row in rows:
        print(row)
    print(json.dumps(report))
    if json_path:
        atomic.write_json(str(json_path), report)
    return report

"""Model and serving benchmarks: medians of timed runs, peak memory per phase, machine peak.

Times are machine-bound and noisy on shared machines: each phase reports the
median of its timed runs after warm-up, and the achieved multiply-accumulate
rate as a fraction of this machine's matrix-multiply peak measured in the
same run, which carries over between machines far better than seconds.
"""

import statistics
import time

import numpy as np
import tensorflow as tf

from nlkeras import memory


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


def benchmark_model(
    model, train_step, clips, labels, forward_macs, warmup=2, runs=5, machine_peaks=None
):
    """The forward pass and a training step of `model` on `clips`.

    Args:
        model: `VideoClassifier` (the probabilities head is timed forward).
        train_step: `(clips, labels) -> loss`, the trainer's step.
        clips, labels: one batch.
        forward_macs: multiply-accumulates of one clip's forward pass; a
            training step counts 3x (forward, and backward to inputs and
            weights).
        machine_peaks: `{"float32": GMAC/s, "bfloat16": GMAC/s}`.

    Returns `{phase: {seconds, clips_per_second, peak_mib, gmacs, fraction_of_*}}`.
    """
    probabilities = model.with_head("probabilities")
    forward = tf.function(lambda x: probabilities(x, training=False))
    batch = int(clips.shape[0])
    results = {
        "forward": phase(lambda: forward(clips).numpy(), warmup, runs),
        "train_step": phase(lambda: float(train_step(clips, labels)), warmup, runs),
    }
    for name, result in results.items():
        macs = batch * forward_macs * (3 if name == "train_step" else 1)
        result["clips_per_second"] = batch / result["seconds"]
        result["gmac_per_second"] = macs / result["seconds"] / 1e9
        for dtype, peak in (machine_peaks or {}).items():
            result[f"fraction_of_{dtype}_peak"] = result["gmac_per_second"] / peak
    return results


def benchmark_serving(signatures, frames, jpegs, warmup=1, runs=3):
    """Latency and peak memory of one `video` and one `encoded_frames` request."""
    inputs = {"video": {"frames": tf.constant(frames)}}
    inputs["encoded_frames"] = {"jpeg_bytes": tf.constant(jpegs)}
    return {
        name: phase(lambda n=name, x=x: signatures[n](**x)["probabilities"].numpy(), warmup, runs)
        for name, x in inputs.items()
    }

"""A model of the zoo as the paper's Table 1 shows it: stage shapes, parameters, MACs.

`print_model_info` is `tools.model_info`'s run: every stage's output
(frames x height x width, channels) for the training clip and the test
inputs, then parameter counts and multiply-accumulates (`macs.count_macs`).
"""

import keras
import numpy as np

from nlkeras.models.builder import build_classifier
from nlkeras.models.macs import count_macs


def parse_size(text):
    """`"HEIGHTxWIDTH"` -> `(height, width)`, or a `ValueError` naming the text."""
    try:
        height, width = (int(v) for v in text.split("x"))
    except ValueError:
        raise ValueError(f"{text!r} is not a size HEIGHTxWIDTH (e.g. 256x340).") from None
    return height, width


def stage_shapes(model, clip_shape):
    """`{stage: (frames, height, width, channels)}` for one clip."""
    backbone = model.backbone
    probe = keras.Model(
        backbone.input, {k: backbone.get_layer(v).output for k, v in backbone.stage_layers.items()}
    )
    specs = probe.compute_output_spec(keras.KerasTensor((1, *clip_shape)))
    return {k: tuple(specs[k].shape[1:]) for k in backbone.stage_layers}


def _fmt_shape(shape):
    frames, height, width, channels = shape
    return f"{frames}x{height}x{width}, {channels}"


def print_model_info(model_kwargs, sample_rate, test_scale, test_sizes=()):
    """Prints the table of `build_classifier(**model_kwargs)`.

    Args:
        model_kwargs: the recipe's model (`config.model_kwargs`).
        sample_rate: the clips' frame stride, for the header.
        test_scale: the test's short side; without `test_sizes`, the test
            inputs are square crops and whole 4:3 frames at this scale.
        test_sizes: test inputs as `"HEIGHTxWIDTH"` strings.
    """
    model = build_classifier(**model_kwargs)
    k = model_kwargs
    frames, crop = k["num_frames"], k["crop_size"]
    inputs = {f"train {frames}x{crop}x{crop}": (frames, crop, crop, 3)}
    whole_frame = f"{test_scale}x{test_scale * 340 // 256}"
    for size in test_sizes or [f"{test_scale}x{test_scale}", whole_frame]:
        height, width = parse_size(size)
        inputs[f"test {frames}x{height}x{width}"] = (frames, height, width, 3)
    columns = [stage_shapes(model, shape) for shape in inputs.values()]
    pool5 = model.get_layer("pool5")
    for column in columns:
        column["pool5"] = pool5.compute_output_shape((1, *column["res5"]))[1:]

    print(
        f"{k['arch'].upper()} R{k['depth']} ({k['variant']}), {frames}x{sample_rate} frames, "
        f"non-local stages {tuple(k['non_local_stages']) or 'none'}, "
        f"{'frozen BN' if k['frozen_bn'] else 'BN'}, {k['num_classes']} classes; "
        f"pool5 window {'x'.join(map(str, model.pool_size))}, stride 1"
    )
    rows = [["stage", *inputs]]
    rows += [[stage] + [_fmt_shape(column[stage]) for column in columns] for stage in columns[0]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())

    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    print(
        f"parameters: {trainable:,} trainable, {frozen:,} non-trainable "
        f"(BN moving statistics, frozen affine maps)"
    )
    for name, shape in inputs.items():
        print(f"multiply-accumulates, {name} clip: {count_macs(model, shape) / 1e9:.2f} G")
    keras.backend.clear_session()

r"""Parameters, multiply-accumulates and stage shapes of a recipe's model.

Prints the recipe's model the way the paper's Table 1 shows it: every
stage's output (frames x height x width, channels) for the training clip and
the two test inputs (256x256 crops, whole 256x340 frames), then parameter
counts and multiply-accumulates (convolutions, non-local matrix products and
the classifier; BN, ReLU and pooling are not counted).

    python -m tools.model_info --recipe i3d_nl_affine_128f --config.model.depth=101
"""

import keras
import numpy as np
from absl import flags

from nlkeras import cli
from nlkeras import config as config_lib
from nlkeras.models import build_classifier
from nlkeras.models.macs import count_macs

_CONFIG = cli.define_config_flag()
_TEST_SIZES = flags.DEFINE_multi_string(
    "test_size",
    [],
    "Test inputs as HEIGHTxWIDTH (repeatable). Default: the recipe's test scale as "
    "square crops and as whole 4:3 frames (256x256 and 256x340).",
)


def _clip(clip_shape):
    return keras.KerasTensor((1, *clip_shape))


def stage_shapes(model, clip_shape):
    """`{stage: (frames, height, width, channels)}` for one clip."""
    backbone = model.backbone
    probe = keras.Model(
        backbone.input, {k: backbone.get_layer(v).output for k, v in backbone.stage_layers.items()}
    )
    specs = probe.compute_output_spec(_clip(clip_shape))
    return {k: tuple(specs[k].shape[1:]) for k in backbone.stage_layers}


def _fmt_shape(shape):
    frames, height, width, channels = shape
    return f"{frames}x{height}x{width}, {channels}"


def main(argv):
    del argv
    config = config_lib.validate(_CONFIG.value)
    model = build_classifier(**config_lib.model_kwargs(config))
    frames, crop = config.data.num_frames, config.data.crop_size
    inputs = {f"train {frames}x{crop}x{crop}": (frames, crop, crop, 3)}
    scale = config.test.scale
    for size in _TEST_SIZES.value or [f"{scale}x{scale}", f"{scale}x{scale * 340 // 256}"]:
        height, width = (int(v) for v in size.split("x"))
        inputs[f"test {frames}x{height}x{width}"] = (frames, height, width, 3)
    columns = [stage_shapes(model, shape) for shape in inputs.values()]
    pool5 = model.get_layer("pool5")
    for column in columns:
        column["pool5"] = pool5.compute_output_shape((1, *column["res5"]))[1:]

    m = config.model
    print(
        f"{m.arch.upper()} R{m.depth} ({m.variant}), {frames}x{config.data.sample_rate} frames, "
        f"non-local stages {tuple(config.non_local.stages) or 'none'}, "
        f"{'frozen BN' if m.frozen_bn else 'BN'}, {m.num_classes} classes; "
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


if __name__ == "__main__":
    cli.run(main)

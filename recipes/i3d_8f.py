r"""I3D ResNet-50 baseline, 8 frames x stride 8, Kinetics-400.

The original's `scripts/run_i3d_baseline_400k.sh`: `c2d_8f` with the
inflated kernels of I3D (conv1 5x7x7; 3x1x1 branch2a in res2 all blocks,
res3 and res4 every other block from the first, res5 the middle block).
Same solver and data as `c2d_8f`. Expected: 73.4 top-1 / 90.9 top-5.
Its final checkpoint, folded to frozen BN (`tools.bn_to_affine`), starts
`i3d_affine_32f` and `i3d_nl_affine_32f`.

    python -m nlkeras.train --recipe i3d_8f --workdir runs/i3d_8f \
        --config.data.train_files='kinetics/train-*' \
        --config.train.init_weights=pretrained/r50_pretrain_c2_model_iter450450_clean.pkl
"""

from recipes import c2d_8f


def get_config(arg=None):
    config = c2d_8f.get_config(arg)
    config.model.arch = "i3d"
    config.paper.update(
        script="run_i3d_baseline_400k.sh",
        model_file="i3d_baseline_8x8_IN_pretrain_400k",
        top1=73.4,
        top5=90.9,
    )
    return config

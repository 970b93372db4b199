r"""I3D ResNet-50, frozen BN, 5 non-local blocks, 128x1 frames: the paper's best.

The original's `scripts/run_i3d_nlnet_affine_400k_128f.sh`:
`i3d_affine_128f` plus non-local blocks in res3 (groups of 4 frames) and
res4. Expected: 76.5 top-1 / 92.7 top-5 (paper: 76.5), the paper's Table 3
I3D-NL R50 row.

    python -m nlkeras.train --recipe i3d_nl_affine_128f --workdir runs/i3d_nl_affine_128f \
        --config.data.train_files='kinetics/train-*' \
        --config.train.init_weights=runs/i3d_32f/affine_model_400k.pkl

ResNet-101: `--config.model.depth=101` (from a folded R101 `i3d_32f`).
"""

from recipes import i3d_affine_128f


def get_config(arg=None):
    config = i3d_affine_128f.get_config(arg)
    config.non_local.stages = (3, 4)
    config.paper.update(
        script="run_i3d_nlnet_affine_400k_128f.sh",
        model_file="i3d_nonlocal_128x1_I3D_pretrain_400k",
        top1=76.5,
        top5=92.7,
    )
    return config

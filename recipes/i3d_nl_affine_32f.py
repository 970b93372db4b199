r"""I3D ResNet-50, frozen BN, 5 non-local blocks, 32x4 frames (long clips).

The original's `scripts/run_i3d_nlnet_affine_400k.sh`: `i3d_affine_32f`
plus non-local blocks in res3 (attending within groups of 4 frames) and
res4, without BN and with a zero-initialised output conv. Initialised from
the folded `i3d_8f` baseline. Expected: 76.5 top-1 / 92.6 top-5.

    python -m nlkeras.train --recipe i3d_nl_affine_32f --workdir runs/i3d_nl_affine_32f \
        --config.data.train_files='kinetics/train-*' \
        --config.train.init_weights=runs/i3d_8f/affine_model_400k.pkl
"""

from recipes import i3d_affine_32f


def get_config(arg=None):
    config = i3d_affine_32f.get_config(arg)
    config.non_local.stages = (3, 4)
    config.paper.update(
        script="run_i3d_nlnet_affine_400k.sh",
        model_file="i3d_nonlocal_32x4_I3D_pretrain_400k",
        top1=76.5,
        top5=92.6,
    )
    return config

r"""I3D ResNet-50 with 5 non-local blocks, 32x2 frames (the paper's setting).

The original's `scripts/run_i3d_nlnet_400k_32f.sh`: `i3d_32f` plus non-local
blocks in res3 and res4. Expected: 74.9 top-1 / 91.6 top-5 (paper: 74.9).

    python -m nlkeras.train --recipe i3d_nl_32f --workdir runs/i3d_nl_32f \
        --config.data.train_files='kinetics/train-*' \
        --config.train.init_weights=pretrained/r50_pretrain_c2_model_iter450450_clean.pkl
"""

from recipes import i3d_32f


def get_config(arg=None):
    config = i3d_32f.get_config(arg)
    config.non_local.stages = (3, 4)
    config.paper.update(
        script="run_i3d_nlnet_400k_32f.sh",
        model_file="i3d_nonlocal_32x2_IN_pretrain_400k",
        top1=74.9,
        top5=91.6,
    )
    return config

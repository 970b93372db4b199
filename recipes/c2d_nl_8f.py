r"""C2D ResNet-50 with 5 non-local blocks, 8x8 frames, Kinetics-400.

The original's `scripts/run_c2d_nlnet_400k.sh`: `c2d_8f` plus non-local
blocks after res3 blocks 1, 3 and res4 blocks 1, 3, 5 (embedded Gaussian,
BN with gamma 0 at the output). Same solver and data as `c2d_8f`.
Expected: 74.4 top-1 / 91.4 top-5 (30-view test).

    python -m nlkeras.train --recipe c2d_nl_8f --workdir runs/c2d_nl_8f \
        --config.data.train_files='kinetics/train-*' \
        --config.train.init_weights=pretrained/r50_pretrain_c2_model_iter450450_clean.pkl
"""

from recipes import c2d_8f


def get_config(arg=None):
    config = c2d_8f.get_config(arg)
    config.non_local.stages = (3, 4)
    config.paper.update(
        script="run_c2d_nlnet_400k.sh",
        model_file="c2d_nonlocal_8x8_IN_pretrain_400k",
        top1=74.4,
        top5=91.4,
    )
    return config

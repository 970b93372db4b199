r"""C2D ResNet-50 with 5 non-local blocks, 32x2 frames (the paper's setting).

The original's `scripts/run_c2d_nlnet_400k_32f.sh`: `c2d_32f` plus non-local
blocks in res3 and res4. Expected: 73.9 top-1 / 91.0 top-5 (paper: 73.8).

    python -m nlkeras.train --recipe c2d_nl_32f --workdir runs/c2d_nl_32f \
        --config.data.train_files='kinetics/train-*' \
        --config.train.init_weights=pretrained/r50_pretrain_c2_model_iter450450_clean.pkl
"""

from recipes import c2d_32f


def get_config(arg=None):
    config = c2d_32f.get_config(arg)
    config.non_local.stages = (3, 4)
    config.paper.update(
        script="run_c2d_nlnet_400k_32f.sh",
        model_file="c2d_nonlocal_32x2_IN_pretrain_400k",
        top1=73.9,
        top5=91.0,
    )
    return config

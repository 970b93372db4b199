r"""I3D ResNet-50 with 5 non-local blocks, 8x8 frames, Kinetics-400.

The original's `scripts/run_i3d_nlnet_400k.sh` (its `run_test_multicrop.sh`
tests this model): `i3d_8f` plus non-local blocks after res3 blocks 1, 3 and
res4 blocks 1, 3, 5. Expected: 74.7 top-1 / 91.6 top-5 (30-view test).

    python -m nlkeras.train --recipe i3d_nl_8f --workdir runs/i3d_nl_8f \
        --config.data.train_files='kinetics/train-*' \
        --config.train.init_weights=pretrained/r50_pretrain_c2_model_iter450450_clean.pkl

ResNet-101 (non-local after res4 blocks 6, 13, 20): `--config.model.depth=101`.
"""

from recipes import i3d_8f


def get_config(arg=None):
    config = i3d_8f.get_config(arg)
    config.non_local.stages = (3, 4)
    config.paper.update(
        script="run_i3d_nlnet_400k.sh",
        model_file="i3d_nonlocal_8x8_IN_pretrain_400k",
        top1=74.7,
        top5=91.6,
    )
    return config

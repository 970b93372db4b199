r"""C2D ResNet-50 baseline, 32 frames x stride 2 (the paper's setting).

The original's `scripts/run_c2d_baseline_400k_32f.sh`: the paper's model file
(`resnet_video_org`), whose conv1 and pool1 also stride 2 in time, so a
32-frame clip reaches res3 with 4 frames as in `c2d_8f`. Same solver and data.
Expected: 72.0 top-1 / 90.0 top-5 (paper: 71.8).

    python -m nlkeras.train --recipe c2d_32f --workdir runs/c2d_32f \
        --config.data.train_files='kinetics/train-*' \
        --config.train.init_weights=pretrained/r50_pretrain_c2_model_iter450450_clean.pkl
"""

from recipes import c2d_8f


def get_config(arg=None):
    config = c2d_8f.get_config(arg)
    config.model.variant = "resnet_video_org"
    config.data.num_frames = 32
    config.data.sample_rate = 2
    config.paper.update(
        script="run_c2d_baseline_400k_32f.sh",
        model_file="c2d_baseline_32x2_IN_pretrain_400k",
        top1=72.0,
        top5=90.0,
    )
    return config

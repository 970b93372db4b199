r"""C2D ResNet-50 baseline, 8 frames x stride 8, Kinetics-400.

The original's `scripts/run_c2d_baseline_400k.sh` (README, sparser-sampling
table): 2D ResNet-50 over time (every temporal kernel 1), trained from the
inflated ImageNet R50 for 400k iterations at global batch 64 (8 GPUs x 8),
LR 0.01 divided by 10 at 150k and 300k, dropout 0.5, scale jitter 256-320,
random 224 crops, precise BN. Expected: 71.9 top-1 / 90.0 top-5 with the
30-view test (10 clips x 3 crops of 256).

    python -m nlkeras.train --recipe c2d_8f --workdir runs/c2d_8f \
        --config.data.train_files='kinetics/train-*' \
        --config.data.val_files='kinetics/val-*' \
        --config.train.init_weights=pretrained/r50_pretrain_c2_model_iter450450_clean.pkl

ResNet-101: `--config.model.depth=101` with the R101 ImageNet file.
"""

from nlkeras.config import default_config


def get_config(arg=None):
    config = default_config()
    config.model.arch = "c2d"
    config.data.num_frames = 8
    config.data.sample_rate = 8
    config.paper.update(
        script="run_c2d_baseline_400k.sh",
        model_file="c2d_baseline_8x8_IN_pretrain_400k",
        top1=71.9,
        top5=90.0,
    )
    return config

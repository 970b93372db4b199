r"""I3D ResNet-50 baseline, 8x8 frames, 4 GPUs, 300k iterations, less regularisation.

The original's `scripts/run_i3d_baseline_300k_4gpu.sh` ("half iterations and
less regularization", under 3 days on 4 GTX 1080): `i3d_8f_300k` at global
batch 32 (4 x 8), LR 0.005, no dropout and no scale jitter (short side 256).
Expected: 72.0 top-1 / 90.1 top-5.

    python -m nlkeras.train --recipe i3d_8f_300k_4gpu --workdir runs/i3d_8f_300k_4gpu \
        --config.data.train_files='kinetics/train-*' \
        --config.train.init_weights=pretrained/r50_pretrain_c2_model_iter450450_clean.pkl
"""

from recipes import i3d_8f_300k


def get_config(arg=None):
    config = i3d_8f_300k.get_config(arg)
    config.model.dropout_rate = 0.0
    config.data.jitter_scales = (256, 256)
    config.train.update(batch_size=32, reference_batch_size=32, tuned_replicas=4)
    config.solver.base_lr = 0.005
    config.paper.update(
        script="run_i3d_baseline_300k_4gpu.sh",
        model_file="i3d_baseline_8x8_IN_pretrain_300k_4gpu",
        top1=72.0,
        top5=90.1,
    )
    return config

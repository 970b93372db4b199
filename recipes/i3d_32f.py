r"""I3D ResNet-50 baseline, 32 frames x stride 2 (the paper's setting).

The original's `scripts/run_i3d_baseline_400k_32f.sh`: `i3d_8f` on the
paper's model file (`resnet_video_org`, conv1 and pool1 stride 2 in time).
Expected: 73.6 top-1 / 90.8 top-5 (paper: 73.3). Its final checkpoint,
folded to frozen BN, starts `i3d_affine_128f` and `i3d_nl_affine_128f`.

    python -m nlkeras.train --recipe i3d_32f --workdir runs/i3d_32f \
        --config.data.train_files='kinetics/train-*' \
        --config.train.init_weights=pretrained/r50_pretrain_c2_model_iter450450_clean.pkl
"""

from recipes import i3d_8f


def get_config(arg=None):
    config = i3d_8f.get_config(arg)
    config.model.variant = "resnet_video_org"
    config.data.num_frames = 32
    config.data.sample_rate = 2
    config.paper.update(
        script="run_i3d_baseline_400k_32f.sh",
        model_file="i3d_baseline_32x2_IN_pretrain_400k",
        top1=73.6,
        top5=90.8,
    )
    return config

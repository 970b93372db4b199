r"""I3D ResNet-50 with frozen BN, 128 frames x stride 1 (the paper's long clips).

The original's `scripts/run_i3d_baseline_affine_400k_128f.sh`:
`i3d_affine_32f` on the paper's model file (`resnet_video_org`), 128
consecutive frames, initialised from the folded `i3d_32f` baseline.
Expected: 75.2 top-1 / 92.0 top-5 (paper: 74.9).

    python -m nlkeras.train --recipe i3d_affine_128f --workdir runs/i3d_affine_128f \
        --config.data.train_files='kinetics/train-*' \
        --config.train.init_weights=runs/i3d_32f/affine_model_400k.pkl
"""

from recipes import i3d_affine_32f


def get_config(arg=None):
    config = i3d_affine_32f.get_config(arg)
    config.model.variant = "resnet_video_org"
    config.data.num_frames = 128
    config.data.sample_rate = 1
    config.train.init_from = "affine_model_400k.pkl: i3d_32f's BN folded (tools.bn_to_affine)"
    # A 128x256x256 view holds about 0.4 GiB of activations: 2 clips' 3 crops a call.
    config.test.views_per_batch = 6
    config.paper.update(
        script="run_i3d_baseline_affine_400k_128f.sh",
        model_file="i3d_baseline_128x1_I3D_pretrain_400k",
        top1=75.2,
        top5=92.0,
    )
    return config

r"""I3D ResNet-50 with frozen BN, 32 frames x stride 4 (long clips).

The original's `scripts/run_i3d_baseline_affine_400k.sh`, stage 2 of a
two-stage chain: (1) train `i3d_8f`; (2) fold its BN into fixed affine maps
(`python -m tools.bn_to_affine`); (3) train this recipe from that file.
Every trunk BN is a frozen `Affine`, so there is no precise BN. Global batch
16 (8 GPUs x 2 clips), LR 0.0025 (divided by 10 at 150k and 300k), 400k
iterations. Expected: 75.5 top-1 / 92.0 top-5 (30-view test).

    python -m nlkeras.train --recipe i3d_affine_32f --workdir runs/i3d_affine_32f \
        --config.data.train_files='kinetics/train-*' \
        --config.train.init_weights=runs/i3d_8f/affine_model_400k.pkl
"""

from recipes import i3d_8f


def get_config(arg=None):
    config = i3d_8f.get_config(arg)
    config.model.frozen_bn = True
    config.data.num_frames = 32
    config.data.sample_rate = 4
    # No BN in the non-local blocks: the output conv starts at zero instead,
    # and res3's blocks attend within groups of 4 frames (memory).
    config.non_local.update(use_bn=False, zero_init_output=True, res3_group_size=4)
    config.train.update(
        batch_size=16,
        reference_batch_size=16,
        tuned_replicas=8,
        precise_bn=False,
        init_from="affine_model_400k.pkl: i3d_8f's BN folded (tools.bn_to_affine)",
    )
    config.solver.base_lr = 0.0025
    config.paper.update(
        script="run_i3d_baseline_affine_400k.sh",
        model_file="i3d_baseline_32x4_I3D_pretrain_400k",
        top1=75.5,
        top5=92.0,
    )
    return config

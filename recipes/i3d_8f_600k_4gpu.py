r"""I3D ResNet-50 baseline, 8x8 frames, 4 GPUs, 600k iterations.

The original's `scripts/run_i3d_baseline_600k_4gpu.sh`: `i3d_8f` at global
batch 32 (4 x 8) and LR 0.005 for twice the iterations (LR divided by 10 at
300k and 500k). Expected: 73.0 top-1 / 90.4 top-5.

    python -m nlkeras.train --recipe i3d_8f_600k_4gpu --workdir runs/i3d_8f_600k_4gpu \
        --config.data.train_files='kinetics/train-*' \
        --config.train.init_weights=pretrained/r50_pretrain_c2_model_iter450450_clean.pkl
"""

from recipes import i3d_8f


def get_config(arg=None):
    config = i3d_8f.get_config(arg)
    config.train.update(batch_size=32, reference_batch_size=32, tuned_replicas=4)
    config.solver.update(base_lr=0.005, step_sizes=(300000, 200000, 100000), max_iter=600000)
    config.paper.update(
        script="run_i3d_baseline_600k_4gpu.sh",
        model_file="i3d_baseline_8x8_IN_pretrain_600k_4gpu",
        top1=73.0,
        top5=90.4,
    )
    return config

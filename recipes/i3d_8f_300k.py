r"""I3D ResNet-50 baseline, 8x8 frames, shorter schedule (300k iterations).

The original's `scripts/run_i3d_baseline_300k.sh`: `i3d_8f` with the LR
divided by 10 at 150k and 250k and training stopped at 300k.
Expected: 73.2 top-1 / 90.8 top-5 (its log says 71.89, issue #10).

    python -m nlkeras.train --recipe i3d_8f_300k --workdir runs/i3d_8f_300k \
        --config.data.train_files='kinetics/train-*' \
        --config.train.init_weights=pretrained/r50_pretrain_c2_model_iter450450_clean.pkl
"""

from recipes import i3d_8f


def get_config(arg=None):
    config = i3d_8f.get_config(arg)
    config.solver.update(step_sizes=(150000, 100000, 50000), max_iter=300000)
    config.paper.update(
        script="run_i3d_baseline_300k.sh",
        model_file="i3d_baseline_8x8_IN_pretrain_300k",
        top1=73.2,
        top5=90.8,
    )
    return config

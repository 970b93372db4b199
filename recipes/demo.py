r"""A small I3D with non-local blocks, sized to train on a laptop CPU in minutes.

The same builder and rules as every recipe (I3D temporal kernels, non-local
blocks after res3 and res4 block 1, BN with gamma 0 at the non-local output),
shrunk: stages of (1, 2, 2, 1) blocks, base width 8 instead of 64, 8-frame
clips of 64x64 crops. It trains from scratch on the synthetic video dataset
the project generates itself, whose classes differ only by temporal order,
so a model that learns them has used time. Measured on a 2-core CPU: 7 minutes in all
(data 33 s, 2000 iterations 313 s), 97.5-100% video-level top-1 on the 80 test videos (30
views each); the C2D variant (`--config.model.arch=c2d`), blind to frame order, 46.2%.

    python -m tools.make_synthetic --out data/synthetic
    python -m tools.model_info --recipe demo
    python -m tools.benchmark data --recipe demo --data 'data/synthetic/train-*'
    python -m nlkeras.train --recipe demo --workdir runs/demo
"""

from recipes import i3d_nl_8f


def get_config(arg=None):
    config = i3d_nl_8f.get_config(arg)
    config.model.update(stage_blocks=(1, 2, 2, 1), width=8, num_classes=8, dropout_rate=0.2)
    config.data.update(
        train_files="data/synthetic/train-*",  # python -m tools.make_synthetic
        val_files="data/synthetic/test-*",
        test_files="data/synthetic/test-*",
        num_frames=8,
        sample_rate=2,
        crop_size=64,
        jitter_scales=(64, 80),
        # A horizontal flip turns "move left" into "move right" and clockwise into
        # counter-clockwise: here it would swap classes, so the demo does not flip.
        flip_prob=0.0,
        shuffle_buffer=256,
        synthetic_dir="data/synthetic",
    )
    config.train.update(
        batch_size=16,
        reference_batch_size=16,
        tuned_replicas=1,
        eval_period=500,
        precise_bn_iters=20,
        init_from="scratch",
    )
    config.test.update(views_per_batch=16, scale=64)
    config.solver.update(base_lr=0.1, step_sizes=(1600, 400), max_iter=2000)
    config.checkpoint.period = 500
    config.paper.update(script="", model_file="", top1=0.0, top5=0.0)
    return config

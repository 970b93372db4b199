r"""Fine-tunes a recipe's model on your own classes: `--recipe finetune:BASE`.

The base recipe's model and data settings, with:

- `model.num_classes` 0: the class count of the training split, read from its
  builder summary (`nlkeras.config.resolve_num_classes`);
- `train.reinit_classifier`: every weight of `train.init_weights` (an original
  `.pkl` or nlkeras weights of the base recipe) but the classifier `pred`,
  which starts afresh, as the original's modify_blob_rm.py drops it;
- a fine-tuning schedule: half the base LR, as MMAction2's fine-tuning guide
  (0.01 -> 0.005; modify_blob_rm.py keeps the Kinetics 0.01, GluonCV's
  finetune_custom.py uses a tenth, 0.001), and a quarter of the base's
  iterations with its LR steps at the same relative points. Iterations are a
  guess that cannot know your data: MMAction2 trains 50 epochs of the new
  dataset, that is `50 * videos / train.batch_size` iterations
  (`--config.solver.max_iter`, `--config.solver.step_sizes`).

It refuses to start without `train.init_weights`; the from-scratch baseline a
fine-tuning run should beat is `--config.train.init_from=scratch`.

    python -m tools.build_tfrecords --videos my_videos/train --split train --out data/mine
    python -m tools.build_tfrecords --videos my_videos/test --split test --out data/mine
    python -m nlkeras.train --recipe finetune:i3d_nl_8f --workdir runs/mine \
        --config.train.init_weights=i3d_nonlocal_8x8_IN_pretrain_400k.pkl \
        --config.data.train_files='data/mine/train-*' --config.data.val_files='data/mine/test-*' \
        --config.data.test_files='data/mine/test-*'

`finetune:demo` reads the synthetic set's four novel classes, which the demo
never sees, generated in `data/synthetic_novel` when missing:

    python -m nlkeras.train --recipe demo --workdir runs/demo
    python -m nlkeras.train --recipe finetune:demo --workdir runs/finetune_demo \
        --config.train.init_weights=runs/demo/final.weights.h5
    python -m nlkeras.train --recipe finetune:demo --workdir runs/scratch_novel \
        --config.train.init_from=scratch
"""

import importlib

from nlkeras import cli


def get_config(arg=None):
    bases = [name for name in cli.recipe_names() if name != "finetune"]
    if arg not in bases:
        raise ValueError(
            f"finetune needs a base recipe, --recipe finetune:BASE, got {arg!r}. "
            f"Bases: {', '.join(bases)}"
        )
    config = importlib.import_module(f"recipes.{arg}").get_config()
    config.model.num_classes = 0
    config.train.update(init_from="finetune", reinit_classifier=True)
    s = config.solver
    step_sizes = tuple(max(1, round(step / 4)) for step in s.step_sizes)
    s.update(base_lr=s.base_lr / 2, step_sizes=step_sizes, max_iter=sum(step_sizes))
    config.paper.update(top1=0.0, top5=0.0)  # the base's Kinetics result, not this run's
    if arg == "demo":
        config.data.update(
            train_files="data/synthetic_novel/train-*",
            val_files="data/synthetic_novel/test-*",
            test_files="data/synthetic_novel/test-*",
            synthetic_dir="data/synthetic_novel",
            synthetic_classes="novel",
        )
    return config

r"""Prepares a Kinetics checkpoint for fine-tuning on another dataset (modify_blob_rm.py).

    python -m tools.prepare_finetune i3d_nonlocal_8x8_IN_pretrain_400k.pkl finetune_init.pkl
    python -m tools.prepare_finetune --recipe i3d_nl_8f final.weights.h5 finetune_init.pkl

Drops the iteration, momentum, BN running statistics and the classifier `pred` (a `.pkl` gets
`model_iter` 0 and modify_blob_rm.py's `lr`, 0.01). nlkeras weights (`.weights.h5`) are read
and written with the recipe's model.
"""

import sys

from nlkeras import cli
from nlkeras import config as config_lib
from nlkeras.models import build_classifier
from nlkeras.weights import caffe2, surgery

_CONFIG = cli.define_config_flag()


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: python -m tools.prepare_finetune [--recipe NAME] IN OUT")
    model = None
    if _CONFIG.value is not None:
        config = config_lib.validate(_CONFIG.value)
        model = build_classifier(**config_lib.model_kwargs(config))
    try:
        blobs = surgery.prepare_finetune(caffe2.read_blobs(argv[1], model))
        if model is not None:
            model = build_classifier(**config_lib.model_kwargs(config))  # fresh pred and BN stats
        caffe2.write_blobs(blobs, argv[2], model, lr=surgery.FINETUNE_LR)
    except ValueError as error:
        sys.exit(f"error: {error}")
    print(f"{argv[2]}: {len(blobs)} blobs kept for fine-tuning")


if __name__ == "__main__":
    cli.run(main, recipe_required=False)

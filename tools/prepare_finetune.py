r"""Prepares a Kinetics checkpoint for fine-tuning on another dataset (modify_blob_rm.py).

    python -m tools.prepare_finetune i3d_nonlocal_8x8_IN_pretrain_400k.pkl finetune_init.pkl
    python -m tools.prepare_finetune --recipe i3d_nl_8f final.weights.h5 finetune_init.pkl

Drops the iteration, momentum, BN running statistics and the classifier `pred` (a `.pkl` gets
`model_iter` 0 and modify_blob_rm.py's `lr`, 0.01). nlkeras weights (`.weights.h5`) are read
and written with the recipe's model.
"""

import sys

from nlkeras import cli

_CONFIG = cli.define_config_flag()


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: python -m tools.prepare_finetune [--recipe NAME] IN OUT")
    from nlkeras import config as config_lib
    from nlkeras.weights.conversions import prepare_finetune

    config = _CONFIG.value
    model_kwargs = None if config is None else config_lib.model_kwargs(config_lib.validate(config))
    prepare_finetune(argv[1], argv[2], model_kwargs)


if __name__ == "__main__":
    cli.run(main, recipe_required=False)

r"""Folds a checkpoint's BN into frozen affine maps (the original's modify_caffe2_ftvideo.py).

    python -m tools.bn_to_affine c2_model_iter400000.pkl affine_model_400k.pkl
    python -m tools.bn_to_affine --recipe i3d_8f runs/i3d_8f/final.weights.h5 affine.weights.h5

The output starts the frozen-BN recipes (`i3d_affine_32f`, ...): `s / sqrt(var + 1e-5)`,
`b - mean * s / sqrt(var + 1e-5)`; `pred`, momentum and the iteration are dropped (a `.pkl`
gets `model_iter` 0 and the original script's `lr`, 0.00125). nlkeras weights (`.weights.h5`)
are read with the recipe's model and written for its frozen-BN twin.
"""

import sys

from nlkeras import cli

_CONFIG = cli.define_config_flag()


def main(argv):
    if len(argv) != 3:
        sys.exit(
            "usage: python -m tools.bn_to_affine [--recipe NAME] IN OUT  (.pkl or .weights.h5)"
        )
    from nlkeras import config as config_lib
    from nlkeras.weights.conversions import bn_to_affine

    config = _CONFIG.value
    model_kwargs = None if config is None else config_lib.model_kwargs(config_lib.validate(config))
    bn_to_affine(argv[1], argv[2], model_kwargs)


if __name__ == "__main__":
    cli.run(main, recipe_required=False)

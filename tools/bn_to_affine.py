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
from nlkeras import config as config_lib
from nlkeras.models import build_classifier
from nlkeras.weights import caffe2, surgery

_CONFIG = cli.define_config_flag()


def main(argv):
    if len(argv) != 3:
        sys.exit(
            "usage: python -m tools.bn_to_affine [--recipe NAME] IN OUT  (.pkl or .weights.h5)"
        )
    source = frozen = None
    if _CONFIG.value is not None:
        config = config_lib.validate(_CONFIG.value)
        source = build_classifier(**config_lib.model_kwargs(config))
        config.model.frozen_bn = True
        frozen = build_classifier(**config_lib.model_kwargs(config))
    try:
        blobs = surgery.bn_to_affine(caffe2.read_blobs(argv[1], source))
        report = caffe2.write_blobs(blobs, argv[2], frozen, lr=surgery.BN_TO_AFFINE_LR)
    except ValueError as error:
        sys.exit(f"error: {error}")
    print(f"{argv[2]}: {len(blobs)} blobs, BN folded into affine maps")
    for kind in ("missing", "unexpected"):
        for item in (report or {}).get(kind, []):
            print(f"  {kind}: {item}")


if __name__ == "__main__":
    cli.run(main, recipe_required=False)

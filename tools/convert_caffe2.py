r"""Converts between the original's checkpoints and nlkeras weights of a recipe's model.

    python -m tools.convert_caffe2 --recipe i3d_nl_8f i3d_nonlocal_8x8_IN_pretrain_400k.pkl \
        i3d_nl_8f.weights.h5 [--strict]
    python -m tools.convert_caffe2 --recipe i3d_nl_8f runs/i3d_nl_8f/final.weights.h5 out.pkl

`.pkl` -> nlkeras prints the report: blobs loaded, model weights without a
blob, unused blobs, skipped blobs (a classifier for another class count).
nlkeras -> `.pkl` writes the original's layout, for its tools, with `model_iter` 0 and the
recipe's base LR as `lr`.
"""

import sys

from absl import flags

from nlkeras import cli
from nlkeras import config as config_lib
from nlkeras.models import build_classifier
from nlkeras.weights import caffe2

_CONFIG = cli.define_config_flag()
_STRICT = flags.DEFINE_bool("strict", False, "Fail on any missing, unused or skipped blob.")


def main(argv):
    if len(argv) != 3:
        sys.exit(
            "usage: python -m tools.convert_caffe2 --recipe NAME IN OUT (.pkl <-> .weights.h5)"
        )
    config = config_lib.validate(_CONFIG.value)
    model = build_classifier(**config_lib.model_kwargs(config))
    if not argv[1].endswith(".pkl"):
        model.load_weights(argv[1])
        # A .weights.h5 has no iteration: a new run at the recipe's base LR.
        caffe2.save_pickle(caffe2.model_blobs(model), argv[2], lr=config.solver.base_lr)
        print(f"{argv[2]}: {len(model.weights)} weights written as Caffe2 blobs")
        return
    try:
        report = caffe2.load_blobs(model, caffe2.load_pickle(argv[1]), strict=_STRICT.value)
    except ValueError as error:
        sys.exit(f"error: {error}")
    model.save_weights(argv[2])
    print(f"{argv[2]}: {len(report['loaded'])} blobs loaded")
    for kind in ("missing", "unexpected", "skipped"):
        for item in report[kind]:
            print(f"  {kind}: {item}")


if __name__ == "__main__":
    cli.run(main)

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

_CONFIG = cli.define_config_flag()
_STRICT = flags.DEFINE_bool("strict", False, "Fail on any missing, unused or skipped blob.")


def main(argv):
    if len(argv) != 3:
        sys.exit(
            "usage: python -m tools.convert_caffe2 --recipe NAME IN OUT (.pkl <-> .weights.h5)"
        )
    from nlkeras import config as config_lib
    from nlkeras.weights.conversions import convert

    config = config_lib.validate(_CONFIG.value)
    convert(argv[1], argv[2], config_lib.model_kwargs(config), config.solver.base_lr, _STRICT.value)


if __name__ == "__main__":
    cli.run(main)

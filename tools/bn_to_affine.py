r"""Folds a checkpoint's BN into frozen affine maps (the original's modify_caffe2_ftvideo.py).

    python -m tools.bn_to_affine c2_model_iter400000.pkl affine_model_400k.pkl

The output starts the frozen-BN recipes (`i3d_affine_32f`, ...): `s / sqrt(var + 1e-5)`,
`b - mean * s / sqrt(var + 1e-5)`; `pred`, momentum and the iteration are dropped.
"""

import sys

from absl import app

from nlkeras.weights import caffe2, surgery


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: python -m tools.bn_to_affine IN.pkl OUT.pkl")
    blobs = surgery.bn_to_affine(caffe2.load_pickle(argv[1]))
    caffe2.save_pickle(blobs, argv[2])
    print(f"{argv[2]}: {len(blobs)} blobs, BN folded into affine maps")


if __name__ == "__main__":
    app.run(main)

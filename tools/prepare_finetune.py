r"""Prepares a Kinetics checkpoint for fine-tuning on another dataset (modify_blob_rm.py).

    python -m tools.prepare_finetune i3d_nonlocal_8x8_IN_pretrain_400k.pkl finetune_init.pkl

Drops the iteration, momentum, BN running statistics and the classifier `pred`.
"""

import sys

from absl import app

from nlkeras.weights import caffe2, surgery


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: python -m tools.prepare_finetune IN.pkl OUT.pkl")
    blobs = surgery.prepare_finetune(caffe2.load_pickle(argv[1]))
    caffe2.save_pickle(blobs, argv[2])
    print(f"{argv[2]}: {len(blobs)} blobs kept for fine-tuning")


if __name__ == "__main__":
    app.run(main)

"""The weight tools' runs: a file in, a file out, each printing what it did.

`.pkl` files are the original's blob dicts; nlkeras weights (`.weights.h5`)
are read and written through the recipe's model, built from
`model_kwargs` (None without a recipe: then only `.pkl` files). The commands
are `tools.convert_caffe2`, `tools.bn_to_affine` and `tools.prepare_finetune`.
"""

from nlkeras.models import build_classifier
from nlkeras.weights import caffe2, surgery


def _model(model_kwargs, **overrides):
    return None if model_kwargs is None else build_classifier(**{**model_kwargs, **overrides})


def _print_report(report):
    """One line per missing, unexpected and skipped blob of a `caffe2.load_blobs` report."""
    for kind in ("missing", "unexpected", "skipped"):
        for item in report[kind]:
            print(f"  {kind}: {item}")


def convert(source, target, model_kwargs, lr, strict=False):
    """An original `.pkl` -> nlkeras weights of the model, or nlkeras weights -> `.pkl`.

    A `.pkl` written gets `model_iter` 0 and `lr` (a `.weights.h5` has no
    iteration: a new run, at the recipe's base LR). With `strict`, a blob
    missing, unused or skipped is a `ValueError` naming it.
    """
    model = _model(model_kwargs)
    if not source.endswith(".pkl"):
        model.load_weights(source)
        caffe2.save_pickle(caffe2.model_blobs(model), target, lr=lr)
        print(f"{target}: {len(model.weights)} weights written as Caffe2 blobs")
        return
    report = caffe2.load_blobs(model, caffe2.load_pickle(source), strict=strict)
    model.save_weights(target)
    print(f"{target}: {len(report['loaded'])} blobs loaded")
    _print_report(report)


def bn_to_affine(source, target, model_kwargs=None):
    """`source` with BN folded into affine maps (`surgery.bn_to_affine`), as `target`.

    nlkeras weights are read with the recipe's model and written for its
    frozen-BN twin; a `.pkl` gets the original script's `lr`.
    """
    blobs = surgery.bn_to_affine(caffe2.read_blobs(source, _model(model_kwargs)))
    frozen = _model(model_kwargs, frozen_bn=True)
    report = caffe2.write_blobs(blobs, target, frozen, lr=surgery.BN_TO_AFFINE_LR)
    print(f"{target}: {len(blobs)} blobs, BN folded into affine maps")
    if report:
        _print_report(report)


def prepare_finetune(source, target, model_kwargs=None):
    """`source` without what fine-tuning starts anew (`surgery.prepare_finetune`), as `target`.

    nlkeras weights are written through a fresh model: a new `pred` and BN
    statistics; a `.pkl` gets modify_blob_rm.py's `lr`.
    """
    blobs = surgery.prepare_finetune(caffe2.read_blobs(source, _model(model_kwargs)))
    caffe2.write_blobs(blobs, target, _model(model_kwargs), lr=surgery.FINETUNE_LR)
    print(f"{target}: {len(blobs)} blobs kept for fine-tuning")

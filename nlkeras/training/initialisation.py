"""Starting a training run from pretrained weights (`config.train.init_weights`)."""

import logging

from nlkeras.weights.files import load_weights

# `train.init_from` values that are not themselves a file's name: the file they mean.
SOURCES = {
    "imagenet_r50": "the original's ImageNet ResNet-50, "
    "r50_pretrain_c2_model_iter450450_clean.pkl (its pretrained_model.tar.gz)",
    "finetune": "the base recipe's trained weights, a released .pkl or nlkeras .weights.h5",
}


def check_init(init_from, init_weights):
    """A recipe that starts from weights refuses to start without them.

    Every original script sets `TRAIN.PARAMS_FILE`; from MSRA initialisation
    a recipe would silently train something else (a frozen-BN one with no
    normalisation at all). `init_from="scratch"` trains from scratch on purpose.
    """
    if init_from != "scratch" and not init_weights:
        raise ValueError(
            f"This recipe starts from {SOURCES.get(init_from, init_from)} "
            f"(config.train.init_from={init_from!r}): pass it with "
            "--config.train.init_weights=FILE, or train from scratch on purpose with "
            "--config.train.init_from=scratch."
        )


def initialise(model, path, reinit_classifier=False):
    """Loads `path` into `model` to train from it; logs what did not load.

    The original's checkpoints and ImageNet files: 2D kernels are inflated, a
    classifier for another class count is skipped, fresh layers keep their
    init. With `reinit_classifier` (fine-tuning) the classifier `pred` keeps
    its fresh init even when the file's has the same shape: its classes are
    not the new data's (modify_blob_rm.py drops `pred` for the same reason).
    """
    pred = model.get_layer("pred")
    fresh = pred.get_weights()
    report = load_weights(model, path, strict=False) or {}
    for kind in ("missing", "unexpected", "skipped"):
        if report.get(kind):
            logging.info("Initialisation from %s, %s: %s", path, kind, report[kind])
    if reinit_classifier:
        pred.set_weights(fresh)
        logging.info("Initialised from %s, the classifier pred re-initialised", path)
    else:
        logging.info("Initialised from %s", path)

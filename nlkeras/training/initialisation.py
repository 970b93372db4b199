"""Starting a training run from pretrained weights (`config.train.init_weights`)."""

import logging

from nlkeras.weights.files import load_weights


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

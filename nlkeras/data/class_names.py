"""A model's class names by class id, for predictions and exported models."""

import logging
import os

from nlkeras.data import builder, sources

# The original's `classids.json`: the ids of its released Kinetics-400 models.
KINETICS_400 = os.path.join(os.path.dirname(__file__), "kinetics400_classids.json")


def class_names(num_classes, path=None, split_patterns=()):
    """Names by class id, from the first source that has them.

    `path` (a `classids.json` or a text file, one name per line), else the
    builder summaries of the first of `split_patterns` (TFRecord patterns of
    the recipe's splits) that has any, else Kinetics-400's names for a
    400-class model; a class still unnamed is `class_<id>`, with a warning.
    """
    if path:
        ids = sources.load_classes(path)
    else:
        ids = {}
        for summary in builder.first_summaries(split_patterns).values():
            ids.update(summary.class_ids)
        if not ids and num_classes == 400:
            ids = sources.load_classes(KINETICS_400)
    names = [f"class_{i}" for i in range(num_classes)]
    for name, i in ids.items():
        if not 0 <= i < num_classes:
            raise ValueError(f"Class {name!r} has id {i}, outside the model's {num_classes}.")
        names[i] = name
    unnamed = sum(name == f"class_{i}" for i, name in enumerate(names))
    if unnamed:
        logging.warning("%d of %d classes have no name (use --class_names).", unnamed, num_classes)
    return names

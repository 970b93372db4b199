"""The exported model's class names, by class id."""

import logging

from nlkeras.data import builder, pipelines, sources


def class_names(config, path=None):
    """Names by class id: from `path`, else the builder summary of the test split."""
    num_classes = config.model.num_classes
    if path:
        ids = sources.load_classes(path)
    else:
        try:
            files = pipelines.list_files(config.data.test_files)
        except ValueError:
            files = []
        ids = {}
        for summary in builder.summaries_of(files).values():
            ids.update(summary.get("class_ids", {}))
    names = [f"class_{i}" for i in range(num_classes)]
    for name, i in ids.items():
        if not 0 <= i < num_classes:
            raise ValueError(f"Class {name!r} has id {i}, outside the model's {num_classes}.")
        names[i] = name
    unnamed = sum(name == f"class_{i}" for i, name in enumerate(names))
    if unnamed:
        logging.warning("%d of %d classes have no name (use --class_names).", unnamed, num_classes)
    return names

"""Where the exported model's class names come from: a classes file or the builder's summary."""

import json

import pytest

from export.class_names import class_names
from nlkeras import cli


def demo_config(test_files, num_classes=4):
    config = cli.load_recipe("demo")
    config.data.test_files = test_files
    config.model.num_classes = num_classes
    return config


def test_from_the_test_split_builder_summary(tmp_path):
    (tmp_path / "test-00000-of-00001.tfrecord").write_bytes(b"")
    summary = {"class_ids": {"push": 0, "spin left": 2, "pull": 1}}
    (tmp_path / "test.summary.json").write_text(json.dumps(summary))
    names = class_names(demo_config(str(tmp_path / "test-*")))
    assert names == ["push", "pull", "spin left", "class_3"]  # id 3 has no video: unnamed


def test_from_a_classes_file_first(tmp_path):
    (tmp_path / "classids.json").write_text(json.dumps({'"a b"': 1, "c": 0, "d": 2, "e": 3}))
    assert class_names(demo_config("nothing-*"), str(tmp_path / "classids.json")) == [
        "c", "a b", "d", "e",
    ]  # fmt: skip


def test_an_id_outside_the_model_is_an_error(tmp_path):
    (tmp_path / "classes.txt").write_text("a\nb\nc\nd\ne\n")
    with pytest.raises(ValueError, match="'e' has id 4, outside the model's 4"):
        class_names(demo_config("nothing-*"), str(tmp_path / "classes.txt"))

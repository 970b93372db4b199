"""Where a model's class names come from: a classes file, a split's builder summary, Kinetics."""

import json

import pytest

from nlkeras.data.class_names import class_names


def test_from_the_first_split_with_a_builder_summary(tmp_path):
    (tmp_path / "test-00000-of-00001.tfrecord").write_bytes(b"")
    summary = {"class_ids": {"push": 0, "spin left": 2, "pull": 1}}
    (tmp_path / "test.summary.json").write_text(json.dumps(summary))
    names = class_names(4, split_patterns=("nothing-*", str(tmp_path / "test-*")))
    assert names == ["push", "pull", "spin left", "class_3"]  # id 3 has no video: unnamed


def test_from_a_classes_file_first(tmp_path):
    (tmp_path / "classids.json").write_text(json.dumps({'"a b"': 1, "c": 0, "d": 2, "e": 3}))
    assert class_names(4, str(tmp_path / "classids.json"), ("nothing-*",)) == [
        "c", "a b", "d", "e",
    ]  # fmt: skip


def test_an_id_outside_the_model_is_an_error(tmp_path):
    (tmp_path / "classes.txt").write_text("a\nb\nc\nd\ne\n")
    with pytest.raises(ValueError, match="'e' has id 4, outside the model's 4"):
        class_names(4, str(tmp_path / "classes.txt"))


def test_a_400_class_model_without_names_gets_the_original_kinetics_ids():
    names = class_names(400, split_patterns=("nothing-*",))
    assert len(set(names)) == 400 and not any(n.startswith("class_") for n in names)
    # The original's classids.json: ids in alphabetical order, quotes stripped.
    assert names[0] == "abseiling" and names[-1] == "zumba"
    assert names == sorted(names)
    assert names[290] == "sharpening knives"

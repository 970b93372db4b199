"""Where videos come from: class folders, list files, the Kinetics CSV, class ids."""

import json

import pytest

from nlkeras.data import sources


def test_class_folders_sorted_ids(video_folder):
    entries = sources.from_class_folders(str(video_folder))
    assert [(e.label_text, e.label, e.video_id) for e in entries] == [
        ("ant", 0, "ant0"), ("ant", 0, "ant1"), ("bee", 1, "bee0"), ("bee", 1, "bee1"),
        ("cat", 2, "cat0"), ("cat", 2, "cat1"),
    ]  # fmt: skip


def test_classes_file_overrides_sorted_order(video_folder, tmp_path):
    names = tmp_path / "classes.txt"
    names.write_text("cat\nbee\nant\n")
    entries = sources.from_class_folders(str(video_folder), sources.load_classes(str(names)))
    assert {e.label_text: e.label for e in entries} == {"cat": 0, "bee": 1, "ant": 2}


def test_classids_json_with_quoted_multiword_names(tmp_path):
    """The original's classids.json stores "air drumming" with literal quotes."""
    path = tmp_path / "classids.json"
    path.write_text(json.dumps({'"air drumming"': 1, "abseiling": 0}))
    assert sources.load_classes(str(path)) == {"air drumming": 1, "abseiling": 0}


def test_unknown_class_is_an_error(video_folder, tmp_path):
    names = tmp_path / "classes.txt"
    names.write_text("ant\nbee\n")
    with pytest.raises(ValueError, match="cat"):
        sources.from_class_folders(str(video_folder), sources.load_classes(str(names)))


def test_list_file(tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text("/data/val_256/air_drumming/abc.mp4 1\nrel/x/def.mp4 0,5\n\n")
    entries = sources.from_list_file(str(listing), root="/root", classes={"zero": 0, "one": 1})
    assert entries == [
        sources.VideoEntry("/data/val_256/air_drumming/abc.mp4", 1, "one", "abc"),
        sources.VideoEntry("/root/rel/x/def.mp4", 0, "zero", "def"),
    ]
    assert sources.from_list_file(str(listing))[0].label_text == "air_drumming"


def test_bad_list_line_names_the_line(tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text("a.mp4 1\njust-a-path.mp4\n")
    with pytest.raises(ValueError, match=r"list\.txt:2"):
        sources.from_list_file(str(listing))


def test_kinetics_csv(tmp_path):
    csv = tmp_path / "val.csv"
    csv.write_text(
        "label,youtube_id,time_start,time_end,split\n"
        "tai chi,aaa,10,20,val\nabseiling,bbb,0,10,val\nabseiling,ccc,5,15,val\n"
    )
    (tmp_path / "v" / "tai chi").mkdir(parents=True)
    (tmp_path / "v" / "tai chi" / "aaa_000010_000020.mp4").write_bytes(b"x")
    (tmp_path / "v" / "bbb.mkv").write_bytes(b"x")
    entries = sources.from_kinetics_csv(str(csv), str(tmp_path / "v"))
    assert [(e.label, e.label_text, e.video_id) for e in entries] == [
        (1, "tai chi", "aaa_000010_000020"), (0, "abseiling", "bbb_000000_000010"),
        (0, "abseiling", "ccc_000005_000015"),
    ]  # fmt: skip
    assert entries[0].path.endswith("tai chi/aaa_000010_000020.mp4")
    assert entries[1].path.endswith("bbb.mkv")
    assert entries[2].path.endswith("ccc_000005_000015")  # missing: the builder reports it


def test_kinetics_csv_wrong_columns(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("name,id\nx,y\n")
    with pytest.raises(ValueError, match="label,youtube_id"):
        sources.from_kinetics_csv(str(csv), str(tmp_path))

"""Where the videos of a split come from: class folders, list files, Kinetics CSVs.

Each reader returns `VideoEntry`s in a fixed order; the builder turns them
into TFRecords. Class ids come from a classes file or from the sorted class
names, which for Kinetics-400 is the original's `classids.json` order.
"""

import csv
import dataclasses
import json
import os


@dataclasses.dataclass(frozen=True)
class VideoEntry:
    path: str
    label: int
    label_text: str
    video_id: str


def load_classes(path):
    """Class name -> id from a JSON mapping (`classids.json`) or a text file, one name per line."""
    with open(path) as f:
        text = f.read()
    if path.endswith(".json"):
        # The original's classids.json stores multi-word names with literal quotes.
        return {name.strip('"'): int(i) for name, i in json.loads(text).items()}
    names = [line.strip() for line in text.splitlines() if line.strip()]
    return {name: i for i, name in enumerate(names)}


def _class_ids(names, classes):
    if classes is None:
        return {name: i for i, name in enumerate(sorted(set(names)))}
    missing = sorted(set(names) - set(classes))
    if missing:
        raise ValueError(f"Classes not in the classes file: {', '.join(missing[:10])}")
    return classes


def from_class_folders(root, classes=None):
    """Every file under `root/<class name>/`, classes by sorted name unless given."""
    names = sorted(d.name for d in os.scandir(root) if d.is_dir() and not d.name.startswith("."))
    if not names:
        raise ValueError(f"No class folders in {root}")
    ids = _class_ids(names, classes)
    entries = []
    for name in names:
        for file in sorted(os.listdir(os.path.join(root, name))):
            if not file.startswith("."):
                path = os.path.join(root, name, file)
                entries.append(VideoEntry(path, ids[name], name, os.path.splitext(file)[0]))
    return entries


def from_list_file(list_file, root="", classes=None):
    """The original's list format: `path label` per line (label: first of a comma list)."""
    names = {i: name for name, i in (classes or {}).items()}
    entries = []
    with open(list_file) as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            path, _, label = line.strip().rpartition(" ")
            if not path or not label.split(",")[0].lstrip("-").isdigit():
                raise ValueError(
                    f"{list_file}:{number}: expected 'path label', got {line.strip()!r}"
                )
            label = int(label.split(",")[0])
            text = names.get(label, os.path.basename(os.path.dirname(path)))
            video_id = os.path.splitext(os.path.basename(path))[0]
            entries.append(VideoEntry(os.path.join(root, path), label, text, video_id))
    return entries


def from_kinetics_csv(csv_file, video_dir, classes=None):
    """The official Kinetics CSV (`label,youtube_id,time_start,time_end,split`).

    A row's video is found under `video_dir` by the crawler's file name
    `<youtube_id>_<start:06d>_<end:06d>.<ext>` or by the bare YouTube id, in any
    sub-folder. Rows whose file is absent are kept: the builder reports them
    as missing.
    """
    by_stem = {}
    for folder, _, files in os.walk(video_dir):
        for file in files:
            by_stem.setdefault(os.path.splitext(file)[0], os.path.join(folder, file))
    with open(csv_file, newline="") as f:
        rows = list(csv.DictReader(f))
    if rows and not {"label", "youtube_id", "time_start", "time_end"} <= set(rows[0]):
        raise ValueError(f"{csv_file}: expected columns label,youtube_id,time_start,time_end,split")
    ids = _class_ids([row["label"] for row in rows], classes)
    entries = []
    for row in rows:
        stem = f"{row['youtube_id']}_{int(row['time_start']):06d}_{int(row['time_end']):06d}"
        path = by_stem.get(stem) or by_stem.get(row["youtube_id"]) or os.path.join(video_dir, stem)
        entries.append(VideoEntry(path, ids[row["label"]], row["label"], stem))
    return entries


VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
LIST_EXTENSIONS = (".txt", ".lst", ".list")


def video_files(paths):
    """The videos `paths` name, in order: files as given, folders walked, list files read.

    A folder gives its files with a video extension (`VIDEO_EXTENSIONS`,
    sub-folders included, sorted); a `.txt` / `.lst` / `.list` file gives
    one video per line, relative to the list's folder (a trailing integer
    label, the original's `path label` format, is dropped). Anything else is
    passed on as it is, so that a missing file is reported with the others.
    """
    found = []
    for path in paths:
        if os.path.isdir(path):
            for folder, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(
                    os.path.join(folder, f)
                    for f in sorted(files)
                    if f.lower().endswith(VIDEO_EXTENSIONS) and not f.startswith(".")
                )
        elif path.lower().endswith(LIST_EXTENSIONS) and os.path.isfile(path):
            with open(path) as f:
                for line in f:
                    line = line.strip()
                    head, _, label = line.rpartition(" ")
                    video = head.strip() if head and label.lstrip("-").isdigit() else line
                    if video and not video.startswith("#"):
                        found.append(os.path.join(os.path.dirname(path), video))
        else:
            found.append(path)
    return found

"""Every "§N" or "§N.M" in the repository names a section of docs/original-semantics.md.

Code, tests and the README cite the original's behaviour by section ("§4.4 of
docs/original-semantics.md"). These checks read the files as text (no
TensorFlow), so a renumbered section or a mistyped citation fails here.
"""

import os
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOC_PATH = "docs/original-semantics.md"
DOC = ROOT / DOC_PATH
# Top-level folders of datasets and run outputs, not the project's text.
SKIPPED_TOP_DIRS = {"data", "runs"}

HEADING = re.compile(r"^#{2,3} (\d+(?:\.\d+)?)[. ]", re.MULTILINE)
CITATION = re.compile(r"§(\d+(?:\.\d+)?)")
ITEM_CITATION = re.compile(r"§8 item (\d+)")
NUMBERED_ITEM = re.compile(r"^(\d+)\. ", re.MULTILINE)


def _text_files():
    for folder, dirs, files in os.walk(ROOT):
        top = pathlib.Path(folder) == ROOT
        dirs[:] = sorted(
            d for d in dirs if not d.startswith((".", "__")) and not (top and d in SKIPPED_TOP_DIRS)
        )
        for name in sorted(files):
            if name.endswith((".py", ".md")):
                yield pathlib.Path(folder, name)


def _citations():
    """(file, line number, section) for every § citation outside the document's headings."""
    found = []
    for path in _text_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if path == DOC and HEADING.match(line):
                continue
            found.extend((path, number, match) for match in CITATION.findall(line))
    return found


def _sections():
    return HEADING.findall(DOC.read_text(encoding="utf-8"))


def _where(path, number):
    return f"{path.relative_to(ROOT)}:{number}"


def test_document_exists_with_numbered_sections():
    sections = _sections()
    assert len(sections) == len(set(sections)), f"Repeated section numbers: {sections}"
    for major in range(1, 10):
        assert str(major) in sections, f"Section {major} is missing. Received: {sections}"


def test_cited_sections_exist():
    sections = set(_sections())
    citations = _citations()
    assert citations, "No § citation found: the scan missed the repository's files."
    missing = [f"{_where(path, n)} §{s}" for path, n, s in citations if s not in sections]
    assert not missing, f"Cited sections absent from {DOC_PATH}: {missing}"


def test_cited_items_of_section_8_exist():
    text = DOC.read_text(encoding="utf-8")
    section_8 = text.split("\n## 8. ", 1)[1].split("\n## 9. ", 1)[0]
    items = set(NUMBERED_ITEM.findall(section_8))
    missing = []
    for path in _text_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            missing.extend(
                f"{_where(path, number)} item {item}"
                for item in ITEM_CITATION.findall(line)
                if item not in items
            )
    assert not missing, f"Cited items absent from §8 of {DOC_PATH}: {missing}"


def test_citing_files_name_the_document():
    citing = {path for path, _, _ in _citations() if path != DOC}
    unnamed = sorted(
        str(path.relative_to(ROOT))
        for path in citing
        if DOC_PATH not in path.read_text(encoding="utf-8")
    )
    assert not unnamed, f"Files citing § without naming {DOC_PATH}: {unnamed}"


def test_document_is_named_by_its_path():
    bare = []
    for path in _text_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in re.finditer(r"original-semantics\.md", line):
                if not line[: match.start()].endswith("docs/"):
                    bare.append(_where(path, number))
    assert not bare, f"The document named without its folder (write {DOC_PATH}): {bare}"

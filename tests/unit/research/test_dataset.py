"""Reading folder-per-class data sets for `tagger eval`."""

from __future__ import annotations

import pytest

from tagger.research.evaluate import DatasetError, read_dataset


def _tree(tmp_path):
    for folder, files in {"Faces": ["a.jpg", "b.jpg"], "Faces_easy": ["c.jpg"],
                          "sea_horse": ["d.png", "notes.txt"]}.items():
        (tmp_path / folder).mkdir()
        for f in files:
            (tmp_path / folder / f).write_bytes(b"x")
    return tmp_path


def test_default_labels_are_folder_names_with_spaces(tmp_path):
    ds = read_dataset(_tree(tmp_path))
    assert ds.files == ["Faces/a.jpg", "Faces/b.jpg", "Faces_easy/c.jpg", "sea_horse/d.png"]
    assert ds.labels == ["Faces", "Faces easy", "sea horse"]


def test_labels_file_merges_folders_into_distinct_label_texts(tmp_path):
    root = _tree(tmp_path)
    (root / "labels.tsv").write_text("folder\tlabel\nFaces\tface\nFaces_easy\tface\n")
    ds = read_dataset(root, root / "labels.tsv")
    assert ds.labels == ["face", "sea horse"]
    assert ds.truth().tolist() == [0, 0, 0, 1]


def test_images_list_restricts(tmp_path):
    root = _tree(tmp_path)
    (root / "list.txt").write_text("Faces/b.jpg\nsea_horse/d.png\n")
    ds = read_dataset(root, images_file=root / "list.txt")
    assert ds.files == ["Faces/b.jpg", "sea_horse/d.png"]


def test_labels_naming_missing_folders_fail_clearly(tmp_path):
    root = _tree(tmp_path)
    (root / "labels.tsv").write_text("Faces\tface\nokapi\tokapi\n")
    with pytest.raises(DatasetError, match="1 folder.*okapi"):
        read_dataset(root, root / "labels.tsv")


def test_malformed_labels_and_lists_fail_clearly(tmp_path):
    root = _tree(tmp_path)
    (root / "bad.tsv").write_text("Faces face\n")
    with pytest.raises(DatasetError, match="bad.tsv:1"):
        read_dataset(root, root / "bad.tsv")
    (root / "list.txt").write_text("nowhere/x.jpg\n")
    with pytest.raises(DatasetError, match="nowhere"):
        read_dataset(root, images_file=root / "list.txt")
    with pytest.raises(DatasetError, match="not a folder"):
        read_dataset(root / "missing")

"""checkout and status: link modes, the safe default, lost edits, stale files, the stat cache."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from loopml import data
from loopml.data import links
from loopml.errors import InvalidParameterError, InvalidStateError
from loopml.tracking.context import get_context
from tests.unit.data.versioning_support import age, write_files


def _two_versions(project: Path) -> tuple[data.DatasetVersion, data.DatasetVersion]:
    root = write_files(project / "ds", {"a.txt": "a1", "keep.txt": "k", "sub/old.txt": "o"})
    v1 = data.add("ds", message="one")
    (root / "a.txt").write_text("a2")
    (root / "sub" / "old.txt").unlink()
    (root / "sub" / "new.txt").write_text("n")
    age(root)
    v2 = data.add("ds", message="two")
    return v1, v2


def test_checkout_switches_a_tracked_folder_between_versions(project: Path) -> None:
    _two_versions(project)
    (project / "ds" / "untracked.txt").write_text("mine")
    report = data.checkout("ds@1")
    root = project / "ds"
    assert report.path == root and report.written == 2 and report.unchanged == 1
    assert report.removed == 1  # sub/new.txt belonged to v2 only
    assert (root / "a.txt").read_text() == "a1" and (root / "sub" / "old.txt").read_text() == "o"
    assert not (root / "sub" / "new.txt").exists()
    assert (root / "untracked.txt").read_text() == "mine"  # never tracked: kept
    status = data.status(["ds"])
    assert [p.clean for p in status.paths] == [False]
    assert status.paths[0].added == ["untracked.txt"]
    (root / "untracked.txt").unlink()
    assert data.status(["ds"]).clean
    assert data.checkout("ds@latest").written == 2
    assert (root / "a.txt").read_text() == "a2"


def test_checkout_into_a_new_folder_and_after_deleting_it(project: Path) -> None:
    _two_versions(project)
    report = data.checkout("ds@2", project / "work")
    assert report.written == 3 and sum(report.modes.values()) == 3
    assert set(report.modes) <= {"reflink", "copy"}  # the safe default
    shutil.rmtree(project / "work")
    assert data.checkout("ds@2", project / "work").written == 3
    assert data.checkout("ds@2", project / "work").written == 0  # all unchanged now
    assert (project / "work" / "sub" / "new.txt").read_text() == "n"


def test_single_file_dataset_lands_in_the_folder(project: Path) -> None:
    write_files(project, {"model.csv": "a,b\n1,2\n"})
    data.add("model.csv")
    report = data.checkout("model@1", project / "out")
    assert report.path == project / "out" / "model.csv"
    assert (project / "out" / "model.csv").read_text() == "a,b\n1,2\n"


def test_an_edit_after_checkout_never_changes_the_stored_object(project: Path) -> None:
    _two_versions(project)
    data.checkout("ds@2", project / "work")
    edited = project / "work" / "a.txt"
    edited.write_text("edited in place")
    objects = get_context().objects
    assert objects.verify_all() == []
    v2 = data.get_version("ds", 2)
    entry = objects.read_manifest(v2.manifest_hash).entries["a.txt"]
    assert objects.get_bytes(entry.hash) == b"a2"


def test_checkout_refuses_to_lose_an_edit_unless_forced(project: Path) -> None:
    _two_versions(project)
    (project / "ds" / "a.txt").write_text("precious edit")
    with pytest.raises(InvalidStateError, match=r"a\.txt"):
        data.checkout("ds@1")
    assert (project / "ds" / "a.txt").read_text() == "precious edit"
    data.checkout("ds@1", force=True)
    assert (project / "ds" / "a.txt").read_text() == "a1"


def test_hardlink_and_symlink_modes(project: Path) -> None:
    _two_versions(project)
    report = data.checkout("ds@2", project / "hard", link="hardlink")
    assert report.modes == {"hardlink": 3}
    assert (project / "hard" / "a.txt").stat().st_nlink >= 2
    report = data.checkout("ds@2", project / "soft", link="symlink,copy")
    assert report.modes == {"symlink": 3}
    assert (project / "soft" / "a.txt").is_symlink()
    assert (project / "soft" / "a.txt").read_text() == "a2"


def test_link_mode_configuration(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = get_context().settings
    assert links.link_modes(None, settings) == ("reflink", "copy")
    monkeypatch.setenv("LOOPML_DATA_LINK", "hardlink,copy")
    assert links.link_modes(None, settings) == ("hardlink", "copy")
    assert links.link_modes("copy", settings) == ("copy",)
    with pytest.raises(InvalidParameterError, match="unknown link mode 'softlink'"):
        links.link_modes("softlink", settings)


def test_status_sees_added_removed_modified_and_missing(project: Path) -> None:
    _two_versions(project)
    root = project / "ds"
    assert data.status().clean
    (root / "keep.txt").write_text("changed")
    (root / "a.txt").unlink()
    (root / "extra.txt").write_text("x")
    # A touched file with the same bytes is not a change.
    os.utime(root / "sub" / "new.txt")
    result = data.status().paths[0]
    assert (result.added, result.removed, result.modified) == (
        ["extra.txt"],
        ["a.txt"],
        ["keep.txt"],
    )
    shutil.rmtree(root)
    assert data.status().paths[0].missing


def test_status_after_checkout_reads_no_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _two_versions(project)
    data.checkout("ds@1", project / "fresh")

    def no_reads(path: object) -> str:
        raise AssertionError(f"{path} was read again")

    monkeypatch.setattr("loopml.data.hashing.hash_file", no_reads)
    assert data.status([project / "fresh"]).clean

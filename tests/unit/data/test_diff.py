"""diff: files by content hash; for tables rows, columns, types, and profile statistics."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from loopml import data
from tests.unit.data.versioning_support import age, write_files, write_table


def test_folder_diff_lists_added_removed_and_modified_files(project: Path) -> None:
    root = write_files(project / "d", {"a.txt": "1", "b.txt": "2", "c/d.txt": "3"})
    data.add("d")
    (root / "a.txt").write_text("changed")
    (root / "b.txt").unlink()
    (root / "e.txt").write_text("new")
    age(root)
    data.add("d")
    d = data.diff("d@1", "d@2")
    assert (d.added, d.removed, d.modified, d.unchanged) == (["e.txt"], ["b.txt"], ["a.txt"], 1)
    assert d.rows is None and not d.same_content
    assert data.diff("d@2", "data:/d/2").same_content


def test_table_diff_shows_rows_columns_types_and_profile_stats(project: Path) -> None:
    write_table(project / "t.parquet", rows=10)
    data.add("t.parquet")
    df = pd.DataFrame({"id": [str(i) for i in range(12)], "country": ["fr"] * 12})
    df.to_parquet(project / "t.parquet", index=False)
    age(project / "t.parquet")
    data.add("t.parquet")
    data.set_profile("t@1", {"columns": {"id": {"mean": 4.5, "missing": 0}}})
    data.set_profile("t@2", {"columns": [{"name": "id", "mean": 5.5, "missing": 0}]})
    d = data.diff("t@1", "t@latest")
    assert d.modified == ["t.parquet"]
    assert d.rows == (10, 12)
    assert (d.columns_added, d.columns_removed) == (["country"], ["amount"])
    assert [change[:2] for change in d.type_changes] == [("id", "int64")]  # to a string type
    assert d.stats == {"id": {"mean": (4.5, 5.5)}}
    body = d.to_dict()
    assert body["table"]["rows"] == [10, 12] and body["table"]["stats"]["id"]["mean"] == [4.5, 5.5]

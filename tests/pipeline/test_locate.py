"""``locate_run``: "latest" is the newest complete run; a run id, folder name or path names one run; anything
else is refused in one line naming what exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.pipeline import RunFolderError, locate_run, run_folders
from workbench.pipeline._folder import write_status


def _fake_run(root: Path, name: str, state: str, run_id: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    write_status(folder, state, run_id=run_id)
    return folder


def test_latest_is_the_newest_complete_run_and_ids_names_and_paths_resolve(tmp_path: Path) -> None:
    old = _fake_run(tmp_path, "demo-aaa111", "complete", "aaa111")
    new = _fake_run(tmp_path, "demo-bbb222", "complete", "bbb222")
    _fake_run(tmp_path, "demo-ccc333", "failed", "ccc333")
    (tmp_path / "not-a-run").mkdir()
    status = new / "status.json"
    status.write_text(status.read_text().replace('"updated_at": "', '"updated_at": "9'))  # newest by time
    assert run_folders(tmp_path) == [old, new, tmp_path / "demo-ccc333"]
    assert locate_run("latest", tmp_path) == new
    assert locate_run("aaa111", tmp_path) == old == locate_run("demo-aaa111", tmp_path)
    assert locate_run(str(old), tmp_path) == old.resolve()
    with pytest.raises(RunFolderError, match="no run 'zzz'"):
        locate_run("zzz", tmp_path)


def test_latest_without_a_complete_run_says_how_to_make_one(tmp_path: Path) -> None:
    _fake_run(tmp_path, "x-1", "failed", "1")
    with pytest.raises(RunFolderError, match="no complete run.*wb demo"):
        locate_run("latest", tmp_path)

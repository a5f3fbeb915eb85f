"""The dataset fingerprint is a content hash: equal to a direct hash of every table file's bytes, the same for a
byte-identical copy (new mtimes), different after any change, and cheap: with its manifest, files whose size and
mtime are unchanged are not read; a read-only folder still gets the right fingerprint."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from workbench.data import Dataset
from workbench.data import _fingerprint as fingerprint_module
from workbench.data._fingerprint import MANIFEST_FILE
from workbench.data.importers import import_actions
from workbench.data.synth import SynthConfig, build_synthetic_market

HOUR_NS = 3_600_000_000_000


@pytest.fixture(scope="module")
def source(lake_root: Path) -> Path:
    """A two-session synthetic dataset of 3 stocks and SPY (never modified: tests work on copies)."""
    return build_synthetic_market(SynthConfig(n_tickers=3, n_days=2, seed=5), "fingerprinted", progress=False)


@pytest.fixture()
def copy(source: Path, tmp_path: Path) -> Path:
    """A fresh copy of the dataset without a manifest, every file's mtime set to an hour ago."""
    folder = tmp_path / "copy"
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns(MANIFEST_FILE))
    _age(folder, HOUR_NS)
    return folder


def _age(folder: Path, by_ns: int) -> None:
    """Set the mtime of every file under ``folder`` to ``by_ns`` ago."""
    then = time.time_ns() - by_ns
    for path in folder.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(then, then))


def _table_files(folder: Path) -> list[Path]:
    files = [*folder.glob("bars/date=*/*.parquet"), *folder.glob("context/*.parquet"), folder / "tickers.parquet",
             folder / "corporate_actions.parquet"]
    return [f for f in files if f.exists()]


def _direct_fingerprint(folder: Path) -> str:
    """The definition: a hash of the sorted (relative path, SHA-256 of the bytes) pairs of the table files."""
    digest = hashlib.sha256()
    for relative, path in sorted((p.relative_to(folder).as_posix(), p) for p in _table_files(folder)):
        digest.update(f"{relative}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    return digest.hexdigest()[:16]


@pytest.fixture()
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files the fingerprint reads, in order (``file_sha256`` wrapped to record its calls)."""
    calls: list[Path] = []
    original = fingerprint_module.file_sha256

    def counting(path: Path) -> str:
        calls.append(path)
        return original(path)

    monkeypatch.setattr(fingerprint_module, "file_sha256", counting)
    return calls


def _flip_a_byte(path: Path) -> None:
    """Invert the byte after Parquet's leading magic (in the first page; the footer DuckDB reads stays intact)."""
    data = bytearray(path.read_bytes())
    data[4] ^= 0xFF
    path.write_bytes(bytes(data))


def test_the_fingerprint_hashes_the_contents_and_is_stable_across_reopens(source: Path, copy: Path) -> None:
    first = Dataset(copy).fingerprint
    assert len(first) == 16 and int(first, 16) >= 0
    assert first == _direct_fingerprint(copy) == Dataset(copy).fingerprint == Dataset(source).fingerprint
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    assert sorted(manifest["files"]) == sorted(p.relative_to(copy).as_posix() for p in _table_files(copy))
    assert len(_table_files(copy)) >= 6  # bars of 2 sessions, 3 context tables, tickers, corporate actions


def test_a_byte_identical_copy_with_new_mtimes_has_the_same_fingerprint(copy: Path, tmp_path: Path) -> None:
    before = Dataset(copy).fingerprint
    fresh = tmp_path / "fresh"
    shutil.copytree(copy, fresh, copy_function=shutil.copy)  # new mtimes; the manifest comes along, stale
    _age(fresh, HOUR_NS // 2)
    assert all(os.stat(fresh / p.relative_to(copy)).st_mtime_ns != p.stat().st_mtime_ns for p in _table_files(copy))
    assert Dataset(fresh).fingerprint == before
    kept = tmp_path / "kept"
    shutil.copytree(copy, kept, copy_function=shutil.copy2)  # mtimes kept: the manifest is reused as it is
    assert Dataset(kept).fingerprint == before


def test_changing_one_byte_of_a_bars_file_changes_it_and_restoring_it_restores_it(copy: Path) -> None:
    before = Dataset(copy).fingerprint
    bars = sorted(copy.glob("bars/date=*/*.parquet"))[0]
    size = bars.stat().st_size
    _flip_a_byte(bars)
    assert bars.stat().st_size == size
    changed = Dataset(copy).fingerprint
    assert changed != before and changed == _direct_fingerprint(copy)
    _flip_a_byte(bars)
    assert Dataset(copy).fingerprint == before


def test_recording_a_corporate_action_through_the_lake_changes_it(copy: Path, tmp_path: Path) -> None:
    before = Dataset(copy).fingerprint
    dataset = Dataset(copy)
    stock = str(dataset.tickers.loc[~dataset.tickers["is_index"], "ticker"].iloc[0])
    actions = tmp_path / "actions.csv"
    pd.DataFrame({"ticker": [stock], "ex_date": [str(dataset.dates[-1])], "cash_dividend": [0.01]}).to_csv(
        actions, index=False)
    report = import_actions(actions, str(copy))
    assert report.dividends_added == 1
    after = Dataset(copy).fingerprint
    assert after != before and after == _direct_fingerprint(copy)


def test_nothing_is_read_when_nothing_changed_and_a_touched_file_is_read_alone(copy: Path,
                                                                               hashed: list[Path]) -> None:
    before = Dataset(copy).fingerprint
    assert sorted(hashed) == sorted(_table_files(copy))
    hashed.clear()
    assert Dataset(copy).fingerprint == before and hashed == []
    touched = sorted(copy.glob("context/*.parquet"))[0]
    then = time.time_ns() - HOUR_NS // 2
    os.utime(touched, ns=(then, then))
    assert Dataset(copy).fingerprint == before and hashed == [touched]
    hashed.clear()
    assert Dataset(copy).fingerprint == before and hashed == []  # the manifest recorded the new mtime


def test_a_file_rewritten_within_the_timestamp_granularity_is_still_seen(copy: Path) -> None:
    """A same-size rewrite that keeps the mtime (as two writes in one filesystem tick do) right after hashing:
    the recorded hash of so fresh a file is not trusted, so the change shows."""
    bars = sorted(copy.glob("bars/date=*/*.parquet"))[-1]
    now = time.time_ns()
    os.utime(bars, ns=(now, now))
    before = Dataset(copy).fingerprint
    _flip_a_byte(bars)
    os.utime(bars, ns=(now, now))
    assert Dataset(copy).fingerprint != before


def test_a_read_only_folder_gets_the_right_fingerprint_without_a_manifest(copy: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _direct_fingerprint(copy)
    if os.geteuid() == 0:  # root ignores permission bits: refuse the temporary file as a read-only folder would

        def refuse(*args: object, **kwargs: object) -> None:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(fingerprint_module.tempfile, "mkstemp", refuse)
    mode = copy.stat().st_mode
    copy.chmod(0o555)
    try:
        assert Dataset(copy).fingerprint == expected
        assert Dataset(copy).fingerprint == expected
    finally:
        copy.chmod(mode)
    assert sorted(p.name for p in copy.iterdir() if p.name.startswith((MANIFEST_FILE, f".{MANIFEST_FILE}"))) == []


def test_deleting_a_file_changes_it_and_drops_it_from_the_manifest(copy: Path) -> None:
    before = Dataset(copy).fingerprint
    gone = copy / "context" / "vix.parquet"
    gone.unlink()
    after = Dataset(copy).fingerprint
    assert after != before and after == _direct_fingerprint(copy)
    assert "context/vix.parquet" not in json.loads((copy / MANIFEST_FILE).read_text())["files"]


def test_a_damaged_manifest_is_rebuilt_and_the_quarantine_does_not_count(copy: Path, hashed: list[Path]) -> None:
    before = Dataset(copy).fingerprint
    (copy / MANIFEST_FILE).write_text("{not json")
    (copy / "quarantine.parquet").write_bytes(b"refused rows")
    hashed.clear()
    assert Dataset(copy).fingerprint == before
    assert sorted(hashed) == sorted(_table_files(copy))
    assert json.loads((copy / MANIFEST_FILE).read_text())["version"] == fingerprint_module.MANIFEST_VERSION

"""A dataset's content fingerprint, kept cheap by a manifest of file hashes (``fingerprint.json``).

The fingerprint is a hash of the sorted (relative path, SHA-256 of the bytes) pairs of the dataset's table
files, so it depends on their content only: a byte-identical copy of the folder has the same fingerprint,
whatever its modification times. Hashing every file on every read would cost a full read of the lake, so the
manifest records, per file, the size, modification time (ns) and SHA-256 it had when hashed; a file whose size
and mtime still match reuses the recorded hash without being opened. A new or changed file is hashed (streamed)
and the manifest rewritten atomically; files that disappeared drop out. In a folder the process cannot write,
the fingerprint is computed all the same, only not recorded.

A file modified twice within the filesystem's timestamp granularity (a few ms on Linux) keeps its size and mtime,
which would hide the second write. As git does for its index ("racy git"), a recorded hash is only trusted when
the file's mtime is at least :data:`RACY_NS` older than the moment it was hashed; a file hashed sooner after
its last write is hashed again on the next read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

MANIFEST_FILE = "fingerprint.json"
MANIFEST_VERSION = 1
#: how much older than its hashing a file's mtime must be for the recorded hash to be reused
RACY_NS = 2_000_000_000
_CHUNK = 1 << 20


def table_files(dataset_dir: Path) -> list[Path]:
    """The files a run reads: bars partitions, context tables, tickers and corporate actions (not the
    quarantine, which holds rows an import refused)."""
    files = [*(dataset_dir / "bars").glob("date=*/*.parquet"), *(dataset_dir / "context").glob("*.parquet"),
             *(dataset_dir / name for name in ("tickers.parquet", "corporate_actions.parquet"))]
    return [f for f in files if f.is_file()]


def file_sha256(path: Path) -> str:
    """The SHA-256 of ``path``'s bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def content_fingerprint(dataset_dir: Path) -> str:
    """The 16-hex-digit content fingerprint of the dataset in ``dataset_dir``, refreshing its manifest.

    Only files that are new, changed (size or mtime) or were hashed too soon after a write (see the module
    docstring) are read; the manifest is rewritten when any entry changed and the folder is writable.
    """
    recorded = _read_manifest(dataset_dir)
    entries: dict[str, dict[str, Any]] = {}
    for path in table_files(dataset_dir):
        relative = path.relative_to(dataset_dir).as_posix()
        stat = path.stat()
        entry = recorded.get(relative)
        if entry is None or not _trusted(entry, stat):
            entry = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "hashed_ns": time.time_ns(),
                     "sha256": file_sha256(path)}
        entries[relative] = entry
    if entries != recorded:
        _write_manifest(dataset_dir, entries)
    digest = hashlib.sha256()
    for relative in sorted(entries):
        digest.update(f"{relative}\0{entries[relative]['sha256']}\n".encode())
    return digest.hexdigest()[:16]


def _trusted(entry: dict[str, Any], stat: os.stat_result) -> bool:
    """Whether a manifest entry still describes the file: same size and mtime, hashed well after that mtime."""
    return (entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns
            and isinstance(entry.get("hashed_ns"), int) and stat.st_mtime_ns <= entry["hashed_ns"] - RACY_NS
            and isinstance(entry.get("sha256"), str))


def _read_manifest(dataset_dir: Path) -> dict[str, dict[str, Any]]:
    """The recorded entries by relative path; a missing, unreadable or foreign manifest counts as empty."""
    try:
        document = json.loads((dataset_dir / MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict) or document.get("version") != MANIFEST_VERSION:
        return {}
    files = document.get("files")
    return {k: v for k, v in files.items() if isinstance(v, dict)} if isinstance(files, dict) else {}


def _write_manifest(dataset_dir: Path, entries: dict[str, dict[str, Any]]) -> None:
    """Replace the manifest atomically (temporary file + ``os.replace``); skipped where the folder is read-only."""
    text = json.dumps({"version": MANIFEST_VERSION, "files": dict(sorted(entries.items()))}, indent=1)
    try:
        handle, name = tempfile.mkstemp(dir=dataset_dir, prefix=f".{MANIFEST_FILE}.", suffix=".tmp")
    except OSError:  # a read-only folder: the fingerprint is right all the same, only not recorded
        return
    tmp = Path(name)
    with contextlib.suppress(OSError):
        try:
            with os.fdopen(handle, "w") as out:
                out.write(text)
            os.replace(tmp, dataset_dir / MANIFEST_FILE)
        finally:
            tmp.unlink(missing_ok=True)

"""Finding a run folder from what a researcher types: ``"latest"`` (the newest complete run), a run id or a
folder name under the runs root, or a path. The run folders (their ``status.json``) are the ground truth, so
this works with or without a registry."""

from __future__ import annotations

from pathlib import Path

from workbench.pipeline._folder import STATUS_FILE, RunFolderError, read_status, runs_root


def run_folders(root: str | Path | None = None) -> list[Path]:
    """Every folder directly under the runs root holding a ``status.json``, sorted by name."""
    root = Path(root) if root is not None else runs_root()
    if not root.is_dir():
        return []
    return sorted(status.parent for status in root.glob(f"*/{STATUS_FILE}"))


def locate_run(ref: str | Path = "latest", root: str | Path | None = None) -> Path:
    """The run folder ``ref`` names: ``"latest"`` (the complete run updated last), an existing path, a folder
    name under the runs root, or a run id (``status.json``'s ``run_id``, or the end of a folder's name)."""
    root = Path(root) if root is not None else runs_root()
    path = Path(ref).expanduser()
    if path.is_dir() and (path / STATUS_FILE).is_file():
        return path.resolve()
    folders = run_folders(root)
    if str(ref) == "latest":
        complete = [(read_status(f).get("updated_at", ""), f) for f in folders if read_status(f)["state"] == "complete"]
        if not complete:
            raise RunFolderError(f"no complete run under {root}; run `wb demo` or `wb run CONFIG.json` first")
        return max(complete)[1]
    text = str(ref)
    matches = [f for f in folders if text in (f.name, read_status(f).get("run_id")) or f.name.endswith(f"-{text}")]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunFolderError(f"no run {text!r} under {root}; `wb runs list` shows the runs (or pass a run folder)")
    raise RunFolderError(f"run {text!r} is ambiguous under {root}: {', '.join(m.name for m in matches)}; "
                         "pass the folder")

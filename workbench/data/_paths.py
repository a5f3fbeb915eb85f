"""Where datasets live: ``$WB_DATASETS`` when set, else ``datasets/`` under the workbench home (``$WB_HOME``,
else the project root)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from workbench._paths import datasets_home
from workbench.errors import DatasetNotFoundError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def datasets_root() -> Path:
    """The folder that holds one sub-folder per dataset."""
    return datasets_home()  # $WB_DATASETS, else datasets/ under the workbench home (workbench._paths)


def dataset_path(name_or_path: str | os.PathLike[str], *, must_exist: bool = True) -> Path:
    """Resolve a dataset name (a folder under :func:`datasets_root`) or an explicit folder path."""
    text = os.fspath(name_or_path)
    if os.sep in text or text.startswith("."):
        path = Path(text).expanduser()
    else:
        if not _NAME.match(text):
            raise ValueError(f"invalid dataset name {text!r}: use letters, digits, '_', '-' or '.'")
        path = datasets_root() / text
    if must_exist and not (path / "bars").is_dir():
        known = sorted(p.name for p in datasets_root().glob("*") if (p / "bars").is_dir())
        raise DatasetNotFoundError(
            f"no dataset at {path} (expected a 'bars/' folder inside); known datasets: {known or 'none'}."
            " Build one with `wb data synth` or `wb data import`."
        )
    return path

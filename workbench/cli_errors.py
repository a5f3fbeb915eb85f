"""How the ``wb`` command reports what went wrong: one line naming the problem and the fix, never a traceback,
and never on the line of a progress bar.

:class:`FriendlyGroup` turns the workbench's input errors, DuckDB's errors and file-system errors into that line;
:func:`check_writable` refuses an output folder that cannot be written before any work starts, and
:func:`sql_error` words a DuckDB error in terms of the dataset's tables.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import click
import duckdb

from workbench._progress import close_all
from workbench.errors import WorkbenchError

EXPECTED_ERRORS = (WorkbenchError, ValueError, KeyError, OSError, duckdb.Error)
_FIXES = {PermissionError: "choose a folder you can write to",
          NotADirectoryError: "part of the path is a file, not a folder",
          IsADirectoryError: "pass a file, not a folder"}


class QueryError(WorkbenchError, ValueError):
    """An ad-hoc SQL query the dataset cannot answer (empty, unparsable, or naming an unknown table/column)."""


class FriendlyGroup(click.Group):
    """A click group that turns the workbench's input errors into one clear line instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EXPECTED_ERRORS as exc:
            close_all()
            raise click.ClickException(f"{type(exc).__name__}: {one_line(exc)}") from exc
        except BaseException:
            close_all()  # even a traceback starts on a line of its own
            raise


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line: an OS error as its reason, path and fix, others as their text."""
    if isinstance(exc, OSError) and exc.errno is not None and exc.strerror:
        fix = next((text for kind, text in _FIXES.items() if isinstance(exc, kind)), None)
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror.lower()}{where}" + (f" ({fix})" if fix else "")
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


def check_writable(path: Path, what: str) -> None:
    """Refuse at once an output folder that cannot be written: ``path`` under a regular file, ``path`` itself a
    file, or its nearest existing folder not writable (permission checks pass for root, the under-a-file ones
    never do). ``what`` names the setting in the message (``--out``, ``WB_DATASETS``, ...)."""
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{what} {path} is a file, not a folder; point {what} at a folder")
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(f"{what} {path} is under {existing}, which is a file, not a folder; point {what} "
                                 "at a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(f"{what} {path}: cannot write in {existing} (no write permission, or a read-only "
                              f"file system); point {what} at a folder you can write to")


def check_readable_root(path: Path, what: str) -> None:
    """Refuse a lake or runs root that is a file or lies under one (reading it would only say "not found")."""
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        where = "is" if existing == path else f"is under {existing}, which is"
        raise NotADirectoryError(f"{what} {path} {where} a file, not a folder; point {what} at a folder")


def sql_error(exc: duckdb.Error, dataset: str, tables: list[str]) -> QueryError:
    """DuckDB's error for a query on ``dataset`` as one line naming what exists (``no table 'barz'; tables:
    bars, tickers, ...``)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    missing = re.search(r"Table with name (\S+) does not exist", lines[0]) if lines else None
    if missing:
        hint = next((line for line in lines if line.startswith("Did you mean")), "")
        return QueryError(f"no table {missing.group(1)!r} in dataset {dataset!r}; tables: {', '.join(tables)}"
                          + (f" ({hint})" if hint else ""))
    kept = [line for line in lines if not line.startswith(("LINE ", "^"))]
    first = re.sub(r"^\w+ Error: ", "", kept[0]) if kept else type(exc).__name__
    detail = "; ".join(kept[1:])
    kind = "bad SQL" if isinstance(exc, duckdb.ParserException) else "query failed"
    return QueryError(f"{kind} on dataset {dataset!r}: {first}" + (f"; {detail}" if detail else ""))

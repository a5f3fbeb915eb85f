"""``05_walk_forward`` through papermill as a recorded run: the parameters are checked against the notebook's
parameters cell before any kernel starts, then the notebook executes into ``<runs home>/<run_id>/`` (the executed
notebook, its HTML export, ``params.json``, ``papermill.json`` and the pipeline's run folder ``run/``), and the
registry row follows it: running, then complete, failed (with the traceback), timeout or interrupted."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

from workbench._paths import runs_home
from workbench.experiments._parameters import (
    NOTEBOOK,
    RUN_PARAMETERS,
    ParameterError,
    config_from_parameters,
    validate_parameters,
)
from workbench.experiments._registry import RunRegistry
from workbench.experiments._rows import PAPERMILL_FILE, PARAMS_FILE, PIPELINE_FOLDER, papermill_row

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
PLOTLY_MIME = "application/vnd.plotly.v1+json"


def parameters_hash(parameters: dict[str, Any]) -> str:
    """8 hex digits over the parameters' canonical JSON (sorted keys)."""
    return hashlib.sha256(json.dumps(parameters, sort_keys=True, default=str).encode()).hexdigest()[:8]


def claim_run_folder(parameters: dict[str, Any], root: Path) -> Path:
    """A new, empty ``root/<UTC time YYYYmmddTHHMMSSZ>-<parameters hash>`` folder (``-2``, ``-3``, ... appended
    when a run with the same parameters started in the same second): ``mkdir`` is the atomic claim, so
    parallel workers never share a folder."""
    stem = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{parameters_hash(parameters)}"
    root.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        folder = root / (stem if n == 1 else f"{stem}-{n}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise FileExistsError(f"{root}: a thousand runs named {stem} already; wait a second")


def _write_record(folder: Path, **fields: Any) -> dict[str, Any]:
    file = folder / PAPERMILL_FILE
    record = {**(json.loads(file.read_text()) if file.exists() else {}), **fields}
    file.write_text(json.dumps(record, indent=2, default=str))
    return record


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _traceback(error: BaseException) -> str:
    """The notebook cell's traceback (papermill keeps it on the execution error), else the error's text."""
    cause = error.__cause__
    lines = getattr(cause, "traceback", None)
    text = "\n".join(lines) if lines else f"{type(error).__name__}: {error}"
    return f"{error}\n{_ANSI.sub('', text)}" if lines else text


def export_html(notebook: Path) -> Path:
    """The executed notebook as HTML beside it (``nbconvert``'s HTML exporter), offline: each plotly figure
    (which the kernel emits as plotly JSON only) gets an HTML rendering that loads ``plotly.min.js``, copied
    beside it (as the pipeline's figures do)."""
    import nbformat
    import plotly
    import plotly.io as pio
    from nbconvert import HTMLExporter

    node = nbformat.read(notebook, as_version=4)
    figures = 0
    for cell in node.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if PLOTLY_MIME in data and "text/html" not in data:
                data["text/html"] = pio.to_html(dict(data[PLOTLY_MIME]), full_html=False, validate=False,
                                                include_plotlyjs="directory")
                figures += 1
    if figures:
        script = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        shutil.copyfile(script, notebook.parent / "plotly.min.js")
    body, _ = HTMLExporter().from_notebook_node(node)
    html = notebook.with_suffix(".html")
    html.write_text(body, encoding="utf-8")
    return html


def execute_walk_forward(parameters: dict[str, Any], *, kind: str = "papermill", sweep_id: str | None = None,
                         timeout: float | None = None, root: Path | None = None) -> dict[str, Any]:
    """Execute ``05_walk_forward`` with ``parameters`` as one recorded run under ``root`` (default: the runs
    home); returns its registry row.

    Bad parameters (unknown name, wrong type, a value the config refuses) raise :class:`ParameterError` before
    any folder or kernel exists. A run that fails, or whose cell runs past ``timeout`` seconds (papermill's
    per-cell limit; the pipeline is one cell), does not raise: its row says ``failed`` (``error``: the cell's
    traceback) or ``timeout``, and the caller decides (``wb run walk-forward`` exits non-zero). Ctrl-C records
    ``interrupted`` and re-raises.
    """
    from workbench.notebooks import NotebookError, execute_notebook

    reserved = sorted(set(parameters) & set(RUN_PARAMETERS))
    if reserved:
        raise ParameterError(f"{', '.join(reserved)} are set by the papermill run itself (into its own folder, "
                             "recorded by it); leave them out")
    config_from_parameters(validate_parameters(parameters))  # every value checked before a kernel starts
    root = Path(root) if root is not None else runs_home()
    registry = RunRegistry(root / "registry.duckdb")
    folder = claim_run_folder(parameters, root)
    (folder / PARAMS_FILE).write_text(json.dumps(parameters, indent=2, sort_keys=True))
    notebook = folder / f"{NOTEBOOK}.ipynb"
    _write_record(folder, kind=kind, sweep_id=sweep_id, status="running", started_at=_now(),
                  notebook=str(notebook.resolve()), html=str(notebook.with_suffix(".html").resolve()))
    registry.record(papermill_row(folder))
    injected = {**parameters, "run_folder": str((folder / PIPELINE_FOLDER).resolve()), "record_run": False}
    status, error = "complete", None
    try:
        execute_notebook(NOTEBOOK, notebook, injected, timeout=timeout)
    except KeyboardInterrupt:
        _finish(folder, registry, "interrupted", "interrupted (Ctrl-C or SIGTERM)")
        raise
    except TimeoutError as caught:
        status, error = "timeout", f"a cell ran past the {timeout:g} s timeout: {caught}"
    except NotebookError as caught:
        status, error = "failed", _traceback(caught)
    except Exception as caught:  # the kernel died, or papermill itself failed: still this run's outcome
        status, error = "failed", f"{type(caught).__name__}: {caught}"
    _finish(folder, registry, status, error)
    return registry.get(folder.name)


def _finish(folder: Path, registry: RunRegistry, status: str, error: str | None) -> None:
    """Export the executed notebook (whatever it got to), then record the outcome in the folder and the
    registry."""
    notebook = folder / f"{NOTEBOOK}.ipynb"
    if notebook.is_file():
        try:
            export_html(notebook)
        except Exception as caught:  # a broken export must not hide the run's own outcome
            error = f"{error or ''}\nHTML export failed: {type(caught).__name__}: {caught}".strip()
    _write_record(folder, status=status, error=error, finished_at=_now())
    registry.record(papermill_row(folder))

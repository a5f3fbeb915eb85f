"""The project's notebooks as papermill executes them: where they are (``notebooks/`` of the checkout), the
Jupyter kernel they run on (``quant-workbench``, registered for this environment so a notebook always runs
on the interpreter that has the workbench installed, whichever Jupyter starts it) and one call that executes
a notebook with parameters, as the suite, ``wb run walk-forward`` and sweeps do."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError

#: the kernel every notebook names in its metadata; ``make install`` registers it (``--sys-prefix``)
KERNEL_NAME = "quant-workbench"
KERNEL_DISPLAY_NAME = "Python (quant-workbench)"


class NotebookError(WorkbenchError):
    """A notebook that is missing, or that raised while papermill executed it."""


def notebooks_folder() -> Path:
    """``notebooks/`` of the checkout this package runs from."""
    folder = Path(__file__).resolve().parents[1] / "notebooks"
    if not folder.is_dir():
        raise NotebookError(f"no notebooks folder at {folder}: the notebooks ship with the project checkout; "
                            "install it with `pip install -e .` from a clone")
    return folder


def notebook_path(name: str | Path) -> Path:
    """A notebook by file name with or without ``.ipynb`` (``05_walk_forward``), or by path."""
    path = Path(name)
    if path.suffix != ".ipynb":
        path = path.with_suffix(".ipynb")
    if not path.is_absolute() and not path.exists():
        path = notebooks_folder() / path.name
    if not path.is_file():
        known = sorted(p.stem for p in notebooks_folder().glob("*.ipynb"))
        raise NotebookError(f"no notebook {name!s}; the project's notebooks: {', '.join(known)}")
    return path


def ensure_kernel() -> str:
    """Register the ``quant-workbench`` kernel for this interpreter (in ``sys.prefix``, so no root and no
    user-wide state) unless a registration pointing at this interpreter exists; returns the kernel name."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
        if spec.argv and Path(spec.argv[0]).resolve() == Path(sys.executable).resolve():
            return KERNEL_NAME
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install

    install(kernel_name=KERNEL_NAME, display_name=KERNEL_DISPLAY_NAME, prefix=sys.prefix)  # argv: sys.executable
    return KERNEL_NAME


def execute_notebook(name: str | Path, output: str | Path, parameters: dict[str, Any] | None = None, *,
                     timeout: float | None = None, progress: bool = False) -> Path:
    """Execute a notebook top to bottom with ``parameters`` injected after its ``parameters`` cell, on the
    project kernel, from the notebooks folder (so relative paths behave as in JupyterLab); the executed
    notebook is written to ``output`` even when a cell raises. A cell that raises becomes a
    :class:`NotebookError` naming the notebook, the cell's exception and the executed copy to open;
    ``timeout`` bounds each cell (seconds)."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source = notebook_path(name)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        papermill.execute_notebook(str(source), str(output), parameters=dict(parameters or {}),
                                   kernel_name=ensure_kernel(), cwd=str(source.parent), progress_bar=progress,
                                   execution_timeout=timeout, log_output=False)
    except PapermillExecutionError as error:
        raise NotebookError(f"{source.name} failed in cell {error.exec_count}: {error.ename}: {error.evalue} "
                            f"(executed notebook: {output})") from error
    return output

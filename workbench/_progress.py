"""Progress output that suits where it goes: a redrawing bar on a terminal, a widget in Jupyter, and plain
lines (``walk-forward folds: 3/5``) in logs, CI and pipes, where carriage-return redraws pile up as noise.

Every bar names its stage (``desc``). Open bars are tracked so that :func:`close_all` can finish them before
an error is printed: a message then starts on a fresh line instead of landing on the bar's.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from tqdm import tqdm as terminal_tqdm
from tqdm.auto import tqdm as auto_tqdm

_OPEN: weakref.WeakSet[Any] = weakref.WeakSet()
#: whether tqdm.auto picked the Jupyter widget (it does inside a kernel with ipywidgets)
_IN_NOTEBOOK = any(cls.__module__ == "tqdm.notebook" for cls in auto_tqdm.__mro__)


class PlainProgress:
    """The part of tqdm's interface the workbench uses, written as one line per step: ``desc: n/total unit``
    (``desc: n unit`` without a total), with the last postfix appended (``rows=7,800``)."""

    def __init__(self, iterable: Iterable[Any] | None, *, desc: str, total: int | None, unit: str,
                 file: TextIO) -> None:
        self.iterable = iterable
        self.desc = desc
        self.total = total if total is not None else _length(iterable)
        self.unit = unit
        self.file = file
        self.n = 0
        self.postfix = ""
        self.closed = False

    def __iter__(self) -> Iterator[Any]:
        if self.iterable is None:
            raise TypeError("this progress line was made without an iterable; call update() instead")
        for item in self.iterable:
            yield item
            self.update()
        self.close()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        """Count ``n`` more steps and write the line."""
        self.n += n
        count = f"{self.n}/{self.total}" if self.total is not None else str(self.n)
        unit = "" if self.unit == "it" else f" {self.unit}"  # tqdm's default unit says nothing in a line
        suffix = f", {self.postfix}" if self.postfix else ""
        self.file.write(f"{self.desc}: {count}{unit}{suffix}\n")
        self.file.flush()

    def set_postfix(self, **values: Any) -> None:
        """Details shown after the count on the next line (``rows=7800``)."""
        self.postfix = ", ".join(f"{key}={value}" for key, value in values.items())

    def close(self) -> None:
        """Stop tracking; plain lines need no clean-up."""
        self.closed = True
        _OPEN.discard(self)


def progress(iterable: Iterable[Any] | None = None, *, desc: str, total: int | None = None, unit: str = "it",
             enabled: bool = True, file: TextIO | None = None) -> Any:
    """A progress bar over ``iterable`` (or ``total`` steps counted with ``update()``) named ``desc``.

    ``file`` defaults to the current ``sys.stderr``. It redraws in place when ``file`` is a terminal, is a
    widget in a Jupyter kernel, and writes plain lines otherwise. ``enabled=False`` (``--quiet``) writes
    nothing at all.
    """
    stream = sys.stderr if file is None else file
    if not enabled:
        return terminal_tqdm(iterable, desc=desc, total=total, unit=unit, disable=True)
    if _is_terminal(stream):
        bar = terminal_tqdm(iterable, desc=desc, total=total, unit=unit, file=stream)
    elif file is None and _IN_NOTEBOOK:
        bar = auto_tqdm(iterable, desc=desc, total=total, unit=unit)
    else:
        bar = PlainProgress(iterable, desc=desc, total=total, unit=unit, file=stream)
    _OPEN.add(bar)
    return bar


def close_all() -> None:
    """Finish every open bar (its line ends), so what is printed next starts on a line of its own."""
    for bar in list(_OPEN):
        bar.close()
        _OPEN.discard(bar)


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


def _length(iterable: Iterable[Any] | None) -> int | None:
    try:
        return len(iterable)  # type: ignore[arg-type]
    except TypeError:
        return None

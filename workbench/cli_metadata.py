"""``wb data actions import`` and ``wb data tickers import``: the reference tables of a dataset from files.

Thin click groups over :func:`workbench.data.importers.import_actions` and ``import_tickers``, attached to
``wb data`` by ``workbench.cli`` (whose group turns the importers' errors into one line). :func:`lake_folder`
is the check every ``wb data`` command makes of the lake root before it reads or writes.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from workbench.cli_errors import check_readable_root, check_writable

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_ON_BAD = click.option("--on-bad", type=click.Choice(["refuse", "quarantine"]), default="refuse", show_default=True,
                       help="refuse: stop and name the first bad records; quarantine: set them aside in "
                            "quarantine.parquet and import the rest.")


def lake_folder(*, write: bool, name: str | None = None) -> Path:
    """The lake root (``$WB_DATASETS`` or ``datasets/``) once it is usable: refused in one line when it is a
    file or lies under one, or, with ``write``, when it (or dataset ``name``'s folder) cannot be written."""
    from workbench.data import dataset_path, datasets_root

    root = datasets_root()
    what = "WB_DATASETS" if os.environ.get("WB_DATASETS") else "the datasets folder"
    check_readable_root(root, what)
    if write:
        check_writable(root if name is None else dataset_path(name, must_exist=False), what)
    return root


@click.group("actions")
def actions() -> None:
    """Corporate actions (splits, cash dividends) of a dataset."""


@actions.command("import")
@click.argument("path", type=_FILE)
@click.option("--name", required=True, help="Dataset whose bars the actions belong to.")
@_ON_BAD
def actions_import(path: Path, name: str, on_bad: str) -> None:
    """Record splits and cash dividends from a CSV/Parquet table (ticker, ex_date, split_ratio, cash_dividend)
    or a saved Polygon /v3/reference/splits, /v3/reference/dividends or Alpaca /v1/corporate-actions response."""
    from workbench.data.importers import import_actions

    lake_folder(write=True, name=name)
    click.echo(str(import_actions(path, name, on_bad=on_bad)))


@click.group("tickers")
def tickers() -> None:
    """Ticker metadata (sector, industry, market cap, index flag) of a dataset."""


@tickers.command("import")
@click.argument("path", type=_FILE)
@click.option("--name", required=True, help="Dataset whose tickers the metadata describes.")
@_ON_BAD
def tickers_import(path: Path, name: str, on_bad: str) -> None:
    """Merge ticker metadata from a CSV/Parquet table (ticker and any of sector, industry, market_cap, is_index)."""
    from workbench.data.importers import import_tickers

    lake_folder(write=True, name=name)
    click.echo(str(import_tickers(path, name, on_bad=on_bad)))

"""Vendor importers: Polygon flat files, Alpaca bars and mapped CSVs into the lake, every row validated.

Vendors stamp a bar by the start of its minute; the lake by its end (UTC), so importers add a minute.
"""

from workbench.data.importers._actions import ActionsReport, import_actions
from workbench.data.importers._formats import FORMATS
from workbench.data.importers._import import import_files
from workbench.data.importers._report import ImportReport
from workbench.data.importers._tickers import TickersReport, import_tickers

__all__ = ["FORMATS", "ImportReport", "import_files"]
__all__ += ["ActionsReport", "TickersReport", "import_actions", "import_tickers"]

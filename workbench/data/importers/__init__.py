"""Vendor importers into the lake, every row validated: Alpaca and Polygon bars in the shapes the vendors
return them (CSV / JSON lines, REST responses and folders of pages, stream captures; parsed by
:mod:`workbench.data.vendors`), mapped CSVs, corporate actions and ticker metadata.

Vendors stamp a bar by the start of its minute; the lake by its end (UTC), so importers add a minute.
File-level checks refuse what a row check cannot see: bars that are not 1-minute bars, a timezone that
puts most bars outside the session, stamps a minute off their label, an import that would write nothing.
"""

from workbench.data.importers._actions import ActionsReport, import_actions
from workbench.data.importers._formats import FORMATS
from workbench.data.importers._import import import_files
from workbench.data.importers._report import ImportReport
from workbench.data.importers._tickers import TickersReport, import_tickers

__all__ = ["FORMATS", "ImportReport", "import_files"]
__all__ += ["ActionsReport", "TickersReport", "import_actions", "import_tickers"]

"""truefans: measure marketing by what pays, not by who follows.

>>> import truefans
>>> ws = truefans.open_workspace("truefans.duckdb")
>>> ws.import_files(["channels.csv", "outcomes.csv"])
>>> ws.picture().table
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import TruefansError
from .measure.result import Result
from .workspace import ImportReport, Workspace, open_workspace

__all__ = ["ImportReport", "Result", "TruefansError", "Workspace", "__version__", "open_workspace"]

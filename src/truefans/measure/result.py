"""The result every analysis returns: its table, the assumptions it used, extra summaries and a
chart spec. Renderers (CLI, report, web) only read these."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa


def plain(value: Any) -> Any:
    """A JSON-ready version of a cell: no NaN, no numpy scalars, ISO dates, floats for decimals."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return round(value, 6)
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    return value


@dataclass
class Result:
    analysis: str
    table: pd.DataFrame
    assumptions: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    chart: dict[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [
            {str(k): plain(v) for k, v in rec.items()}
            for rec in self.table.to_dict(orient="records")
        ]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"analysis": self.analysis, "rows": self.rows}
        out["assumptions"] = plain(self.assumptions)
        for k, v in self.extra.items():
            out[k] = plain(v)
        return out

    def to_arrow(self) -> pa.Table:
        return pa.Table.from_pandas(self.table, preserve_index=False)

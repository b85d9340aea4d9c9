"""Helpers for the reliability tests: a workspace's whole table contents, read from the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

#: settings rows that are bookkeeping of an operation in flight, not user data
TRANSIENT_SETTINGS = ("forget_rewrite_pending",)


def contents(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """{table: (columns, sorted rows)} for every persistent table, plus the sequences."""
    out: dict[str, Any] = {}
    tables = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND NOT temporary ORDER BY 1"
        ).fetchall()
    ]
    for t in tables:
        cols = [r[0] for r in con.execute(f'DESCRIBE "{t}"').fetchall()]
        rows = con.execute(f'SELECT * FROM "{t}"').fetchall()
        if t == "settings":
            rows = [r for r in rows if r[0] not in TRANSIENT_SETTINGS]
        out[t] = (cols, sorted(rows, key=repr))
    return out


def file_contents(path: Path) -> dict[str, Any]:
    """:func:`contents` of a workspace file, opened read-only (no migration, nothing written)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return contents(con)
    finally:
        con.close()

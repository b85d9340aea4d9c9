"""The engine adapter: where the analyses' Ibis expressions run.

Analyses are written once as Ibis expressions over the canonical tables. An :class:`Engine` holds
what stays engine-specific: the connection and its session settings, how a table is reached and how
a result is collected (as pandas with the declared columns). DuckDB is the default; a Spark engine
can implement the same three methods.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import duckdb
import ibis
import ibis.expr.types as ir
import pandas as pd


class Engine(Protocol):
    name: str

    def table(self, name: str) -> ir.Table: ...

    def execute(self, expr: ir.Table) -> pd.DataFrame: ...

    def materialized(self, expr: ir.Table) -> contextlib.AbstractContextManager[ir.Table]: ...


def summaries(eng: Engine) -> bool:
    """Whether ``eng`` holds summary tables (:mod:`truefans.derived`), brought up to date."""
    fresh = getattr(eng, "fresh_summaries", None)
    return bool(getattr(eng, "summaries", False)) and fresh is not None and bool(fresh())


_names = itertools.count(1)


class DuckDBEngine:
    """Runs Ibis expressions on the workspace's own DuckDB connection."""

    name = "duckdb"
    #: the workspace keeps the summary tables of :mod:`truefans.derived`; analyses read them for
    #: the questions they answer exactly (tests turn this off to compare with the touches)
    summaries = True

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        # its own cursor: a relation Ibis opens must not collide with unfinished results of the
        # workspace connection (DuckDB 2 refuses that); it sees all committed data
        self.cursor = con.cursor()
        self.backend = ibis.duckdb.from_connection(self.cursor)

    def table(self, name: str) -> ir.Table:
        return self.backend.table(name)

    def fresh_summaries(self) -> bool:
        """Take in the writes the summaries have not seen yet (False: they cannot be)."""
        from .. import derived

        return derived.ensure_fresh(self.con)

    def execute(self, expr: ir.Table) -> pd.DataFrame:
        return self.backend.to_pyarrow(expr).to_pandas()

    @contextmanager
    def materialized(self, expr: ir.Table) -> Iterator[ir.Table]:
        """Compute ``expr`` once into a temporary table used by several queries, then drop it."""
        name = f"__tf_tmp_{next(_names)}"
        table = self.backend.create_table(name, obj=expr, temp=True)
        try:
            yield table
        finally:
            # ibis 12's drop_table emits SQL DuckDB 2 rejects; drop through the connection
            self.cursor.execute(f'DROP TABLE IF EXISTS "{name}"')

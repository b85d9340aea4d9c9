"""The engine adapter: where the analyses' Ibis expressions run.

Analyses are written once as Ibis expressions over the canonical tables. An :class:`Engine` holds
what stays engine-specific: the connection and its session settings, how a table is reached and how
a result is collected (as pandas with the declared columns). DuckDB is the default; a Spark engine
can implement the same four methods (``execute_all`` may simply run the queries one by one).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
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

    def execute_all(self, exprs: Sequence[ir.Table]) -> list[pd.DataFrame]: ...

    def materialized(self, expr: ir.Table) -> contextlib.AbstractContextManager[ir.Table]: ...


_names = itertools.count(1)


class DuckDBEngine:
    """Runs Ibis expressions on the workspace's own DuckDB connection."""

    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        # its own cursor: a relation Ibis opens must not collide with unfinished results of the
        # workspace connection (DuckDB 2 refuses that); it sees all committed data
        self.cursor = con.cursor()
        self.backend = ibis.duckdb.from_connection(self.cursor)

    def table(self, name: str) -> ir.Table:
        return self.backend.table(name)

    def execute(self, expr: ir.Table) -> pd.DataFrame:
        return self.backend.to_pyarrow(expr).to_pandas()

    def execute_all(self, exprs: Sequence[ir.Table]) -> list[pd.DataFrame]:
        """The results of independent queries, in order, run at the same time.

        Each query runs on its own cursor of the connection, so one query's single-threaded
        phases (planning, the end of a hash aggregation, fetching) and the compilation of the
        next overlap the others' work. Queries over in-memory tables, which live on the
        engine's own cursor, run one by one.
        """
        from ibis.backends.duckdb.converter import DuckDBPyArrowData
        from ibis.expr.operations import InMemoryTable

        if len(exprs) < 2 or any(e.op().find(InMemoryTable) for e in exprs):
            return [self.execute(e) for e in exprs]
        cursors = [self.con.cursor() for _ in exprs]
        try:
            with ThreadPoolExecutor(max_workers=len(exprs)) as pool:
                futures = [
                    pool.submit(lambda cur, sql: cur.sql(sql).to_arrow_table(), cur, sql)
                    for cur, sql in zip(
                        cursors, (self.backend.compile(e) for e in exprs), strict=True
                    )
                ]
                tables = [f.result() for f in futures]
        finally:
            for cur in cursors:
                cur.close()
        return [
            e.__pyarrow_result__(t, data_mapper=DuckDBPyArrowData).to_pandas()
            for e, t in zip(exprs, tables, strict=True)
        ]

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

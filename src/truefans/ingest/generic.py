"""The generic format: one CSV or Parquet file per canonical table, the table's columns as headers.

The happy path is DuckDB's parallel CSV reader straight into a temporary table of strings (no
Python loop per row); validation then runs as SQL in :mod:`truefans.ingest.load`. Files DuckDB's
strict reader refuses (rows with the wrong number of fields, text that is not UTF-8) fall back to
Python's csv module, which keeps the good rows and reports each bad one.
"""

from __future__ import annotations

import csv
import difflib
import re
from pathlib import Path

import duckdb

from ..errors import UnusableFile
from ..schema import CANONICAL
from .common import Header, decode, stage_csv_python
from .load import DirectScan, lit
from .registry import Detection, StageContext, StagedTable, register

_ALIASES = {
    "channel": "channels",
    "person": "people",
    "persons": "people",
    "content": "contents",
    "identity": "identities",
    "touchpoint": "touchpoints",
    "touches": "touchpoints",
    "outcome": "outcomes",
    "cost": "costs",
    "metric": "metrics",
}
_DELIMS = [",", ";", "\t", "|"]
HEAD_BYTES = 65536


def table_from_name(path: Path) -> str | None:
    """The canonical table a file name names (``touchpoints_2024.csv`` -> touchpoints)."""
    tokens = re.split(r"[^a-z]+", path.name.lower().rsplit(".", 1)[0])
    found = []
    for tok in tokens:
        name = tok if tok in CANONICAL else _ALIASES.get(tok)
        if name and name not in found:
            found.append(name)
    return found[0] if len(found) == 1 else None


def _decode_head(head: bytes) -> tuple[str, str]:
    """(encoding for the whole file, decoded head): the same rules as every other source."""
    return decode(head)


def _header_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


def _split_header(line: str) -> tuple[str, list[str]]:
    best: tuple[int, str, list[str]] = (-1, ",", [])
    for d in _DELIMS:
        cols = next(csv.reader([line], delimiter=d))
        score = sum(1 for c in cols if c.strip().lower() in _ALL_COLUMNS) * 10 + len(cols)
        if score > best[0]:
            best = (score, d, cols)
    return best[1], [c.strip().lower() for c in best[2]]


_ALL_COLUMNS = {c.name for t in CANONICAL.values() for c in t.columns}


def check_columns(path: Path, table: str, header: list[str]) -> None:
    """Refuse a header with unknown, repeated or missing required columns (nothing stored)."""
    spec = CANONICAL[table]
    known = spec.column_names
    problems = []
    seen: set[str] = set()
    for col in header:
        if col in seen:
            problems.append(f"column '{col}' appears twice")
        seen.add(col)
        if col not in known:
            close = difflib.get_close_matches(col, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"unknown column '{col}'{hint}")
    derivable = {"identity_id"} if table == "identities" else set()
    missing = [
        c.name
        for c in spec.columns
        if c.required and c.name not in seen and c.name not in derivable
    ]
    if missing:
        problems.append("missing required column(s) " + ", ".join(missing))
    if problems:
        raise UnusableFile(
            str(path),
            f"wrong columns for table '{table}': "
            + "; ".join(problems)
            + f". Columns of {table} are: {', '.join(known)}",
        )


class GenericSource:
    name = "generic"
    description = "truefans' own format: one CSV or Parquet file per canonical table"
    detection_rule = (
        "file name contains a table name (channels, people, contents, identities, audience, "
        "touchpoints, outcomes, costs, metrics) and the header uses that table's column names"
    )

    def detect(self, path: Path, head: bytes) -> Detection | None:
        table = table_from_name(path)
        if path.suffix.lower() == ".parquet":
            if table:
                return Detection(self.name, 0.9, f"Parquet file named for table {table}", table)
            return None
        _, text = _decode_head(head)
        _, header = _split_header(_header_line(text))
        if not header:
            return None
        if table:
            known = set(CANONICAL[table].column_names)
            share = sum(1 for c in header if c in known) / len(header)
            return Detection(
                self.name,
                0.5 + 0.5 * share,
                f"file named for table {table}; {share:.0%} of its columns are {table} columns",
                table,
            )
        # no table in the name: the header alone may still say which table it is
        scores = []
        for t in CANONICAL.values():
            cols = set(t.column_names)
            if set(header) <= cols and all(k in header for k in t.key):
                scores.append((len(set(header) & cols) / len(cols), t.name))
        if scores:
            share, best = max(scores)
            return Detection(self.name, 0.4 + 0.4 * share, f"header matches table {best}", best)
        return None

    def stage(self, ctx: StageContext) -> list[StagedTable]:
        path = ctx.path
        table = ctx.table or table_from_name(path)
        with path.open("rb") as fh:
            head = fh.read(HEAD_BYTES)
        if table is None:
            det = self.detect(path, head)
            table = det.table if det else None
        if table is None:
            raise UnusableFile(
                str(path),
                "cannot tell which table this file is for; name it after the table "
                f"(e.g. touchpoints.csv) or pass --table ({', '.join(CANONICAL)})",
            )
        if table not in CANONICAL:
            raise UnusableFile(str(path), f"unknown table '{table}' ({', '.join(CANONICAL)})")
        rel = f"{ctx.prefix}_raw"
        if path.suffix.lower() == ".parquet":
            return [self._stage_parquet(ctx, table, rel)]
        return [self._stage_csv(ctx, table, rel, head)]

    def _stage_parquet(self, ctx: StageContext, table: str, rel: str) -> StagedTable:
        try:
            ctx.con.execute(
                f'CREATE OR REPLACE TEMP TABLE "{rel}" AS SELECT * FROM read_parquet(?)',
                [str(ctx.path)],
            )
        except duckdb.Error as e:
            raise UnusableFile(str(ctx.path), f"not a readable Parquet file ({_short(e)})") from e
        cols = [r[0] for r in ctx.con.execute(f'DESCRIBE "{rel}"').fetchall()]
        lowered = [c.lower() for c in cols]
        check_columns(ctx.path, table, lowered)
        for c, low in zip(cols, lowered, strict=True):
            if c != low:
                ctx.con.execute(f'ALTER TABLE "{rel}" RENAME COLUMN "{c}" TO "{low}"')
        n = _count(ctx.con, rel)
        return StagedTable(table, rel, n, row_expr="rowid + 1")

    def _stage_csv(self, ctx: StageContext, table: str, rel: str, head: bytes) -> StagedTable:
        path = ctx.path
        if not head.strip():
            raise UnusableFile(str(path), "the file is empty (no header, no rows)")
        encoding, text = _decode_head(head)
        delim, header = _split_header(_header_line(text))
        check_columns(path, table, header)

        def materialize() -> StagedTable:
            return self._stage_csv_table(ctx, table, rel, encoding, delim, header)

        if encoding in ("utf-8", "utf-8-sig"):
            # not read yet: the loader reads the file once, straight into the table, when every
            # row is good (and stages it with materialize() when not)
            return DirectScan(
                table,
                rel,
                0,
                row_expr="rowid + 1",
                scan=_read_csv(path, delim, header),
                materialize=materialize,
            )
        return materialize()

    def _stage_csv_table(
        self,
        ctx: StageContext,
        table: str,
        rel: str,
        encoding: str,
        delim: str,
        header: list[str],
    ) -> StagedTable:
        """The file in a temporary table of text (DuckDB's reader, else Python's)."""
        if encoding in ("utf-8", "utf-8-sig"):
            try:
                ctx.con.execute(
                    f'CREATE OR REPLACE TEMP TABLE "{rel}" AS SELECT * FROM '
                    + _read_csv(ctx.path, delim, header)
                )
                n = _count(ctx.con, rel)
                return StagedTable(table, rel, n, row_expr="rowid + 1")
            except duckdb.Error:
                ctx.con.execute(f'DROP TABLE IF EXISTS "{rel}"')
        return self._stage_csv_python(ctx, table, rel, encoding, delim, header)

    def _stage_csv_python(
        self,
        ctx: StageContext,
        table: str,
        rel: str,
        encoding: str,
        delim: str,
        header: list[str],
    ) -> StagedTable:
        """Slow path for irregular files: keeps every readable row, reports the others."""
        with ctx.path.open("rb") as fh:
            _, text = decode(fh.read(HEAD_BYTES))
        line = next((i for i, ln in enumerate(text.splitlines()) if ln.strip()), 0)
        rows, rejects, note = stage_csv_python(
            ctx, Header(line, delim, header, encoding), header, rel
        )
        return StagedTable(table, rel, rows, rejects=rejects, note=note, row_expr="__row")


def _read_csv(path: Path, delim: str, header: list[str]) -> str:
    """DuckDB's strict CSV reader over the file, every column as text."""
    columns = "{" + ", ".join(f"{lit(c)}: 'VARCHAR'" for c in header) + "}"
    return (
        f"read_csv({lit(str(path))}, header=true, auto_detect=false, delim={lit(delim)}, "
        f"quote='\"', escape='\"', columns={columns}, strict_mode=true, null_padding=false, "
        "skip=0, encoding='utf-8')"
    )


def _count(con: duckdb.DuckDBPyConnection, rel: str) -> int:
    row = con.execute(f'SELECT count(*) FROM "{rel}"').fetchone()
    return int(row[0]) if row else 0


def _short(e: BaseException) -> str:
    return str(e).strip().splitlines()[0][:300]


register(GenericSource())

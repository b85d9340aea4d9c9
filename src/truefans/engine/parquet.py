"""A workspace as a directory of Parquet datasets: the layout the Spark engine reads.

``export_parquet(ws, DIR)`` writes every canonical table of a DuckDB workspace under ``DIR/<table>/``
(``touchpoints`` and ``outcomes`` partitioned by the UTC day of ``ts`` as ``day=YYYY-MM-DD/``,
``metrics`` by its ``date``), and ``DIR/_truefans.json``, the manifest: format version, schema
version, the workspace's settings, and per table its columns, partition column and row count.

The export is atomic: everything is written to a staging folder beside ``DIR`` and renamed into
place when complete, so a reader never sees half an export (with ``replace``, the old folder is
renamed aside first and removed after).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import schema
from ..errors import WorkspaceError

if TYPE_CHECKING:
    from ..workspace import Workspace

MANIFEST = "_truefans.json"
FORMAT = "truefans-parquet"
FORMAT_VERSION = 1
#: table -> (partition column written as ``name=value`` folders, the expression it comes from)
PARTITIONS = {
    "touchpoints": ("day", "CAST(ts AS DATE)"),
    "outcomes": ("day", "CAST(ts AS DATE)"),
    "metrics": ("date", None),
}


@dataclass(frozen=True)
class TableInfo:
    name: str
    columns: dict[str, str]  # column -> truefans type (schema.Column.type)
    rows: int
    partition: str | None

    @property
    def derived_partition(self) -> bool:
        """True when the partition column is not one of the table's own columns."""
        return self.partition is not None and self.partition not in self.columns


@dataclass(frozen=True)
class Manifest:
    path: Path
    schema_version: int
    settings: dict[str, str]
    tables: dict[str, TableInfo]
    exported_at: str


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def export_parquet(ws: Workspace, out: str | os.PathLike[str], replace: bool = False) -> Manifest:
    """Write the workspace's canonical tables to ``out`` as Parquet datasets plus a manifest."""
    dest = Path(out).expanduser().absolute()
    if dest.exists() and not dest.is_dir():
        raise WorkspaceError(f"{dest} exists and is not a folder; give a new folder to export to")
    if dest.exists() and any(dest.iterdir()) and not replace:
        raise WorkspaceError(
            f"{dest} is not empty; choose a new folder or pass --replace to overwrite it"
        )
    if not dest.parent.is_dir():
        raise WorkspaceError(f"cannot export to {dest}: folder {dest.parent} does not exist")
    token = uuid.uuid4().hex[:12]
    staging = dest.parent / f".{dest.name}.staging-{token}"
    staging.mkdir()
    try:
        tables = _write_tables(ws, staging)
        settings = dict(ws.con.execute("SELECT key, value FROM settings ORDER BY key").fetchall())
        exported_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        doc = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "schema_version": ws.schema_version,
            "exported_at": exported_at,
            "exported_from": str(ws.path),
            "settings": settings,
            "tables": {
                t.name: {
                    "columns": [[c, ty] for c, ty in t.columns.items()],
                    "rows": t.rows,
                    "partition_by": t.partition,
                }
                for t in tables
            },
        }
        (staging / MANIFEST).write_text(json.dumps(doc, indent=2) + "\n")
        _commit(staging, dest, token)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return read_manifest(dest)


def _write_tables(ws: Workspace, staging: Path) -> list[TableInfo]:
    out = []
    for name, table in schema.CANONICAL.items():
        present = {r[0] for r in ws.con.execute(f"DESCRIBE {_q(name)}").fetchall()}
        cols = [c for c in table.columns if c.name in present]
        select = ", ".join(_q(c.name) for c in cols)
        rows = int(ws.con.execute(f"SELECT count(*) FROM {_q(name)}").fetchone()[0])  # type: ignore[index]
        part = PARTITIONS.get(name)
        target = staging / name
        if part is not None and rows > 0:
            column, expr = part
            if expr is not None:
                select = f"{select}, {expr} AS {_q(column)}"
            ws.con.execute(
                f"COPY (SELECT {select} FROM {_q(name)}) TO {_lit(str(target))} "
                f"(FORMAT parquet, PARTITION_BY ({_q(column)}), COMPRESSION zstd)"
            )
        else:
            # an empty partitioned table is one file with the full columns (a reader needs a
            # file to know the schema)
            target.mkdir()
            ws.con.execute(
                f"COPY (SELECT {select} FROM {_q(name)}) TO "
                f"{_lit(str(target / 'part-0.parquet'))} (FORMAT parquet, COMPRESSION zstd)"
            )
        out.append(
            TableInfo(
                name,
                {c.name: c.type for c in cols},
                rows,
                part[0] if part is not None and rows > 0 else None,
            )
        )
    return out


def _commit(staging: Path, dest: Path, token: str) -> None:
    """Rename the complete staging folder to ``dest`` (the old one set aside, then removed)."""
    old: Path | None = None
    if dest.exists():
        old = dest.parent / f".{dest.name}.old-{token}"
        dest.rename(old)
    try:
        staging.rename(dest)
    except OSError:
        if old is not None:
            old.rename(dest)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    """The manifest of a Parquet workspace folder, checked."""
    root = Path(path).expanduser().absolute()
    file = root / MANIFEST
    if not root.is_dir():
        raise WorkspaceError(
            f"no Parquet workspace at {root}: create one with `truefans --workspace FILE "
            f"export-parquet {root}`"
        )
    if not file.is_file():
        raise WorkspaceError(
            f"{root} has no {MANIFEST}: it is not a truefans Parquet workspace (write one with "
            "`truefans export-parquet DIR`)"
        )
    try:
        doc: dict[str, Any] = json.loads(file.read_text())
    except (OSError, ValueError) as e:
        raise WorkspaceError(f"{file}: cannot read the manifest ({e})") from e
    if doc.get("format") != FORMAT or doc.get("format_version") != FORMAT_VERSION:
        raise WorkspaceError(
            f"{file}: format {doc.get('format')!r} version {doc.get('format_version')!r} is not "
            f"{FORMAT!r} version {FORMAT_VERSION}; export the workspace again"
        )
    tables: dict[str, TableInfo] = {}
    for name, info in (doc.get("tables") or {}).items():
        if name not in schema.CANONICAL:
            raise WorkspaceError(f"{file}: unknown table {name!r}")
        if not (root / name).is_dir():
            raise WorkspaceError(f"{file} lists table {name!r} but {root / name} is missing")
        tables[name] = TableInfo(
            name,
            {str(c): str(ty) for c, ty in info["columns"]},
            int(info["rows"]),
            info.get("partition_by"),
        )
    missing = sorted(set(schema.CANONICAL) - set(tables))
    if missing:
        raise WorkspaceError(f"{file}: tables missing: {', '.join(missing)}")
    return Manifest(
        root,
        int(doc["schema_version"]),
        {str(k): str(v) for k, v in (doc.get("settings") or {}).items()},
        tables,
        str(doc.get("exported_at", "")),
    )


def duckdb_engine(path: str | os.PathLike[str]) -> tuple[Any, Manifest]:
    """A DuckDB engine (in-memory database, one view per table) over a Parquet workspace folder:
    the same data the Spark engine reads, for comparisons and for folders that fit one machine."""
    import duckdb

    from . import DuckDBEngine

    m = read_manifest(path)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    for name, info in m.tables.items():
        files = _lit(str(m.path / name / "**" / "*.parquet"))
        cols = ", ".join(_q(c) for c in info.columns)
        con.execute(
            f"CREATE VIEW {_q(name)} AS SELECT {cols} FROM read_parquet({files}, "
            "hive_partitioning = true, union_by_name = true)"
        )
    return DuckDBEngine(con), m

"""Backups: a folder of Parquet files (one per table) with a manifest, and a checked restore.

``backup(ws, folder)`` writes the folder with DuckDB's ``EXPORT DATABASE`` (so it is also a plain
DuckDB export: ``IMPORT DATABASE 'folder'`` in any DuckDB reads it) and adds ``manifest.json``:
the schema version, every table's row count and file, the next value of every sequence and the
sha256 of every file. The folder appears under its name only once complete (it is written beside
it and renamed).

``restore(folder, path)`` refuses a folder whose manifest is missing, whose files do not match
their checksums, or whose schema is newer than this truefans. It never runs the backup's own SQL:
it builds the schema of the backup's version with :data:`truefans.schema.MIGRATIONS`, loads each
table from its Parquet file by column name, checks the row counts, migrates to the current version,
and only then puts the new file in place of ``path`` (a rename: the old workspace or the restored
one, never a mix).

Tables and sequences are read from the catalog, so a table added by a later schema version is
backed up and restored without a change here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from . import __version__, schema
from .errors import WorkspaceError

if TYPE_CHECKING:
    from .workspace import Workspace

MANIFEST = "manifest.json"
FORMAT = "truefans-backup"
FORMAT_VERSION = 1
_COPY_LINE = re.compile(
    r"""^COPY\s+(?P<table>"(?:[^"]|"")+"|\S+)\s+FROM\s+'(?P<file>(?:[^']|'')+)'"""
)


class BackupError(WorkspaceError):
    """A backup cannot be written, or a folder cannot be restored (it says which file and why)."""


def tables_of(con: duckdb.DuckDBPyConnection, database: str | None = None) -> list[str]:
    """Every persistent table of the workspace's main schema, from the catalog."""
    db = database or _current_db(con)
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' "
        "AND NOT temporary ORDER BY table_name",
        [db],
    ).fetchall()
    return [str(r[0]) for r in rows]


def sequences_of(con: duckdb.DuckDBPyConnection, database: str | None = None) -> dict[str, int]:
    """Every sequence and the value its next ``nextval`` returns."""
    db = database or _current_db(con)
    rows = con.execute(
        "SELECT sequence_name, start_value, last_value, increment_by FROM duckdb_sequences() "
        "WHERE database_name = ? AND schema_name = 'main' AND NOT temporary",
        [db],
    ).fetchall()
    out = {}
    for name, start, last, step in rows:
        out[str(name)] = int(start) if last is None else int(last) + int(step)
    return out


def _current_db(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("SELECT current_database()").fetchone()
    assert row is not None
    return str(row[0])


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def backup(ws: Workspace, folder: str | os.PathLike[str]) -> dict[str, Any]:
    """Write every table of ``ws`` to ``folder`` (which must not exist, or be empty); returns
    the manifest."""
    dest = Path(folder).expanduser()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} already exists and is not an empty folder; choose a new one")
    if not dest.parent.exists():
        raise BackupError(f"cannot write {dest}: folder {dest.parent} does not exist")
    try:
        work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
    except OSError as e:
        raise BackupError(f"cannot write in {dest.parent}: {e.strerror or e}") from e
    con = ws.con
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            tables = tables_of(con)
            counts = {}
            for t in tables:
                row = con.execute(f"SELECT count(*) FROM {_q(t)}").fetchone()
                counts[t] = int(row[0]) if row else 0
            sequences = sequences_of(con)
            version = schema.current_version(con)
            con.execute(f"EXPORT DATABASE {_lit(str(work))} (FORMAT parquet)")
        finally:
            con.execute("COMMIT")
        files = _files_of_export(work)
        missing = sorted(set(tables) - set(files))
        if missing:
            raise BackupError(f"the export wrote no file for table(s) {', '.join(missing)}")
        table_info = {}
        for t in tables:
            path = work / files[t]
            row = con.execute(f"SELECT count(*) FROM read_parquet({_lit(str(path))})").fetchone()
            got = int(row[0]) if row else 0
            if got != counts[t]:
                raise BackupError(
                    f"table {t}: {counts[t]} rows in the workspace but {got} in {files[t]}"
                )
            table_info[t] = {"file": files[t], "rows": got}
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "schema_version": version,
            "truefans_version": __version__,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "tables": table_info,
            "sequences": sequences,
            "sha256": {
                p.name: sha256_file(p) for p in sorted(work.iterdir()) if p.name != MANIFEST
            },
        }
        _write_synced(work / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        for p in work.iterdir():
            _fsync(p)
        if dest.exists():
            dest.rmdir()
        os.rename(work, dest)
        _fsync(dest.parent)
    except duckdb.Error as e:
        shutil.rmtree(work, ignore_errors=True)
        raise BackupError(f"cannot write the backup to {dest}: {str(e).splitlines()[0]}") from e
    except OSError as e:
        shutil.rmtree(work, ignore_errors=True)
        raise BackupError(f"cannot write the backup to {dest}: {e.strerror or e}") from e
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return manifest


def _files_of_export(folder: Path) -> dict[str, str]:
    """table -> file name, read from the ``load.sql`` that EXPORT DATABASE wrote."""
    out = {}
    for line in (folder / "load.sql").read_text().splitlines():
        m = _COPY_LINE.match(line.strip())
        if not m:
            continue
        table = m["table"]
        if table.startswith('"'):
            table = table[1:-1].replace('""', '"')
        out[table] = Path(m["file"].replace("''", "'")).name
    return out


def _write_synced(path: Path, text: str) -> None:
    with path.open("w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a backup folder, checked: every file present with its checksum, the
    schema version one this truefans can open."""
    src = Path(folder).expanduser()
    if not src.is_dir():
        raise BackupError(f"{src} is not a folder (give the folder `truefans backup` wrote)")
    mpath = src / MANIFEST
    if not mpath.is_file():
        raise BackupError(f"{src} has no {MANIFEST}: not a truefans backup, or an incomplete one")
    try:
        manifest = json.loads(mpath.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise BackupError(f"{mpath} is not valid JSON ({e}); the backup is damaged") from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{mpath} is not a truefans backup manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"{mpath}: backup format {manifest.get('format_version')!r}; this truefans reads "
            f"format {FORMAT_VERSION}"
        )
    version = manifest.get("schema_version")
    if not isinstance(version, int) or version < 1:
        raise BackupError(f"{mpath}: schema_version {version!r} is not a version number")
    if version > schema.SCHEMA_VERSION:
        raise BackupError(
            f"{src} was made with schema version {version}, newer than this truefans "
            f"({schema.SCHEMA_VERSION}); upgrade truefans to restore it"
        )
    sums = manifest.get("sha256")
    tables = manifest.get("tables")
    if not isinstance(sums, dict) or not isinstance(tables, dict):
        raise BackupError(f"{mpath} lists no files or no tables; the backup is damaged")
    for name, info in tables.items():
        if not isinstance(info, dict) or info.get("file") not in sums:
            raise BackupError(f"{mpath}: table {name} has no checksummed file")
    for name, digest in sorted(sums.items()):
        if Path(name).name != name or name in ("", ".", ".."):
            raise BackupError(f"{mpath}: file name {name!r} is not a plain file name")
        path = src / name
        if not path.is_file():
            raise BackupError(f"{path} is missing; the backup is incomplete")
        if sha256_file(path) != digest:
            raise BackupError(
                f"{path} does not match its checksum in {MANIFEST}; the backup is corrupted"
            )
    return manifest


def restore(
    folder: str | os.PathLike[str], path: str | os.PathLike[str], *, replace: bool = False
) -> dict[str, Any]:
    """Restore the backup in ``folder`` as the workspace ``path``; returns the manifest.

    An existing workspace is replaced only with ``replace=True``, and only once the restored copy
    is complete and checked.
    """
    src = Path(folder).expanduser()
    target = Path(path).expanduser()
    manifest = read_manifest(src)
    if target.is_dir():
        raise BackupError(f"{target} is a folder; give the path of a workspace file")
    if target.exists() and not replace:
        raise BackupError(f"{target} exists; pass --replace to overwrite it with the backup")
    if not target.parent.exists():
        raise BackupError(f"cannot create {target}: folder {target.parent} does not exist")
    tmp = target.with_name(f".{target.name}.restoring-{os.getpid()}")
    _remove_db(tmp)
    try:
        _build(src, manifest, tmp)
        if target.exists():
            _release(target)
        os.replace(tmp, target)
        _fsync(target.parent)
    except duckdb.Error as e:
        _remove_db(tmp)
        raise BackupError(f"cannot restore {src}: {str(e).splitlines()[0]}") from e
    except OSError as e:
        _remove_db(tmp)
        raise BackupError(f"cannot restore {src} to {target}: {e.strerror or e}") from e
    except BaseException:
        _remove_db(tmp)
        raise
    return manifest


def _build(src: Path, manifest: dict[str, Any], tmp: Path) -> None:
    version = int(manifest["schema_version"])
    tables: dict[str, dict[str, Any]] = manifest["tables"]
    con = duckdb.connect(str(tmp))
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("BEGIN TRANSACTION")
        for step in schema.MIGRATIONS[:version]:
            if callable(step):
                step(con)
            else:
                for stmt in step:
                    con.execute(stmt)
        made = set(tables_of(con))
        missing = sorted(made - set(tables))
        if missing:
            raise BackupError(
                f"{src / MANIFEST} has no table {', '.join(missing)}, which schema version "
                f"{version} has; the backup is incomplete"
            )
        for name, info in sorted(tables.items()):
            file = _lit(str(src / info["file"]))
            try:
                if name in made:
                    con.execute(
                        f"INSERT INTO {_q(name)} BY NAME SELECT * FROM read_parquet({file})"
                    )
                else:  # a table no migration makes (kept as the backup has it)
                    con.execute(f"CREATE TABLE {_q(name)} AS SELECT * FROM read_parquet({file})")
            except duckdb.Error as e:
                raise BackupError(
                    f"{src / info['file']}: cannot load table {name}: {str(e).splitlines()[0]}"
                ) from e
            row = con.execute(f"SELECT count(*) FROM {_q(name)}").fetchone()
            got = int(row[0]) if row else 0
            if got != int(info["rows"]):
                raise BackupError(
                    f"{src / info['file']}: {got} rows loaded into {name}, the manifest says "
                    f"{info['rows']}"
                )
        for name, nxt in sorted(manifest.get("sequences", {}).items()):
            con.execute(f"DROP SEQUENCE IF EXISTS {_q(name)}")
            con.execute(f"CREATE SEQUENCE {_q(name)} START {int(nxt)}")
        stored = schema.current_version(con)
        if stored != version:
            raise BackupError(
                f"{src}: its _meta table says schema version {stored}, its manifest {version}"
            )
        con.execute("COMMIT")
        schema.migrate(con)
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _release(target: Path) -> None:
    """Make sure nothing holds the workspace being replaced and its log is folded in (a
    write-ahead log left beside it would otherwise be replayed onto the restored file)."""
    try:
        con = duckdb.connect(str(target))
    except duckdb.Error as e:
        msg = str(e).splitlines()[0]
        if "lock" in msg.lower():
            raise BackupError(f"{target} is in use by another truefans process ({msg})") from e
        raise BackupError(f"{target} is not a workspace that can be replaced ({msg})") from e
    try:
        con.execute("CHECKPOINT")
    finally:
        con.close()
    if Path(str(target) + ".wal").exists():
        raise BackupError(f"{target}.wal is still there after closing {target}; not replacing it")


def _remove_db(path: Path) -> None:
    for p in (path, Path(str(path) + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


__all__ = ["BackupError", "backup", "read_manifest", "restore", "sequences_of", "tables_of"]

"""The workspace: one DuckDB file holding the canonical tables, and the import pipeline.

``open_workspace(path)`` connects (creating and migrating the schema), and the :class:`Workspace`
it returns is the Python API: imports, the import log, rejects and the analyses.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import zipfile
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from . import derived, schema
from .errors import InvalidOption, TruefansError, UnknownFormat, UnusableFile, WorkspaceError
from .ingest import load
from .ingest.registry import StageContext, StagedTable, load_sources

if TYPE_CHECKING:
    from .engine import Engine
    from .measure.result import Result

DEFAULT_WORKSPACE = "truefans.duckdb"
ENV_WORKSPACE = "TRUEFANS_WORKSPACE"
_IMPORTABLE = {
    ".csv",
    ".tsv",
    ".txt",
    ".parquet",
    ".json",
    ".js",
    ".xls",
    ".xlsx",
    ".zip",
    ".html",
    ".htm",
}
#: a zip whose content would unpack larger than this is refused (zip bombs)
MAX_UNZIPPED_BYTES = 8 * 1024**3


@dataclass
class ImportReport:
    """What one file did to the workspace."""

    file: str
    source: str
    table: str
    rows: int = 0
    added: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    source_id: int | None = None
    status: str = "ok"  # ok | rejects | unusable | duplicate
    message: str = ""
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def exit_code(self) -> int:
        return {"unusable": 2, "rejects": 3}.get(self.status, 0)


def resolve_path(path: str | os.PathLike[str] | None) -> Path:
    raw = str(path) if path is not None else os.environ.get(ENV_WORKSPACE) or DEFAULT_WORKSPACE
    if raw.startswith("duckdb://"):
        raw = raw[len("duckdb://") :]
    return Path(raw).expanduser()


def open_workspace(path: str | os.PathLike[str] | None = None, *, create: bool = True) -> Workspace:
    """Open (and create or migrate) the workspace at ``path`` (default ``./truefans.duckdb``)."""
    from .engine.spark import duckdb_only, is_spark

    if is_spark(path):  # a Parquet folder for Spark: only some analyses have a Spark path
        raise duckdb_only(path if path is not None else os.environ.get(ENV_WORKSPACE))
    p = resolve_path(path)
    if p.is_dir():
        raise WorkspaceError(f"{p} is a directory; give the path of a workspace file")
    if not p.exists() and not create:
        raise WorkspaceError(f"no workspace at {p}; run `truefans init` or `truefans demo` first")
    if not p.parent.exists():
        raise WorkspaceError(f"cannot create {p}: folder {p.parent} does not exist")
    try:
        con = duckdb.connect(str(p))
    except duckdb.IOException as e:
        msg = str(e).splitlines()[0]
        if "lock" in msg.lower():
            raise WorkspaceError(f"{p} is in use by another truefans process ({msg})") from e
        if "read-only file system" in msg.lower() or "permission denied" in msg.lower():
            raise WorkspaceError(
                f"{p} cannot be opened for writing ({msg}); truefans writes to its workspace: "
                "copy it to a writable folder"
            ) from e
        raise WorkspaceError(f"{p} is not a truefans workspace (not a DuckDB file: {msg})") from e
    except duckdb.Error as e:
        raise WorkspaceError(f"cannot open {p}: {str(e).splitlines()[0]}") from e
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    try:
        schema.migrate(con)
    except duckdb.Error as e:
        con.close()
        raise WorkspaceError(f"cannot prepare {p}: {str(e).splitlines()[0]}") from e
    return Workspace(p, con)


class Workspace:
    """A truefans workspace. Use :func:`open_workspace` to get one."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection) -> None:
        self.path = path
        self.con = con
        self._engine: Engine | None = None

    # -- basics ---------------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from .engine import DuckDBEngine

            self._engine = DuckDBEngine(self.con)
        return self._engine

    @property
    def schema_version(self) -> int:
        return schema.current_version(self.con)

    def setting(self, key: str, default: str | None = None) -> str | None:
        row = self.con.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
        return row[0] if row else default

    def set_setting(self, key: str, value: str) -> None:
        if key == "timezone":
            _check_tz(value)
        self.con.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", [key, value])

    def count(self, table: str) -> int:
        if table not in schema.CANONICAL and table not in ("imports", "rejects", "truth"):
            raise InvalidOption(f"unknown table '{table}'")
        row = self.con.execute(f'SELECT count(*) FROM "{table}"').fetchone()
        return int(row[0]) if row else 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")

    # -- import ---------------------------------------------------------------------------
    def import_files(
        self,
        files: Sequence[str | os.PathLike[str]],
        *,
        source: str | None = None,
        table: str | None = None,
        dry_run: bool = False,
        tz: str | None = None,
        currency: str | None = None,
        hash_pii: bool = False,
    ) -> list[ImportReport]:
        """Import files (or folders of files); one transaction per file.

        A file that cannot be used at all is reported with status ``unusable`` and stores
        nothing; the other files still load.
        """
        if table is not None and table not in schema.CANONICAL:
            raise InvalidOption(f"unknown table '{table}'; tables: {', '.join(schema.CANONICAL)}")
        if tz is not None:
            _check_tz(tz)
        if currency is not None and currency.upper() not in schema.ISO_4217:
            raise InvalidOption(f"--currency {currency!r} is not an ISO 4217 code (e.g. USD)")
        tz = tz or self.setting("timezone")
        currency = currency or self.setting("currency")
        sources = load_sources()
        if source is not None and source not in sources:
            raise InvalidOption(f"unknown source '{source}'; known: {', '.join(sorted(sources))}")
        reports: list[ImportReport] = []
        with ExitStack() as stack:
            stack.enter_context(self._import_memory())
            entries: list[tuple[Path, str, bool]] = []
            for path, shown, explicit in _expand(files):
                if path.suffix.lower() == ".zip" and path.is_file():
                    try:
                        entries.extend(_unzip(path, shown, stack))
                    except UnusableFile as e:
                        reports.append(
                            ImportReport(
                                shown, source or "?", "?", status="unusable", message=e.message
                            )
                        )
                    continue
                entries.append((path, shown, explicit))
            # load in dependency order (channels, people, contents before what refers to them),
            # by the table each file's detected source says it holds
            planned: list[tuple[int, int, Path, str, bool]] = []
            for i, (p, shown, explicit) in enumerate(entries):
                order = 99
                if p.is_file():
                    guess = table or self._table_guess(p, source)
                    order = schema.CANONICAL[guess].load_order if guess in schema.CANONICAL else 50
                planned.append((order, i, p, shown, explicit))
            planned.sort(key=lambda t: (t[0], t[1]))
            for _, _, p, shown, explicit in planned:
                try:
                    got = self._import_one(
                        p,
                        source,
                        table,
                        dry_run=dry_run,
                        tz=tz,
                        currency=currency,
                        hash_pii=hash_pii,
                        shown=shown,
                    )
                    reports.extend(got)
                except UnknownFormat as e:
                    # inside a folder or a zip, files no source reads are passed over (an export
                    # holds many); a file the user named must be read or refused
                    reports.append(
                        ImportReport(
                            shown,
                            source or "?",
                            table or "?",
                            status="unusable" if explicit else "ignored",
                            message=e.message if explicit else "no source reads this file",
                        )
                    )
                except UnusableFile as e:
                    reports.append(
                        ImportReport(
                            shown, source or "?", table or "?", status="unusable", message=e.message
                        )
                    )
                except duckdb.Error as e:
                    # a failed write (disk full, file gone read-only): the file's transaction was
                    # rolled back; say so in one line instead of DuckDB's aborted-transaction error
                    io = _io_error(e)
                    if io is None:
                        raise
                    raise WorkspaceError(
                        f"cannot write {self.path} ({io}); nothing of {shown} was stored"
                    ) from e
        return reports

    @contextmanager
    def _import_memory(self) -> Iterator[None]:
        """Imports run under a memory cap (DuckDB spills to disk beyond it): a 10-million-row
        file then peaks near 1 GB instead of 2.5 GB. ``TRUEFANS_IMPORT_MEMORY`` or the
        workspace setting ``import_memory`` changes it ("none" lifts it)."""
        limit = os.environ.get("TRUEFANS_IMPORT_MEMORY") or self.setting("import_memory") or "1GB"
        if limit.lower() == "none":
            yield
            return
        row = self.con.execute("SELECT current_setting('memory_limit')").fetchone()
        before = str(row[0]) if row else None
        try:
            self.con.execute(f"SET memory_limit = '{_memory_value(limit)}'")
        except duckdb.Error as e:
            raise InvalidOption(f"import memory limit {limit!r} is not a size like 1GB") from e
        try:
            yield
        finally:
            if before:
                self.con.execute(f"SET memory_limit = '{before}'")

    def _table_guess(self, path: Path, source: str | None) -> str | None:
        try:
            _, guess = self._detect(path, source, None)
        except (TruefansError, OSError):
            return None
        return guess

    def _detect(self, path: Path, source: str | None, table: str | None) -> tuple[str, str | None]:
        sources = load_sources()
        if source is not None:
            return source, table
        with path.open("rb") as fh:
            head = fh.read(65536)
        found = []
        for src in sources.values():
            try:
                det = src.detect(path, head)
            except Exception:  # a detector must never break detection for the others
                det = None
            if det is not None:
                found.append(det)
        if not found:
            names = ", ".join(sorted(sources))
            raise UnknownFormat(
                str(path),
                "no source recognises this file. For the generic format name the file after its "
                f"table (e.g. outcomes.csv) or pass --table; known sources: {names}",
            )
        best = max(found, key=lambda d: d.confidence)
        return best.source, table or best.table

    def _import_one(
        self,
        path: Path,
        source: str | None,
        table: str | None,
        *,
        dry_run: bool,
        tz: str | None,
        currency: str | None,
        hash_pii: bool = False,
        shown: str | None = None,
    ) -> list[ImportReport]:
        shown = shown or str(path)
        _check_readable(path)
        src_name, table = self._detect(path, source, table)
        src = load_sources()[src_name]
        digest = _sha256(path)
        con = self.con
        # the same file (same bytes, same source) again: nothing to stage, nothing added
        prev = con.execute(
            'SELECT source_id, "table", rows FROM imports WHERE sha256 = ? AND format = ? '
            "ORDER BY source_id",
            [digest, src_name],
        ).fetchall()
        if prev:
            return [
                ImportReport(
                    file=shown,
                    source=src_name,
                    table=str(tbl),
                    rows=int(rows),
                    skipped=int(rows),
                    source_id=int(sid),
                    status="duplicate",
                    message=f"already imported (import #{sid}); nothing added",
                    dry_run=dry_run,
                )
                for sid, tbl, rows in prev
            ]
        ctx = StageContext(con=con, path=path, table=table, tz=tz, currency=currency)
        staged_tables = _staged(path, lambda: src.stage(ctx))
        source_id: int | None = None
        if len(staged_tables) == 1 and isinstance(staged_tables[0], load.DirectScan):
            # a generic CSV not read yet: one pass from the file into its table when every row
            # is good; otherwise (rolled back) staged and loaded the general way, same import id
            direct = staged_tables[0]
            report, source_id = self._store_direct(
                path, src_name, direct, digest, dry_run, tz, currency, shown, hash_pii
            )
            if report is not None:
                return [report]
            materialize = direct.materialize
            assert materialize is not None
            staged_tables = _staged(path, materialize)
        reports = []
        # one file, one transaction: all of its tables land, or none
        con.execute("BEGIN TRANSACTION")
        try:
            for staged in staged_tables:
                reports.append(
                    self._store(
                        path,
                        src_name,
                        staged,
                        digest,
                        dry_run,
                        tz,
                        currency,
                        hash_pii,
                        shown,
                        source_id=source_id,
                    )
                )
                source_id = None
            if not dry_run:
                for r in reports:
                    if r.source_id is not None:
                        derived.note_import(con, r.source_id)
            con.execute("ROLLBACK" if dry_run else "COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            for staged in staged_tables:
                con.execute(f'DROP TABLE IF EXISTS "{staged.relation}"')
        return reports

    def _store(
        self,
        path: Path,
        src_name: str,
        staged: Any,
        digest: str,
        dry_run: bool,
        tz: str | None,
        currency: str | None,
        hash_pii: bool = False,
        shown: str | None = None,
        *,
        source_id: int | None = None,
    ) -> ImportReport:
        from .ingest import channels as chmod
        from .ingest import identity

        stored_path = _stored_path(path, shown)
        con = self.con
        checked = f"{staged.relation}_checked"
        staged_cols = {r[0] for r in con.execute(f'DESCRIBE "{staged.relation}"').fetchall()}
        hints = [h for h in identity.staged_hints(con, staged.relation) if h in identity.HINT_KINDS]
        eff_tz, notes = _time_notes(src_name, staged, tz)
        later: set[str] = set()
        if hints:
            person_col = (
                schema.CANONICAL[staged.table].column("person_id")
                if staged.table in ("people", "touchpoints", "outcomes", "identities", "audience")
                else None
            )
            if person_col is not None and person_col.required and "person_id" not in staged_cols:
                later.add("person_id")
            if staged.table == "audience" and "identity_id" not in staged_cols:
                later.add("identity_id")
        if source_id is None:
            source_id = self._next_source_id()
        try:
            # export sources name built-in channels, created on first use; the generic format
            # must declare its channels (an unknown one is a reject naming the known ones)
            if "channel_id" in staged_cols and src_name != "generic":
                wanted = [
                    r[0]
                    for r in con.execute(
                        f'SELECT DISTINCT trim(CAST(channel_id AS VARCHAR)) FROM "{staged.relation}" '
                        "WHERE channel_id IS NOT NULL ORDER BY 1"
                    ).fetchall()
                ]
                created = chmod.ensure_channels(con, wanted, self.channel_config(), source_id)
                if created:
                    notes.append("channels added: " + ", ".join(created))
            load.build_checked(
                con,
                staged,
                checked,
                tz=eff_tz,
                currency=currency,
                resolved_later=frozenset(later),
            )
            if staged.table == "identities":
                _normalise_phones(con, checked, self.setting("country") or "US")
                if hash_pii or self.setting("hash_pii") == "true":
                    _drop_contact_values(con, checked)
            if hints:
                spec = schema.CANONICAL[staged.table]
                time_col = next(
                    (c for c in ("ts", "followed_at", "first_seen") if c in spec.column_names),
                    None,
                )
                stats = identity.resolve_hints(
                    con,
                    staged.relation,
                    staged.row_expr,
                    checked,
                    source_id,
                    source_name=src_name,
                    table=staged.table,
                    primary=staged.primary_identity,
                    hash_pii=hash_pii or self.setting("hash_pii") == "true",
                    region=self.setting("country") or "US",
                    time_col=time_col,
                    create_people=staged.table != "people",
                )
                for col in sorted(later):
                    what = "person" if col == "person_id" else "identity"
                    con.execute(
                        f"""UPDATE "{checked}" SET __cols = '{col}',
                        __err = '{col}: no {what}: the row has no email, phone, profile, handle or '
                                || 'id that truefans can read'
                        WHERE __err IS NULL AND {col} IS NULL"""
                    )
                if stats["merges"] or stats["name_matches"]:
                    notes.append(
                        f"{stats['merges']} people merged by shared identities, "
                        f"{stats['name_matches']} by name + company"
                    )
            counts = load.store_checked(con, staged, checked, source_id)
            self._log_import(source_id, stored_path, digest, src_name, staged.table, counts, notes)
        finally:
            con.execute(f'DROP TABLE IF EXISTS "{checked}"')
        return ImportReport(
            file=shown or str(path),
            source=src_name,
            table=staged.table,
            rows=counts.rows,
            added=counts.added,
            updated=counts.updated,
            skipped=counts.skipped,
            rejected=counts.rejected,
            source_id=None if dry_run else source_id,
            status="rejects" if counts.rejected else "ok",
            message="; ".join(notes),
            dry_run=dry_run,
        )

    def _next_source_id(self) -> int:
        row = self.con.execute("SELECT nextval('import_seq')").fetchone()
        assert row is not None
        return int(row[0])

    def _log_import(
        self,
        source_id: int,
        stored_path: str,
        digest: str,
        src_name: str,
        table: str,
        counts: load.LoadCounts,
        notes: list[str],
    ) -> None:
        self.con.execute(
            "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                source_id,
                stored_path,
                digest,
                src_name,
                table,
                datetime.now(UTC).replace(tzinfo=None),
                counts.rows,
                counts.added,
                counts.updated,
                counts.skipped,
                counts.rejected,
                "; ".join(notes),
            ],
        )

    def _store_direct(
        self,
        path: Path,
        src_name: str,
        staged: load.DirectScan,
        digest: str,
        dry_run: bool,
        tz: str | None,
        currency: str | None,
        shown: str | None,
        hash_pii: bool = False,
    ) -> tuple[ImportReport | None, int | None]:
        """The one-pass load of a clean file (:func:`load.store_direct`) in its own
        transaction: (report, import id), or (None, the import id to reuse) when the file needs
        the general path (the transaction is rolled back; import ids are not given back)."""
        if src_name != "generic":
            return None, None
        con = self.con
        eff_tz, notes = _time_notes(src_name, staged, tz)
        region = self.setting("country") or "US"
        source_id = self._next_source_id()

        def phones(table: str) -> None:
            if table == "identities":
                _normalise_phones(con, table, region)
                if hash_pii or self.setting("hash_pii") == "true":
                    _drop_contact_values(con, table, source_id)

        con.execute("BEGIN TRANSACTION")
        try:
            counts = load.store_direct(
                con, staged, source_id, tz=eff_tz, currency=currency, after_insert=phones
            )
            if not dry_run:
                derived.note_import(con, source_id)
            self._log_import(
                source_id, _stored_path(path, shown), digest, src_name, staged.table, counts, notes
            )
            con.execute("ROLLBACK" if dry_run else "COMMIT")
        except load.NotDirect:
            con.execute("ROLLBACK")
            return None, source_id
        except BaseException:
            con.execute("ROLLBACK")
            raise
        report = ImportReport(
            file=shown or str(path),
            source=src_name,
            table=staged.table,
            rows=counts.rows,
            added=counts.added,
            source_id=None if dry_run else source_id,
            status="ok",
            message="; ".join(notes),
            dry_run=dry_run,
        )
        return report, source_id

    def channel_config(self) -> dict[str, Any]:
        from .ingest.channels import load_user_config

        return load_user_config(self.path)

    def imports(self) -> pd.DataFrame:
        return self.con.execute(
            'SELECT source_id, imported_at, format AS source, "table", path, rows, added, '
            "updated, skipped, rejected, note FROM imports ORDER BY source_id"
        ).df()

    def rejects(self, source_id: int | None = None, limit: int | None = None) -> pd.DataFrame:
        sql = (
            'SELECT r.source_id, i.path AS file, r."row", r."column", r.reason, r.raw '
            "FROM rejects r LEFT JOIN imports i USING (source_id)"
        )
        params: list[object] = []
        if source_id is not None:
            sql += " WHERE r.source_id = ?"
            params.append(source_id)
        sql += ' ORDER BY r.source_id, r."row"'
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self.con.execute(sql, params).df()

    # -- analyses -------------------------------------------------------------------------
    def picture(
        self,
        since: date | str | None = None,
        until: date | str | None = None,
        outcome: Iterable[str] | str | None = None,
    ) -> Result:
        from .measure.picture import picture

        return picture(self, since=since, until=until, outcome=outcome)

    def fans(self, **options: Any) -> Result:
        """Engagement tiers and true fans; options as :func:`truefans.measure.fans.fans`."""
        from .measure.fans import fans

        return fans(self, **options)

    def clv(self, **options: Any) -> Result:
        """Customer value per person; options as :func:`truefans.measure.clv.clv`."""
        from .measure.clv import clv

        return clv(self, **options)

    def risk(self, **options: Any) -> Result:
        """Dependence on platforms; options as :func:`truefans.measure.risk.risk`."""
        from .measure.risk import risk

        return risk(self, **options)

    def funnel(self, **options: Any) -> Result:
        """The funnel per channel; options as :func:`truefans.measure.funnel.funnel`."""
        from .measure.funnel import funnel

        return funnel(self, **options)


def _io_error(e: BaseException | None) -> str | None:
    """The first line of the DuckDB I/O error behind ``e`` (its cause or context), if any."""
    seen: set[int] = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, duckdb.IOException):
            return str(e).splitlines()[0]
        e = e.__cause__ or e.__context__
    return None


def _staged(path: Path, stage: Callable[[], list[StagedTable] | StagedTable]) -> list[StagedTable]:
    """What a source stages; its read errors make the file unusable."""
    try:
        got = stage()
    except UnusableFile:
        raise
    except (duckdb.Error, OSError, ValueError) as e:
        raise UnusableFile(str(path), f"cannot be read ({str(e).splitlines()[0]})") from e
    return got if isinstance(got, list) else [got]


def _stored_path(path: Path, shown: str | None) -> str:
    return shown if shown and shown != str(path) else str(path.resolve())


def _time_notes(src_name: str, staged: StagedTable, tz: str | None) -> tuple[str | None, list[str]]:
    """(time zone for naive times, notes): the generic format and local-time exports follow
    --tz / the workspace zone."""
    local = src_name == "generic" or staged.local_times
    eff_tz = tz if local else None
    notes = [staged.note] if staged.note else []
    if local and staged.local_times:
        notes.append(
            f"times without offset read in {tz}"
            if tz
            else "times without offset read as UTC (pass --tz or set the workspace time zone)"
        )
    elif local and tz:
        notes.append(f"times without offset read in {tz}")
    return eff_tz, notes


def _drop_contact_values(
    con: duckdb.DuckDBPyConnection, table: str, source_id: int | None = None
) -> None:
    """``--hash-pii``: emails and phones keep only their hash (``value_hash``, made from the
    normalised value, which is what joins people)."""
    only = "" if source_id is None else f" AND source_id = {int(source_id)}"
    con.execute(
        f"""UPDATE "{table}" SET value_hash = coalesce(value_hash, sha256(value)), value = NULL
        WHERE kind IN ('email', 'phone') AND value IS NOT NULL{only}"""
    )


def _normalise_phones(con: duckdb.DuckDBPyConnection, checked: str, region: str) -> None:
    """Identities given as phones are stored in E.164 so they match phones from other sources."""
    from .ingest.identity import normalise_phone

    rows = con.execute(
        f"SELECT DISTINCT value FROM \"{checked}\" WHERE kind = 'phone' AND value IS NOT NULL"
    ).fetchall()
    fixes = [(normalise_phone(v, region), v) for (v,) in rows]
    fixes = [(n, v) for n, v in fixes if n is not None and n != v]
    if fixes:
        con.executemany(
            f'UPDATE "{checked}" SET value = ?, value_hash = sha256(?) '
            "WHERE kind = 'phone' AND value = ?",
            [(n, n, v) for n, v in fixes],
        )


def _memory_value(limit: str) -> str:
    if not re.fullmatch(r"\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", limit, re.I):
        raise InvalidOption(f"memory limit {limit!r} is not a size like 1GB")
    return limit.strip()


def _check_tz(tz: str) -> None:
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
        raise InvalidOption(
            f"unknown time zone {tz!r}; use an IANA name like Europe/Paris or America/Chicago"
        ) from e


def _expand(files: Sequence[str | os.PathLike[str]]) -> Iterator[tuple[Path, str, bool]]:
    """(path, name shown to the user, named explicitly by the user)."""
    for f in files:
        p = Path(f)
        if p.is_dir():
            inside = sorted(
                c
                for c in p.rglob("*")
                if c.is_file()
                and c.suffix.lower() in _IMPORTABLE
                and not any(part.startswith(".") for part in c.relative_to(p).parts)
            )
            if not inside:
                yield p, str(p), True  # reported as unusable below
            for c in inside:
                yield c, str(c), False
        else:
            yield p, str(p), True


def _unzip(path: Path, shown: str, stack: ExitStack) -> list[tuple[Path, str, bool]]:
    """Unpack a zip (LinkedIn and Instagram deliver them) safely into a temporary folder."""
    try:
        zf = stack.enter_context(zipfile.ZipFile(path))
        members = [m for m in zf.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError) as e:
        raise UnusableFile(shown, f"not a readable zip file ({e})") from e
    if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
        raise UnusableFile(shown, "the zip would unpack to more than 8 GB; unpack it yourself")
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="truefans-zip-")))
    out = []
    for m in sorted(members, key=lambda m: m.filename):
        name = Path(m.filename)
        if name.is_absolute() or ".." in name.parts or name.name.startswith("."):
            continue
        if name.suffix.lower() not in _IMPORTABLE or name.suffix.lower() == ".zip":
            continue
        if "__MACOSX" in name.parts:
            continue
        target = tmp / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with zf.open(m) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst)
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise UnusableFile(shown, f"{m.filename} cannot be unpacked ({e})") from e
        out.append((target, f"{path.resolve()}:{m.filename}", False))
    if not out:
        raise UnusableFile(shown, "the zip holds no file truefans can read")
    return out


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise UnusableFile(str(path), "no such file")
    if path.is_dir():
        raise UnusableFile(str(path), "is a folder with no file truefans can read in it")
    if not os.access(path, os.R_OK):
        raise UnusableFile(str(path), "cannot be read (permission denied)")
    if path.stat().st_size == 0:
        raise UnusableFile(str(path), "the file is empty (no header, no rows)")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


__all__ = ["ImportReport", "TruefansError", "Workspace", "open_workspace"]

"""Right to erasure: ``forget(path, who)`` removes a person from every table and from the file.

Who: a person id, an identity id, or one of the person's emails, phones, handles or profile URLs
(hashed workspaces are searched by the value's hash). The person's aliases (people merged into
them) go too.

What goes, in every table the catalog lists (so a table added later is covered without a change):

* rows that belong to the person: a person column (``person_id``, ``kept_person``,
  ``merged_person``, ``person_a``, ``person_b``, any ``*_person_id``) holding one of their ids, an
  ``identity_id`` of theirs, or an ``outcome_id`` / ``touch_id`` of one of their facts (the demo's
  ``truth``, summaries per outcome);
* in other rows, a column that names them (``outcomes.referred_by``: another person's order keeps
  its money, loses the referrer) is set to NULL;
* any other text that contains one of their identity values or their full display name (a rejected
  row's raw text, a note) has it replaced by ``[forgotten]``.

A check then searches every text column of every table for those values and fails if one is left.
Deleted rows survive in a database file's free blocks, so the workspace is then rewritten: copied
into a fresh file (``COPY FROM DATABASE``) that replaces it by a rename. A marker committed with the
deletions makes the next ``forget`` finish a rewrite a crash interrupted.

Nothing here prints or returns an email or phone: the report names person ids, tables and counts.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from . import schema
from .errors import TruefansError, WorkspaceError

PENDING = "forget_rewrite_pending"
REDACTED = "[forgotten]"
#: columns whose value says whose row it is
PERSON_COLUMNS = {"person_id", "kept_person", "merged_person", "person_a", "person_b"}
FACT_COLUMNS = {"outcome_id", "touch_id"}
#: text shorter than this is not searched for inside other text (it would match too much)
MIN_REDACT = 5


class NotFound(TruefansError):
    """No person matches what was given."""


@dataclass
class ForgetReport:
    person_ids: list[str] = field(default_factory=list)
    deleted: dict[str, int] = field(default_factory=dict)
    nulled: dict[str, int] = field(default_factory=dict)
    redacted: dict[str, int] = field(default_factory=dict)
    #: files imported earlier that held rows of this person (they still do)
    files: list[str] = field(default_factory=list)
    rewritten: bool = False
    finished_earlier: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "person_ids": self.person_ids,
            "deleted": self.deleted,
            "nulled": self.nulled,
            "redacted": self.redacted,
            "files": self.files,
            "rewritten": self.rewritten,
        }


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _text_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """{table: [VARCHAR columns]} for every persistent table of the main schema."""
    rows = con.execute(
        """SELECT c.table_name, c.column_name FROM duckdb_columns() c
        JOIN duckdb_tables() t ON t.database_name = c.database_name
         AND t.schema_name = c.schema_name AND t.table_name = c.table_name
        WHERE c.database_name = current_database() AND c.schema_name = 'main'
          AND NOT t.temporary AND c.data_type = 'VARCHAR'
        ORDER BY c.table_name, c.column_index"""
    ).fetchall()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(str(table), []).append(str(column))
    return out


def _is_person_column(column: str) -> bool:
    return column in PERSON_COLUMNS or column.endswith("_person_id")


def _people_refs() -> set[tuple[str, str]]:
    """(table, column) of the canonical columns that refer to a person without owning the row."""
    return {
        (t.name, c.name)
        for t in schema.CANONICAL.values()
        for c in t.columns
        if c.references == "people.person_id" and not _is_person_column(c.name)
    }


def find_person(con: duckdb.DuckDBPyConnection, who: str) -> list[str]:
    """The person ids ``who`` names (a person id, identity id, or an identity's value)."""
    from .ingest.identity import normalise_phone

    who = who.strip()
    if not who:
        raise NotFound("name a person: a person id, an email, a phone or a handle")
    direct = con.execute("SELECT person_id FROM people WHERE person_id = ?", [who]).fetchall()
    if direct:
        return [who]
    row = con.execute("SELECT value FROM settings WHERE key = 'country'").fetchone()
    region = str(row[0]) if row else "US"
    candidates = {who, who.lower()}
    phone = normalise_phone(who, region) if any(ch.isdigit() for ch in who) else None
    if phone:
        candidates.add(phone)
    hashes = {hashlib.sha256(c.encode()).hexdigest() for c in candidates}
    params = sorted(candidates)
    marks = ", ".join("?" for _ in params)
    hmarks = ", ".join("?" for _ in hashes)
    rows = con.execute(
        f"""SELECT DISTINCT person_id FROM identities
        WHERE person_id IS NOT NULL AND (identity_id = ? OR value IN ({marks})
              OR lower(value) IN ({marks}) OR value_hash IN ({hmarks}))
        ORDER BY 1""",
        [who, *params, *params, *sorted(hashes)],
    ).fetchall()
    if not rows:
        raise NotFound(
            "no person matches that id, email, phone or handle (see `truefans person ID`); "
            "nothing was changed"
        )
    return [str(r[0]) for r in rows]


def _aliases(con: duckdb.DuckDBPyConnection, people: list[str]) -> list[str]:
    """The people and everyone merged into them (transitively)."""
    found = set(people)
    frontier = set(people)
    while frontier:
        marks = ", ".join("?" for _ in frontier)
        rows = con.execute(
            f"SELECT DISTINCT merged_person FROM merges WHERE kept_person IN ({marks})",
            sorted(frontier),
        ).fetchall()
        frontier = {str(r[0]) for r in rows if r[0] is not None} - found
        found |= frontier
    return sorted(found)


def _collect(con: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, set[str]]:
    """Everything that identifies the person: ids, identity ids, values and hashes, fact ids,
    and the texts to search for (values, display names)."""
    con.execute("CREATE OR REPLACE TEMP TABLE __forget_people (v VARCHAR)")
    con.execute("INSERT INTO __forget_people SELECT unnest(?::VARCHAR[])", [sorted(ids)])

    def col(sql: str) -> set[str]:
        return {str(r[0]) for r in con.execute(sql).fetchall() if r[0] not in (None, "")}

    tables = _text_columns(con)
    identity_ids: set[str] = set()
    values: set[str] = set()
    facts: set[str] = set()
    for table, cols in tables.items():
        person_cols = [c for c in cols if _is_person_column(c)]
        if not person_cols:
            continue
        where = " OR ".join(f"{_q(c)} IN (SELECT v FROM __forget_people)" for c in person_cols)
        if "identity_id" in cols:
            identity_ids |= col(f"SELECT identity_id FROM {_q(table)} WHERE {where}")
        for fact in FACT_COLUMNS & set(cols):
            if table in ("touchpoints", "outcomes"):
                facts |= col(f"SELECT {_q(fact)} FROM {_q(table)} WHERE {where}")
    if "identities" in tables:
        con.execute("CREATE OR REPLACE TEMP TABLE __forget_idents (v VARCHAR)")
        con.execute(
            "INSERT INTO __forget_idents SELECT unnest(?::VARCHAR[])", [sorted(identity_ids)]
        )
        owned = (
            "person_id IN (SELECT v FROM __forget_people) "
            "OR identity_id IN (SELECT v FROM __forget_idents)"
        )
        values |= col(f"SELECT value FROM identities WHERE {owned}")
        values |= col(f"SELECT value_hash FROM identities WHERE {owned}")
        # a value another person has too (the same handle on two platforms) is theirs as well
        values -= _shared(con, "identities", ("value", "value_hash"), owned, values)
    names = col(
        "SELECT display_name FROM people WHERE person_id IN (SELECT v FROM __forget_people)"
    )
    if "people" in tables:
        names -= _shared(
            con, "people", ("display_name",), "person_id IN (SELECT v FROM __forget_people)", names
        )
    return {
        "people": set(ids),
        "identities": identity_ids,
        "facts": facts,
        "values": values,
        "texts": {t for t in values | names | set(ids) | identity_ids if len(t) >= MIN_REDACT},
    }


def _shared(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: tuple[str, ...],
    owned: str,
    values: set[str],
) -> set[str]:
    """Those of ``values`` that rows not ``owned`` (other people's) hold in ``columns`` too."""
    if not values:
        return set()
    out: set[str] = set()
    for c in columns:
        rows = con.execute(
            f"SELECT DISTINCT {_q(c)} FROM {_q(table)} WHERE NOT ({owned}) "
            f"AND {_q(c)} IN (SELECT unnest(?::VARCHAR[]))",
            [sorted(values)],
        ).fetchall()
        out |= {str(r[0]) for r in rows}
    return out


def _redactable(table: str, column: str) -> bool:
    """Free text, where the person may be named inside a longer string (a rejected row's raw
    text, evidence, a note): not an id or an identity value, which are matched whole only, and
    not other people's own records (their names and identities are theirs)."""
    return not (
        table in ("people", "identities")
        or _is_person_column(column)
        or column.endswith("_id")
        or column in ("value", "value_hash", "key")
    )


def _pattern(text: str) -> str:
    """A regular expression for ``text`` as a whole token (not inside a longer email, handle or
    id: ``ann@x.com`` does not match inside ``joann@x.com``)."""
    return rf"(^|[^A-Za-z0-9_.+@-]){re.escape(text)}($|[^A-Za-z0-9_.@-])"


def _source_files(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Paths of the imports that brought rows of the person (tables with ``source_id`` and
    ``person_id``)."""
    ids: set[int] = set()
    for table in _tables(con, _current_db(con)):
        cols = _columns(con, table)
        if "source_id" in cols and "person_id" in cols:
            rows = con.execute(
                f"SELECT DISTINCT source_id FROM {_q(table)} WHERE source_id IS NOT NULL "
                "AND person_id IN (SELECT v FROM __forget_people)"
            ).fetchall()
            ids |= {int(r[0]) for r in rows}
    if not ids or "imports" not in _tables(con, _current_db(con)):
        return []
    rows = con.execute(
        "SELECT DISTINCT path FROM imports WHERE source_id IN (SELECT unnest(?::BIGINT[])) "
        "ORDER BY 1",
        [sorted(ids)],
    ).fetchall()
    return [str(r[0]) for r in rows if r[0]]


def _current_db(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("SELECT current_database()").fetchone()
    assert row is not None
    return str(row[0])


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [str(r[0]) for r in con.execute(f"DESCRIBE {_q(table)}").fetchall()]


def _erase(
    con: duckdb.DuckDBPyConnection, found: dict[str, set[str]], report: ForgetReport
) -> None:
    for name, values in (
        ("__forget_people", found["people"]),
        ("__forget_idents", found["identities"]),
        ("__forget_facts", found["facts"]),
        ("__forget_values", found["values"] | found["people"] | found["identities"]),
    ):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} (v VARCHAR)")
        con.execute(f"INSERT INTO {name} SELECT unnest(?::VARCHAR[])", [sorted(values)])
    refs = _people_refs()
    for table, cols in _text_columns(con).items():
        owner = [
            f"{_q(c)} IN (SELECT v FROM __forget_people)" for c in cols if _is_person_column(c)
        ]
        if "identity_id" in cols:
            owner.append('"identity_id" IN (SELECT v FROM __forget_idents)')
        owner += [f"{_q(c)} IN (SELECT v FROM __forget_facts)" for c in cols if c in FACT_COLUMNS]
        if owner:
            n = _changed(con, f"DELETE FROM {_q(table)} WHERE {' OR '.join(owner)}")
            if n:
                report.deleted[table] = n
        for c in cols:
            if (table, c) in refs or (c.endswith("_by") and table not in schema.CANONICAL):
                n = _changed(
                    con,
                    f"UPDATE {_q(table)} SET {_q(c)} = NULL "
                    f"WHERE {_q(c)} IN (SELECT v FROM __forget_people)",
                )
                if n:
                    report.nulled[f"{table}.{c}"] = n
        # what is left that names the person: their values out where a column holds one whole,
        # and in free text each of them as a whole token replaced (longest first, one pass)
        texts = sorted(found["texts"], key=lambda t: (-len(t), t))
        for c in cols:
            n = _changed(
                con,
                f"UPDATE {_q(table)} SET {_q(c)} = NULL "
                f"WHERE {_q(c)} IN (SELECT v FROM __forget_values)",
            )
            if texts and _redactable(table, c):
                expr = _q(c)
                for _ in texts:
                    expr = f"regexp_replace({expr}, ?, ?, 'g')"
                params: list[Any] = [x for t in texts for x in (_pattern(t), rf"\1{REDACTED}\2")]
                where = " OR ".join(f"regexp_matches({_q(c)}, ?)" for _ in texts)
                # again while something matches: two tokens one separator apart share it
                for _ in range(10):
                    changed = _changed(
                        con,
                        f"UPDATE {_q(table)} SET {_q(c)} = {expr} WHERE {where}",
                        params + [_pattern(t) for t in texts],
                    )
                    n += changed
                    if not changed:
                        break
            if n:
                report.redacted[f"{table}.{c}"] = n


def _changed(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> int:
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row else 0


def traces(con: duckdb.DuckDBPyConnection, found: dict[str, set[str]]) -> list[str]:
    """``table.column`` of every text still holding one of the person's ids or values."""
    exact = found["people"] | found["identities"] | found["values"]
    left = []
    for table, cols in _text_columns(con).items():
        for c in cols:
            checks = [f"{_q(c)} IN (SELECT unnest(?::VARCHAR[]))"]
            params: list[Any] = [sorted(exact)]
            if c in FACT_COLUMNS:
                checks.append(f"{_q(c)} IN (SELECT unnest(?::VARCHAR[]))")
                params.append(sorted(found["facts"]))
            if _redactable(table, c):
                for text in sorted(found["texts"]):
                    checks.append(f"regexp_matches({_q(c)}, ?)")
                    params.append(_pattern(text))
            n = _changed(
                con, f"SELECT count(*) FROM {_q(table)} WHERE {' OR '.join(checks)}", params
            )
            if n:
                left.append(f"{table}.{c}")
    return left


def forget(path: str | os.PathLike[str], who: str) -> ForgetReport:
    """Remove the person ``who`` names from the workspace at ``path`` and rewrite the file."""
    from .workspace import open_workspace

    report = ForgetReport()
    ws = open_workspace(path, create=False)
    try:
        if ws.setting(PENDING):
            _rewrite(ws.path, ws.con)
            report.finished_earlier = True
            ws = open_workspace(path, create=False)
        con = ws.con
        try:
            ids = find_person(con, who)
        except NotFound:
            if report.finished_earlier:
                report.rewritten = True
                return report
            raise
        people = _aliases(con, ids)
        con.execute("BEGIN TRANSACTION")
        try:
            found = _collect(con, people)
            report.person_ids = sorted(found["people"])
            report.files = _source_files(con)
            _erase(con, found, report)
            left = traces(con, found)
            if left:
                raise WorkspaceError(
                    "forget could not remove every trace (left in "
                    f"{', '.join(left)}); nothing was changed"
                )
            con.execute("INSERT OR REPLACE INTO settings VALUES (?, '1')", [PENDING])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        _rewrite(ws.path, con)
        report.rewritten = True
    finally:
        with contextlib.suppress(duckdb.Error):
            ws.close()
    return report


def _rewrite(path: Path, con: duckdb.DuckDBPyConnection) -> None:
    """Copy the workspace into a fresh file and put it in place (the free blocks of the old
    file, which still hold deleted rows, go with it). ``con`` is closed."""
    tmp = path.with_name(f".{path.name}.rewrite-{os.getpid()}")
    for p in (tmp, Path(str(tmp) + ".wal")):
        p.unlink(missing_ok=True)
    try:
        db = _current_db(con)
        con.execute("CHECKPOINT")
        con.execute(f"ATTACH {_lit(str(tmp))} AS __fresh")
        try:
            con.execute(f"COPY FROM DATABASE {_q(db)} TO __fresh")
            con.execute("DELETE FROM __fresh.settings WHERE key = ?", [PENDING])
            for table in _tables(con, db):
                a = _changed(con, f"SELECT count(*) FROM {_q(db)}.{_q(table)}")
                b = _changed(con, f"SELECT count(*) FROM __fresh.{_q(table)}")
                expected = a - (1 if table == "settings" and _pending(con, db) else 0)
                if b != expected:
                    raise WorkspaceError(f"the rewritten copy of table {table} lost rows")
            con.execute("CHECKPOINT __fresh")
        finally:
            con.execute("DETACH __fresh")
        con.close()
        if Path(str(path) + ".wal").exists():
            raise WorkspaceError(f"{path}.wal is still there after closing; not replacing {path}")
        os.replace(tmp, path)
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except duckdb.Error as e:
        raise WorkspaceError(
            f"cannot rewrite {path}: {str(e).splitlines()[0]} (the person is removed from the "
            "tables; run `truefans forget` again to finish)"
        ) from e
    finally:
        with contextlib.suppress(duckdb.Error):
            con.close()
        for p in (tmp, Path(str(tmp) + ".wal")):
            p.unlink(missing_ok=True)


def _tables(con: duckdb.DuckDBPyConnection, db: str) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' "
        "AND NOT temporary",
        [db],
    ).fetchall()
    return [str(r[0]) for r in rows]


def _pending(con: duckdb.DuckDBPyConnection, db: str) -> bool:
    return bool(_changed(con, f"SELECT count(*) FROM {_q(db)}.settings WHERE key = ?", [PENDING]))


__all__ = ["ForgetReport", "NotFound", "find_person", "forget", "traces"]

"""Validate a staged table and store it: one file, one transaction.

Everything here is set-based SQL over the staged rows (no Python loop per row): each column is
typed with ``TRY_CAST``-style expressions, every failure becomes a reason naming the column, rows
with a reason go to ``rejects``, the rest are compared by natural key with what is already stored
(new rows added, changed rows updated, identical rows skipped), and people and identities that are
referred to but not yet known are created. The caller wraps this in a transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from .. import derived
from ..schema import CANONICAL, ISO_4217, Column, Table
from .registry import StagedTable

_TRUE = "('true','t','yes','y','1')"
_FALSE = "('false','f','no','n','0')"
_ISO_LIST = "(" + ",".join(f"'{c}'" for c in sorted(ISO_4217)) + ")"
#: kinds whose audience is under the business' control when `owned` is not given
_OWNED_KINDS = ("email", "web", "phone", "client_service", "direct", "event")


@dataclass
class DirectScan(StagedTable):
    """A staged table not materialised yet: ``scan`` is a table expression (e.g. a
    ``read_csv(...)`` call) giving the file's rows with the canonical columns as text.

    The loader first tries :func:`store_direct` (one pass from the file into the canonical
    table); when the file needs anything more, ``materialize`` stages it the ordinary way (a
    temporary table named ``relation``) and the import goes down the general path.
    """

    scan: str = ""
    materialize: Callable[[], StagedTable] | None = None


class NotDirect(Exception):
    """The file cannot take the one-pass path (a row to reject, a repeated key, rows stored
    already): the caller rolls back and stages it the ordinary way."""


#: the message of the error the one-pass insert raises at the first row to reject
_DIRECT_STOP = "truefans: this file has rows to reject"

#: tables whose loading needs more than typed rows and the people they name
_NOT_DIRECT = ("audience",)


@dataclass
class LoadCounts:
    rows: int = 0
    added: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _staged_types(con: duckdb.DuckDBPyConnection, rel: str) -> dict[str, str]:
    return {r[0]: str(r[1]).upper() for r in con.execute(f"DESCRIBE {q(rel)}").fetchall()}


def _value_expr(col: Column, x: str, src_type: str, tz: str | None) -> str:
    """SQL turning the raw (trimmed, NULL if empty) value ``x`` into the column's type."""
    text = src_type == "VARCHAR"
    t = col.type
    if t == "str":
        return x if text else f"CAST({x} AS VARCHAR)"
    if t == "enum":
        return f"lower({x})" if text else f"lower(CAST({x} AS VARCHAR))"
    if t == "currency":
        return f"upper({x})" if text else f"upper(CAST({x} AS VARCHAR))"
    if t == "bool":
        if not text and src_type == "BOOLEAN":
            return x
        s = f"lower(CAST({x} AS VARCHAR))"
        return f"(CASE WHEN {s} IN {_TRUE} THEN true WHEN {s} IN {_FALSE} THEN false END)"
    if t in ("int", "float", "money"):
        target = {"int": "BIGINT", "float": "DOUBLE", "money": "DECIMAL(18,4)"}[t]
        return f"TRY_CAST({x} AS {target})"
    if t == "date":
        if text:
            return f"coalesce(TRY_CAST({x} AS DATE), CAST(TRY_CAST({x} AS TIMESTAMP) AS DATE))"
        return f"TRY_CAST({x} AS DATE)"
    if t == "timestamp":
        if text:
            # A cast to TIMESTAMP is 5x faster than to TIMESTAMPTZ but ignores a UTC offset, so
            # only values with a sign after the date part (an offset) take the slow cast.
            aware = f"CAST(TRY_CAST({x} AS TIMESTAMPTZ) AS TIMESTAMP)"
            naive = f"TRY_CAST({x} AS TIMESTAMP)"
            if tz is not None:
                naive = (
                    f"CASE WHEN suffix({x}, 'Z') OR suffix({x}, 'z') THEN {naive} "
                    f"ELSE CAST(timezone({lit(tz)}, {naive}) AS TIMESTAMP) END"
                )
            offset = f"(contains(substr({x}, 11), '+') OR contains(substr({x}, 11), '-'))"
            return f"(CASE WHEN {offset} THEN {aware} ELSE {naive} END)"
        if "TIME ZONE" in src_type:
            return f"CAST({x} AS TIMESTAMP)"
        if src_type.startswith("TIMESTAMP") and tz is not None:
            return f"CAST(timezone({lit(tz)}, {x}) AS TIMESTAMP)"
        return f"TRY_CAST({x} AS TIMESTAMP)"
    raise ValueError(t)


_TYPE_WORDS = {
    "int": "not a whole number",
    "float": "not a number",
    "money": "not an amount (use digits and a dot, e.g. 1234.50)",
    "bool": "not true/false",
    "date": "not a date (use YYYY-MM-DD)",
    "timestamp": "not a date-time (use ISO 8601, e.g. 2024-03-01T14:30:00+01:00)",
}


def _show(x: str) -> str:
    return f"'''' || left(CAST({x} AS VARCHAR), 60) || ''''"


def _blank_to_null(x: str) -> str:
    """``NULLIF(TRIM(x), '')``: trimming only a value that starts or ends with a space (what
    ``trim`` removes) gives the same result at a third of the cost on a column with none."""
    return (
        f"CASE WHEN {x} LIKE ' %' OR {x} LIKE '% ' THEN NULLIF(TRIM({x}), '') "
        f"ELSE NULLIF({x}, '') END"
    )


@dataclass
class _Checks:
    """The typing and validation of one table as SQL over a source of raw columns."""

    names: list[str]  # the canonical columns, in order
    present: list[str]  # the ones the source provides
    raw_sel: list[str]  # level 1: raw values, trimmed, empty -> NULL
    typed_sel: str  # level 2: typed values
    x_keep: str  # level 2: the raw values the checks still need
    #: level 3: per column, its checks as (SQL condition, SQL reason), first that holds wins
    errs: list[tuple[str, list[tuple[str, str]]]]

    def select(self, source: str, carry: tuple[tuple[str, str], ...] = ()) -> str:
        """SELECT of the typed columns and one ``__e<i>`` reason column per check, after the
        ``carry`` columns ((SQL over ``source``, name) pairs)."""
        first = "".join(f"{sql} AS {name}, " for sql, name in carry)
        lead = "".join(f"{name}, " for _, name in carry)
        sel1 = ", ".join(self.raw_sel)
        l1 = f"SELECT {first}{sel1 or 'NULL AS __none'} FROM {source}"
        l2 = f"SELECT {lead}{self.typed_sel}{', ' + self.x_keep if self.x_keep else ''} FROM ({l1})"
        err_sel = ", ".join(
            "CASE " + " ".join(f"WHEN {c} THEN {m}" for c, m in checks) + f" END AS {q(f'__e{i}')}"
            for i, (_, checks) in enumerate(self.errs)
        )
        cols_out = ", ".join(q(n) for n in self.names)
        return f"SELECT {lead}{cols_out}{', ' + err_sel if err_sel else ''} FROM ({l2})"

    def typed(self, source: str) -> str:
        """SELECT of the typed columns and ``__bad``: true when the row has a reason to be
        rejected (the checks of :meth:`select` as one condition, no reason text)."""
        l1 = f"SELECT {', '.join(self.raw_sel) or 'NULL AS __none'} FROM {source}"
        l2 = f"SELECT {self.typed_sel}{', ' + self.x_keep if self.x_keep else ''} FROM ({l1})"
        conds = [f"({c})" for _, checks in self.errs for c, _ in checks]
        bad = " OR ".join(conds) if conds else "false"
        cols_out = ", ".join(q(n) for n in self.names)
        return f"SELECT {cols_out}, coalesce({bad}, false) AS __bad FROM ({l2})"


def _checks(
    con: duckdb.DuckDBPyConnection,
    table: str,
    types: dict[str, str],
    *,
    tz: str | None,
    currency: str | None,
    resolved_later: frozenset[str],
) -> _Checks:
    spec = CANONICAL[table]
    present = [c.name for c in spec.columns if c.name in types]
    # level 1: raw values, trimmed, empty -> NULL;  level 2: typed values (x refers to level 1)
    raw_sel: list[str] = []
    xs: dict[str, str] = {}
    vals: dict[str, str] = {}
    for col in spec.columns:
        if col.name in types:
            src = types[col.name]
            expr = _blank_to_null(q(col.name)) if src == "VARCHAR" else q(col.name)
            raw_sel.append(f"{expr} AS {q('__x_' + col.name)}")
            xs[col.name] = q("__x_" + col.name)
            vals[col.name] = _value_expr(col, xs[col.name], src, tz)
        else:
            xs[col.name] = "NULL"
            vals[col.name] = f"CAST(NULL AS {col.sql_type})"
    _defaults(spec, vals, xs, currency)

    # level 3: one reason (or NULL) per check, referring to x (raw) and the typed column
    errs: list[tuple[str, list[tuple[str, str]]]] = []
    for col in spec.columns:
        x, v = xs[col.name], q(col.name)
        checks: list[tuple[str, str]] = []
        if col.required and col.name not in resolved_later:
            checks.append((f"{v} IS NULL AND {x} IS NULL", "'missing (required)'"))
        if col.type in _TYPE_WORDS and col.name in types:
            checks.append(
                (
                    f"{x} IS NOT NULL AND {v} IS NULL",
                    f"{lit(_TYPE_WORDS[col.type] + ': ')} || {_show(x)}",
                )
            )
        if col.type == "enum":
            allowed = "(" + ",".join(lit(e) for e in col.enum) + ")"
            checks.append(
                (
                    f"{v} IS NOT NULL AND {v} NOT IN {allowed}",
                    f"{_show(x)} || " + lit(" is not one of: " + ", ".join(col.enum)),
                )
            )
        if col.type == "currency":
            checks.append(
                (
                    f"{v} IS NOT NULL AND {v} NOT IN {_ISO_LIST}",
                    f"{_show(v)} || ' is not an ISO 4217 currency code (e.g. USD, EUR, GBP)'",
                )
            )
        if col.references == "channels.channel_id":
            known = [
                r[0] for r in con.execute("SELECT channel_id FROM channels ORDER BY 1").fetchall()
            ]
            shown = ", ".join(known[:30]) + (" ..." if len(known) > 30 else "")
            hint = f"known channels: {shown}" if known else "no channels are declared yet"
            # a literal list is a fast hash probe; a subquery would be a join per row
            pool = (
                "(" + ", ".join(lit(k) for k in known) + ")"
                if 0 < len(known) <= 1000
                else "(SELECT channel_id FROM channels)"
            )
            checks.append(
                (
                    f"{v} IS NOT NULL AND {v} NOT IN {pool}",
                    f"'unknown channel ' || {_show(v)} || "
                    + lit(" (" + hint + "; import a channels file first)"),
                )
            )
        if col.references == "contents.content_id":
            checks.append(
                (
                    f"{v} IS NOT NULL AND {v} NOT IN (SELECT content_id FROM contents)",
                    f"'unknown content ' || {_show(v)} || ' (import a contents file first)'",
                )
            )
        if checks:
            errs.append((col.name, checks))
    if spec.name in ("outcomes", "costs"):
        money = "value" if spec.name == "outcomes" else "dollars"
        errs.append(
            (
                "currency",
                [
                    (
                        f"{q(money)} IS NOT NULL AND currency IS NULL",
                        "'missing: an amount needs a currency (add a currency column or pass "
                        "--currency)'",
                    )
                ],
            )
        )
    names = [c.name for c in spec.columns]
    return _Checks(
        names=names,
        present=present,
        raw_sel=raw_sel,
        typed_sel=", ".join(f"{vals[n]} AS {q(n)}" for n in names),
        x_keep=", ".join(xs[n] for n in names if xs[n] != "NULL"),
        errs=errs,
    )


def build_checked(
    con: duckdb.DuckDBPyConnection,
    staged: StagedTable,
    out: str,
    *,
    tz: str | None = None,
    currency: str | None = None,
    resolved_later: frozenset[str] = frozenset(),
) -> list[str]:
    """Create temp table ``out``: ``__row``, typed canonical columns, ``__err``, ``__cols``.

    Returns the canonical columns the file provided.
    """
    ch = _checks(
        con,
        staged.table,
        _staged_types(con, staged.relation),
        tz=tz,
        currency=currency,
        resolved_later=resolved_later,
    )
    errs = ch.errs
    parts = [f"{lit(name + ': ')} || {q(f'__e{i}')}" for i, (name, _) in enumerate(errs)]
    flags = [
        f"CASE WHEN {q(f'__e{i}')} IS NOT NULL THEN {lit(name)} END"
        for i, (name, _) in enumerate(errs)
    ]
    err_sql = (
        f"NULLIF(concat_ws('; ', {', '.join(parts)}), '')" if parts else "CAST(NULL AS VARCHAR)"
    )
    cols_sql = (
        f"NULLIF(concat_ws(', ', {', '.join(flags)}), '')" if flags else "CAST(NULL AS VARCHAR)"
    )
    cols_out = ", ".join(q(n) for n in ch.names)
    # __rid: the staged row (unique); __row: the file row it came from, for the user (a source
    # may stage several rows from one file row, e.g. one metric per column)
    l3 = ch.select(q(staged.relation), (("rowid", "__rid"), (staged.row_expr, "__row")))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {q(out)} AS SELECT __rid, __row, {cols_out}, "
        f"{err_sql} AS __err, {cols_sql} AS __cols FROM ({l3})"
    )
    return ch.present


def _defaults(spec: Table, vals: dict[str, str], xs: dict[str, str], currency: str | None) -> None:
    if spec.name == "channels":
        vals["name"] = f"coalesce({vals['name']}, {vals['channel_id']})"
        owned = "(" + ",".join(lit(k) for k in _OWNED_KINDS) + ")"
        vals["owned"] = f"coalesce({vals['owned']}, {vals['kind']} IN {owned})"
    if spec.name == "identities":
        from .identity import email_sql, handle_sql, profile_url_sql

        v = vals["value"]
        vals["value"] = (
            f"(CASE {vals['kind']} WHEN 'email' THEN coalesce({email_sql(v)}, {v}) "
            f"WHEN 'profile_url' THEN {profile_url_sql(v)} WHEN 'handle' THEN {handle_sql(v)} "
            f"ELSE {v} END)"
        )
        if vals["platform"] != "CAST(NULL AS VARCHAR)":
            vals["platform"] = f"lower({vals['platform']})"
        if xs["identity_id"] == "NULL":
            vals["identity_id"] = (
                f"{vals['kind']} || ':' || coalesce({vals['platform']}, '') || ':' || {vals['value']}"
            )
        vals["value_hash"] = f"coalesce({vals['value_hash']}, sha256({vals['value']}))"
    if spec.name in ("outcomes", "costs") and currency:
        money = "value" if spec.name == "outcomes" else "dollars"
        vals["currency"] = (
            f"coalesce({vals['currency']}, CASE WHEN {vals[money]} IS NOT NULL "
            f"THEN {lit(currency.upper())} END)"
        )
    if spec.name == "costs":
        vals["period_end"] = f"coalesce({vals['period_end']}, {vals['period_start']} + 6)"


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> int:
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def store_checked(
    con: duckdb.DuckDBPyConnection,
    staged: StagedTable,
    checked: str,
    source_id: int,
) -> LoadCounts:
    """Store the valid rows of ``checked``; must run inside the caller's transaction."""
    spec = CANONICAL[staged.table]
    counts = LoadCounts(rows=staged.rows)
    cols = spec.column_names
    key = list(spec.key)
    keys_eq = " AND ".join(f"c.{q(k)} IS NOT DISTINCT FROM t.{q(k)}" for k in key)
    # people are described by many sources, a channel's costs come from several (an ad report
    # brings dollars, an hours sheet hours), a page's title from one report and its URL from
    # another: a gap in one never erases what another said
    fill = spec.name in ("people", "costs", "contents")
    same = " AND ".join(
        f"coalesce(c.{q(c)}, t.{q(c)}) IS NOT DISTINCT FROM t.{q(c)}"
        if fill
        else f"c.{q(c)} IS NOT DISTINCT FROM t.{q(c)}"
        for c in cols
    )

    # rows the source itself could not read
    if staged.rejects:
        con.executemany(
            "INSERT INTO rejects VALUES (?, ?, ?, ?, ?)",
            [(source_id, r, c, reason, raw) for r, c, reason, raw in staged.rejects],
        )
    # repeated keys inside the file: identical repeats are skipped, conflicting ones rejected
    # grouping on a 64-bit hash of the key is much faster than on strings; a collision only
    # sends us down the exact path below, which then finds nothing
    dup_keys = _one(
        con,
        f"SELECT count(*) FROM (SELECT 1 FROM {q(checked)} WHERE __err IS NULL "
        f"GROUP BY hash({', '.join(q(k) for k in key)}) HAVING count(*) > 1)",
    )
    if dup_keys:
        keylist = ", ".join(q(k) for k in key)
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE __dups AS
            WITH firsts AS (
              SELECT * FROM {q(checked)} WHERE __err IS NULL
              QUALIFY row_number() OVER (PARTITION BY {keylist} ORDER BY __row, __rid) = 1),
            later AS (
              SELECT * FROM {q(checked)} c WHERE __err IS NULL
              AND __rid NOT IN (SELECT __rid FROM firsts))
            SELECT c.__rid, t.__row AS first_row,
                   ({same}) OR {str(spec.name == "people").lower()} AS same
            FROM later c JOIN firsts t ON {keys_eq}"""
        )
        con.execute(
            f"""UPDATE {q(checked)} SET
              __err = 'duplicate of row ' || d.first_row || ' in this file with other values '
                      || '(same {"/".join(key)})',
              __cols = {lit(", ".join(key))}
            FROM __dups d WHERE {q(checked)}.__rid = d.__rid AND NOT d.same"""
        )
        counts.skipped += _one(con, "SELECT count(*) FROM __dups WHERE same")
        con.execute(
            f"DELETE FROM {q(checked)} WHERE __rid IN (SELECT __rid FROM __dups WHERE same)"
        )
        con.execute("DROP TABLE __dups")

    # rejects found by validation
    raw_cols = [c for c in _staged_types(con, staged.relation) if c != "__row"]
    raw = (
        "to_json({" + ", ".join(f"{lit(c)}: s.{q(c)}" for c in raw_cols) + "})"
        if raw_cols
        else "NULL"
    )
    # one reject per file row, with every reason its staged rows had
    con.execute(
        f"""INSERT INTO rejects
        SELECT ?, c.__row,
               string_agg(DISTINCT c.__cols, ', ' ORDER BY c.__cols),
               string_agg(DISTINCT c.__err, '; ' ORDER BY c.__err),
               CAST(first({raw} ORDER BY c.__rid) AS VARCHAR)
        FROM {q(checked)} c JOIN {q(staged.relation)} s ON s.rowid = c.__rid
        WHERE c.__err IS NOT NULL
        GROUP BY c.__row""",
        [source_id],
    )
    bad_rows = _one(con, f"SELECT count(DISTINCT __row) FROM {q(checked)} WHERE __err IS NOT NULL")
    counts.rejected = len(staged.rejects) + bad_rows
    # the raw text is no longer needed: free its memory before the big insert
    con.execute(f"DROP TABLE IF EXISTS {q(staged.relation)}")
    # the good staged rows of a rejected file row are kept out too: a file row lands whole
    if bad_rows:
        con.execute(
            f"""UPDATE {q(checked)} SET __err = 'another value of this row was rejected'
            WHERE __err IS NULL AND __row IN
              (SELECT __row FROM {q(checked)} WHERE __err IS NOT NULL)"""
        )

    target = q(spec.name)
    valid = f"(SELECT * FROM {q(checked)} WHERE __err IS NULL)"
    n_valid = _one(con, f"SELECT count(*) FROM {q(checked)} WHERE __err IS NULL")
    existing = _one(con, f"SELECT count(*) FROM (SELECT 1 FROM {target} LIMIT 1)")
    matched = 0
    if existing:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE __matched AS
            SELECT c.__rid, ({same}) AS same FROM {valid} c JOIN {target} t ON {keys_eq}"""
        )
        matched = _one(con, "SELECT count(*) FROM __matched")
    _create_missing(con, spec, valid, source_id)
    col_list = ", ".join(q(c) for c in cols)
    if matched:
        counts.skipped += _one(con, "SELECT count(*) FROM __matched WHERE same")
        changed = _one(con, "SELECT count(*) FROM __matched WHERE NOT same")
        if changed:
            sets = ", ".join(
                f"{q(c)} = coalesce(c.{q(c)}, {target}.{q(c)})" if fill else f"{q(c)} = c.{q(c)}"
                for c in cols
                if c not in key
            )
            keys_eq_t = " AND ".join(f"c.{q(k)} IS NOT DISTINCT FROM {target}.{q(k)}" for k in key)
            if spec.name in ("touchpoints", "outcomes"):
                # the owner a changed row had: their summaries change too (derived.py)
                derived.mark_dirty(
                    con,
                    f"""SELECT {target}.person_id FROM {target} JOIN (SELECT * FROM {valid} v
                    WHERE __rid IN (SELECT __rid FROM __matched WHERE NOT same)) c
                    ON {keys_eq_t}""",
                )
            con.execute(
                f"""UPDATE {target} SET {sets}{", " if sets else ""}source_id = ?
                FROM (SELECT * FROM {valid} v WHERE __rid IN
                      (SELECT __rid FROM __matched WHERE NOT same)) c
                WHERE {keys_eq_t}""",
                [source_id],
            )
            counts.updated = changed
        con.execute(
            f"""INSERT INTO {target} ({col_list}, source_id)
            SELECT {col_list}, ? FROM {valid} v
            WHERE __rid NOT IN (SELECT __rid FROM __matched)""",
            [source_id],
        )
        con.execute("DROP TABLE __matched")
    else:
        con.execute(
            f"INSERT INTO {target} ({col_list}, source_id) SELECT {col_list}, ? FROM {valid} v",
            [source_id],
        )
    # stored rows (a file row may give several, e.g. one metric per column)
    counts.added = n_valid - matched
    return counts


def _create_missing(
    con: duckdb.DuckDBPyConnection, spec: Table, valid: str, source_id: int
) -> None:
    """People (and audience identities) referred to but not yet known are created."""
    if spec.name == "audience":
        con.execute(
            f"""INSERT INTO identities (identity_id, person_id, kind, platform, value, value_hash,
                                        source_id)
            SELECT v.identity_id, coalesce(min(v.person_id), v.identity_id), 'handle',
                   any_value(ch.platform), v.identity_id, sha256(v.identity_id), ?
            FROM {valid} v LEFT JOIN channels ch USING (channel_id)
            WHERE v.identity_id NOT IN (SELECT identity_id FROM identities)
            GROUP BY v.identity_id""",
            [source_id],
        )
        con.execute(
            f"""INSERT INTO people (person_id, first_seen, source_id)
            SELECT i.person_id, min(v.followed_at), ?
            FROM {valid} v JOIN identities i USING (identity_id)
            WHERE i.person_id NOT IN (SELECT person_id FROM people)
            GROUP BY i.person_id""",
            [source_id],
        )
        return
    if "person_id" not in spec.column_names or spec.name == "people":
        return
    first = {"touchpoints": "min(v.ts)", "outcomes": "min(v.ts)"}.get(spec.name, "NULL")
    # grouped before the look-up in people: one probe per person, not per row
    con.execute(
        f"""INSERT INTO people (person_id, first_seen, source_id)
        SELECT g.person_id, g.first_seen, ? FROM (
          SELECT v.person_id, {first} AS first_seen FROM {valid} v
          WHERE v.person_id IS NOT NULL GROUP BY v.person_id) g
        WHERE g.person_id NOT IN (SELECT person_id FROM people)""",
        [source_id],
    )


def store_direct(
    con: duckdb.DuckDBPyConnection,
    staged: DirectScan,
    source_id: int,
    *,
    tz: str | None = None,
    currency: str | None = None,
    after_insert: Callable[[str], None] | None = None,
) -> LoadCounts:
    """Load a clean file into an empty canonical table in one pass from ``staged.scan``.

    The typing and checks are those of :func:`build_checked`, evaluated inside one
    ``INSERT ... SELECT`` from the file: no temporary table of text, none of typed rows. It
    applies only where the general path would add every row as it is: the target table is
    empty (nothing to update or skip), no row has a reason to be rejected (the first one stops
    the insert with an error) and no key repeats (checked exactly on the inserted rows). In any
    other case it raises :class:`NotDirect` and the caller rolls the transaction back.
    ``after_insert(table)`` may fix the inserted rows (phone numbers) before the key check.
    Must run inside the caller's transaction.
    """
    spec = CANONICAL[staged.table]
    if spec.name in _NOT_DIRECT or staged.rejects:
        raise NotDirect("not a table the one-pass path loads")
    target = q(spec.name)
    if _one(con, f"SELECT count(*) FROM (SELECT 1 FROM {target} LIMIT 1)"):
        raise NotDirect("the table holds rows already")
    types = {c: "VARCHAR" for c in _scan_columns(con, staged.scan)}
    ch = _checks(con, spec.name, types, tz=tz, currency=currency, resolved_later=frozenset())
    cols = spec.column_names
    col_list = ", ".join(q(c) for c in cols)
    try:
        n = _one(
            con,
            f"""INSERT INTO {target} ({col_list}, source_id)
            SELECT {col_list}, ? FROM ({ch.typed(staged.scan)})
            WHERE CASE WHEN __bad THEN error({lit(_DIRECT_STOP)}) ELSE true END""",
            [source_id],
        )
    except duckdb.InterruptException:
        raise  # the user stopped the import: not a reason to try the other path
    except duckdb.Error as e:
        raise NotDirect(str(e).splitlines()[0]) from e
    if after_insert is not None:
        after_insert(spec.name)
    # repeated keys inside the file: exact (distinct keys vs rows), and cheaper than grouping
    # on a hash of the key with a count per group
    key = list(spec.key)
    if len(key) == 1:
        distinct = _one(con, f"SELECT count(DISTINCT {q(key[0])}) FROM {target}")
    else:
        keylist = ", ".join(q(k) for k in key)
        distinct = _one(con, f"SELECT count(*) FROM (SELECT DISTINCT {keylist} FROM {target})")
    if distinct != n:
        raise NotDirect("a key repeats inside the file")
    _create_missing(con, spec, f"(SELECT * FROM {target})", source_id)
    return LoadCounts(rows=n, added=n)


def _scan_columns(con: duckdb.DuckDBPyConnection, scan: str) -> list[str]:
    return [str(r[0]) for r in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()]

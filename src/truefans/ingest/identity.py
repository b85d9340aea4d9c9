"""Identity resolution: the same person across LinkedIn, Mailchimp, Stripe, Shopify, the phone...

Rules, in order, all recorded in ``identity_links`` so every join can be explained:

1. **Normalise** each hint: emails (case, whitespace, ``mailto:``, plus-addressing, Gmail dots),
   phones to E.164 (``phonenumbers``; the workspace's country, default US, for national
   numbers), LinkedIn profile URLs (scheme, ``www``/country subdomains, query, trailing slash),
   handles (``@``, profile URLs) per platform, customer/CRM ids per platform.
2. **Exact matches join** (deterministic): rows of a file that share a normalised identity are
   one person, and an identity already in the workspace brings its person. Connected rows are
   found by label propagation in SQL, so a million-row export resolves in the engine.
3. When one file's rows tie together two people already known, they are **merged** (the older id
   is kept) and the merge is recorded in ``merges``, unless the user split them apart before.
4. **Name + company** (transparent, scored): a new person known only by a LinkedIn profile (no
   email, no phone) and an existing person (or vice versa) with the same normalised full name and
   a similar company (Jaro-Winkler ≥ 0.85) are joined with score
   ``0.6 · name + 0.4 · company`` when the best score is ≥ 0.9 and unique. When one side has no
   company, an email that spells the name (``farid.haddad@…`` for Farid Haddad) scores 0.3 in
   its place. A name held by more than three people on either side is too common to single
   anyone out and is not used.

``split_person`` undoes a wrong merge: the chosen identities move to a new person together with
every fact seen under them, and the pair is kept apart from then on.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd
import phonenumbers

from .. import derived
from ..errors import TruefansError
from .common import DESCRIPTIVE, HINTS

#: hint column → identity kind
HINT_KINDS = {
    "__email": "email",
    "__phone": "phone",
    "__profile_url": "profile_url",
    "__handle": "handle",
    "__customer_id": "customer_id",
    "__crm_id": "crm_id",
    "__cookie": "cookie",
}
#: kinds whose value is the same whatever the platform
GLOBAL_KINDS = ("email", "phone", "profile_url")
NAME_MATCH_THRESHOLD = 0.9
COMPANY_SIMILARITY = 0.85
#: a normalised name held by more people than this (on either side) is too common to match on
MAX_SAME_NAME = 3


# -- normalisation (SQL for bulk, Python for one value) -----------------------------------------
def email_sql(x: str) -> str:
    """Lower-case, trimmed, no ``mailto:``, no ``+tag``; Gmail dots removed. NULL if not an email."""
    e = f"regexp_replace(lower(trim({x})), '^mailto:', '')"
    local = f"split_part({e}, '@', 1)"
    domain = f"split_part({e}, '@', 2)"
    base = f"split_part({local}, '+', 1)"
    gmail = f"({domain} IN ('gmail.com', 'googlemail.com'))"
    norm = (
        f"(CASE WHEN {gmail} THEN replace({base}, '.', '') || '@gmail.com' "
        f"ELSE {base} || '@' || {domain} END)"
    )
    return (
        f"(CASE WHEN regexp_matches({e}, '^[^@\\s,;<>]+@[^@\\s,;<>]+\\.[a-z]{{2,}}$') "
        f"THEN {norm} END)"
    )


def profile_url_sql(x: str) -> str:
    """``https://uk.linkedin.com/in/Ada-L/?trk=x`` → ``linkedin.com/in/ada-l``."""
    u = f"lower(trim({x}))"
    u = f"regexp_replace({u}, '^[a-z]+://', '')"
    u = f"regexp_replace({u}, '^([a-z]{{2,3}}|www|m)\\.linkedin\\.com', 'linkedin.com')"
    u = f"regexp_replace({u}, '[?#].*$', '')"
    u = f"rtrim({u}, '/')"
    return f"NULLIF({u}, '')"


def handle_sql(x: str) -> str:
    """``@Ada_L``, ``https://instagram.com/ada_l/`` → ``ada_l``."""
    h = f"lower(trim({x}))"
    h = f"regexp_replace({h}, '^[a-z]+://', '')"
    h = f"regexp_replace({h}, '^(www\\.)?[a-z0-9.-]+\\.[a-z]+/', '')"
    h = f"rtrim(ltrim({h}, '@'), '/')"
    return f"NULLIF({h}, '')"


def id_sql(x: str) -> str:
    return f"NULLIF(trim(CAST({x} AS VARCHAR)), '')"


def normalise_email(value: str) -> str | None:
    from .channels import scalar_connection

    rows = (
        scalar_connection()
        .execute(f"SELECT {email_sql('v')} FROM (SELECT ?::VARCHAR AS v)", [value])
        .fetchall()
    )
    return rows[0][0] if rows else None


def normalise_phone(value: str, region: str = "US") -> str | None:
    """E.164, or None when it cannot be a phone number."""
    raw = (value or "").strip()
    if not raw:
        return None
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        num = phonenumbers.parse(raw, (region or "US").upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(num):
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def _phone_map(
    con: duckdb.DuckDBPyConnection, rel: str, phone_col: str, country_col: str | None, region: str
) -> str:
    """Temp table (raw, country, e164) for the distinct phones of ``rel`` (Python per value)."""
    cc = country_col or "CAST(NULL AS VARCHAR)"
    pairs = con.execute(
        f"SELECT DISTINCT {phone_col}, {cc} FROM {rel} WHERE {phone_col} IS NOT NULL"
    ).fetchall()
    raw, country, e164 = [], [], []
    for p, c in pairs:
        raw.append(p)
        country.append(c)
        reg = c if isinstance(c, str) and len(c.strip()) == 2 else region
        e164.append(normalise_phone(str(p), reg))
    frame = pd.DataFrame({"raw": raw, "country": country, "e164": e164}, dtype="object")
    con.register("__phones_df", frame)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE __phones AS SELECT CAST(raw AS VARCHAR) raw, "
            "CAST(country AS VARCHAR) country, CAST(e164 AS VARCHAR) e164 FROM __phones_df"
        )
    finally:
        con.unregister("__phones_df")
    return "__phones"


# -- resolution -----------------------------------------------------------------------------
def staged_hints(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    cols = [r[0] for r in con.execute(f'DESCRIBE "{relation}"').fetchall()]
    return [c for c in cols if c in HINTS or c in DESCRIPTIVE]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def resolve_hints(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    row_expr: str,
    checked: str,
    source_id: int,
    *,
    source_name: str,
    table: str,
    primary: str | None = None,
    hash_pii: bool = False,
    region: str = "US",
    time_col: str | None = None,
    create_people: bool = True,
) -> dict[str, int]:
    """Give each valid row of ``checked`` a ``person_id`` from the hints staged in ``relation``.

    Creates people and identities (with links saying why), merges people that the file ties
    together, and for audience sets ``identity_id`` from the ``primary`` hint. Runs inside the
    caller's transaction. Returns counts: people_created, identities_created, merges, name_matches.

    Work is done once per distinct combination of hints (a "signature": a customer who paid
    a hundred times is resolved once), in SQL; Python only sees merges.
    """
    cols = set(staged_hints(con, relation))
    hints = [h for h in HINTS if h in cols]
    stats = {"people_created": 0, "identities_created": 0, "merges": 0, "name_matches": 0}
    if not hints:
        return stats
    sig_cols = [c for c in (*HINTS, *DESCRIPTIVE) if c in cols]
    qc = ", ".join(f'"{c}"' for c in sig_cols)
    srow = row_expr.replace("rowid", "s.rowid").replace("__row", "s.__row")
    # 0. signatures: distinct hint combinations among the valid rows, and each row's signature
    sq = ", ".join(f's."{c}"' for c in sig_cols)
    valid = (
        f'WHERE {srow} IN (SELECT __row FROM "{checked}" WHERE __err IS NULL)'
        if _count(con, f'SELECT count(*) FROM "{checked}" WHERE __err IS NOT NULL')
        else ""  # every row is valid
    )
    rows = f'SELECT {srow} AS __row, {sq} FROM "{relation}" s {valid}'
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE __sig AS
        SELECT *, hash({qc}) AS __hh FROM (
          SELECT row_number() OVER (ORDER BY min(__row)) AS sig, {qc}, min(__row) AS first_row
          FROM ({rows}) GROUP BY ALL)"""
    )
    # a row finds its signature by a 64-bit hash of its hints when no two signatures share one
    # (a join on one number instead of every hint); else by the hints themselves
    if _count(con, "SELECT count(*) - count(DISTINCT __hh) FROM __sig") == 0:
        rowsig = (
            f"SELECT DISTINCT r.__row, g.sig FROM (SELECT {srow} AS __row, hash({sq}) AS __hh "
            f'FROM "{relation}" s {valid}) r JOIN __sig g USING (__hh)'
        )
    else:
        on = " AND ".join(f'r."{c}" IS NOT DISTINCT FROM g."{c}"' for c in sig_cols)
        rowsig = f"SELECT DISTINCT r.__row, g.sig FROM ({rows}) r JOIN __sig g ON {on}"
    con.execute(f"CREATE OR REPLACE TEMP TABLE __rowsig AS {rowsig}")
    con.execute(
        """CREATE OR REPLACE TEMP TABLE __sig AS
        SELECT g.* EXCLUDE (__hh), n.n_rows FROM __sig g
        JOIN (SELECT sig, count(*) AS n_rows FROM __rowsig GROUP BY sig) n USING (sig)"""
    )
    # 1. one row per (signature, normalised identity)
    parts = []
    phone_tbl = None
    if "__phone" in hints:
        phone_tbl = _phone_map(
            con, "__sig", '"__phone"', '"__country"' if "__country" in cols else None, region
        )
    for h in hints:
        kind = HINT_KINDS[h]
        x = f's."{h}"'
        if kind == "email":
            val = email_sql(x)
        elif kind == "phone":
            val = "ph.e164"
        elif kind == "profile_url":
            val = profile_url_sql(x)
        elif kind == "handle":
            val = handle_sql(x)
        else:
            val = id_sql(x)
        if kind in GLOBAL_KINDS:
            platform = "CAST(NULL AS VARCHAR)"
        elif "__platform" in cols:
            platform = 'lower(trim(s."__platform"))'
        else:
            platform = f"'{source_name}'"
        join = ""
        if kind == "phone":
            cc = 's."__country"' if "__country" in cols else "CAST(NULL AS VARCHAR)"
            join = (
                f' LEFT JOIN {phone_tbl} ph ON ph.raw = s."__phone" '
                f"AND ph.country IS NOT DISTINCT FROM {cc}"
            )
        parts.append(
            f"SELECT s.sig, '{kind}' AS kind, {platform} AS platform, {val} AS value "
            f'FROM __sig s{join} WHERE s."{h}" IS NOT NULL'
        )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __h AS SELECT sig, kind, platform, value, vhash, "
        "kind || ':' || coalesce(platform, '') || ':' || vhash AS ikey FROM ("
        "SELECT h.sig, h.kind, h.platform, h.value, sha256(h.value) AS vhash FROM ("
        + " UNION ALL ".join(parts)
        + ") h WHERE h.value IS NOT NULL)"
    )
    # existing identities (matched on kind, platform, hash: works with --hash-pii too)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE __known AS
        SELECT h.ikey, first(i.identity_id ORDER BY i.identity_id) AS identity_id,
               first(i.person_id ORDER BY i.identity_id) AS person_id
        FROM (SELECT DISTINCT ikey, kind, platform, vhash FROM __h) h
        JOIN identities i ON i.kind = h.kind
             AND coalesce(i.platform, '') = coalesce(h.platform, '')
             AND i.value_hash = h.vhash
        GROUP BY h.ikey"""
    )
    # 2. connected signatures: label propagation over signatures and identity keys
    # every identity key in one signature only: the signatures are the components (what the
    # propagation below would find), each labelled by its smallest key
    simple = not _count(
        con, "SELECT count(*) FROM (SELECT ikey FROM __h GROUP BY ikey HAVING count(*) > 1)"
    )
    if simple:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE __siglab AS "
            "SELECT sig, min(ikey) AS label FROM __h GROUP BY sig"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE __lab AS "
            "SELECT h.ikey, s.label FROM __h h JOIN __siglab s USING (sig)"
        )
    else:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE __lab AS SELECT ikey, ikey AS label FROM "
            "(SELECT DISTINCT ikey FROM __h)"
        )
    for _ in range(0 if simple else 50):
        con.execute(
            """CREATE OR REPLACE TEMP TABLE __siglab AS
            SELECT h.sig, min(l.label) AS label FROM __h h JOIN __lab l USING (ikey)
            GROUP BY h.sig"""
        )
        con.execute(
            """CREATE OR REPLACE TEMP TABLE __lab2 AS
            SELECT h.ikey, min(r.label) AS label FROM __h h JOIN __siglab r USING (sig)
            GROUP BY h.ikey"""
        )
        changed = _count(
            con, "SELECT count(*) FROM __lab2 n JOIN __lab o USING (ikey) WHERE n.label <> o.label"
        )
        con.execute("CREATE OR REPLACE TEMP TABLE __lab AS SELECT * FROM __lab2")
        if not changed:
            break
    # a component's person: the known person among its keys (the oldest id if several: merge)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE __lp AS
        SELECT l.label,
               coalesce(min(k.person_id), 'p' || left(sha256(l.label), 15)) AS person_id,
               coalesce(min(k.person_id) < max(k.person_id), false) AS several_known
        FROM __lab l LEFT JOIN __known k USING (ikey)
        GROUP BY l.label"""
    )
    apart = {
        frozenset((a, b))
        for a, b in con.execute("SELECT person_a, person_b FROM kept_apart").fetchall()
    }
    merges: list[tuple[str, str, str]] = []  # kept, merged, label
    for label, persons in con.execute(
        """SELECT l.label, list(DISTINCT k.person_id ORDER BY k.person_id)
        FROM __lab l JOIN __known k USING (ikey)
        WHERE l.label IN (SELECT label FROM __lp WHERE several_known)
        GROUP BY l.label"""
    ).fetchall():
        kept = persons[0]
        for other in persons[1:]:
            if frozenset((kept, other)) not in apart:
                merges.append((kept, other, label))
    con.execute(
        """CREATE OR REPLACE TEMP TABLE __sigp AS
        SELECT s.sig, lp.person_id FROM __siglab s JOIN __lp lp USING (label)"""
    )
    # 3. new people: descriptive columns from the first row that has them
    name_expr = 'g."__name"' if "__name" in cols else "CAST(NULL AS VARCHAR)"
    if "__first_name" in cols or "__last_name" in cols:
        fn = 'g."__first_name"' if "__first_name" in cols else "''"
        ln = 'g."__last_name"' if "__last_name" in cols else "''"
        name_expr = (
            f"coalesce(NULLIF(trim({name_expr}), ''), "
            f"NULLIF(trim(coalesce({fn}, '') || ' ' || coalesce({ln}, '')), ''))"
        )
    sel = {
        "display_name": name_expr,
        "company": 'g."__company"' if "__company" in cols else "CAST(NULL AS VARCHAR)",
        "title": 'g."__title"' if "__title" in cols else "CAST(NULL AS VARCHAR)",
        "location": 'g."__location"' if "__location" in cols else "CAST(NULL AS VARCHAR)",
    }
    # the value of the person's first signature (by first row) that has one
    picks = ",\n".join(
        f"arg_min(NULLIF(trim({e}), ''), g.first_row) "
        f"FILTER (WHERE NULLIF(trim({e}), '') IS NOT NULL) AS {k}"
        if e != "CAST(NULL AS VARCHAR)"
        else f"{e} AS {k}"
        for k, e in sel.items()
    )
    first_seen = (
        f"""(SELECT sp.person_id, min(m.first_seen) AS first_seen
            FROM (SELECT rs.sig, min(c.{time_col}) AS first_seen
                  FROM "{checked}" c JOIN __rowsig rs USING (__row) GROUP BY rs.sig) m
            JOIN __sigp sp USING (sig) GROUP BY sp.person_id)"""
        if time_col
        else "(SELECT DISTINCT person_id, CAST(NULL AS TIMESTAMP) AS first_seen FROM __sigp)"
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE __pdesc AS
        SELECT d.*, f.first_seen FROM (
            SELECT sp.person_id, {picks}
            FROM __sigp sp JOIN __sig g USING (sig) GROUP BY sp.person_id) d
        LEFT JOIN {first_seen} f USING (person_id)"""
    )
    # known people: fill gaps only, never overwrite what another source said (before the new
    # ones are added: updating those would change nothing and leave work for the checkpoint)
    con.execute(
        """UPDATE people SET
            display_name = coalesce(people.display_name, d.display_name),
            company = coalesce(people.company, d.company),
            title = coalesce(people.title, d.title),
            location = coalesce(people.location, d.location),
            first_seen = least(people.first_seen, d.first_seen)
        FROM __pdesc d WHERE people.person_id = d.person_id"""
    )
    if create_people:
        stats["people_created"] = _count(
            con,
            "SELECT count(*) FROM __pdesc WHERE person_id NOT IN (SELECT person_id FROM people)",
        )
        con.execute(
            """INSERT INTO people (person_id, display_name, company, title, location,
                                   first_seen, source_id)
            SELECT person_id, display_name, company, title, location, first_seen, ?
            FROM __pdesc WHERE person_id NOT IN (SELECT person_id FROM people)""",
            [source_id],
        )
    # 4. new identities, with the reason they belong to their person
    stored_value = (
        "CASE WHEN h.kind IN ('email', 'phone') THEN NULL ELSE h.value END"
        if hash_pii
        else "h.value"
    )
    # (an identity key in one signature only needs no grouping: its signature's row is its own)
    one = "{}" if simple else "any_value({})"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE __newid AS
        SELECT h.ikey, {one.format("h.kind")} kind, {one.format("h.platform")} platform,
               {one.format(stored_value)} AS value, {one.format("h.vhash")} vhash,
               {one.format("sp.person_id")} person_id,
               {"g.first_row" if simple else "min(g.first_row)"} first_row,
               {"g.n_rows" if simple else "sum(g.n_rows)"} n_rows,
               'i' || left(sha256({one.format("h.kind")} || ':'
                                  || coalesce({one.format("h.platform")}, '')
                                  || ':' || {one.format("h.vhash")}), 15) AS identity_id
        FROM __h h JOIN __sigp sp USING (sig) JOIN __sig g USING (sig)
        WHERE h.ikey NOT IN (SELECT ikey FROM __known)
        {"" if simple else "GROUP BY h.ikey"}"""
    )
    con.execute(
        """INSERT INTO identities (identity_id, person_id, kind, platform, value, value_hash,
                                   source_id)
        SELECT identity_id, person_id, kind, platform, value, vhash, ? FROM __newid""",
        [source_id],
    )
    con.execute(
        """INSERT INTO identity_links
        SELECT n.identity_id, n.person_id,
               CASE WHEN n.person_id IN (SELECT person_id FROM __known) THEN 'exact match'
                    ELSE 'first seen' END,
               1.0,
               'seen in ' || ? || ' row ' || n.first_row ||
               CASE WHEN n.n_rows > 1 THEN ' (and ' || (n.n_rows - 1) || ' more)' ELSE '' END ||
               ' together with the person''s other identities',
               ?, ?
        FROM __newid n""",
        [source_name, source_id, _now()],
    )
    stats["identities_created"] = _count(con, "SELECT count(*) FROM __newid")
    # 5. merges the file implies
    for kept, merged, label in merges:
        evidence = con.execute(
            """SELECT string_agg(DISTINCT h.kind || ' seen in row ' || g.first_row, ', ')
            FROM __h h JOIN __lab l USING (ikey) JOIN __sig g USING (sig)
            WHERE l.label = ?""",
            [label],
        ).fetchall()
        merge_people(
            con,
            kept,
            merged,
            rule="exact match",
            score=1.0,
            evidence=f"{source_name}: {evidence[0][0] if evidence else ''}",
            source_id=source_id,
        )
        stats["merges"] += 1
    # 6. name + company for LinkedIn-only people
    stats["name_matches"] = _name_company_matches(con, source_id, source_name)
    # 7. write person_id (and the identity each row was seen under) into the checked rows
    if primary:
        kind_rank = f"CASE WHEN h.kind = '{HINT_KINDS.get('__' + primary, primary)}' THEN 0 END"
    else:
        kind_rank = (
            "list_position(['email', 'phone', 'profile_url', 'handle', 'customer_id', "
            "'crm_id', 'cookie'], h.kind)"
        )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE __sigident AS
        SELECT h.sig, first(coalesce(k.identity_id, n.identity_id) ORDER BY {kind_rank}) AS ident
        FROM __h h LEFT JOIN __known k USING (ikey) LEFT JOIN __newid n USING (ikey)
        WHERE {kind_rank} IS NOT NULL
        GROUP BY h.sig"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE __assign AS
        SELECT r.__row, coalesce(m.kept_person, sp.person_id) AS person_id, si.ident AS __ident
        FROM __rowsig r JOIN __sigp sp USING (sig) LEFT JOIN __sigident si USING (sig)
        LEFT JOIN (SELECT merged_person, kept_person FROM merges WHERE undone_at IS NULL) m
          ON m.merged_person = sp.person_id"""
    )
    if table == "people":
        con.execute(
            f"""UPDATE "{checked}" SET person_id = a.person_id,
                display_name = coalesce("{checked}".display_name, d.display_name),
                company = coalesce("{checked}".company, d.company),
                title = coalesce("{checked}".title, d.title),
                location = coalesce("{checked}".location, d.location),
                first_seen = coalesce("{checked}".first_seen, d.first_seen)
            FROM __assign a LEFT JOIN __pdesc d USING (person_id)
            WHERE "{checked}".__row = a.__row"""
        )
    else:
        con.execute(
            f"""UPDATE "{checked}" SET person_id = a.person_id,
                identity_id = coalesce("{checked}".identity_id, a.__ident)
            FROM __assign a WHERE "{checked}".__row = a.__row"""
        )
    for t in (
        "__sig",
        "__rowsig",
        "__h",
        "__known",
        "__lab",
        "__lab2",
        "__siglab",
        "__lp",
        "__sigp",
        "__rowp",
        "__pdesc",
        "__newid",
        "__sigident",
        "__assign",
        "__phones",
    ):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return stats


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def merge_people(
    con: duckdb.DuckDBPyConnection,
    kept: str,
    merged: str,
    *,
    rule: str,
    score: float,
    evidence: str,
    source_id: int | None,
) -> int:
    """Fold person ``merged`` into ``kept`` everywhere; recorded in ``merges``."""
    if kept == merged:
        return 0
    row = con.execute("SELECT nextval('merge_seq')").fetchone()
    merge_id = int(row[0]) if row else 0
    con.execute(
        "INSERT INTO merges VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
        [merge_id, kept, merged, rule, score, evidence, source_id, _now()],
    )
    con.execute(
        """INSERT INTO identity_links
        SELECT identity_id, ?, 'merged: ' || ?, ?, ?, ?, ? FROM identities WHERE person_id = ?""",
        [kept, rule, score, evidence, source_id, _now(), merged],
    )
    derived.mark_dirty(con, "SELECT unnest([?, ?])", [kept, merged])
    for table in ("identities", "touchpoints", "outcomes", "audience"):
        con.execute(f'UPDATE "{table}" SET person_id = ? WHERE person_id = ?', [kept, merged])
    con.execute(
        """UPDATE people SET
            display_name = coalesce(people.display_name, m.display_name),
            company = coalesce(people.company, m.company),
            title = coalesce(people.title, m.title),
            industry = coalesce(people.industry, m.industry),
            location = coalesce(people.location, m.location),
            first_seen = least(people.first_seen, m.first_seen)
        FROM (SELECT * FROM people WHERE person_id = ?) m WHERE people.person_id = ?""",
        [merged, kept],
    )
    con.execute("DELETE FROM people WHERE person_id = ?", [merged])
    return merge_id


def _name_key(x: str) -> str:
    s = f"lower(strip_accents(trim({x})))"
    return f"NULLIF(regexp_replace({s}, '[^a-z ]', '', 'g'), '')"


def _name_company_matches(con: duckdb.DuckDBPyConnection, source_id: int, source_name: str) -> int:
    """Join people who have only a LinkedIn profile with a person of the same name and company."""
    if not _count(
        con, "SELECT count(*) FROM (SELECT 1 FROM identities WHERE kind = 'profile_url' LIMIT 1)"
    ):
        return 0  # nobody has a LinkedIn profile: nobody has only one
    # keys (normalised names) shared by at most a few people on each side: a name many people
    # share cannot single anyone out, and bounding it keeps the join linear
    pairs = con.execute(
        f"""WITH only_profile AS (
            SELECT person_id FROM identities GROUP BY person_id
            HAVING bool_and(kind = 'profile_url')),
        keyed AS (
            SELECT person_id, {_name_key("display_name")} AS name_key, company, source_id,
                   person_id IN (SELECT person_id FROM only_profile) AS only_li
            FROM people
            WHERE display_name IS NOT NULL),
        keys AS (
            SELECT name_key FROM keyed WHERE name_key IS NOT NULL GROUP BY name_key
            HAVING count(*) FILTER (WHERE only_li) BETWEEN 1 AND {MAX_SAME_NAME}
               AND count(*) FILTER (WHERE NOT only_li) BETWEEN 1 AND {MAX_SAME_NAME}
               AND bool_or(source_id = ?)),
        spelled AS (  -- people whose email spells their name: farid.haddad@... for Farid Haddad
            SELECT DISTINCT k.person_id FROM keyed k JOIN identities i USING (person_id)
            WHERE i.kind = 'email' AND i.value IS NOT NULL
              AND regexp_replace(split_part(i.value, '@', 1), '[^a-z]', '', 'g')
                  IN (replace(k.name_key, ' ', ''),
                      array_to_string(list_reverse(string_split(k.name_key, ' ')), ''))),
        cand AS (
            SELECT a.person_id AS a, b.person_id AS b, 1.0 AS name_sim,
                   CASE WHEN a.company IS NOT NULL AND b.company IS NOT NULL THEN
                     jaro_winkler_similarity({_name_key("a.company")}, {_name_key("b.company")})
                   END AS company_sim,
                   b.person_id IN (SELECT person_id FROM spelled) AS email_spells
            FROM keyed a JOIN keyed b USING (name_key)
            WHERE name_key IN (SELECT name_key FROM keys) AND a.only_li AND NOT b.only_li
              AND (a.source_id = ? OR b.source_id = ?)),
        scored AS (
            SELECT a, b, name_sim, company_sim,
                   round(0.6 * name_sim + CASE WHEN company_sim IS NOT NULL
                                               THEN 0.4 * company_sim
                                               WHEN email_spells THEN 0.3 ELSE 0 END, 6)
                     AS score
            FROM cand WHERE company_sim IS NULL OR company_sim >= {COMPANY_SIMILARITY}),
        best AS (
            SELECT *, count(*) OVER (PARTITION BY a) AS n FROM scored
            WHERE score >= {NAME_MATCH_THRESHOLD})
        SELECT a, b, score, name_sim, company_sim FROM best WHERE n = 1 ORDER BY a""",
        [source_id, source_id, source_id],
    ).fetchall()
    apart = {
        frozenset((x, y))
        for x, y in con.execute("SELECT person_a, person_b FROM kept_apart").fetchall()
    }
    done = 0
    for a, b, score, name_sim, company_sim in pairs:
        if frozenset((a, b)) in apart:
            continue
        kept, merged = (b, a)
        merge_people(
            con,
            kept,
            merged,
            rule="name + company",
            score=round(float(score), 4),
            evidence=(
                f"{source_name}: same name (similarity {name_sim:.2f}) and "
                + (
                    f"company (similarity {company_sim:.2f})"
                    if company_sim is not None
                    else "an email that spells that name, no company on one side"
                )
                + "; the LinkedIn profile had no email or phone"
            ),
            source_id=source_id,
        )
        done += 1
    return done


# -- explain and undo -----------------------------------------------------------------------
def explain_person(con: duckdb.DuckDBPyConnection, person_id: str) -> dict[str, Any]:
    person = con.execute("SELECT * FROM people WHERE person_id = ?", [person_id]).df()
    if person.empty:
        merged = con.execute(
            "SELECT kept_person FROM merges WHERE merged_person = ? AND undone_at IS NULL",
            [person_id],
        ).fetchone()
        hint = f"; it was merged into {merged[0]}" if merged else ""
        raise TruefansError(f"no person {person_id!r}{hint}")
    idents = con.execute(
        """SELECT i.identity_id, i.kind, i.platform, coalesce(i.value, '(hashed)') AS value,
                  l.rule, l.score, l.evidence, imp.path AS file
        FROM identities i
        LEFT JOIN (SELECT * FROM identity_links
                   QUALIFY row_number() OVER (PARTITION BY identity_id, person_id
                                              ORDER BY linked_at DESC) = 1) l
          ON l.identity_id = i.identity_id AND l.person_id = i.person_id
        LEFT JOIN imports imp ON imp.source_id = coalesce(l.source_id, i.source_id)
        WHERE i.person_id = ? ORDER BY i.kind, i.identity_id""",
        [person_id],
    ).df()
    merges = con.execute(
        """SELECT merge_id, merged_person, rule, score, evidence, merged_at FROM merges
        WHERE kept_person = ? AND undone_at IS NULL ORDER BY merge_id""",
        [person_id],
    ).df()
    facts = {
        t: _count(con, f"SELECT count(*) FROM {t} WHERE person_id = '{_q(person_id)}'")
        for t in ("touchpoints", "outcomes", "audience")
    }
    return {
        "person": person.iloc[0].to_dict(),
        "identities": idents,
        "merges": merges,
        "facts": facts,
    }


def _q(s: str) -> str:
    return s.replace("'", "''")


def split_person(con: duckdb.DuckDBPyConnection, person_id: str, identity_ids: list[str]) -> str:
    """Move ``identity_ids`` (and every fact seen under them) to a new person; keep them apart."""
    if not identity_ids:
        raise TruefansError("name at least one identity to split off (see `truefans person ID`)")
    have = {
        r[0]
        for r in con.execute(
            "SELECT identity_id FROM identities WHERE person_id = ?", [person_id]
        ).fetchall()
    }
    if not have:
        raise TruefansError(f"no person {person_id!r} with identities")
    wrong = [i for i in identity_ids if i not in have]
    if wrong:
        raise TruefansError(
            f"{', '.join(wrong)} not among the identities of {person_id} ({', '.join(sorted(have))})"
        )
    if set(identity_ids) == have:
        raise TruefansError("that would move every identity: nothing would be left to split from")
    new_id = (
        "p" + hashlib.sha256(("split:" + ",".join(sorted(identity_ids))).encode()).hexdigest()[:15]
    )
    ids_sql = ", ".join(f"'{_q(i)}'" for i in identity_ids)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            """INSERT INTO people (person_id, display_name, company, title, industry, location,
                                   first_seen, source_id)
            SELECT ?, display_name, company, title, industry, location, first_seen, NULL
            FROM people WHERE person_id = ?""",
            [new_id, person_id],
        )
        con.execute(
            f"UPDATE identities SET person_id = ? WHERE identity_id IN ({ids_sql})", [new_id]
        )
        for table in ("touchpoints", "outcomes", "audience"):
            con.execute(
                f"UPDATE {table} SET person_id = ? WHERE person_id = ? AND identity_id IN ({ids_sql})",
                [new_id, person_id],
            )
        con.execute(
            f"""INSERT INTO identity_links SELECT identity_id, ?, 'split by user', 1.0,
                'split off ' || ?, NULL, ? FROM identities WHERE identity_id IN ({ids_sql})""",
            [new_id, person_id, _now()],
        )
        con.execute("INSERT INTO kept_apart VALUES (?, ?, ?)", [person_id, new_id, _now()])
        con.execute(
            "UPDATE merges SET undone_at = ? WHERE kept_person = ? AND undone_at IS NULL "
            "AND merged_person IN (SELECT DISTINCT l.person_id FROM identity_links l "
            f"WHERE l.identity_id IN ({ids_sql}))",
            [_now(), person_id],
        )
        derived.mark_dirty(con, "SELECT unnest([?, ?])", [person_id, new_id])
        derived.refresh(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return new_id

"""Summaries kept in step with the facts: the whole-history analyses' fast path.

The tables (DDL in :mod:`truefans.schema`, version 4) are functions of one person's facts:

* ``person_channels``: per (person, channel) the number of touches and engaged touches and the
  first, last and first engaged touch time;
* ``person_touches``: the same per person, with the channels seen and engaged on as bits of
  one integer (``channel_bits`` gives each channel its bit; the first 63 channels have one);
* ``outcome_touches``: per outcome of a known person, its journey in the picture's window
  (:data:`~truefans.schema.LOOKBACK_DAYS` days up to the outcome): the last touch's channel and
  time (latest first, then the smallest channel id: the picture's total order) and the
  channels touched (bits).

Every write that changes a person's touches or outcomes records, in the same transaction, what
the summaries have not taken in yet (``derived_pending``: the import's ``source_id``, or a person,
e.g. the previous owner of a re-imported row). The first analysis that reads the summaries
brings them up to date (:func:`ensure_fresh`): the people those records name (rows stored under
the imports' ids, people merged by them, the people named) get their summary rows recomputed from
the facts; when they are a large share of everyone, the tables are rebuilt whole (one pass is
cheaper than a semi-join). Building them at read time keeps an import as fast as loading its rows
(a 10-million-row file would take twice as long with the summaries built inside the import), and
the work is done once, by whichever analysis comes first. So the summaries an analysis reads
always equal :func:`rebuild`'s output, which the tests check after imports, merges, re-imports
and splits.

Readers use the summaries only for the questions they answer exactly (the whole history, the
default window); a period or another window goes to the touches themselves.
"""

from __future__ import annotations

import duckdb

from .schema import ENGAGED_TOUCH_KINDS, LOOKBACK_DAYS

#: beyond this share of all people, the tables are rebuilt whole instead of per person
FULL_SHARE = 0.2

_ENGAGED = ", ".join(f"'{k}'" for k in ENGAGED_TOUCH_KINDS)

_PERSON_CHANNELS = f"""
SELECT person_id, channel_id, count(*) AS touches,
       count(*) FILTER (WHERE kind IN ({_ENGAGED})) AS engaged_touches,
       min(ts) AS first_ts, max(ts) AS last_ts,
       min(ts) FILTER (WHERE kind IN ({_ENGAGED})) AS first_engaged_ts
FROM touchpoints t
WHERE {{where}}
GROUP BY person_id, channel_id
"""

#: channels held as bits of one BIGINT (bit 63 is the sign: left alone)
MASK_BITS = 63

_PERSON_TOUCHES = """
SELECT pc.person_id, sum(pc.touches) AS touches, min(pc.first_ts) AS first_ts,
       max(pc.last_ts) AS last_ts, min(pc.first_engaged_ts) AS first_engaged_ts,
       bit_or(1::BIGINT << b.bit) AS seen_mask,
       coalesce(bit_or(1::BIGINT << b.bit) FILTER (WHERE pc.engaged_touches > 0), 0)
         AS engaged_mask
FROM person_channels pc LEFT JOIN channel_bits b USING (channel_id)
WHERE {where}
GROUP BY pc.person_id
"""

_OUTCOME_TOUCHES = f"""
SELECT o.outcome_id, o.person_id,
       first(t.channel_id ORDER BY t.ts DESC, t.channel_id) AS last_channel,
       max(t.ts) AS last_ts,
       bit_or(1::BIGINT << b.bit) AS channel_mask
FROM outcomes o
JOIN touchpoints t
  ON t.person_id = o.person_id AND t.ts <= o.ts
 AND t.ts >= o.ts - INTERVAL {LOOKBACK_DAYS} DAY
LEFT JOIN channel_bits b ON b.channel_id = t.channel_id
WHERE {{where}}
GROUP BY o.outcome_id, o.person_id
"""


def _assign_bits(con: duckdb.DuckDBPyConnection) -> None:
    """Give the channels without a bit the next free ones; a bit once given stays, so stored
    masks keep their meaning as channels are added (and a rebuild gives the same masks)."""
    con.execute(
        f"""INSERT INTO channel_bits
        SELECT channel_id, n FROM (
          SELECT c.channel_id,
                 (SELECT coalesce(max(bit) + 1, 0) FROM channel_bits)
                   + row_number() OVER (ORDER BY c.channel_id) - 1 AS n
          FROM channels c WHERE c.channel_id NOT IN (SELECT channel_id FROM channel_bits)
        ) WHERE n < {MASK_BITS}"""
    )


def masks_cover(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether every channel has a bit (else the masks do not tell every channel apart)."""
    row = con.execute(
        "SELECT count(*) FROM channels WHERE channel_id NOT IN (SELECT channel_id FROM channel_bits)"
    ).fetchone()
    return not (row and row[0])


def mark_dirty(
    con: duckdb.DuckDBPyConnection, select_people: str, params: list[object] | None = None
) -> None:
    """Record the people ``select_people`` returns (one column of person ids): their summaries
    are recomputed by the next :func:`refresh`. Inside the writer's transaction."""
    con.execute(
        f"INSERT INTO derived_pending SELECT NULL, p.* FROM ({select_people}) p", params or []
    )


def note_import(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Record that import ``source_id`` stored rows (inside its transaction)."""
    con.execute("INSERT INTO derived_pending VALUES (?, NULL)", [source_id])


def rebuild(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute every summary from every touch and outcome."""
    _assign_bits(con)
    con.execute("DELETE FROM person_channels")
    con.execute("INSERT INTO person_channels " + _PERSON_CHANNELS.format(where="true"))
    con.execute("DELETE FROM person_touches")
    con.execute("INSERT INTO person_touches " + _PERSON_TOUCHES.format(where="true"))
    con.execute("DELETE FROM outcome_touches")
    con.execute(
        "INSERT INTO outcome_touches " + _OUTCOME_TOUCHES.format(where="o.person_id IS NOT NULL")
    )
    con.execute("DELETE FROM derived_pending")


def pending(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute("SELECT count(*) FROM (SELECT 1 FROM derived_pending LIMIT 1)").fetchone()
    return bool(row and row[0])


def refresh(con: duckdb.DuckDBPyConnection) -> int:
    """Take in everything pending; returns how many people were recomputed (-1: rebuilt whole).
    Runs inside the caller's transaction."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE __derived_people AS
        WITH s AS (SELECT DISTINCT source_id FROM derived_pending WHERE source_id IS NOT NULL)
        SELECT DISTINCT person_id FROM (
          SELECT person_id FROM derived_pending WHERE person_id IS NOT NULL
          UNION ALL SELECT person_id FROM touchpoints WHERE source_id IN (SELECT * FROM s)
          UNION ALL SELECT person_id FROM outcomes WHERE source_id IN (SELECT * FROM s)
          UNION ALL SELECT kept_person FROM merges WHERE source_id IN (SELECT * FROM s)
          UNION ALL SELECT merged_person FROM merges WHERE source_id IN (SELECT * FROM s)
        ) WHERE person_id IS NOT NULL"""
    )
    con.execute("DELETE FROM derived_pending")
    row = con.execute("SELECT count(*) FROM __derived_people").fetchone()
    n = int(row[0]) if row else 0
    try:
        if n == 0:
            return 0
        everyone = con.execute("SELECT count(*) FROM people").fetchone()
        if n > FULL_SHARE * max(int(everyone[0]) if everyone else 0, 1):
            rebuild(con)
            return -1
        _assign_bits(con)
        mine = "person_id IN (SELECT person_id FROM __derived_people)"
        con.execute(f"DELETE FROM person_channels WHERE {mine}")
        con.execute(
            "INSERT INTO person_channels "
            + _PERSON_CHANNELS.format(
                where="t.person_id IN (SELECT person_id FROM __derived_people)"
            )
        )
        con.execute(f"DELETE FROM person_touches WHERE {mine}")
        con.execute("INSERT INTO person_touches " + _PERSON_TOUCHES.format(where="pc." + mine))
        # an outcome that moved to another person is found by its id as well as by its person
        con.execute(
            f"""DELETE FROM outcome_touches WHERE {mine}
            OR outcome_id IN (SELECT outcome_id FROM outcomes WHERE {mine})"""
        )
        con.execute(
            "INSERT INTO outcome_touches "
            + _OUTCOME_TOUCHES.format(
                where="o.person_id IN (SELECT person_id FROM __derived_people)"
            )
        )
        return n
    finally:
        con.execute("DROP TABLE IF EXISTS __derived_people")


def ensure_fresh(con: duckdb.DuckDBPyConnection) -> bool:
    """Bring the summaries up to date in their own transaction before an analysis reads them;
    False when they cannot be (a workspace opened read-only): the analysis reads the facts."""
    try:
        todo = pending(con)
        # channels added since (a channel list imported alone) get their bits: no mask changes
        free = con.execute(f"SELECT count(*) < {MASK_BITS} FROM channel_bits").fetchone()
        bits = bool(free and free[0]) and not masks_cover(con)
        if not todo and not bits:
            return True
        con.execute("BEGIN TRANSACTION")
    except duckdb.Error:
        return False
    try:
        if todo:
            refresh(con)
        else:
            _assign_bits(con)
        con.execute("COMMIT")
    except duckdb.Error:
        con.execute("ROLLBACK")
        return False
    return True

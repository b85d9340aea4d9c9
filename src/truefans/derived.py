"""Summaries kept in step with the facts: the whole-history analyses' fast path.

Two tables (DDL in :mod:`truefans.schema`, version 4) are functions of one person's facts:

* ``person_channels``: per (person, channel) the number of touches and engaged touches and the
  first, last and first engaged touch time;
* ``person_touches``: the same per person, with the (sorted) channels seen and engaged on;
* ``outcome_touches``: per outcome of a known person, its journey in the picture's window
  (:data:`~truefans.schema.LOOKBACK_DAYS` days up to the outcome): the last touch's channel and
  time (latest first, then the smallest channel id: the picture's total order) and the distinct
  channels touched.

Every write that changes a person's touches or outcomes ends with :func:`refresh` inside its own
transaction: the people it touched (rows stored under the import's ``source_id``, people merged by
it, and people marked with :func:`mark_dirty`, e.g. the previous owner of a re-imported row) get
their summary rows recomputed from the facts; when they are a large share of everyone, the tables
are rebuilt whole (one pass is cheaper than a semi-join). So the summaries always equal
:func:`rebuild`'s output, which the tests check after imports, merges, re-imports and splits.

Readers use the summaries only for the questions they answer exactly (the whole history, the
default window); a period or another window goes to the touches themselves.
"""

from __future__ import annotations

import duckdb

from .schema import ENGAGED_TOUCH_KINDS, LOOKBACK_DAYS

#: people whose summaries must be recomputed at the end of the current write (a temp table)
DIRTY = "__derived_dirty"
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

_PERSON_TOUCHES = """
SELECT person_id, sum(touches) AS touches, min(first_ts) AS first_ts, max(last_ts) AS last_ts,
       min(first_engaged_ts) AS first_engaged_ts,
       list(channel_id ORDER BY channel_id) AS channels,
       coalesce(list(channel_id ORDER BY channel_id) FILTER (WHERE engaged_touches > 0), [])
         AS engaged_channels
FROM person_channels
WHERE {where}
GROUP BY person_id
"""

_OUTCOME_TOUCHES = f"""
SELECT o.outcome_id, o.person_id,
       first(t.channel_id ORDER BY t.ts DESC, t.channel_id) AS last_channel,
       max(t.ts) AS last_ts,
       list(DISTINCT t.channel_id ORDER BY t.channel_id) AS channels
FROM outcomes o
JOIN touchpoints t
  ON t.person_id = o.person_id AND t.ts <= o.ts
 AND t.ts >= o.ts - INTERVAL {LOOKBACK_DAYS} DAY
WHERE {{where}}
GROUP BY o.outcome_id, o.person_id
"""


def _ensure_dirty(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {DIRTY} (person_id VARCHAR)")


def mark_dirty(
    con: duckdb.DuckDBPyConnection, select_people: str, params: list[object] | None = None
) -> None:
    """Remember the people ``select_people`` returns (one column of person ids): their summaries
    are recomputed by the next :func:`refresh` (e.g. the owner a row had before an update)."""
    _ensure_dirty(con)
    con.execute(f"INSERT INTO {DIRTY} {select_people}", params or [])


def rebuild(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute both summaries from every touch and outcome."""
    con.execute("DELETE FROM person_channels")
    con.execute("INSERT INTO person_channels " + _PERSON_CHANNELS.format(where="true"))
    con.execute("DELETE FROM person_touches")
    con.execute("INSERT INTO person_touches " + _PERSON_TOUCHES.format(where="true"))
    con.execute("DELETE FROM outcome_touches")
    con.execute(
        "INSERT INTO outcome_touches " + _OUTCOME_TOUCHES.format(where="o.person_id IS NOT NULL")
    )


def refresh(con: duckdb.DuckDBPyConnection, source_id: int | None = None) -> int:
    """Bring the summaries up to date after a write; returns how many people were recomputed
    (-1: rebuilt whole). Runs inside the writer's transaction."""
    _ensure_dirty(con)
    if source_id is not None:
        con.execute(
            f"""INSERT INTO {DIRTY}
            SELECT person_id FROM touchpoints WHERE source_id = $s
            UNION ALL SELECT person_id FROM outcomes WHERE source_id = $s
            UNION ALL SELECT kept_person FROM merges WHERE source_id = $s
            UNION ALL SELECT merged_person FROM merges WHERE source_id = $s""",
            {"s": source_id},
        )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __derived_people AS "
        f"SELECT DISTINCT person_id FROM {DIRTY} WHERE person_id IS NOT NULL"
    )
    con.execute(f"DELETE FROM {DIRTY}")
    row = con.execute("SELECT count(*) FROM __derived_people").fetchone()
    n = int(row[0]) if row else 0
    try:
        if n == 0:
            return 0
        everyone = con.execute("SELECT count(*) FROM people").fetchone()
        if n > FULL_SHARE * max(int(everyone[0]) if everyone else 0, 1):
            rebuild(con)
            return -1
        mine = "person_id IN (SELECT person_id FROM __derived_people)"
        con.execute(f"DELETE FROM person_channels WHERE {mine}")
        con.execute(
            "INSERT INTO person_channels "
            + _PERSON_CHANNELS.format(
                where="t.person_id IN (SELECT person_id FROM __derived_people)"
            )
        )
        con.execute(f"DELETE FROM person_touches WHERE {mine}")
        con.execute("INSERT INTO person_touches " + _PERSON_TOUCHES.format(where=mine))
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

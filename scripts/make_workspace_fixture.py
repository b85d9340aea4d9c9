"""Write ``tests/data/workspaces/vN.duckdb``: a small workspace as schema version N made it.

    .venv/bin/python scripts/make_workspace_fixture.py 4        # one version
    .venv/bin/python scripts/make_workspace_fixture.py --all    # every version (overwrites)

It checks out nothing: the schema of version N is the first N steps of
:data:`truefans.schema.MIGRATIONS`, which are only ever appended to. The sample rows are put in as
soon as their table exists (version 1 tables right after the first step), so later steps migrate
real rows the way they would in a user's workspace; columns and tables a later version added are
filled in after its step. Run it once when a schema version is added and commit the new file; the
migration test opens every fixture it finds under the current code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import duckdb

from truefans import schema

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "workspaces"

# one small coherent world: two people, one merged into the other, touches, an order and a refund
SAMPLE: dict[str, list[dict[str, Any]]] = {
    "settings": [{"key": "timezone", "value": "Europe/Paris"}, {"key": "currency", "value": "EUR"}],
    "imports": [
        {
            "source_id": 1,
            "path": "/data/touchpoints.csv",
            "sha256": "0" * 64,
            "format": "generic",
            "table": "touchpoints",
            "imported_at": "2024-02-01 09:00:00",
            "rows": 3,
            "added": 3,
            "updated": 0,
            "skipped": 0,
            "rejected": 1,
            "note": "",
        }
    ],
    "rejects": [
        {"source_id": 1, "row": 4, "column": "ts", "reason": "ts: not a date", "raw": "t9,p1,x"}
    ],
    "truth": [{"outcome_id": "o1", "channel_id": "newsletter", "source_id": 1}],
    "channels": [
        {"channel_id": "newsletter", "name": "Newsletter", "kind": "email", "owned": True},
        {"channel_id": "linkedin", "name": "LinkedIn", "kind": "social", "platform": "linkedin"},
    ],
    "people": [
        {"person_id": "p1", "display_name": "Ana Lopez", "company": "Harbor Pine"},
        {"person_id": "p2", "display_name": "Ben Okafor", "first_seen": "2024-01-02 08:00:00"},
    ],
    "contents": [
        {
            "content_id": "c1",
            "channel_id": "linkedin",
            "published_at": "2024-01-01 12:00:00",
            "format": "post",
            "title": "Why fans pay",
            "topics": "fans,money",
        }
    ],
    "identities": [
        {"identity_id": "e1", "person_id": "p1", "kind": "email", "value": "ana@harbor.example"},
        {"identity_id": "h2", "person_id": "p2", "kind": "handle", "platform": "linkedin"},
    ],
    "audience": [
        {
            "channel_id": "linkedin",
            "identity_id": "h2",
            "person_id": "p2",
            "followed_at": "2023-12-01 00:00:00",
            "followers_count": 120,
            "verified": False,
        }
    ],
    "touchpoints": [
        {
            "touch_id": "t1",
            "person_id": "p1",
            "ts": "2024-01-03 10:00:00",
            "channel_id": "newsletter",
            "kind": "click",
            "source_id": 1,
            "identity_id": "e1",
        },
        {
            "touch_id": "t2",
            "person_id": "p2",
            "ts": "2024-01-04 10:00:00",
            "channel_id": "linkedin",
            "content_id": "c1",
            "kind": "like",
            "value": 1.0,
            "source_id": 1,
        },
        {
            "touch_id": "t3",
            "person_id": "p1",
            "ts": "2024-01-05 10:00:00",
            "channel_id": "linkedin",
            "kind": "view",
            "source_id": 1,
        },
    ],
    "outcomes": [
        {
            "outcome_id": "o1",
            "person_id": "p1",
            "ts": "2024-01-10 15:30:00",
            "type": "order",
            "value": "120.5000",
            "currency": "EUR",
            "order_ref": "A-1",
            "identity_id": "e1",
            "referred_by": "p2",
        },
        {
            "outcome_id": "o2",
            "person_id": "p1",
            "ts": "2024-01-20 15:30:00",
            "type": "refund",
            "value": "-20.0000",
            "currency": "EUR",
        },
    ],
    "costs": [
        {
            "channel_id": "linkedin",
            "period_start": "2024-01-01",
            "period_end": "2024-01-31",
            "dollars": "99.0000",
            "hours": 6.5,
            "currency": "EUR",
        }
    ],
    "metrics": [
        {"channel_id": "linkedin", "date": "2024-01-31", "metric": "followers", "value": 1200.0}
    ],
    "identity_links": [
        {
            "identity_id": "e1",
            "person_id": "p1",
            "rule": "exact email",
            "score": 1.0,
            "source_id": 1,
            "linked_at": "2024-02-01 09:00:00",
        }
    ],
    "merges": [
        {
            "merge_id": 1,
            "kept_person": "p1",
            "merged_person": "p9",
            "rule": "shared email",
            "score": 1.0,
            "source_id": 1,
            "merged_at": "2024-02-01 09:00:00",
        }
    ],
    "kept_apart": [{"person_a": "p1", "person_b": "p2", "created_at": "2024-02-02 09:00:00"}],
    "truth_people": [{"person_id": "p1", "label": "true_fan", "source_id": 1}],
}
#: the key of each sample table, to complete its rows with columns added by later versions
KEYS = {name: t.key for name, t in schema.CANONICAL.items()}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()]


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND NOT temporary"
    ).fetchall()
    return {r[0] for r in rows}


def _insert(con: duckdb.DuckDBPyConnection, table: str) -> None:
    cols = _columns(con, table)
    for row in SAMPLE[table]:
        names = [c for c in row if c in cols]
        con.execute(
            f"INSERT INTO {_q(table)} ({', '.join(_q(c) for c in names)}) "
            f"VALUES ({', '.join('?' for _ in names)})",
            [row[c] for c in names],
        )


def _complete(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Fill the columns a later version added to rows inserted before it."""
    key = KEYS.get(table)
    if not key:
        return
    cols = _columns(con, table)
    for row in SAMPLE[table]:
        later = [c for c in row if c in cols and c not in key]
        if not later or any(k not in row for k in key):
            continue
        con.execute(
            f"UPDATE {_q(table)} SET {', '.join(f'{_q(c)} = coalesce({_q(c)}, ?)' for c in later)} "
            f"WHERE {' AND '.join(f'{_q(k)} = ?' for k in key)}",
            [row[c] for c in later] + [row[k] for k in key],
        )


def build(version: int, out: Path = OUT) -> Path:
    if not 1 <= version <= schema.SCHEMA_VERSION:
        raise SystemExit(f"version must be 1..{schema.SCHEMA_VERSION}")
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"v{version}.duckdb"
    for p in (path, Path(str(path) + ".wal")):
        p.unlink(missing_ok=True)
    con = duckdb.connect()
    # small blocks keep the file small (a few tables of a few rows each)
    con.execute(f"ATTACH '{path}' AS fixture (BLOCK_SIZE 16384)")
    con.execute("USE fixture")
    con.execute("SET TimeZone = 'UTC'")
    filled: set[str] = set()
    for step_no, step in enumerate(schema.MIGRATIONS[:version]):
        con.execute("BEGIN TRANSACTION")
        if callable(step):
            step(con)
        else:
            for stmt in step:
                con.execute(stmt)
        con.execute("INSERT OR REPLACE INTO _meta VALUES ('schema_version', ?)", [str(step_no + 1)])
        for table in sorted(_tables(con) & set(SAMPLE)):
            if table in filled:
                _complete(con, table)
            else:
                _insert(con, table)
                filled.add(table)
        con.execute("COMMIT")
    # the sequences go on after the sample's ids
    con.execute("SELECT nextval('import_seq')")
    if "merges" in filled:
        con.execute("SELECT nextval('merge_seq')")
    con.execute("CHECKPOINT")
    con.close()
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("version", nargs="?", type=int, help="the schema version to make")
    ap.add_argument("--all", action="store_true", help="every version up to the current one")
    args = ap.parse_args(argv)
    versions = range(1, schema.SCHEMA_VERSION + 1) if args.all else [args.version]
    if versions == [None]:
        ap.error("give a version or --all")
    for v in versions:
        assert v is not None
        p = build(v)
        print(f"{p} ({p.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

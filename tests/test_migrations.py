"""A workspace made by every earlier schema version opens and migrates under the current code.

The fixtures under ``tests/data/workspaces/vN.duckdb`` are written once per version by
``scripts/make_workspace_fixture.py N`` and kept; this test finds them all, so a new schema
version only needs its fixture.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest

import truefans
from truefans import schema
from workspace_state import contents, file_contents

FIXTURES = Path(__file__).parent / "data" / "workspaces"
FILES = sorted(FIXTURES.glob("v*.duckdb"), key=lambda p: int(p.stem[1:]))
#: tables computed from the facts (rebuilt, not carried over, when a migration changes them)
DERIVED = set(getattr(schema, "DERIVED_TABLES", ()))


def _version(path: Path) -> int:
    m = re.fullmatch(r"v(\d+)", path.stem)
    assert m, f"{path.name}: fixtures are named vN.duckdb"
    return int(m.group(1))


def test_there_is_a_fixture_for_every_schema_version():
    have = {_version(p) for p in FILES}
    missing = sorted(set(range(1, schema.SCHEMA_VERSION + 1)) - have)
    assert not missing, (
        f"no fixture workspace for schema version(s) {missing}: run "
        f"`.venv/bin/python scripts/make_workspace_fixture.py N` and commit "
        f"tests/data/workspaces/vN.duckdb"
    )


@pytest.mark.parametrize("fixture", FILES, ids=[p.stem for p in FILES])
def test_fixture_has_the_schema_its_version_made(fixture: Path, tmp_path: Path):
    """MIGRATIONS is append-only: its first N steps still make the fixture's tables."""
    n = _version(fixture)
    assert n <= schema.SCHEMA_VERSION
    con = duckdb.connect()
    for step in schema.MIGRATIONS[:n]:
        if callable(step):
            step(con)
        else:
            for stmt in step:
                con.execute(stmt)
    made = {t: cols for t, (cols, _) in contents(con).items()}
    have = {t: cols for t, (cols, _) in file_contents(fixture).items()}
    assert have == made
    assert file_contents(fixture)["_meta"][1] == [("schema_version", str(n))]


@pytest.mark.parametrize("fixture", FILES, ids=[p.stem for p in FILES])
def test_fixture_migrates_to_the_current_version_with_its_data(fixture: Path, tmp_path: Path):
    path = tmp_path / fixture.name
    shutil.copy(fixture, path)
    before = file_contents(path)
    assert before["touchpoints"][1], "the fixture holds rows"
    with truefans.open_workspace(path) as ws:
        assert ws.schema_version == schema.SCHEMA_VERSION
        after = contents(ws.con)
        for table, (cols, rows) in before.items():
            if table == "_meta":
                continue
            assert table in after, f"migration lost table {table}"
            new_cols, new_rows = after[table]
            assert set(cols) <= set(new_cols), f"{table}: migration dropped columns"
            if table in DERIVED:
                continue
            idx = [new_cols.index(c) for c in cols]
            kept = sorted((tuple(r[i] for i in idx) for r in new_rows), key=repr)
            assert kept == rows, f"{table}: rows changed by the migration"
        if DERIVED:
            _assert_derived_in_step(ws.con)
        # the migrated workspace is usable: an analysis runs, an import goes on with new ids
        res = ws.picture()
        assert res.rows
        extra = tmp_path / "channels.csv"
        extra.write_text("channel_id,kind\nshop,web\n")
        (rep,) = ws.import_files([extra])
        assert rep.status == "ok"
        last = max(r[0] for r in before["imports"][1])
        assert rep.source_id == last + 1


def _assert_derived_in_step(con: duckdb.DuckDBPyConnection) -> None:
    from truefans import derived

    kept = {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in DERIVED}
    con.execute("BEGIN TRANSACTION")
    try:
        derived.rebuild(con)
        fresh = {
            t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in DERIVED
        }
    finally:
        con.execute("ROLLBACK")
    assert kept == fresh
    assert any(kept.values()), "the fixture's facts give summary rows"


def test_an_empty_duckdb_file_becomes_a_workspace(tmp_path: Path):
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    with truefans.open_workspace(path) as ws:
        assert ws.schema_version == schema.SCHEMA_VERSION


def test_a_workspace_from_a_newer_truefans_is_refused(tmp_path: Path):
    path = tmp_path / "future.duckdb"
    shutil.copy(FILES[-1], path)
    con = duckdb.connect(str(path))
    con.execute(
        "INSERT OR REPLACE INTO _meta VALUES ('schema_version', ?)",
        [str(schema.SCHEMA_VERSION + 1)],
    )
    con.close()
    before = file_contents(path)
    with pytest.raises(truefans.TruefansError, match="newer than this truefans"):
        truefans.open_workspace(path)
    assert file_contents(path) == before

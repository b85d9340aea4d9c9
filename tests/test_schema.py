from __future__ import annotations

import duckdb
import pytest

import truefans
from truefans import schema
from truefans.errors import WorkspaceError


def test_a_version_1_workspace_is_migrated_forward_keeping_its_data(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    for stmt in schema.MIGRATIONS[0]:
        assert isinstance(stmt, str)
        con.execute(stmt)
    con.execute("INSERT INTO _meta VALUES ('schema_version', '1')")
    con.execute("INSERT INTO channels VALUES ('web', 'Web', 'web', 'self', true, 1)")
    con.execute(
        "INSERT INTO touchpoints VALUES ('t1', 'p1', TIMESTAMP '2024-01-01', 'web', NULL, "
        "'visit', NULL, 1)"
    )
    con.close()
    with truefans.open_workspace(path) as ws:
        assert ws.schema_version == schema.SCHEMA_VERSION
        cols = [r[0] for r in ws.con.execute("DESCRIBE touchpoints").fetchall()]
        assert "identity_id" in cols
        assert ws.count("touchpoints") == 1
        assert ws.count("channels") == 1
    # opening again changes nothing
    with truefans.open_workspace(path) as ws:
        assert ws.schema_version == schema.SCHEMA_VERSION


def test_a_newer_workspace_is_refused(tmp_path):
    path = tmp_path / "new.duckdb"
    with truefans.open_workspace(path) as ws:
        ws.con.execute("UPDATE _meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(WorkspaceError, match="newer than this truefans"):
        truefans.open_workspace(path)


def test_only_schema_writes_ddl():
    """One module owns the schema: no CREATE/ALTER TABLE of canonical tables elsewhere."""
    from pathlib import Path

    src = Path(truefans.__file__).parent
    for f in src.rglob("*.py"):
        if f.name == "schema.py":
            continue
        text = f.read_text()
        for name in schema.CANONICAL:
            assert f'CREATE TABLE "{name}"' not in text and f"ALTER TABLE {name}" not in text, f

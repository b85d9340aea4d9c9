"""`truefans backup` / `restore`: every table round-trips; a damaged or newer backup is refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import truefans
from truefans import schema
from truefans.backup import MANIFEST, BackupError, backup, read_manifest, restore
from truefans.cli import app
from workspace_state import contents, file_contents


@pytest.fixture
def backed_up(loaded, tmp_path: Path) -> tuple[truefans.Workspace, Path]:
    # a table no migration makes (a plugin's, say) is found in the catalog and kept too
    loaded.con.execute("CREATE TABLE plugin_notes (person_id VARCHAR, note VARCHAR)")
    loaded.con.execute("INSERT INTO plugin_notes VALUES ('p1', 'met at the fair')")
    folder = tmp_path / "backup"
    backup(loaded, folder)
    return loaded, folder


def test_round_trip_keeps_every_table_and_sequence(backed_up, tmp_path):
    ws, folder = backed_up
    before = contents(ws.con)
    assert before["touchpoints"][1] and "plugin_notes" in before
    restored = tmp_path / "restored.duckdb"
    manifest = restore(folder, restored)
    assert file_contents(restored) == before
    assert manifest["schema_version"] == schema.SCHEMA_VERSION
    # the import ids go on from where the workspace was, not from 1
    last = ws.con.execute("SELECT max(source_id) FROM imports").fetchone()[0]
    extra = tmp_path / "channels_more.csv"
    extra.write_text("channel_id,kind\nshop,web\n")
    with truefans.open_workspace(restored) as r:
        (rep,) = r.import_files([extra])
        assert rep.source_id == last + 1


def test_manifest_lists_rows_files_and_checksums(backed_up):
    ws, folder = backed_up
    m = json.loads((folder / MANIFEST).read_text())
    assert m["schema_version"] == schema.SCHEMA_VERSION
    tables = {
        r[0]
        for r in ws.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary AND "
            "database_name = current_database()"
        ).fetchall()
    }
    assert set(m["tables"]) == tables
    for name, info in m["tables"].items():
        assert info["rows"] == ws.con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        assert (folder / info["file"]).is_file()
    assert set(m["sha256"]) == {p.name for p in folder.iterdir()} - {MANIFEST}
    # the folder is a plain DuckDB export too
    con = duckdb.connect()
    con.execute(f"IMPORT DATABASE '{folder}'")
    assert con.execute("SELECT count(*) FROM touchpoints").fetchone()[0] == ws.count("touchpoints")


def test_a_corrupted_file_is_refused_and_nothing_is_written(backed_up, tmp_path):
    _, folder = backed_up
    part = folder / "touchpoints.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    target = tmp_path / "restored.duckdb"
    with pytest.raises(BackupError, match=r"touchpoints\.parquet does not match its checksum"):
        restore(folder, target)
    assert not target.exists()
    assert [p for p in tmp_path.iterdir() if "restoring" in p.name] == []


def test_a_missing_file_or_manifest_is_refused(backed_up, tmp_path):
    _, folder = backed_up
    (folder / "people.parquet").unlink()
    with pytest.raises(BackupError, match=r"people\.parquet is missing"):
        read_manifest(folder)
    (folder / MANIFEST).unlink()
    with pytest.raises(BackupError, match=r"has no manifest\.json"):
        restore(folder, tmp_path / "r.duckdb")


def test_a_newer_schema_is_refused(backed_up, tmp_path):
    _, folder = backed_up
    m = json.loads((folder / MANIFEST).read_text())
    m["schema_version"] = schema.SCHEMA_VERSION + 1
    (folder / MANIFEST).write_text(json.dumps(m))
    with pytest.raises(BackupError, match="newer than this truefans"):
        restore(folder, tmp_path / "r.duckdb")


def test_a_file_name_outside_the_folder_is_refused(backed_up, tmp_path):
    _, folder = backed_up
    m = json.loads((folder / MANIFEST).read_text())
    m["sha256"]["../outside.parquet"] = "0" * 64
    (folder / MANIFEST).write_text(json.dumps(m))
    with pytest.raises(BackupError, match="not a plain file name"):
        read_manifest(folder)


def test_row_count_disagreeing_with_manifest_is_refused(backed_up, tmp_path):
    # the checksums match (a consistent but wrong manifest): the count check still catches it
    _, folder = backed_up
    m = json.loads((folder / MANIFEST).read_text())
    m["tables"]["outcomes"]["rows"] += 1
    (folder / MANIFEST).write_text(json.dumps(m))
    target = tmp_path / "r.duckdb"
    with pytest.raises(BackupError, match="rows loaded into outcomes, the manifest says"):
        restore(folder, target)
    assert not target.exists()


def test_existing_workspace_is_replaced_only_when_asked_and_only_when_whole(backed_up, tmp_path):
    ws, folder = backed_up
    expected = contents(ws.con)
    other = tmp_path / "other.duckdb"
    with truefans.open_workspace(other) as o:
        o.import_files([Path(__file__).parent / "data" / "generic" / "channels.csv"])
    old = file_contents(other)
    with pytest.raises(BackupError, match="pass --replace"):
        restore(folder, other)
    # a damaged backup with replace: the old workspace stays as it was
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    (broken / "people.parquet").write_bytes(b"not parquet")
    with pytest.raises(BackupError, match="checksum"):
        restore(broken, other, replace=True)
    assert file_contents(other) == old
    restore(folder, other, replace=True)
    assert file_contents(other) == expected


def test_restore_refuses_a_workspace_in_use(backed_up, tmp_path):
    _, folder = backed_up
    # the backed-up workspace itself is open (locked) in this process: DuckDB shares the
    # instance within a process, so hold the lock from a child process instead
    target = tmp_path / "busy.duckdb"
    duckdb.connect(str(target)).close()
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb,sys;c=duckdb.connect(sys.argv[1]);print('open',flush=True);"
            "sys.stdin.read()",
            str(target),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "open"
        with pytest.raises(BackupError, match="in use by another truefans process"):
            restore(folder, target, replace=True)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait()


def test_backup_refuses_a_non_empty_folder(loaded, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(BackupError, match="not an empty folder"):
        backup(loaded, tmp_path / "full")
    (tmp_path / "empty_ok").mkdir()
    backup(loaded, tmp_path / "empty_ok")
    assert (tmp_path / "empty_ok" / MANIFEST).is_file()
    # nothing half-written is left beside it
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_old_schema_backup_restores_and_migrates(tmp_path):
    """A backup written at schema version 1 restores and is migrated to the current one."""
    old = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(old))
    first = schema.MIGRATIONS[0]
    assert isinstance(first, list)
    for stmt in first:
        con.execute(stmt)
    con.execute("INSERT INTO _meta VALUES ('schema_version', '1')")
    con.execute("INSERT INTO channels VALUES ('web', 'Web', 'web', 'self', true, NULL)")
    con.execute(
        "INSERT INTO touchpoints VALUES ('t1', 'p1', TIMESTAMP '2024-01-01', 'web', NULL, "
        "'visit', NULL, NULL)"
    )
    con.close()

    class _Bare:  # backup() needs only a connection
        def __init__(self, c: duckdb.DuckDBPyConnection) -> None:
            self.con = c

    folder = tmp_path / "b"
    c = duckdb.connect(str(old))
    try:
        m = backup(_Bare(c), folder)  # type: ignore[arg-type]
    finally:
        c.close()
    assert m["schema_version"] == 1
    target = tmp_path / "r.duckdb"
    restore(folder, target)
    with truefans.open_workspace(target) as ws:
        assert ws.schema_version == schema.SCHEMA_VERSION
        assert ws.con.execute("SELECT touch_id, identity_id FROM touchpoints").fetchall() == [
            ("t1", None)
        ]


def test_cli_backup_and_restore(loaded, tmp_path):
    runner = CliRunner()
    path = str(loaded.path)
    expected = contents(loaded.con)
    loaded.close()
    folder = tmp_path / "cli-backup"
    res = runner.invoke(app, ["-w", path, "backup", str(folder)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "tables" in res.output and str(folder) in res.output
    target = tmp_path / "cli-restored.duckdb"
    res = runner.invoke(app, ["-w", str(target), "restore", str(folder)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert file_contents(target) == expected
    res = runner.invoke(app, ["-w", str(target), "restore", str(folder)], catch_exceptions=False)
    assert res.exit_code == 1 and "--replace" in res.output
    res = runner.invoke(
        app, ["-w", str(target), "restore", str(tmp_path / "nope")], catch_exceptions=False
    )
    assert res.exit_code == 1 and "is not a folder" in res.output

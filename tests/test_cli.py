from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from truefans.cli import app
from truefans.schema import SCHEMA_VERSION

runner = CliRunner()


def run(ws_path, *args, code=0):
    res = runner.invoke(app, ["--workspace", str(ws_path), *args], catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res


@pytest.fixture
def ws_path(tmp_path, generic_files):
    path = tmp_path / "cli.duckdb"
    run(path, "import", *map(str, generic_files))
    return path


def test_init_creates_a_workspace(tmp_path):
    res = run(tmp_path / "new.duckdb", "init")
    assert f"schema version {SCHEMA_VERSION}" in res.output
    assert (tmp_path / "new.duckdb").exists()


def test_import_table_output_names_counts(tmp_path, generic_files):
    res = run(tmp_path / "w.duckdb", "import", *map(str, generic_files))
    assert "channels.csv → channels [generic]: 4 rows, 4 added" in res.output
    again = run(tmp_path / "w.duckdb", "import", str(generic_files[3]))
    assert "0 added" in again.output and "6 skipped as already there" in again.output


def test_import_json_is_one_object_per_file(tmp_path, generic_files):
    res = run(tmp_path / "w.duckdb", "import", "--format", "json", *map(str, generic_files[:2]))
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    assert [o["table"] for o in objs] == ["channels", "people"]
    assert {"file", "source", "table", "rows", "added", "skipped", "rejected"} <= set(objs[0])


def test_import_exit_codes(ws_path, tmp_path):
    bad = tmp_path / "outcomes.csv"
    bad.write_text("outcome_id,ts,type\nq1,2024-01-01,question\nq2,2024-01-01,wish\n")
    res = run(ws_path, "import", str(bad), code=3)
    assert "1 rejected" in res.output and "truefans rejects --source-id" in res.output
    res = run(ws_path, "import", str(tmp_path / "nope.csv"), code=2)
    assert "no such file" in res.output and "Traceback" not in res.output
    rej = run(ws_path, "rejects", "--format", "json")
    (row,) = json.loads(rej.stdout)
    assert (row["row"], row["column"]) == (2, "type") and "'wish' is not one of" in row["reason"]
    assert row["file"].endswith("outcomes.csv")


def test_picture_in_three_formats(ws_path):
    table = run(ws_path, "picture")
    assert "What each channel brings" in table.output and "Vanity gap" in table.output
    data = json.loads(run(ws_path, "picture", "--format", "json").stdout)
    assert data["analysis"] == "picture"
    assert {"totals", "vanity_gap", "assumptions", "rows"} <= set(data)
    keys = {
        "channel_id",
        "channel",
        "platform",
        "kind",
        "owned",
        "audience",
        "engaged",
        "known",
        "questions",
        "calls",
        "leads",
        "new_accounts",
        "orders",
        "dollars",
        "currency",
        "cost_dollars",
        "cost_hours",
        "dollars_per_1k_followers",
        "return_per_dollar",
        "return_per_hour",
    }
    assert keys <= set(data["rows"][0])
    rows = list(csv.DictReader(io.StringIO(run(ws_path, "picture", "--format", "csv").stdout)))
    assert [r["channel_id"] for r in rows] == [r["channel_id"] for r in data["rows"]]
    assert rows[1]["channel_id"] == "newsletter" and rows[1]["dollars"] == "100.0"


def test_picture_user_errors_are_one_line(ws_path, tmp_path):
    res = run(ws_path, "picture", "--since", "last week", code=1)
    assert "is not a date" in res.output and "Traceback" not in res.output
    res = run(tmp_path / "absent.duckdb", "picture", code=1)
    assert "no workspace" in res.output
    not_db = tmp_path / "notes.txt"
    not_db.write_text("hello")
    res = run(not_db, "picture", code=1)
    assert "not a truefans workspace" in res.output


def test_imports_rejects_sources_in_three_formats(ws_path):
    for cmd in ("imports", "rejects", "sources"):
        run(ws_path, cmd)
        json.loads(run(ws_path, cmd, "--format", "json").stdout)
        run(ws_path, cmd, "--format", "csv")
    imports = json.loads(run(ws_path, "imports", "--format", "json").stdout)
    assert len(imports) == 7 and imports[0]["table"] == "channels"
    srcs = json.loads(run(ws_path, "sources", "--format", "json").stdout)
    assert any(s["source"] == "generic" for s in srcs)


def test_python_dash_m_equals_the_script(tmp_path):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "truefans", "--help"], capture_output=True, text=True, check=True
    )
    assert "picture" in out.stdout


def test_init_stores_settings(tmp_path):
    res = run(tmp_path / "s.duckdb", "init", "--tz", "Europe/Paris", "--country", "fr")
    assert "timezone=Europe/Paris" in res.output and "country=FR" in res.output
    res = run(tmp_path / "s.duckdb", "init", "--tz", "Mars/Base", code=1)
    assert "unknown time zone" in res.output


def test_person_and_split(ws_path):
    import truefans

    with truefans.open_workspace(ws_path) as ws:
        # p2 has one email; give them a second identity to split off
        ws.con.execute(
            "INSERT INTO identities VALUES ('h2', 'p2', 'handle', 'meta', 'ben_o', 'x', NULL)"
        )
    out = run(ws_path, "person", "p2")
    assert "e2" in out.output and "h2" in out.output
    data = json.loads(run(ws_path, "person", "p2", "--format", "json").stdout)
    assert {i["identity_id"] for i in data["identities"]} == {"e2", "h2"}
    assert data["facts"]["touchpoints"] == 1
    res = run(ws_path, "split", "p2", "h2")
    assert "new person" in res.output
    res = run(ws_path, "person", "nobody", code=1)
    assert "no person 'nobody'" in res.output
    res = run(ws_path, "split", "p2", "zzz", code=1)
    assert "not among the identities" in res.output


def test_report_command_writes_one_offline_file(demo_path, tmp_path):
    out = tmp_path / "r.html"
    res = CliRunner().invoke(app, ["--workspace", str(demo_path), "report", "-o", str(out)])
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") or html.lower().startswith("<!doctype html>")
    # every asset inline: no script or stylesheet is loaded from anywhere
    assert "<script src=" not in html and '<link rel="stylesheet" href' not in html

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

import truefans
from truefans.errors import InvalidOption
from truefans.schema import SCHEMA_VERSION


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_generic_files_land_in_their_tables(ws, generic_files):
    reports = ws.import_files(generic_files)
    by_table = {r.table: r for r in reports}
    assert [r.table for r in reports] == [
        "channels",
        "people",
        "identities",
        "touchpoints",
        "outcomes",
        "costs",
        "metrics",
    ]
    assert {t: r.added for t, r in by_table.items()} == {
        "channels": 4,
        "people": 3,
        "identities": 4,
        "touchpoints": 6,
        "outcomes": 7,
        "costs": 3,
        "metrics": 4,
    }
    assert all(r.rejected == 0 and r.exit_code == 0 for r in reports)
    # p4 is used by identities/touchpoints/outcomes without a people row: created once
    assert ws.count("people") == 4
    owned = dict(ws.con.execute("SELECT channel_id, owned FROM channels").fetchall())
    assert owned == {"instagram": False, "newsletter": True, "phone": True, "trade_shows": True}


def test_times_with_zones_are_stored_in_utc(loaded):
    ts = loaded.con.execute("SELECT ts FROM touchpoints WHERE touch_id = 't3'").fetchone()[0]
    assert ts.isoformat() == "2024-03-05T10:00:00"


def test_import_order_follows_dependencies_whatever_the_order_given(ws, generic_files):
    reports = ws.import_files(list(reversed(generic_files)))
    assert all(r.status == "ok" for r in reports)
    assert reports[0].table == "channels"


def test_reimport_same_file_adds_nothing_and_picture_is_unchanged(loaded, generic_files):
    before = loaded.picture().to_dict()
    counts = {t: loaded.count(t) for t in ("touchpoints", "outcomes", "people", "imports")}
    again = loaded.import_files(generic_files)
    assert all(r.added == 0 and r.status == "duplicate" for r in again)
    assert sum(r.skipped for r in again) == sum(r.rows for r in again) > 0
    assert {t: loaded.count(t) for t in counts} == counts
    assert loaded.picture().to_dict() == before


def test_overlapping_file_updates_changes_and_never_double_counts(loaded, tmp_path):
    later = write(
        tmp_path / "outcomes_later.csv",
        "outcome_id,person_id,ts,type,value,currency,channel_id,order_ref\n"
        "o1,p1,2024-03-03T10:00:00Z,order,120.50,USD,,A-1\n"  # same
        "o2,p2,2024-03-05T10:30:00Z,new_account,2500,USD,,A-2\n"  # changed value
        "o8,p3,2024-03-21T10:00:00Z,lead,,,,\n",  # new
    )
    (r,) = loaded.import_files([later])
    assert (r.rows, r.added, r.updated, r.skipped, r.rejected) == (3, 1, 1, 1, 0)
    assert loaded.count("outcomes") == 8
    value = loaded.con.execute("SELECT value FROM outcomes WHERE outcome_id='o2'").fetchone()[0]
    assert float(value) == 2500.0


def test_bad_rows_are_rejected_with_row_column_and_reason(loaded, tmp_path):
    bad = write(
        tmp_path / "touchpoints_bad.csv",
        "touch_id,person_id,ts,channel_id,content_id,kind,value\n"
        "b1,p1,2024-04-01T10:00:00Z,instagram,,like,\n"  # row 1 good
        "b2,p1,yesterday,instagram,,like,\n"  # row 2 bad ts
        "b3,p1,2024-04-01T10:00:00Z,tiktok,,like,\n"  # row 3 unknown channel
        "b4,p1,2024-04-01T10:00:00Z,instagram,,poke,abc\n"  # row 4 bad kind + value
        ",p1,2024-04-01T10:00:00Z,instagram,,like,\n"  # row 5 missing key
        "b6,p9,2024-04-02T10:00:00Z,newsletter,,open,\n",  # row 6 good, new person
    )
    (r,) = loaded.import_files([bad])
    assert (r.rows, r.added, r.rejected, r.status, r.exit_code) == (6, 2, 4, "rejects", 3)
    rej = loaded.rejects(r.source_id)
    assert list(rej["row"]) == [2, 3, 4, 5]
    assert rej["file"].iloc[0].endswith("touchpoints_bad.csv")
    reasons = dict(zip(rej["row"], rej["reason"], strict=True))
    columns = dict(zip(rej["row"], rej["column"], strict=True))
    assert columns[2] == "ts" and "not a date-time" in reasons[2] and "'yesterday'" in reasons[2]
    assert columns[3] == "channel_id"
    assert "unknown channel 'tiktok'" in reasons[3]
    assert "known channels: instagram, newsletter, phone, trade_shows" in reasons[3]
    assert columns[4] == "kind, value" and "'poke' is not one of" in reasons[4]
    assert "not a number: 'abc'" in reasons[4]
    assert columns[5] == "touch_id" and "missing (required)" in reasons[5]
    assert '"ts":"yesterday"' in rej.set_index("row")["raw"][2].replace(" ", "")
    assert loaded.count("touchpoints") == 8
    assert loaded.con.execute("SELECT count(*) FROM people WHERE person_id='p9'").fetchone()[0] == 1


def test_conflicting_duplicate_inside_a_file_is_rejected_identical_one_skipped(ws, tmp_path):
    write(tmp_path / "channels.csv", "channel_id,kind\nweb,web\n")
    f = write(
        tmp_path / "touchpoints.csv",
        "touch_id,person_id,ts,channel_id,kind\n"
        "a,p1,2024-01-01,web,visit\n"
        "a,p1,2024-01-01,web,visit\n"
        "a,p2,2024-01-01,web,visit\n",
    )
    r = ws.import_files([tmp_path / "channels.csv", f])[1]
    assert (r.added, r.skipped, r.rejected) == (1, 1, 1)
    rej = ws.rejects(r.source_id)
    assert list(rej["row"]) == [3] and "duplicate of row 1" in rej["reason"][0]


def test_amount_needs_a_valid_currency(loaded, tmp_path):
    f = write(
        tmp_path / "outcomes.csv",
        "outcome_id,ts,type,value,currency\n"
        "x1,2024-05-01,order,10,\n"
        "x2,2024-05-01,order,10,DOLLARS\n"
        "x3,2024-05-01,order,1.234,eur\n",
    )
    (r,) = loaded.import_files([f])
    rej = loaded.rejects(r.source_id)
    assert list(rej["row"]) == [1, 2]
    assert "needs a currency" in rej["reason"][0]
    assert "not an ISO 4217 currency" in rej["reason"][1]
    cur = loaded.con.execute("SELECT currency FROM outcomes WHERE outcome_id='x3'").fetchone()
    assert cur[0] == "EUR"
    # --currency fills the gap
    f2 = write(tmp_path / "outcomes2.csv", "outcome_id,ts,type,value\nx4,2024-05-01,order,10\n")
    (r2,) = loaded.import_files([f2], currency="usd")
    assert r2.added == 1


def test_naive_times_follow_tz_option(ws, tmp_path):
    write(tmp_path / "channels.csv", "channel_id,kind\nweb,web\n")
    f = write(
        tmp_path / "touchpoints.csv",
        "touch_id,person_id,ts,channel_id,kind\n"
        "a,p1,2024-07-01 09:00:00,web,visit\n"
        "b,p1,2024-07-01T09:00:00+00:00,web,visit\n",
    )
    ws.import_files([tmp_path / "channels.csv"])
    ws.import_files([f], tz="America/New_York")
    got = dict(ws.con.execute("SELECT touch_id, ts FROM touchpoints").fetchall())
    assert got["a"].isoformat() == "2024-07-01T13:00:00"
    assert got["b"].isoformat() == "2024-07-01T09:00:00"
    with pytest.raises(InvalidOption):
        ws.import_files([f], tz="Mars/Olympus")


@pytest.mark.parametrize(
    "name,content,expect",
    [
        ("missing.csv", None, "no such file"),
        ("touchpoints.csv", b"", "empty"),
        ("touchpoints.csv", b"a,b,c\n1,2,3\n", "wrong columns"),
        ("touchpoints.csv", b"touch_id,person_id,ts,chanel_id,kind\n", "did you mean 'channel_id'"),
        ("notes.csv", b"touch_id;person;foo\n1;2;3\n", "no source recognises"),
        ("touchpoints.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "wrong columns"),
        ("touchpoints.parquet", b"PAR1 not really", "not a readable Parquet"),
    ],
)
def test_unusable_files_store_nothing_and_say_why(ws, tmp_path, name, content, expect):
    p = tmp_path / name
    if content is not None:
        p.write_bytes(content)
    (r,) = ws.import_files([p])
    assert r.status == "unusable" and r.exit_code == 2
    assert expect in r.message
    assert ws.count("imports") == 0 and ws.count("rejects") == 0


def test_a_folder_is_imported_whole_and_an_empty_folder_is_unusable(ws, generic_files, tmp_path):
    reports = ws.import_files([generic_files[0].parent])
    assert len(reports) == 7 and all(r.status == "ok" for r in reports)
    empty = tmp_path / "empty"
    empty.mkdir()
    (r,) = ws.import_files([empty])
    assert r.status == "unusable" and "folder" in r.message


def test_windows_1252_bom_crlf_semicolons_are_read(ws, tmp_path):
    write(tmp_path / "channels.csv", "channel_id,kind\nweb,web\n")
    ws.import_files([tmp_path / "channels.csv"])
    p = tmp_path / "people.csv"
    p.write_bytes("person_id;display_name;company\r\np1;José Müller;Café\r\n".encode("cp1252"))
    (r,) = ws.import_files([p])
    assert r.added == 1 and "Windows-1252" in r.message
    name = ws.con.execute("SELECT display_name FROM people").fetchone()[0]
    assert name == "José Müller"
    p2 = tmp_path / "people2.csv"
    p2.write_bytes(codecs.BOM_UTF8 + "person_id,display_name\r\np2,Zoë\r\n".encode())
    (r2,) = ws.import_files([p2], table="people")
    assert r2.added == 1 and r2.rejected == 0


def test_ragged_rows_are_rejected_and_the_rest_land(ws, tmp_path):
    write(tmp_path / "channels.csv", "channel_id,kind\nweb,web\nshop,web\n")
    ws.import_files([tmp_path / "channels.csv"])
    f = write(
        tmp_path / "touchpoints.csv",
        "touch_id,person_id,ts,channel_id,kind\n"
        "a,p1,2024-01-01,web,visit\n"
        "b,p1,2024-01-01,web,visit,extra\n"
        "c,p1,2024-01-01,bogus,visit\n"
        'd,p1,2024-01-01,"sh\nop",visit\n',
    )
    (r,) = ws.import_files([f])
    assert (r.rows, r.added, r.rejected) == (4, 1, 3)
    rej = ws.rejects(r.source_id)
    assert list(rej["row"]) == [2, 3, 4]
    assert "row has 6 fields, the header has 5" in rej["reason"][0]


def test_dry_run_stores_nothing(ws, generic_files):
    reports = ws.import_files(generic_files, dry_run=True)
    assert reports[0].added == 4 and reports[0].dry_run
    assert ws.count("channels") == 0 and ws.count("imports") == 0


def test_parquet_files_import_like_csv(ws, generic_files, tmp_path):
    import duckdb

    ws.import_files(generic_files[:1])
    pq = tmp_path / "touchpoints.parquet"
    duckdb.sql(
        f"COPY (SELECT * REPLACE (CAST(ts AS TIMESTAMPTZ) AS ts) FROM "
        f"read_csv('{generic_files[3]}', all_varchar=true)) TO '{pq}' (FORMAT parquet)"
    )
    (r,) = ws.import_files([pq])
    assert (r.added, r.rejected) == (6, 0)
    ts = ws.con.execute("SELECT ts FROM touchpoints WHERE touch_id='t3'").fetchone()[0]
    assert ts.isoformat() == "2024-03-05T10:00:00"


def test_row_numbers_are_exact_in_a_file_read_in_parallel(ws, tmp_path):
    """DuckDB reads big CSVs in parallel; reported rows must still be the file's rows."""
    write(tmp_path / "channels.csv", "channel_id,kind\nweb,web\n")
    ws.import_files([tmp_path / "channels.csv"])
    bad_rows = {7, 123_457, 250_001, 399_999}
    lines = ["touch_id,person_id,ts,channel_id,kind"]
    for i in range(1, 400_001):
        kind = "oops" if i in bad_rows else "visit"
        lines.append(f"t{i},p{i % 5000},2024-01-01T00:00:00Z,web,{kind}")
    f = write(tmp_path / "touchpoints.csv", "\n".join(lines) + "\n")
    assert f.stat().st_size > 16 * 1024 * 1024
    (r,) = ws.import_files([f])
    assert r.rejected == 4 and r.added == 400_000 - 4
    assert set(ws.rejects(r.source_id)["row"]) == bad_rows


def test_unknown_table_and_source_options_are_refused(ws, generic_files):
    with pytest.raises(InvalidOption):
        ws.import_files(generic_files, table="nope")
    with pytest.raises(InvalidOption):
        ws.import_files(generic_files, source="nope")


def test_workspace_reopens_with_data_and_schema_version(tmp_path, generic_files):
    path = tmp_path / "w.duckdb"
    with truefans.open_workspace(path) as w:
        w.import_files(generic_files)
    with truefans.open_workspace(path) as w:
        assert w.count("outcomes") == 7
        assert w.schema_version == SCHEMA_VERSION


def test_a_zip_is_imported_whole_and_unknown_members_are_passed_over(ws, generic_files, tmp_path):
    import zipfile

    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in generic_files:
            zf.write(f, f"export/{f.name}")
        zf.writestr("export/Notes.csv", "something,else\n1,2\n")
        zf.writestr("../evil.csv", "touch_id\n")
        zf.writestr("__MACOSX/._channels.csv", "junk")
    reports = ws.import_files([z])
    by_status = {}
    for r in reports:
        by_status.setdefault(r.status, []).append(r)
    assert len(by_status["ok"]) == 7 and by_status["ok"][0].table == "channels"
    assert [r.file.rsplit(":", 1)[1] for r in by_status["ignored"]] == ["export/Notes.csv"]
    assert all(r.exit_code == 0 for r in reports)
    assert ws.count("outcomes") == 7
    files = set(ws.imports()["path"])
    assert any(p.endswith("export.zip:export/outcomes.csv") for p in files)
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 not a zip")
    (r,) = ws.import_files([bad])
    assert r.status == "unusable" and "zip" in r.message


def test_an_unknown_file_named_explicitly_is_unusable_but_ignored_inside_a_folder(ws, tmp_path):
    folder = tmp_path / "stuff"
    folder.mkdir()
    (folder / "random.csv").write_text("a,b\n1,2\n")
    (folder / "channels.csv").write_text("channel_id,kind\nweb,web\n")
    reports = ws.import_files([folder])
    assert sorted(r.status for r in reports) == ["ignored", "ok"]
    (r,) = ws.import_files([folder / "random.csv"])
    assert r.status == "unusable" and r.exit_code == 2


def test_costs_from_two_sources_fill_each_other_and_never_erase(ws, tmp_path):
    write(tmp_path / "channels.csv", "channel_id,kind\nads,paid\n")
    ws.import_files([tmp_path / "channels.csv"])
    money = write(
        tmp_path / "costs_ads.csv",
        "channel_id,period_start,dollars,currency\nads,2024-03-04,250.00,USD\n",
    )
    hours = write(tmp_path / "costs_hours.csv", "channel_id,period_start,hours\nads,2024-03-04,6\n")
    ws.import_files([money])
    (r,) = ws.import_files([hours])
    assert r.updated == 1
    row = ws.con.execute("SELECT dollars, hours, currency FROM costs").fetchone()
    assert (float(row[0]), row[1], row[2]) == (250.0, 6.0, "USD")


def _table_rows(ws, table: str) -> list[tuple]:
    return ws.con.execute(f'SELECT * FROM "{table}" ORDER BY ALL').fetchall()


def _one_pass_file(tmp_path: Path, extra: str = "") -> Path:
    rows = [
        "touch_id,person_id,ts,channel_id,content_id,kind,value",
        "t1,p1,2024-03-01T10:00:00,instagram,,like,",
        " t2 , p2 ,2024-03-01 11:00:00 , newsletter ,, Open ,2.5",
        't3,p1,2024-03-02T09:30:00+02:00,instagram,,comment,""',
        "t4,p3,2024-03-02T09:30:00-05:00,phone,,call,  ",
        "t5,p2,2024-03-03T00:00:00Z,trade_shows,,booth_visit,1e3",
    ]
    return write(tmp_path / "touchpoints_one_pass.csv", "\n".join(rows) + "\n" + extra)


@pytest.mark.parametrize("tz", [None, "Europe/Paris"])
def test_a_clean_file_loads_in_one_pass_exactly_as_the_general_path_would(
    tmp_path, generic_files, monkeypatch, tz
):
    from truefans.ingest import load

    channels = [f for f in generic_files if f.name.startswith("channels")]
    f = _one_pass_file(tmp_path)
    calls: list[str] = []
    real = load.store_direct

    def spy(*a, **kw):
        got = real(*a, **kw)
        calls.append("one pass")
        return got

    with truefans.open_workspace(tmp_path / "one.duckdb") as one:
        one.import_files(channels)
        monkeypatch.setattr(load, "store_direct", spy)
        (r1,) = one.import_files([f], tz=tz)
        got = {t: _table_rows(one, t) for t in ("touchpoints", "people", "rejects")}
    assert calls == ["one pass"]

    def never(*a, **kw):
        raise load.NotDirect("general path only")

    monkeypatch.setattr(load, "store_direct", never)
    with truefans.open_workspace(tmp_path / "two.duckdb") as two:
        two.import_files(channels)
        (r2,) = two.import_files([f], tz=tz)
        want = {t: _table_rows(two, t) for t in ("touchpoints", "people", "rejects")}
    assert r1.to_dict() == r2.to_dict()
    assert (r1.rows, r1.added, r1.rejected, r1.status) == (5, 5, 0, "ok")
    assert got == want
    assert [r[0] for r in got["touchpoints"]] == ["t1", "t2", "t3", "t4", "t5"]


def test_a_file_that_needs_more_than_one_pass_keeps_its_rejects_and_import_id(ws, tmp_path):
    ws.import_files([write(tmp_path / "channels.csv", "channel_id,kind\ninstagram,social\n")])
    good = "\n".join(f"g{i},p{i % 7},2024-03-01T10:00:00,instagram,,like," for i in range(3000))
    f = write(
        tmp_path / "touchpoints.csv",
        "touch_id,person_id,ts,channel_id,content_id,kind,value\n"
        + good
        + "\nlast,p1,not a time,instagram,,like,\n",
    )
    (r,) = ws.import_files([f])
    assert (r.rows, r.added, r.rejected, r.source_id) == (3001, 3000, 1, 2)
    rej = ws.rejects(r.source_id)
    assert list(rej["row"]) == [3001] and "'not a time'" in rej["reason"][0]
    assert ws.count("people") == 7
    # the import id the one-pass attempt took is the one the general path stored
    assert ws.con.execute("SELECT list(source_id ORDER BY 1) FROM imports").fetchone()[0] == [1, 2]

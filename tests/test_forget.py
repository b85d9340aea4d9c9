"""`truefans forget`: a person leaves no trace in any table, the report, or the file's bytes."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import truefans
from truefans.cli import app
from truefans.privacy import PENDING, NotFound, forget
from workspace_state import file_contents

EMAIL = "zelda.quartermaine@forgetme.example"
PHONE = "+15555550199"
NAME = "Zelda Quartermaine"
PERSON = "zelda-quartermaine-001"
OLD_ID = "zelda-old-alias-002"
NEEDLES = (EMAIL, PHONE, NAME, PERSON, OLD_ID)


def _world(tmp_path: Path, generic_files: list[Path]) -> Path:
    """The generic test data plus Zelda, who appears in every table that can name a person."""
    path = tmp_path / "ws.duckdb"
    d = tmp_path / "zelda"
    d.mkdir()
    (d / "people.csv").write_text(
        f"person_id,display_name,company,title\n{PERSON},{NAME},Quartermaine Ltd,Owner\n"
    )
    (d / "identities.csv").write_text(
        "identity_id,person_id,kind,platform,value\n"
        f"zq-email,{PERSON},email,,{EMAIL}\nzq-phone,{PERSON},phone,,{PHONE}\n"
    )
    (d / "touchpoints.csv").write_text(
        "touch_id,person_id,ts,channel_id,content_id,kind,value\n"
        f"zt1,{PERSON},2024-03-02T09:00:00Z,newsletter,,click,\n"
        f"zt2,{PERSON},2024-03-04T09:00:00Z,instagram,,like,\n"
    )
    (d / "outcomes.csv").write_text(
        "outcome_id,person_id,ts,type,value,currency,channel_id,order_ref,referred_by\n"
        f"zo1,{PERSON},2024-03-05T10:00:00Z,order,999.99,USD,,Z-1,\n"
        f"zo2,p2,2024-03-07T10:00:00Z,order,400,USD,,B-9,{PERSON}\n"
    )
    # a rejected row that holds her email (an unknown identity kind)
    bad = d / "more_identities.csv"
    bad.write_text(f"identity_id,person_id,kind,platform,value\nzq-bad,{PERSON},emial,,{EMAIL}\n")
    with truefans.open_workspace(path) as ws:
        files = [*generic_files[:5], *(d / n for n in ("people.csv", "identities.csv"))]
        files += [d / "touchpoints.csv", d / "outcomes.csv"]
        reports = ws.import_files(files)
        assert all(r.status == "ok" for r in reports), reports
        (r,) = ws.import_files([bad], table="identities")
        assert r.rejected == 1
        con = ws.con
        # tables filled by identity resolution and the demo, written directly here
        con.execute(
            "INSERT INTO identity_links VALUES ('zq-email', ?, 'exact email', 1.0, ?, NULL, "
            "TIMESTAMP '2024-03-01')",
            [PERSON, f"email {EMAIL}"],
        )
        con.execute(
            "INSERT INTO merges VALUES (nextval('merge_seq'), ?, ?, 'shared email', 1.0, ?, NULL, "
            "TIMESTAMP '2024-03-01', NULL)",
            [PERSON, OLD_ID, f"both had {EMAIL}"],
        )
        con.execute("INSERT INTO kept_apart VALUES (?, 'p2', TIMESTAMP '2024-03-01')", [PERSON])
        con.execute("INSERT INTO truth VALUES ('zo1', 'newsletter', NULL)")
        con.execute("INSERT INTO truth_people VALUES (?, 'true_fan', NULL)", [PERSON])
        con.execute(
            "INSERT INTO audience (channel_id, identity_id) VALUES ('instagram', 'zq-email')"
        )
        # a table no migration makes (a plugin's): found in the catalog
        con.execute("CREATE TABLE plugin_notes (person_id VARCHAR, note VARCHAR)")
        con.execute(
            "INSERT INTO plugin_notes VALUES (?, 'met at the fair'), ('p1', ?)",
            [PERSON, f"introduced by {NAME}"],
        )
        con.execute("CHECKPOINT")
    return path


def _rows_with(path: Path, needle: str) -> list[str]:
    return [
        t
        for t, (_, rows) in file_contents(path).items()
        if any(needle in repr(v) for r in rows for v in r)
    ]


def test_forget_leaves_no_trace_in_tables_report_or_file(tmp_path, generic_files):
    path = _world(tmp_path, generic_files)
    raw = path.read_bytes()
    # the premise: before, the person is there, in the tables and in the file's bytes
    assert EMAIL.encode() in raw and NAME.encode() in raw
    for needle in NEEDLES:
        assert _rows_with(path, needle), needle
    before = file_contents(path)

    res = CliRunner().invoke(app, ["-w", str(path), "forget", EMAIL], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert PERSON in res.output and OLD_ID in res.output
    assert EMAIL not in res.output and PHONE not in res.output
    assert "zelda/outcomes.csv" in res.output  # the files that still hold her

    after = file_contents(path)
    for needle in (*NEEDLES, "zq-email", "zq-phone", "zo1", "zt1"):
        assert _rows_with(path, needle) == [], needle
    data = path.read_bytes()
    for needle in NEEDLES:
        assert needle.encode() not in data, needle
    assert not Path(str(path) + ".wal").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []

    # everyone else is untouched; an order she referred keeps its money and loses the referrer
    def others(c: dict, table: str) -> list:
        cols, rows = c[table]
        i = cols.index("person_id")
        return [r for r in rows if r[i] not in (PERSON, OLD_ID)]

    for table in ("people", "touchpoints", "identities"):
        assert others(after, table) == others(before, table), table
    cols, rows = after["outcomes"]
    zo2 = next(r for r in rows if r[cols.index("outcome_id")] == "zo2")
    assert zo2[cols.index("referred_by")] is None and float(zo2[cols.index("value")]) == 400
    assert after["plugin_notes"][1] == [("p1", "introduced by [forgotten]")]
    assert len(after["outcomes"][1]) == len(before["outcomes"][1]) - 1

    with truefans.open_workspace(path) as ws:
        from truefans.report.render import write_report

        html = write_report(ws, tmp_path / "report.html").read_text()
        for needle in NEEDLES:
            assert needle not in html
        _assert_summaries_in_step(ws.con)
        # the workspace goes on: the next import gets the next id
        row = ws.con.execute("SELECT max(source_id) FROM imports").fetchone()
        assert row is not None
        (r,) = ws.import_files([generic_files[5]])
        assert r.source_id == row[0] + 1


def _assert_summaries_in_step(con: duckdb.DuckDBPyConnection) -> None:
    from truefans import schema

    tables = getattr(schema, "DERIVED_TABLES", ())
    if not tables:
        return
    from truefans import derived

    kept = {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
    con.execute("BEGIN TRANSACTION")
    derived.rebuild(con)
    fresh = {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
    con.execute("ROLLBACK")
    assert kept == fresh


def test_forget_by_phone_or_person_id(tmp_path, generic_files):
    path = _world(tmp_path, generic_files)
    rep = forget(path, "(555) 555-0199")
    assert rep.person_ids == sorted([PERSON, OLD_ID])
    with pytest.raises(NotFound):
        forget(path, PERSON)
    rep = forget(path, "p3")
    assert rep.person_ids == ["p3"] and rep.deleted["outcomes"] == 1
    assert "@chenwei" not in repr(file_contents(path))


def test_unknown_person_changes_nothing_and_echoes_nothing(tmp_path, generic_files):
    path = _world(tmp_path, generic_files)
    raw = path.read_bytes()
    res = CliRunner().invoke(
        app, ["-w", str(path), "forget", "nobody@nowhere.example"], catch_exceptions=False
    )
    assert res.exit_code == 1 and "no person matches" in res.output
    assert "nobody@nowhere.example" not in res.output
    assert path.read_bytes() == raw


def test_a_rewrite_cut_short_is_finished_by_the_next_forget(tmp_path, generic_files):
    path = _world(tmp_path, generic_files)
    with truefans.open_workspace(path) as ws:
        ws.con.execute("DELETE FROM identities WHERE person_id = ?", [PERSON])
        ws.set_setting(PENDING, "1")
    # the phone is only in identities: deleted, and checkpointed, but still in the free blocks
    assert PHONE not in repr(file_contents(path))
    assert PHONE.encode() in path.read_bytes()
    rep = forget(path, "nobody-at-all")
    assert rep.finished_earlier and rep.rewritten and not rep.person_ids
    assert PHONE.encode() not in path.read_bytes()
    with truefans.open_workspace(path) as ws:
        assert ws.setting(PENDING) is None


def test_hashed_workspace_finds_the_person_by_hash(tmp_path):
    path = tmp_path / "h.duckdb"
    f = tmp_path / "identities.csv"
    f.write_text(f"identity_id,person_id,kind,platform,value\nzq,{PERSON},email,,{EMAIL}\n")
    (tmp_path / "people.csv").write_text(f"person_id,display_name\n{PERSON},{NAME}\n")
    with truefans.open_workspace(path) as ws:
        ws.import_files([tmp_path / "people.csv", f], hash_pii=True)
        stored = ws.con.execute("SELECT value, value_hash FROM identities").fetchall()
    rep = forget(path, EMAIL.upper())
    assert rep.person_ids == [PERSON], stored
    assert _rows_with(path, PERSON) == []


def test_import_and_forget_output_hold_no_email_or_phone(tmp_path, generic_files):
    runner = CliRunner()
    path = tmp_path / "w.duckdb"
    res = runner.invoke(
        app, ["-w", str(path), "import", *map(str, generic_files)], catch_exceptions=False
    )
    assert res.exit_code == 0, res.output
    for value in ("ana@harborpine.example", "ben@okafor.example", "+15555550104"):
        assert value not in res.output
    with truefans.open_workspace(path) as ws:
        notes = " ".join(str(n) for (n,) in ws.con.execute("SELECT note FROM imports").fetchall())
    assert "@" not in notes and "+1555" not in notes
    res = runner.invoke(
        app, ["-w", str(path), "forget", "ben@okafor.example", "-f", "json"], catch_exceptions=False
    )
    assert res.exit_code == 0 and "okafor.example" not in res.output
    assert '"p2"' in res.output


def test_forget_in_the_demo_world_touches_no_one_else(demo_path, tmp_path):
    """Real resolved people (an email customer, a referrer, a follower known by handle only):
    each is gone from every table and the file's bytes, everyone else's rows stay as they were."""
    path = tmp_path / "demo.duckdb"
    import shutil

    shutil.copy(demo_path, path)
    con = duckdb.connect(str(path), read_only=True)
    raw = path.read_bytes()
    customers = con.execute(
        """SELECT i.person_id, i.value FROM identities i JOIN outcomes o USING (person_id)
        WHERE i.kind = 'email' GROUP BY ALL ORDER BY count(*) DESC, 1"""
    ).fetchall()
    referrer = con.execute(
        "SELECT referred_by FROM outcomes WHERE referred_by IS NOT NULL ORDER BY 1 LIMIT 1"
    ).fetchone()
    follower = con.execute(
        """SELECT person_id FROM identities WHERE kind = 'handle' AND person_id NOT IN
           (SELECT person_id FROM identities WHERE kind <> 'handle') ORDER BY 1 LIMIT 1"""
    ).fetchone()
    con.close()
    assert customers and referrer and follower
    chosen = [customers[0][0], referrer[0], follower[0]]
    needles = [customers[0][1], *chosen]
    before = file_contents(path)

    for who in (customers[0][1], referrer[0], follower[0]):
        rep = forget(path, who)
        assert rep.rewritten and rep.person_ids
    after = file_contents(path)
    data = path.read_bytes()
    for needle in needles:
        # the demo's columns are compressed: only a value stored verbatim before can be looked for
        if needle.encode() in raw:
            assert needle.encode() not in data, needle
        assert not [t for t, (_, rows) in after.items() if needle in repr(rows)], needle
    gone = set(chosen)
    icols, irows = before["identities"]
    gone_idents = {
        r[icols.index("identity_id")] for r in irows if r[icols.index("person_id")] in gone
    }
    for table in ("people", "identities", "touchpoints", "audience", "truth_people"):
        cols, rows = before[table]
        i = cols.index("person_id")
        j = cols.index("identity_id") if "identity_id" in cols else None
        kept = sorted(
            (r for r in rows if r[i] not in gone and (j is None or r[j] not in gone_idents)),
            key=repr,
        )
        assert after[table][1] == kept, table
    # the referred orders stay, with their money, without the referrer
    cols, rows = after["outcomes"]
    assert len(rows) == len([r for r in before["outcomes"][1] if r[1] not in gone])
    with truefans.open_workspace(path) as ws:
        assert ws.picture().rows
        _assert_summaries_in_step(ws.con)


def test_values_another_person_shares_or_contains_are_left_to_them(tmp_path, generic_files):
    """The same handle on another platform belongs to someone else too; an email that contains
    the forgotten one is another address: both stay as they were."""
    path = _world(tmp_path, generic_files)
    longer = "old." + EMAIL
    with truefans.open_workspace(path) as ws:
        ws.con.execute(
            f"""INSERT INTO identities (identity_id, person_id, kind, platform, value) VALUES
            ('zq-handle', '{PERSON}', 'handle', 'x', 'zeldaq'),
            ('p2-handle', 'p2', 'handle', 'meta', 'zeldaq'),
            ('p2-email', 'p2', 'email', NULL, '{longer}')"""
        )
        ws.con.execute(
            "INSERT INTO rejects VALUES (1, 9, 'ts', 'ts: not a date', ?)", [f"x,{longer},y"]
        )
        ws.con.execute(
            "INSERT INTO people (person_id, display_name) VALUES ('p9', ?)", [NAME + " Jr"]
        )
    forget(path, PERSON)
    after = file_contents(path)
    assert ("p9", NAME + " Jr") in [r[:2] for r in after["people"][1]]
    cols, rows = after["identities"]
    mine = {r[cols.index("identity_id")]: r[cols.index("value")] for r in rows}
    assert mine["p2-handle"] == "zeldaq" and mine["p2-email"] == longer
    assert "zq-handle" not in mine
    assert ("x," + longer + ",y") in repr(after["rejects"][1])
    assert EMAIL.encode() not in path.read_bytes().replace(longer.encode(), b"")

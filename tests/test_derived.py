"""The kept summaries (derived.py) always equal a rebuild from the facts, and the analyses that
read them give exactly what they give from the touches themselves."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

import truefans
from truefans import derived
from truefans.engine import DuckDBEngine
from truefans.engine import summaries as fresh
from truefans.ingest.identity import explain_person, split_person
from truefans.schema import DERIVED_TABLES

ORDER = {
    "channel_bits": "channel_id",
    "person_channels": "person_id, channel_id",
    "person_touches": "person_id",
    "outcome_touches": "outcome_id",
}


def summaries(ws) -> dict[str, list[tuple]]:
    return {
        t: ws.con.execute(f"SELECT * FROM {t} ORDER BY {ORDER[t]}").fetchall()
        for t in DERIVED_TABLES
    }


def assert_in_step(ws) -> None:
    """Once brought up to date (as an analysis does before reading them), the kept rows equal a
    rebuild from every touch and outcome (rolled back afterwards)."""
    assert derived.ensure_fresh(ws.con)
    assert not derived.pending(ws.con)
    kept = summaries(ws)
    ws.con.execute("BEGIN TRANSACTION")
    try:
        derived.rebuild(ws.con)
        fresh = summaries(ws)
    finally:
        ws.con.execute("ROLLBACK")
    for t in DERIVED_TABLES:
        assert kept[t] == fresh[t], t
    assert summaries(ws) == kept


pytestmark = pytest.mark.usefixtures("fake_crm_source")


@pytest.fixture
def per_person(monkeypatch):
    """Refresh person by person however many people a write touches (the path a small import
    into a large workspace takes)."""
    monkeypatch.setattr(derived, "FULL_SHARE", 10.0)


def write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


TOUCH_HEAD = "touch_id,person_id,ts,channel_id,content_id,kind,value"
CRM_HEAD = "FakeCRM id,email,phone,linkedin,name,company,when,amount,channel"


@pytest.mark.parametrize("mode", ["per_person", "whole"])
def test_summaries_follow_imports_updates_merges_and_splits(
    ws, generic_files, tmp_path, mode, request
):
    if mode == "per_person":
        request.getfixturevalue("per_person")
    assert ws.import_files(generic_files)
    assert_in_step(ws)
    assert ws.con.execute("SELECT count(*) FROM outcome_touches").fetchone()[0] > 0

    # new touches for a known person, and a touch moved to another person (an update: its old
    # owner's summaries change too)
    t2 = write(
        tmp_path / "touchpoints_more.csv",
        TOUCH_HEAD,
        [
            "t1,p2,2024-03-01T10:00:00Z,instagram,,like,",
            "t900,p2,2024-03-05T10:29:00Z,newsletter,,comment,",
            "t901,p2,2024-03-05T10:29:00Z,instagram,,view,",
        ],
    )
    (r,) = ws.import_files([t2], table="touchpoints")
    assert r.status == "ok" and r.updated == 1, r
    assert_in_step(ws)
    # the last touch before o2 (10:30) is at 10:29 on two channels: the smallest id wins
    last = ws.con.execute(
        "SELECT last_channel FROM outcome_touches WHERE outcome_id = 'o2'"
    ).fetchone()
    assert last == ("instagram",)

    # two people a later row ties together are merged; their touches follow
    crm = write(
        tmp_path / "crm.csv",
        CRM_HEAD,
        [
            "1,dev.patel@example.com,,,Dev Patel,Patel Co,2024-01-02,10.00,",
            "2,,(617) 555-0177,,,,2024-01-03,20.00,",
        ],
    )
    ws.import_files([crm])
    dev, caller = (
        ws.con.execute("SELECT person_id FROM outcomes WHERE outcome_id = ?", [o]).fetchone()[0]
        for o in ("fakecrm:1", "fakecrm:2")
    )
    touches = write(
        tmp_path / "touchpoints_crm.csv",
        TOUCH_HEAD,
        [
            f"c1,{dev},2024-01-01T08:00:00Z,newsletter,,click,",
            f"c2,{caller},2024-01-02T08:00:00Z,instagram,,comment,",
        ],
    )
    ws.import_files([touches], table="touchpoints")
    assert_in_step(ws)
    link = write(
        tmp_path / "link.csv", CRM_HEAD, ["3,dev.patel@example.com,617-555-0177,,,,2024-01-05,1,"]
    )
    (r,) = ws.import_files([link])
    assert "merged" in r.message
    assert_in_step(ws)
    kept = ws.con.execute(
        "SELECT person_id FROM outcomes WHERE outcome_id = 'fakecrm:3'"
    ).fetchone()[0]
    bit = dict(ws.con.execute("SELECT channel_id, bit FROM channel_bits").fetchall())
    (mask,) = ws.con.execute(
        "SELECT seen_mask FROM person_touches WHERE person_id = ?", [kept]
    ).fetchone()
    assert mask == 1 << bit["instagram"] | 1 << bit["newsletter"]

    # the user splits the phone off again
    info = explain_person(ws.con, kept)
    phone_id = info["identities"].query("kind == 'phone'")["identity_id"].iloc[0]
    split_person(ws.con, kept, [phone_id])
    assert_in_step(ws)

    # a dry run changes nothing, a re-import of the same file adds nothing
    ws.import_files([t2], table="touchpoints", dry_run=True)
    ws.import_files([touches], table="touchpoints")
    assert_in_step(ws)


def test_an_import_records_what_the_summaries_must_take_in_and_an_analysis_takes_it_in(
    ws, generic_files, tmp_path
):
    ws.import_files(generic_files)
    assert derived.pending(ws.con)  # the import itself only recorded its id
    before = ws.picture().to_dict()  # the first analysis brings the summaries up to date
    assert not derived.pending(ws.con)
    more = write(
        tmp_path / "touchpoints_new.csv",
        TOUCH_HEAD,
        ["t77,p3,2024-03-04T10:00:00Z,newsletter,,click,"],
    )
    ws.import_files([more], table="touchpoints")
    assert derived.pending(ws.con)
    after = ws.picture()
    assert after.to_dict() != before
    ws.engine.summaries = False
    assert ws.picture().to_dict() == after.to_dict()


def test_a_dry_run_or_an_unusable_file_records_nothing(ws, generic_files, tmp_path):
    ws.import_files(generic_files)
    assert derived.ensure_fresh(ws.con)
    before = summaries(ws)
    good = write(
        tmp_path / "touchpoints_ok.csv",
        TOUCH_HEAD,
        ["t78,p2,2024-03-04T10:00:00Z,newsletter,,click,"],
    )
    (r,) = ws.import_files([good], table="touchpoints", dry_run=True)
    assert r.added == 1
    broken = write(tmp_path / "touchpoints_broken.csv", "touch_id,person_id", ["t79,p2"])
    (r,) = ws.import_files([broken], table="touchpoints")
    assert r.status == "unusable"
    assert not derived.pending(ws.con)
    assert summaries(ws) == before
    # a file whose every row is rejected is an import of nothing: the summaries do not change
    bad = write(tmp_path / "touchpoints_bad.csv", TOUCH_HEAD, ["t1,p2,not a time,instagram,,like,"])
    (r,) = ws.import_files([bad], table="touchpoints")
    assert r.rejected == 1
    assert_in_step(ws)
    assert summaries(ws) == before


def test_a_workspace_opened_read_only_reads_the_touches(ws, generic_files, tmp_path):
    ws.import_files(generic_files)
    path = ws.path
    ws.close()
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert derived.pending(con)
        assert not fresh(DuckDBEngine(con))  # cannot take the import in: the facts are read
    finally:
        con.close()


def test_a_workspace_of_schema_3_gets_its_summaries_when_it_opens(ws, generic_files, tmp_path):
    ws.import_files(generic_files)
    assert derived.ensure_fresh(ws.con)
    want = summaries(ws)
    for t in (*DERIVED_TABLES, "derived_pending"):
        ws.con.execute(f"DROP TABLE {t}")
    ws.con.execute("UPDATE _meta SET value = '3' WHERE key = 'schema_version'")
    path = ws.path
    ws.close()
    with truefans.open_workspace(path) as again:
        assert again.schema_version >= 4
        assert summaries(again) == want


CASES = [
    ("picture", {}),
    ("picture", {"outcome": "order"}),
    ("picture", {"since": "2025-03-01", "until": "2025-09-30"}),
    ("risk", {}),
    ("risk", {"lookback_days": 7}),
    ("funnel", {}),
    ("funnel", {"by": "platform"}),
    ("funnel", {"by": "all"}),
    ("funnel", {"persona": "jobseeker"}),
    ("funnel", {"until": "2025-06-30"}),
]


@pytest.mark.parametrize("fn,options", CASES, ids=[f"{f}-{json.dumps(o)}" for f, o in CASES])
def test_analyses_read_the_same_numbers_from_the_summaries_as_from_the_touches(
    demo_path, fn, options
):
    with truefans.open_workspace(demo_path) as w:
        fast = getattr(w, fn)(**options).to_dict()
        w.engine.summaries = False
        slow = getattr(w, fn)(**options).to_dict()
    assert json.dumps(fast, default=str, sort_keys=True) == json.dumps(
        slow, default=str, sort_keys=True
    )


def test_the_demo_keeps_its_summaries_in_step(demo_path):
    with truefans.open_workspace(demo_path) as w:
        assert_in_step(w)


def test_a_channel_added_later_gets_the_next_bit_and_too_many_channels_read_the_touches(
    ws, generic_files, tmp_path
):
    ws.import_files(generic_files)
    assert_in_step(ws)
    first = dict(ws.con.execute("SELECT channel_id, bit FROM channel_bits").fetchall())
    chans = write(tmp_path / "channels_more.csv", "channel_id,name,kind", ["aaa_blog,Blog,web"])
    ws.import_files([chans], table="channels")
    touches = write(
        tmp_path / "touchpoints_blog.csv",
        TOUCH_HEAD,
        ["b1,p1,2024-03-02T09:30:00Z,aaa_blog,,click,"],
    )
    ws.import_files([touches], table="touchpoints")
    assert_in_step(ws)
    now = dict(ws.con.execute("SELECT channel_id, bit FROM channel_bits").fetchall())
    assert {k: now[k] for k in first} == first  # stored masks keep their meaning
    assert now["aaa_blog"] == max(first.values()) + 1
    fast = ws.picture().to_dict()
    ws.engine.summaries = False
    assert ws.picture().to_dict() == fast
    ws.engine.summaries = True

    # beyond 63 channels the masks cannot tell every channel apart: the touches are read
    many = write(
        tmp_path / "channels_many.csv",
        "channel_id,name,kind",
        [f"zz{i:02d},Channel {i},web" for i in range(70)],
    )
    ws.import_files([many], table="channels")
    assert derived.ensure_fresh(ws.con)
    assert not derived.masks_cover(ws.con)
    for fn in ("picture", "risk", "funnel"):
        fast = getattr(ws, fn)().to_dict()
        ws.engine.summaries = False
        assert json.dumps(getattr(ws, fn)().to_dict(), default=str) == json.dumps(fast, default=str)
        ws.engine.summaries = True

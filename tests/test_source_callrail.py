from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sources_helpers import (
    SHARED,
    TEST_DATA,
    assert_never_taken,
    assert_reimport_adds_nothing,
    assert_wins,
    files,
    needs_identity,
    needs_shared,
    rejected_cells,
    scalar,
    stage_frames,
)

FAMILY = SHARED / "callrail"
DATA = TEST_DATA / "callrail"
GOOD = FAMILY / "callrail_calls_2024-01-01_2024-06-30.csv"
BAD = FAMILY / "callrail_calls_bad.csv"
shared = needs_shared("callrail")


def stage(ws, path: Path) -> dict[str, pd.DataFrame]:
    return stage_frames(ws, "callrail", path, local_times=True)


def short(key: str) -> str:
    return key.rsplit("f0", 1)[-1] if "662f0" in key else key


@shared
@pytest.mark.parametrize("path", sorted(FAMILY.glob("*.csv")), ids=lambda p: p.name)
def test_shared_files_are_callrail_and_nobody_outbids(path):
    assert_wins(path, "callrail", at_least=0.9)


@pytest.mark.parametrize("path", sorted(DATA.glob("*.csv")), ids=lambda p: p.name)
def test_variant_files_are_callrail(path):
    assert_wins(path, "callrail")


@shared
def test_callrail_does_not_take_other_families_files():
    assert_never_taken("callrail", files(SHARED, but="callrail"))


@shared
def test_stage_calls(ws):
    t = stage(ws, GOOD)
    out, touch = t["outcomes"], t["touchpoints"]
    assert len(out) == 8 and len(touch) == 8
    assert set(out["type"]) == {"call"}
    assert out["outcome_id"][0] == "callrail:CAL8154748ae6bd4e278a7cddd38a662f00"
    assert "value" not in out.columns  # money comes from payments, not CallRail's Value
    assert list(out["channel_id"]) == [
        "organic_search",  # Google Organic
        "linkedin",
        "direct",  # missed call
        "direct",  # the repeat caller
        "instagram",
        "trade_shows",  # the number printed on the expo flyer
        "google_ads",
        "newsletter",
    ]
    assert out["ts"][0] == "2024-02-20T09:30:00"  # 12-hour clock, local time
    assert out["ts"][6] == "2024-04-26T13:12:00"
    assert list(out["__phone"][:2]) == ["+1 617-555-0102", "+1 617-555-0103"]
    assert set(out["__country"]) == {"US"}
    # a carrier label is not a name
    assert pd.isna(out["__name"][6]) and out["__name"][0] == "Ben Okafor"
    assert set(touch["kind"]) == {"call"} and set(touch["channel_id"]) == {"phone"}
    assert list(touch["touch_id"]) == list(out["outcome_id"])
    assert [float(v) for v in touch["value"]] == [184, 402, 61, 733, 95, 260, 0, 128]


@shared
def test_stage_bad_file(ws):
    t = stage(ws, BAD)
    # row 2: 30 February (left raw for the loader); row 3: negative duration; row 4: no call id
    assert t["outcomes"]["ts"][1] == "2024-02-30 09:30 AM"
    assert [r[:2] for r in t["touchpoints_rejects"]] == [(3, "value"), (4, "call id")]
    assert [r[:2] for r in t["outcomes_rejects"]] == [(4, "call id")]
    assert list(t["touchpoints"]["__row"]) == [1, 2]
    assert list(t["outcomes"]["__row"]) == [1, 2, 3]


def test_stage_variant_headers(ws):
    t = stage(ws, DATA / "callrail_calls_variant_bom_crlf.csv")
    out, touch = t["outcomes"], t["touchpoints"]
    assert list(out["channel_id"]) == [
        "google_ads",  # "Google Paid" without a medium
        "facebook",
        "referral",  # Yelp
        "trade_shows",  # offline tracker named after the expo
        "phone",  # the main line: no attribution at all
    ]
    assert list(out["ts"][:2]) == ["2024-06-03T14:05:00", "2024-06-04T09:15:00"]
    assert [float(v) for v in touch["value"]] == [184, 45, 3730, 95]  # 3:04, 0:45, 1:02:10
    assert pd.isna(out["__name"][1])  # 'CELL PHONE   MA'
    assert out["__country"][3] == "GB" and out["__name"][3] == "Inès Moreau"
    assert len(touch) == 4  # the anonymous call has no touchpoint, but it is a call


def test_without_call_id_column_keys_are_stable(ws):
    path = DATA / "callrail_calls_no_call_id.csv"
    a = stage(ws, path)["outcomes"]["outcome_id"].tolist()
    b = stage(ws, path)["outcomes"]["outcome_id"].tolist()
    assert a == b and len(set(a)) == 2 and all(k.startswith("callrail:") for k in a)


@shared
@needs_identity
def test_import_end_to_end(ws):
    reports = ws.import_files([GOOD])
    assert {r.table: (r.status, r.added, r.rejected) for r in reports} == {
        "touchpoints": ("ok", 8, 0),
        "outcomes": ("ok", 8, 0),
    }
    people = scalar(
        ws, "SELECT count(DISTINCT person_id) FROM outcomes WHERE person_id IS NOT NULL"
    )
    assert people == 7  # Grace Kim called twice
    assert scalar(ws, "SELECT count(*) FROM outcomes WHERE person_id IS NULL") == 0
    assert_reimport_adds_nothing(ws, [GOOD])
    assert ws.count("outcomes") == 8 and ws.count("touchpoints") == 8


@shared
@needs_identity
def test_import_bad_file_keeps_good_rows(ws):
    reports = ws.import_files([BAD])
    by = {r.table: r for r in reports}
    assert by["outcomes"].added == 2  # rows 1 and 3
    assert by["touchpoints"].added == 1  # row 1
    assert rejected_cells(ws) == [(2, "ts"), (3, "value"), (4, "call id")]
    assert all(ws.rejects()["reason"].str.len() > 0)

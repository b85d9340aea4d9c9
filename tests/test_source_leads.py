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
    import_ok,
    needs_identity,
    needs_shared,
    rejected_cells,
    scalar,
    stage_frames,
)
from truefans.ingest.common import read_head
from truefans.ingest.registry import load_sources

DATA = TEST_DATA / "leads"
SCANS = DATA / "boston-smb-expo-2024-badge-scans.csv"
SHEET = DATA / "Trade show leads 2024.xlsx"
BAD = DATA / "leads_bad.csv"
shared = needs_shared()


def stage(ws, path: Path) -> dict[str, object]:
    return stage_frames(ws, "leads", path, local_times=True)


@pytest.mark.parametrize("path", sorted(DATA.iterdir()), ids=lambda p: p.name)
def test_lead_sheets_are_detected_and_nobody_outbids(path):
    assert_wins(path, "leads")


@shared
def test_leads_never_takes_another_familys_export():
    assert_never_taken("leads", files(SHARED))


def test_a_contact_list_without_event_is_not_a_leads_sheet(tmp_path):
    src = load_sources()["leads"]
    body = "First Name,Last Name,Email,Company\nAda,Lindqvist,ada.lindqvist@example.com,Northwind\n"
    plain = tmp_path / "contacts.csv"
    plain.write_text(body)
    assert src.detect(plain, read_head(plain)) is None
    named = tmp_path / "booth_scans.csv"  # ...but the file name may say what it is
    named.write_text(body)
    det = src.detect(named, read_head(named))
    assert det is not None and det.confidence < 0.9


def test_stage_badge_scans(ws):
    t = stage(ws, SCANS)
    out, touch = t["outcomes"], t["touchpoints"]
    assert isinstance(out, pd.DataFrame) and isinstance(touch, pd.DataFrame)
    # Dev Patel scanned on both days: two booth visits, one lead (dated by the first scan)
    assert len(touch) == 4 and len(out) == 4
    assert list(out["outcome_id"][:3]) == [
        "leads:boston-smb-expo-2024:dev.patel@example.com",
        "leads:boston-smb-expo-2024:carmen.ruiz@example.com",
        "leads:boston-smb-expo-2024:maya.cohen@example.com",
    ]
    assert out["outcome_id"][3] == "leads:boston-smb-expo-2024:walk-in-visitor-some-bakery"
    assert out["ts"][0] == "2024-04-12T10:15:00"
    assert set(out["type"]) == {"lead"} and set(out["channel_id"]) == {"trade_shows"}
    assert set(touch["kind"]) == {"booth_visit"} and set(touch["channel_id"]) == {"trade_shows"}
    assert touch["touch_id"].is_unique
    assert [float(v) for v in touch["value"]] == [3, 4, 2, 3]  # Hot, 4, Warm, Hot
    assert list(out["__title"][:2]) == ["Owner", "Practice manager"]
    assert out["__company"][0] == "Patel Accounting"
    note = str(t["outcomes_note"])
    assert "repeat scan" in note and "rating" in note and "without email or phone" in note


def test_stage_xlsx_with_title_rows(ws):
    t = stage(ws, SHEET)
    out, touch = t["outcomes"], t["touchpoints"]
    assert isinstance(out, pd.DataFrame) and isinstance(touch, pd.DataFrame)
    assert list(out["outcome_id"]) == [
        "leads:boston-smb-expo:dev.patel@example.com",
        "leads:main-street-fair:zoe.mueller@example.com",
        "leads:main-street-fair:16175550112",  # no email: the phone tells who
    ]
    assert list(out["ts"]) == ["2024-04-12T00:00:00", "2024-05-18T00:00:00", "2024-05-18T00:00:00"]
    assert list(out["__name"]) == ["Dev Patel", "Zoë Müller", "Liam O'Brien"]
    assert list(out["__title"][:2]) == ["Owner", "Designer"]
    assert [float(v) for v in touch["value"]] == [3, 2, 1]  # A, B, C


def test_stage_bad_sheet(ws):
    t = stage(ws, BAD)
    assert [r[:2] for r in t["outcomes_rejects"]] == [(3, "event")]  # type: ignore[union-attr]
    out = t["outcomes"]
    assert isinstance(out, pd.DataFrame)
    assert out["ts"][1] == "2024-05-32"  # left raw: the loader rejects it naming ts


@needs_identity
def test_import_end_to_end(ws):
    import_ok(ws, [SCANS, SHEET])
    assert ws.count("outcomes") == 7 and ws.count("touchpoints") == 7
    # Dev Patel at the expo (scans) and in the booth sheet is one person
    dev = scalar(
        ws, "SELECT count(DISTINCT person_id) FROM outcomes WHERE outcome_id LIKE '%dev.patel%'"
    )
    assert dev == 1
    assert_reimport_adds_nothing(ws, [SCANS, SHEET])


@needs_identity
def test_import_bad_sheet(ws):
    reports = ws.import_files([BAD])
    assert {r.table: r.added for r in reports} == {"touchpoints": 1, "outcomes": 1}
    assert rejected_cells(ws) == [(2, "ts"), (3, "event")]

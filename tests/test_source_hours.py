from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from sources_helpers import (
    SHARED,
    TEST_DATA,
    assert_never_taken,
    assert_wins,
    edited_copy,
    files,
    import_ok,
    needs_shared,
    rejected_cells,
    scalar,
    stage_tables,
)
from truefans.ingest.hours import channel_key, channel_names

DATA = TEST_DATA / "hours"
WEEKLY = DATA / "hours_2024.csv"
MONTHLY = DATA / "Time tracking.xlsx"
BAD = DATA / "hours_bad.csv"
shared = needs_shared()


def stage(ws, path: Path) -> tuple[pd.DataFrame, object]:
    (t,) = stage_tables(ws, "hours", path, order={"costs": "period_start, channel_id"})
    assert t.table == "costs"
    return t.rows, t.staged


def rows(df: pd.DataFrame) -> list[tuple]:
    return [
        tuple(None if pd.isna(v) else v for v in r)
        for r in df[
            ["channel_id", "period_start", "period_end", "hours", "dollars", "currency"]
        ].itertuples(index=False)
    ]


@pytest.mark.parametrize("path", sorted(DATA.iterdir()), ids=lambda p: p.name)
def test_hours_sheets_are_detected_and_nobody_outbids(path):
    assert_wins(path, "hours")


@shared
def test_hours_never_takes_another_familys_export():
    assert_never_taken("hours", files(SHARED))


def test_channel_names_follow_the_catalogue():
    names = channel_names()
    for spelling, cid in {
        "LinkedIn": "linkedin",
        "linkedin": "linkedin",
        "Newsletter": "newsletter",
        "Email newsletter": "newsletter",
        "Trade shows": "trade_shows",
        "trade_shows": "trade_shows",
        "Trade shows & events": "trade_shows",
        "Google Ads": "google_ads",
        "Twitter": "x",
        "Podcasts & audio": "podcast",
    }.items():
        assert names[channel_key(spelling)] == cid, spelling


def test_weekly_sheet_sums_per_channel_and_week(ws):
    df, st = stage(ws, WEEKLY)
    assert rows(df) == [
        ("linkedin", "2024-03-04", "2024-03-10", "5.0", None, None),  # 3.5 + 1:30
        ("newsletter", "2024-03-04", "2024-03-10", "2.0", "29.0000", "USD"),
        ("instagram", "2024-03-11", "2024-03-17", "1.5", None, None),  # 90 min
        ("linkedin", "2024-03-11", "2024-03-17", "4.0", None, None),
        ("trade_shows", "2024-03-11", "2024-03-17", "6.0", "450.0000", "USD"),
    ]
    assert "6 sheet row(s) summed" in st.note  # type: ignore[attr-defined]


def test_monthly_xlsx_with_decimal_comma_and_euro_sign(ws):
    df, _ = stage(ws, MONTHLY)
    assert rows(df) == [
        ("newsletter", "2024-04-01", "2024-04-30", "4.0", None, None),
        ("youtube", "2024-04-01", "2024-04-30", "15.0", "100.0000", "EUR"),  # €80,00 + €20,00
        ("podcast", "2024-05-01", "2024-05-31", "3.0", None, None),  # "May 2024"
    ]


def test_bad_rows_stay_unsummed_for_the_loader(ws):
    df, _ = stage(ws, BAD)
    got = dict(zip(df["__row"], rows(df), strict=True))
    assert got[3][0] == "Carrier pigeons"  # passed on as written
    assert got[4][1] == "2024-02-30"
    assert got[5][3] == "two"


def test_iso_weeks_and_day_first_dates(ws, tmp_path):
    p = tmp_path / "time_log.csv"
    p.write_text(
        "Week;Channel;Hours;Cost\n2024-W10;Instagram;2,5;\n2024-W10;instagram;1;\n"
        "13/03/2024;LinkedIn;1;12,50 EUR\n",
        encoding="utf-8",
    )
    df, _ = stage(ws, p)
    assert rows(df) == [
        ("instagram", "2024-03-04", "2024-03-10", "3.5", None, None),
        ("linkedin", "2024-03-13", "2024-03-19", "1.0", "12.5000", "EUR"),
    ]


def test_import_end_to_end_and_overlap(ws, tmp_path):
    import_ok(ws, [WEEKLY, MONTHLY])
    assert ws.count("costs") == 8
    later = edited_copy(
        WEEKLY, tmp_path / "hours_2024_later.csv", append="2024-03-11,LinkedIn,1,,,late entry\n"
    )
    (r,) = ws.import_files([later])
    assert (r.added, r.updated, r.skipped) == (0, 1, 4)
    hours = scalar(
        ws, "SELECT hours FROM costs WHERE channel_id = 'linkedin' AND period_start = '2024-03-11'"
    )
    assert hours == 5.0
    dollars = scalar(ws, "SELECT dollars FROM costs WHERE channel_id = 'trade_shows'")
    assert dollars == Decimal("450")


def test_import_bad_sheet(ws):
    reports = ws.import_files([BAD])
    assert [(r.added, r.rejected) for r in reports] == [(2, 3)]
    assert rejected_cells(ws, distinct=False) == [
        (3, "channel_id"),
        (4, "period_start"),
        (5, "hours"),
    ]
    assert ws.rejects()["reason"][0].startswith("channel_id: unknown channel 'Carrier pigeons'")

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from truefans.ingest.common import read_head
from truefans.ingest.hours import channel_key, channel_names
from truefans.ingest.registry import StageContext, load_sources

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "exports"
DATA = Path(__file__).parent / "data" / "hours"
WEEKLY = DATA / "hours_2024.csv"
MONTHLY = DATA / "Time tracking.xlsx"
BAD = DATA / "hours_bad.csv"
shared = pytest.mark.skipif(not SHARED.exists(), reason="shared export fixtures not present")


def bids(path: Path) -> dict[str, float]:
    head = read_head(path)
    out = {}
    for src in load_sources().values():
        det = src.detect(path, head)
        if det is not None:
            out[det.source] = det.confidence
    return out


def stage(ws, path: Path) -> tuple[pd.DataFrame, object]:
    src = load_sources()["hours"]
    (st,) = src.stage(StageContext(con=ws.con, path=path, prefix="t1"))
    assert st.table == "costs"
    df = ws.con.execute(f'SELECT * FROM "{st.relation}" ORDER BY period_start, channel_id').df()
    assert len(df) + len(st.rejects) == st.rows
    ws.con.execute(f'DROP TABLE "{st.relation}"')
    return df, st


def rows(df: pd.DataFrame) -> list[tuple]:
    return [
        tuple(None if pd.isna(v) else v for v in r)
        for r in df[
            ["channel_id", "period_start", "period_end", "hours", "dollars", "currency"]
        ].itertuples(index=False)
    ]


@pytest.mark.parametrize("path", sorted(DATA.iterdir()), ids=lambda p: p.name)
def test_hours_sheets_are_detected_and_nobody_outbids(path):
    got = bids(path)
    assert max(got, key=lambda k: got[k]) == "hours"


@shared
def test_hours_never_takes_another_familys_export():
    src = load_sources()["hours"]
    for p in SHARED.rglob("*"):
        if p.is_file() and p.suffix != ".md":
            assert src.detect(p, read_head(p)) is None, p


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
    reports = ws.import_files([WEEKLY, MONTHLY])
    assert all(r.status == "ok" and r.rejected == 0 for r in reports), reports
    assert ws.count("costs") == 8
    later = tmp_path / "hours_2024_later.csv"
    later.write_text(WEEKLY.read_text() + "2024-03-11,LinkedIn,1,,,late entry\n")
    (r,) = ws.import_files([later])
    assert (r.added, r.updated, r.skipped) == (0, 1, 4)
    hours = ws.con.execute(
        "SELECT hours FROM costs WHERE channel_id = 'linkedin' AND period_start = '2024-03-11'"
    ).fetchone()[0]
    assert hours == 5.0
    dollars = ws.con.execute(
        "SELECT dollars FROM costs WHERE channel_id = 'trade_shows'"
    ).fetchone()[0]
    assert dollars == Decimal("450")


def test_import_bad_sheet(ws):
    reports = ws.import_files([BAD])
    assert [(r.added, r.rejected) for r in reports] == [(2, 3)]
    rej = ws.rejects()
    assert sorted(zip(rej["row"], rej["column"], strict=True)) == [
        (3, "channel_id"),
        (4, "period_start"),
        (5, "hours"),
    ]
    assert rej["reason"][0].startswith("channel_id: unknown channel 'Carrier pigeons'")

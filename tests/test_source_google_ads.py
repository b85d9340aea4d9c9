from __future__ import annotations

import csv
from decimal import Decimal
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
    stage_frames,
)

DATA = TEST_DATA / "google_ads"
REPORT = DATA / "Campaign_report.csv"
EXCEL = DATA / "Campaign_report_excel.csv"
NO_DAY = DATA / "Campaign_report_no_day.csv"
BAD = DATA / "Campaign_report_bad.csv"


def stage(ws, path: Path, currency: str | None = None) -> dict[str, object]:
    return stage_frames(ws, "google_ads", path, unique_rows=True, currency=currency)


def expected_per_day() -> dict[tuple[str, str], dict[str, Decimal]]:
    """Sums of the campaign rows of Campaign_report.csv, computed here with Python's csv."""
    lines = REPORT.read_text(encoding="utf-8").splitlines()[2:]
    out: dict[tuple[str, str], dict[str, Decimal]] = {}
    for row in csv.DictReader(lines):
        if row["Campaign"].startswith("Total:"):
            continue
        ch = "youtube_ads" if row["Campaign type"] == "Video" else "google_ads"
        e = out.setdefault((ch, row["Day"]), {"cost": Decimal(0), "clicks": Decimal(0)})
        e["cost"] += Decimal(row["Cost"].replace(",", ""))
        e["clicks"] += Decimal(row["Clicks"].replace(",", ""))
    return out


@pytest.mark.parametrize("path", sorted(DATA.glob("*.csv")), ids=lambda p: p.name)
def test_reports_are_google_ads_and_nobody_outbids(path):
    assert_wins(path, "google_ads", at_least=0.9)


@needs_shared()
def test_no_shared_export_is_taken_for_google_ads():
    assert_never_taken("google_ads", files(SHARED, "*.csv"))


def test_costs_are_summed_per_day_and_channel_and_totals_skipped(ws):
    out = stage(ws, REPORT)
    costs = out["costs"]
    assert isinstance(costs, pd.DataFrame)
    assert "4 total row(s) skipped" in str(out["costs_note"])
    exp = expected_per_day()
    got = {
        (r.channel_id, r.period_start): Decimal(r.dollars) for r in costs.itertuples(index=False)
    }
    assert got == {k: v["cost"] for k, v in exp.items()}
    assert set(costs["currency"]) == {"USD"}
    assert (costs["period_start"] == costs["period_end"]).all()
    m = out["metrics"]
    assert isinstance(m, pd.DataFrame)
    clicks = m[m["metric"] == "clicks"]
    got_clicks = {(r.channel_id, str(r.date)[:10]): r.value for r in clicks.itertuples(index=False)}
    assert got_clicks == {k: float(v["clicks"]) for k, v in exp.items()}
    assert {"clicks", "impressions", "conversions", "conversion_value"} == set(m["metric"])


def test_excel_csv_utf16_tabs_and_text_dates(ws):
    out = stage(ws, EXCEL)
    costs = out["costs"]
    assert isinstance(costs, pd.DataFrame)
    exp = expected_per_day()
    assert list(costs["period_start"]) == ["2024-04-01", "2024-04-02", "2024-04-03"]
    assert [Decimal(x) for x in costs["dollars"]] == [
        exp[("google_ads", d)]["cost"] for d in ("2024-04-01", "2024-04-02", "2024-04-03")
    ]
    assert set(costs["currency"]) == {"EUR"}


def test_report_without_day_is_one_cost_for_its_range(ws):
    out = stage(ws, NO_DAY)
    costs, m = out["costs"], out["metrics"]
    assert isinstance(costs, pd.DataFrame) and isinstance(m, pd.DataFrame)
    assert len(costs) == 1
    row = costs.iloc[0]
    assert (row["period_start"], row["period_end"], Decimal(row["dollars"])) == (
        "2024-01-01",
        "2024-06-30",
        Decimal("1514.75"),
    )
    got = dict(zip(m["metric"], m["value"], strict=True))
    assert got == {"clicks": 1904, "impressions": 51100, "conversions": 45.5}
    assert set(m["date"].astype(str)) == {"2024-06-30"}


def test_bad_rows_are_rejected_whole(ws):
    out = stage(ws, BAD)
    rejects = [(r, c, why) for r, c, why, _ in out["costs_rejects"]]  # type: ignore[attr-defined]
    assert rejects == [
        (2, "Day", "not a date: '2024-04-32'"),
        (3, "Cost", "not an amount: 'twelve'"),
        (4, "Cost", "negative cost: '-4.00'"),
        (5, "Clicks", "negative: '-3'"),
        (6, "Currency code", "not an ISO 4217 currency code: 'XYZ'"),
    ]
    costs = out["costs"]
    assert isinstance(costs, pd.DataFrame)
    assert list(costs["dollars"].map(Decimal)) == [Decimal("19.86")]


def test_weekly_report_with_cost_currency_in_the_header(ws, tmp_path):
    path = tmp_path / "weekly.csv"
    path.write_text(
        "Campaign report\nMarch 4, 2024 - March 17, 2024\n"
        "Campaign,Week,Cost (GBP),Impressions,Clicks\n"
        "Brand,2024-03-04,10.00,100,5\nBrand,2024-03-11,12.50,120,6\n"
        "Local,2024-03-04,1.25,10,1\n",
        encoding="utf-8",
    )
    out = stage(ws, path)
    costs = out["costs"]
    assert isinstance(costs, pd.DataFrame)
    assert [
        (r.period_start, r.period_end, Decimal(r.dollars), r.currency)
        for r in costs.itertuples(index=False)
    ] == [
        ("2024-03-04", "2024-03-10", Decimal("11.25"), "GBP"),
        ("2024-03-11", "2024-03-17", Decimal("12.50"), "GBP"),
    ]
    m = out["metrics"]
    assert isinstance(m, pd.DataFrame)
    assert set(m["date"].astype(str)) == {"2024-03-10", "2024-03-17"}


@needs_identity
def test_import_end_to_end_and_reimport_adds_nothing(ws):
    import_ok(ws, [REPORT, NO_DAY])
    assert ws.count("costs") == 15
    channels = {r[0] for r in ws.con.execute("SELECT channel_id FROM channels").fetchall()}
    assert {"google_ads", "youtube_ads"} <= channels
    assert_reimport_adds_nothing(ws, [REPORT, NO_DAY])
    assert ws.count("costs") == 15


@needs_identity
def test_currency_option_fills_a_report_without_currency(ws, tmp_path):
    path = tmp_path / "no_currency.csv"
    path.write_text(
        "Campaign report\nApril 1, 2024 - April 1, 2024\n"
        "Campaign,Day,Cost,Impr.,Clicks\nBrand,2024-04-01,5.00,50,2\n",
        encoding="utf-8",
    )
    reports = ws.import_files([path], currency="CAD")
    assert all(r.status == "ok" for r in reports), reports
    assert ws.con.execute("SELECT currency, dollars FROM costs").fetchall() == [
        ("CAD", Decimal("5.0000"))
    ]


@needs_identity
def test_bad_file_good_rows_land_and_rejects_are_listed(ws):
    reports = ws.import_files([BAD])
    costs = next(r for r in reports if r.table == "costs")
    assert costs.status == "rejects" and costs.added == 1 and costs.rejected == 5
    rej = ws.rejects()
    assert list(rej["row"]) == [2, 3, 4, 5, 6]
    assert list(rej["column"]) == ["Day", "Cost", "Cost", "Clicks", "Currency code"]

"""YouTube source: YouTube Studio "Export current view" files (Table data, Chart data, Totals)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sources_helpers import (
    SHARED,
    TEST_DATA,
    assert_reimport_adds_nothing,
    assert_wins,
    files,
    import_ok,
    needs_shared,
    records,
    rejected_cells,
    scalar,
    stage_file,
)
from truefans.errors import UnusableFile
from truefans.ingest.registry import load_sources

FAMILY = SHARED / "youtube"
OWN = TEST_DATA / "youtube"

shared = needs_shared("youtube")


def _stage(ws, path: Path, prefix: str = "t1"):
    return stage_file(ws, "youtube", path, prefix=prefix)


def _rows(ws, staged) -> list[dict]:
    return records(ws, staged, "__row, 2")


def _metrics(ws, staged) -> dict[tuple[str | None, str, str], str]:
    rows = ws.con.execute(
        f'SELECT content_id, date, metric, value FROM "{staged.relation}"'
    ).fetchall()
    return {(c, d, m): v for c, d, m, v in rows}


@shared
@pytest.mark.parametrize("path", files(FAMILY), ids=lambda p: p.name)
def test_every_shared_youtube_file_is_detected_and_nobody_outbids(path):
    assert_wins(path, "youtube")


@pytest.mark.parametrize("path", files(OWN), ids=lambda p: str(p.relative_to(OWN)))
def test_every_synthetic_youtube_variant_is_detected(path):
    assert_wins(path, "youtube")


def test_detect_ignores_plain_date_views_files_with_other_names(tmp_path):
    src = load_sources()["youtube"]
    plain = tmp_path / "visits.csv"
    plain.write_text("Date,Views\n2024-05-01,3\n")
    assert src.detect(plain, plain.read_bytes()) is None
    assert src.detect(tmp_path / "nothing.csv", b"\x00\x01") is None


@shared
def test_table_data_skips_total_and_gives_videos_and_metrics(ws):
    contents, metrics = _stage(ws, FAMILY / "Table data.csv")
    assert "Total row" in contents.note
    rows = _rows(ws, contents)
    assert contents.rows == 4 and [r["__row"] for r in rows] == [2, 3, 4, 5]
    assert rows[0] == {
        "__row": 2,
        "content_id": "youtube:dQw4HarbPn1",
        "channel_id": "youtube",
        "published_at": "2024-03-12T00:00:00",
        "format": "video",
        "title": "Followers are not customers (explainer)",
        "url": "https://www.youtube.com/watch?v=dQw4HarbPn1",
    }
    assert rows[3]["format"] == "short"  # "#shorts" in the title
    assert contents.local_times is False  # dates only: kept on their day
    got = _metrics(ws, metrics)
    assert metrics.rows == 24 and len(got) == 24
    key = ("youtube:dQw4HarbPn1", "2024-03-12")
    assert got[(*key, "views")] == "1929"
    assert got[(*key, "watch_time_hours")] == "75.2310"
    assert got[(*key, "subscribers_net")] == "13"
    assert got[(*key, "impressions")] == "28935"  # Thumbnail impressions
    assert got[(*key, "impressions_ctr_pct")] == "6.67"
    assert got[(*key, "estimated_revenue_usd")] == "4.051"
    # nothing from the Total row
    assert not [k for k in got if k[0] is None]


@shared
def test_chart_data_gives_per_video_daily_series(ws):
    contents, metrics = _stage(ws, FAMILY / "Chart data.csv")
    assert contents.rows == 3  # one per video, not one per day
    got = _metrics(ws, metrics)
    assert metrics.rows == 30
    assert got[("youtube:dQw4HarbPn1", "2024-05-01", "views_daily")] == "34"
    assert got[("youtube:Zx9YwVuTs03", "2024-05-10", "views_daily")] == "0"


@shared
def test_totals_are_channel_metrics_per_day(ws):
    (metrics,) = _stage(ws, FAMILY / "Totals.csv")
    got = _metrics(ws, metrics)
    assert len(got) == 10
    assert got[(None, "2024-05-03", "views")] == "137"


@shared
def test_bad_table_rows(ws):
    contents, metrics = _stage(ws, FAMILY / "Table data_bad.csv")
    rows = {r["__row"]: r for r in _rows(ws, contents)}
    assert rows[3]["content_id"] is None
    assert rows[4]["published_at"] == "Feb 30, 2024"
    assert {
        r for (r,) in ws.con.execute(f'SELECT DISTINCT __row FROM "{metrics.relation}"').fetchall()
    } == {2, 5}
    assert [(r, c, why) for r, c, why, _ in metrics.rejects] == [
        (5, "value", "Views: not a number: '1.2K'")
    ]


def test_older_export_with_impressions_names_bom_and_crlf(ws):
    contents, metrics = _stage(ws, OWN / "content_2023" / "Table data.csv")
    assert [r["content_id"] for r in _rows(ws, contents)] == [
        "youtube:hPq7WoodSt1",
        "youtube:k3YxNw_Q-2a",
    ]
    got = _metrics(ws, metrics)
    key = ("youtube:hPq7WoodSt1", "2023-09-05")
    assert got[(*key, "impressions")] == "51200"
    assert got[(*key, "impressions_ctr_pct")] == "6.09"
    assert got[(*key, "avg_view_duration_seconds")] == "220.0"
    assert got[(*key, "subscribers_gained")] == "40"
    assert got[(*key, "subscribers_lost")] == "5"
    assert got[(*key, "comments")] == "41"
    assert got[("youtube:k3YxNw_Q-2a", "2023-10-17", "avg_view_duration_seconds")] == "19.0"


def test_chart_by_day_only_is_channel_level(ws):
    (metrics,) = _stage(ws, OWN / "by_day" / "Chart data.csv")
    got = _metrics(ws, metrics)
    assert got == {
        (None, "2024-06-01", "watch_time_hours"): "12.5",
        (None, "2024-06-01", "views"): "210",
        (None, "2024-06-02", "watch_time_hours"): "9.75",
        (None, "2024-06-02", "views"): "188",
        (None, "2024-06-03", "views"): "201",
    }


def test_subscriber_net_may_be_negative_and_totals_are_subscribers(ws):
    (metrics,) = _stage(ws, OWN / "subscribers" / "Totals.csv")
    assert not metrics.rejects
    got = _metrics(ws, metrics)
    assert got[(None, "2024-06-02", "subscribers_net")] == "-2"
    assert got[(None, "2024-06-03", "subscribers")] == "1209"


def test_report_by_traffic_source_is_refused_with_advice(ws):
    with pytest.raises(UnusableFile, match="Traffic source"):
        _stage(ws, OWN / "traffic_source" / "Table data.csv")


@shared
def test_import_end_to_end(ws, tmp_path):
    folder = tmp_path / "youtube"
    shutil.copytree(FAMILY, folder)
    good = [folder / "Table data.csv", folder / "Chart data.csv", folder / "Totals.csv"]
    reports = import_ok(ws, good)
    assert ws.count("contents") == 4
    assert ws.count("metrics") == 24 + 30 + 10
    # the table's totals and the chart's days never overwrite each other
    assert all(r.updated == 0 for r in reports)
    assert_reimport_adds_nothing(ws, good)
    assert ws.count("metrics") == 64


@shared
def test_bad_file_end_to_end(ws, tmp_path):
    bad = tmp_path / "Table data_bad.csv"
    shutil.copy(FAMILY / "Table data_bad.csv", bad)
    reports = ws.import_files([bad])
    by_table = {r.table: r for r in reports}
    assert (by_table["contents"].added, by_table["contents"].rejected) == (2, 2)
    assert by_table["metrics"].rejected == 1
    assert rejected_cells(ws, distinct=False) == [
        (3, "content_id"),
        (4, "published_at"),
        (5, "value"),
    ]
    assert scalar(ws, "SELECT count(*) FROM metrics WHERE content_id = 'youtube:NaNvIeWs002'") == 5
    assert_reimport_adds_nothing(ws, [bad])

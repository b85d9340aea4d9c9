from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sources_helpers import (
    SHARED,
    TEST_DATA,
    assert_reimport_adds_nothing,
    assert_wins,
    import_ok,
    import_with_rejects,
    needs_identity,
    needs_shared,
    stage_frames,
)

FAMILY = SHARED / "ga4"
TRAFFIC = FAMILY / "Traffic_acquisition_Session_primary_channel_group.csv"
LANDING = FAMILY / "Landing_page_Landing_page.csv"
FREE_FORM = FAMILY / "Free_form_exploration_daily_channel.csv"
BAD = FAMILY / "Traffic_acquisition_bad.csv"
DATA = TEST_DATA / "ga4"
shared = needs_shared("ga4")


def stage(ws, path: Path) -> dict[str, object]:
    return stage_frames(ws, "ga4", path, unique_rows=True)


def values(df: pd.DataFrame, **where: object) -> dict[str, float]:
    sel = df
    for k, v in where.items():
        sel = sel[sel[k].astype(str) == str(v)]
    return dict(zip(sel["metric"], sel["value"], strict=True))


@shared
@pytest.mark.parametrize("path", sorted(FAMILY.glob("*.csv")), ids=lambda p: p.name)
def test_shared_files_are_ga4_and_nobody_outbids(path):
    assert_wins(path, "ga4", at_least=0.9)


@pytest.mark.parametrize("path", sorted(DATA.glob("*.csv")), ids=lambda p: p.name)
def test_synthetic_variants_are_ga4(path):
    assert_wins(path, "ga4")


@shared
def test_traffic_acquisition_by_channel_group_dated_at_the_end_date(ws):
    out = stage(ws, TRAFFIC)
    m = out["metrics"]
    assert isinstance(m, pd.DataFrame)
    assert set(m["date"].astype(str)) == {"2024-06-30"}
    assert "end date 2024-06-30" in str(out["metrics_note"])
    assert m["content_id"].isna().all()
    assert values(m, channel_id="organic_search") == {
        "sessions": 4210,
        "engaged_sessions": 2381,
        "event_count": 25681,
        "key_events": 60,
        "revenue": 980.0,
    }
    assert values(m, channel_id="google_ads")["sessions"] == 540  # Paid Search
    assert values(m, channel_id="newsletter")["key_events"] == 13  # Email
    assert values(m, channel_id="youtube")["sessions"] == 190  # Organic Video
    assert values(m, channel_id="unassigned")["sessions"] == 85
    # rates and averages do not add up across days and channels: not stored
    assert not {"engagement_rate", "session_key_event_rate"} & set(m["metric"])


@shared
def test_free_form_exploration_by_date_and_channel(ws):
    out = stage(ws, FREE_FORM)
    m = out["metrics"]
    assert isinstance(m, pd.DataFrame)
    assert len(m) == 7 * 3 * 3
    assert values(m, channel_id="organic_search", date="2024-04-03") == {
        "sessions": 41,
        "engaged_sessions": 24,
        "key_events": 3,
    }
    assert values(m, channel_id="social_other", date="2024-04-05")["key_events"] == 2


@shared
def test_landing_pages_become_contents_with_their_metrics(ws):
    out = stage(ws, LANDING)
    c, m = out["contents"], out["metrics"]
    assert isinstance(c, pd.DataFrame) and isinstance(m, pd.DataFrame)
    assert len(c) == 7
    blog = c[c["content_id"] == "ga4:page:/blog/local-seo-checklist"].iloc[0]
    assert (blog["channel_id"], blog["format"], blog["url"]) == (
        "website",
        "page",
        "/blog/local-seo-checklist",
    )
    assert set(m["channel_id"]) == {"website"}
    assert values(m, content_id="ga4:page:/pricing") == {
        "sessions": 610,
        "users": 488,
        "new_users": 366,
        "key_events": 19,
        "revenue": 4500.0,
    }
    assert "ga4:page:(not set)" in set(m["content_id"])


@shared
def test_bad_rows_are_rejected_whole_naming_the_column(ws):
    out = stage(ws, BAD)
    rejects = [(r, c, why) for r, c, why, _ in out["metrics_rejects"]]  # type: ignore[attr-defined]
    assert rejects == [
        (2, "Sessions", "not a number: 'n/a'"),
        (3, "Session primary channel group (Default Channel Group)", "missing (required)"),
        (4, "Sessions", "negative: '-5'"),
    ]
    m = out["metrics"]
    assert isinstance(m, pd.DataFrame)
    assert set(m["channel_id"]) == {"organic_search"}


def test_rate_above_one_rejects_the_row(ws, tmp_path):
    path = tmp_path / "Traffic.csv"
    path.write_text(
        "# Start date: 20240101\n# End date: 20240131\n"
        "Session default channel group,Sessions,Engagement rate\n"
        "Direct,10,0.5\nReferral,5,1.7\nEmail,3,55%\n",
        encoding="utf-8",
    )
    out = stage(ws, path)
    rejects = [(r, c, why) for r, c, why, _ in out["metrics_rejects"]]  # type: ignore[attr-defined]
    assert rejects == [(2, "Engagement rate", "a rate must be between 0 and 1: '1.7'")]
    m = out["metrics"]
    assert isinstance(m, pd.DataFrame)
    assert set(m["channel_id"]) == {"direct", "newsletter"}


def test_source_medium_maps_through_the_channel_rules_and_sums(ws):
    out = stage(ws, DATA / "Traffic_acquisition_Session_source_medium.csv")
    m = out["metrics"]
    assert isinstance(m, pd.DataFrame)
    # google + bing organic on one day: one channel, summed
    assert values(m, channel_id="organic_search", date="2024-03-01") == {
        "sessions": 130,
        "engaged_sessions": 76,
        "key_events": 3,  # the old "Conversions" label
        "revenue": 149.0,
    }
    assert values(m, channel_id="instagram", date="2024-03-01")["sessions"] == 35
    assert values(m, channel_id="google_ads", date="2024-03-01")["sessions"] == 44
    assert values(m, channel_id="referral", date="2024-03-01")["revenue"] == 298.0
    assert values(m, channel_id="newsletter", date="2024-03-02")["sessions"] == 51
    assert values(m, channel_id="linkedin", date="2024-03-02")["sessions"] == 22


def test_users_channel_rules_apply(ws, tmp_path):
    (tmp_path / "channels.toml").write_text(
        '[channels.partner_letter]\nkind = "email"\n\n'
        '[[rules]]\nsource = "^partner\\\\.example$"\nchannel = "partner_letter"\n',
        encoding="utf-8",
    )
    out = stage(ws, DATA / "Traffic_acquisition_Session_source_medium.csv")
    m = out["metrics"]
    assert isinstance(m, pd.DataFrame)
    assert values(m, channel_id="partner_letter")["sessions"] == 12


def test_second_table_and_grand_total_are_left_out(ws):
    out = stage(ws, DATA / "Reports_snapshot_two_tables.csv")
    m = out["metrics"]
    assert isinstance(m, pd.DataFrame)
    note = str(out["metrics_note"])
    assert "1 more table(s)" in note and "1 total row(s) skipped" in note
    # Organic Shopping and Paid Shopping are both "shopping"
    assert values(m, channel_id="shopping") == {
        "sessions": 12,
        "engaged_sessions": 5,
        "key_events": 1,
    }
    assert "users" not in set(m["metric"])


def test_german_labels(ws):
    out = stage(ws, DATA / "Traffic_acquisition_de.csv")
    m = out["metrics"]
    assert isinstance(m, pd.DataFrame)
    assert values(m, channel_id="organic_search") == {
        "sessions": 800,
        "engaged_sessions": 450,
        "key_events": 12,
        "revenue": 500.0,
    }
    assert set(m["date"].astype(str)) == {"2024-05-31"}
    assert "Eigene Gruppe" in str(out["metrics_note"])  # a custom group: unassigned, said so


def test_landing_page_with_query_string_by_channel(ws):
    out = stage(ws, DATA / "Landing_page_query_string_by_channel.csv")
    c, m = out["contents"], out["metrics"]
    assert isinstance(c, pd.DataFrame) and isinstance(m, pd.DataFrame)
    assert list(c["content_id"]) == ["ga4:page:/blog/local-seo-checklist", "ga4:page:/workshop"]
    assert list(c["title"]) == ["The 3-minute local SEO check", "Free workshop"]
    got = values(m, content_id="ga4:page:/workshop", channel_id="newsletter")
    assert got == {"sessions": 12, "key_events": 3}


@shared
@needs_identity
def test_import_end_to_end_and_reimport_adds_nothing(ws):
    files = [TRAFFIC, LANDING, FREE_FORM]
    import_ok(ws, files)
    assert ws.count("metrics") == 40 + 35 + 63
    assert ws.count("contents") == 7
    assert_reimport_adds_nothing(ws, files)
    assert ws.count("metrics") == 138


@shared
@needs_identity
def test_bad_file_good_rows_land_and_rejects_are_listed(ws):
    import_with_rejects(
        ws,
        BAD,
        added=5,
        rows=[2, 3, 4],
        columns=["Sessions", "Session primary channel group (Default Channel Group)", "Sessions"],
    )

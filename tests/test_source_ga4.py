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


# -- a report by date and channel: summed in one pass when every row is good ---------------------

_DAILY_HEADER = (
    "# ----------------------------------------\n# Free form: daily source / medium\n"
    "# ----------------------------------------\n#\n# 20240101-20240110\n"
    "Date,Session source / medium,Sessions,Engaged sessions,Engagement rate,Active users,"
    "Key events,Total revenue\n"
)
_PAIRS = ["google / organic", "(direct) / (none)", "newsletter / email", "t.co / referral"]


def _daily(tmp_path: Path, edit: tuple[int, int, str] | None = None) -> Path:
    """A date x source / medium exploration; ``edit`` = (data row, column, new cell)."""
    rows = []
    for day in range(1, 11):
        for i, sm in enumerate(_PAIRS):
            rows.append(
                [f"202401{day:02d}", sm, str(10 + i + day), str(5 + i), "0.5", str(8 + i), "1",
                 f"{day * 10 + i}.25"]
            )  # fmt: skip
    if edit is not None:
        row, column, cell = edit
        rows[row - 1][column] = cell
    path = tmp_path / "Free_form_exploration.csv"
    path.write_text(_DAILY_HEADER + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _both_paths(ws, path: Path, monkeypatch) -> tuple[bool, dict, dict]:
    """(whether the one-pass path took the file, what it staged, what the general path
    stages), ``__row`` left out (it numbers the sums)."""
    from truefans.ingest import ga4

    took: list[bool] = []
    fast = ga4._stage_summed

    def spy(*args, **kw):
        got = fast(*args, **kw)
        took.append(got is not None)
        return got

    def frames() -> dict:
        out = stage_frames(ws, "ga4", path)
        m = out["metrics"].drop(columns="__row")
        out["metrics"] = m.sort_values(list(m.columns)).reset_index(drop=True)
        out.pop("metrics_staged")
        return out

    monkeypatch.setattr(ga4, "_stage_summed", spy)
    one_pass = frames()
    monkeypatch.setattr(ga4, "_stage_summed", lambda *a, **kw: None)
    general = frames()
    return bool(took and took[0]), one_pass, general


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k].equals(b[k]) if isinstance(a[k], pd.DataFrame) else a[k] == b[k] for k in a
    )


@pytest.mark.parametrize(
    ("edit", "one_pass"),
    [
        (None, True),
        ((3, 2, " 12"), True),  # spaces around a number
        ((4, 7, "-3.50"), True),  # revenue nets refunds
        ((5, 4, ""), True),  # a blank rate
        ((6, 1, ""), False),  # no channel: rejected
        ((7, 0, "2024-01-02"), False),  # not GA4's date format: read by the general path
        ((8, 2, "-1"), False),  # a negative count: rejected
        ((9, 4, "1.5"), False),  # a rate above 1: rejected
        ((10, 2, '"1,234"'), False),  # a thousands separator: read by the general path
        ((11, 0, "Total"), False),  # a total row: skipped
        ((12, 6, "nan"), False),  # not a finite number: rejected
    ],
)
def test_daily_report_summed_in_one_pass_stages_what_the_general_path_does(
    ws, tmp_path, monkeypatch, edit, one_pass
):
    took, fast, general = _both_paths(ws, _daily(tmp_path, edit), monkeypatch)
    assert took is one_pass
    assert _same(fast, general)
    m = general["metrics"]
    assert isinstance(m, pd.DataFrame) and len(m) > 0


def test_daily_report_sums_rows_of_one_channel_and_day(ws, tmp_path):
    path = _daily(tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "20240101,bing / organic,7,1,0.5,2,0,1.50\n", encoding="utf-8")
    m = stage(ws, path)["metrics"]
    assert isinstance(m, pd.DataFrame)
    day = values(m, channel_id="organic_search", date="2024-01-01")
    assert day["sessions"] == 11 + 7 and day["revenue"] == 10.25 + 1.5

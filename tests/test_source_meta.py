"""Meta source: Business Suite post/page exports (Facebook, Instagram) and Instagram's data download."""

from __future__ import annotations

import json
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

FAMILY = SHARED / "meta"
OWN = TEST_DATA / "meta"
DYI = FAMILY / "instagram_dyi" / "connections" / "followers_and_following"
FB = FAMILY / "Facebook_posts_Mar-01-2024_May-31-2024.csv"
FB_BAD = FAMILY / "Facebook_posts_bad.csv"
IG = FAMILY / "Instagram_posts_Apr-01-2024_May-31-2024.csv"

shared = needs_shared("meta")


def _stage(ws, path: Path, prefix: str = "t1"):
    return stage_file(ws, "meta", path, prefix=prefix)


def _metric(ws, staged, content_id: str, metric: str) -> str:
    rows = ws.con.execute(
        f'SELECT value FROM "{staged.relation}" WHERE content_id = ? AND metric = ?',
        [content_id, metric],
    ).fetchall()
    assert len(rows) == 1, (content_id, metric, rows)
    return rows[0][0]


# -- detection ----------------------------------------------------------------------------------


@shared
@pytest.mark.parametrize("path", files(FAMILY), ids=lambda p: p.name)
def test_every_shared_meta_file_is_detected_as_meta_and_nobody_outbids(path):
    assert_wins(path, "meta")


@pytest.mark.parametrize("path", files(OWN), ids=lambda p: str(p.relative_to(OWN)))
def test_every_synthetic_meta_variant_is_detected_as_meta(path):
    assert_wins(path, "meta")


def test_detect_never_raises_and_ignores_unrelated_files(tmp_path):
    src = load_sources()["meta"]
    other = tmp_path / "notes.csv"
    other.write_text("name,email\nAda,ada@example.com\n")
    assert src.detect(other, other.read_bytes()) is None
    junk = tmp_path / "followers_1.json"
    junk.write_bytes(b"\xff\xfe\x00garbage{{{")
    assert src.detect(junk, junk.read_bytes()) is None
    assert src.detect(tmp_path / "missing.csv", b"") is None


# -- post exports ---------------------------------------------------------------------------------


@shared
def test_facebook_posts_become_contents_and_metrics(ws):
    contents, metrics = _stage(ws, FB)
    assert (contents.table, contents.rows, contents.local_times) == ("contents", 5, True)
    first = records(ws, contents)[0]
    assert first == {
        "__row": 1,
        "content_id": "facebook:104512345678901_998000000000000",
        "channel_id": "facebook",
        "published_at": "2024-03-10T09:15:00",
        "format": "photo",
        "title": "Brightleaf Dental doubled their bookings - here is how.",
        "url": "https://www.facebook.com/104512345678901/posts/998000000000000",
        "text": "Brightleaf Dental doubled their bookings - here is how.",
        "topics": None,
    }
    # the Title column wins over the description when it is filled
    assert records(ws, contents)[1]["title"] == "Free workshop: local SEO"
    assert metrics.table == "metrics" and metrics.rows == 43 and not metrics.rejects
    cid = "facebook:104512345678901_998000000000000"
    # "Views" (formerly Impressions) with a thousands separator
    assert _metric(ws, metrics, cid, "impressions") == "6704"
    assert _metric(ws, metrics, cid, "reach") == "3352"
    assert _metric(ws, metrics, cid, "engagements") == "54"  # "Reactions, Comments and Shares"
    assert _metric(ws, metrics, cid, "likes") == "27"  # reactions
    assert _metric(ws, metrics, cid, "photo_clicks") == "17"
    dates = ws.con.execute(
        f"SELECT DISTINCT date FROM \"{metrics.relation}\" WHERE content_id = '{cid}'"
    ).fetchall()
    assert dates == [("2024-03-10",)]  # "Lifetime" → the publish date
    # blank cells are suppressed values, not zeros: no link_clicks row for this post
    n = ws.con.execute(
        f"SELECT count(*) FROM \"{metrics.relation}\" WHERE content_id = '{cid}' "
        "AND metric = 'link_clicks'"
    ).fetchone()[0]
    assert n == 0


@shared
def test_instagram_posts_keep_long_ids_as_text(ws):
    contents, metrics = _stage(ws, IG)
    rows = records(ws, contents)
    assert [r["content_id"] for r in rows][:2] == [
        "instagram:18040000000000000",
        "instagram:18040000000000101",
    ]
    assert {r["channel_id"] for r in rows} == {"instagram"}
    assert [r["format"] for r in rows] == ["carousel", "reel", "photo", "reel", "reel"]
    assert rows[0]["topics"] == "smallbusiness"
    assert rows[1]["title"] == "Followers are not customers 🎯"
    assert metrics.rows == 35
    assert _metric(ws, metrics, "instagram:18040000000000000", "impressions") == "17387"
    assert _metric(ws, metrics, "instagram:18040000000000101", "saves") == "204"
    assert _metric(ws, metrics, "instagram:18040000000000101", "followers_gained") == "36"


@shared
def test_bad_facebook_rows_are_reported_not_hidden(ws):
    contents, metrics = _stage(ws, FB_BAD)
    rows = records(ws, contents)
    assert contents.rows == 4
    assert rows[1]["content_id"] is None  # missing Post ID: the loader rejects it
    assert rows[2]["published_at"] == "13/45/2024 25:00"  # raw, so the reject shows it
    # metrics of rows whose post is rejected are not staged (the row is reported once)
    staged_rows = {
        r[0] for r in ws.con.execute(f'SELECT DISTINCT __row FROM "{metrics.relation}"').fetchall()
    }
    assert staged_rows == {1, 4}
    reasons = sorted((r, c, why) for r, c, why, _ in metrics.rejects)
    assert reasons == [
        (4, "value", "Reach: a count cannot be negative: '-12'"),
        (4, "value", "Views: not a number: 'lots'"),
    ]
    assert metrics.rows == ws.con.execute(f'SELECT count(*) FROM "{metrics.relation}"').fetchone()[
        0
    ] + len(metrics.rejects)


def test_legacy_insights_post_export_skips_the_description_row(ws):
    contents, metrics = _stage(ws, OWN / "Facebook_Insights_post_data_2022-04.csv")
    assert "descriptions" in contents.note
    rows = records(ws, contents)
    assert [r["__row"] for r in rows] == [2, 3, 4]
    assert rows[0]["published_at"] == "2022-04-05T09:30:00"
    assert rows[1]["published_at"] == "2022-04-12T14:05:00"  # 02:05:00 PM
    assert rows[0]["topics"] == "design,openhouse"
    assert [r["format"] for r in rows] == ["photo", "link", "status"]
    cid = "facebook:104512345678901_880000000000001"
    assert _metric(ws, metrics, cid, "impressions") == "2310"  # Lifetime Post Total Impressions
    assert _metric(ws, metrics, cid, "reach") == "1204"
    assert _metric(ws, metrics, cid, "reach_paid") == "104"
    assert _metric(ws, metrics, cid, "likes") == "51"  # stories by action type - like
    assert _metric(ws, metrics, cid, "clicks") == "120"
    assert metrics.rows == 36


def test_older_instagram_export_with_impressions_and_plays(ws):
    contents, metrics = _stage(ws, OWN / "Instagram_posts_Nov-01-2023_Nov-30-2023.csv")
    rows = records(ws, contents)
    assert rows[2]["text"] == "Café Müller opens on Friday ☕"
    assert rows[0]["topics"] == "branding,smallbusiness"
    cid = "instagram:17990000000000022"
    assert _metric(ws, metrics, cid, "impressions") == "10050"
    assert _metric(ws, metrics, cid, "video_views") == "12310"
    # the third post's numbers are suppressed: only likes and comments
    got = ws.con.execute(
        f'SELECT metric FROM "{metrics.relation}" '
        "WHERE content_id = 'instagram:17990000000000033' ORDER BY 1"
    ).fetchall()
    assert got == [("comments",), ("likes",)]


def test_per_day_breakdown_is_dated_by_its_date_and_named_daily(ws):
    contents, metrics = _stage(ws, OWN / "Facebook_posts_daily_Jun-03-2024_Jun-04-2024.csv")
    cid = "facebook:104512345678901_990000000000007"
    got = ws.con.execute(
        f'SELECT date, value FROM "{metrics.relation}" '
        "WHERE metric = 'impressions_daily' ORDER BY date"
    ).fetchall()
    assert got == [("2024-06-03", "1020"), ("2024-06-04", "388")]
    # lower-case "Reactions, comments and shares" is the same column
    assert {
        m for (m,) in ws.con.execute(f'SELECT DISTINCT metric FROM "{metrics.relation}"').fetchall()
    } >= {"engagements_daily", "link_clicks_daily"}
    assert {r["content_id"] for r in records(ws, contents)} == {cid}


# -- page-level series -------------------------------------------------------------------------


def test_legacy_page_export_gives_followers_running_total(ws):
    (metrics,) = _stage(ws, OWN / "Facebook_Insights_page_data_2022-04.csv")
    assert metrics.table == "metrics"
    got = ws.con.execute(
        f"SELECT date, value FROM \"{metrics.relation}\" WHERE metric = 'followers' ORDER BY date"
    ).fetchall()
    assert got == [("2022-04-01", "1512"), ("2022-04-02", "1515"), ("2022-04-03", "1514")]
    assert (
        ws.con.execute(
            f'SELECT count(*) FROM "{metrics.relation}" WHERE content_id IS NOT NULL'
        ).fetchone()[0]
        == 0
    )
    assert _metric_on(ws, metrics, "2022-04-01", "followers_gained") == "4"
    assert _metric_on(ws, metrics, "2022-04-03", "followers_lost") == "1"
    assert metrics.rows == 17


def _metric_on(ws, staged, date: str, metric: str) -> str:
    (value,) = ws.con.execute(
        f'SELECT value FROM "{staged.relation}" WHERE date = ? AND metric = ?', [date, metric]
    ).fetchone()
    return value


def test_business_suite_series_in_utf16_with_its_title_line(ws):
    (follows,) = _stage(ws, OWN / "Follows.csv")
    rows = records(ws, follows)
    assert [(r["channel_id"], r["date"], r["metric"], r["value"]) for r in rows] == [
        ("facebook", "2024-05-01", "followers_gained", "3"),
        ("facebook", "2024-05-02", "followers_gained", "0"),
        ("facebook", "2024-05-03", "followers_gained", "7"),
    ]
    (reach,) = _stage(ws, OWN / "Reach.csv", prefix="t2")
    rows = records(ws, reach)
    assert [(r["channel_id"], r["metric"], r["value"]) for r in rows] == [
        ("instagram", "reach", "1204"),
        ("instagram", "reach", "1388"),
    ]


def test_followers_series_is_a_running_total_only_when_it_looks_like_one(ws, tmp_path):
    (total,) = _stage(ws, OWN / "Followers.csv")
    rows = records(ws, total)
    assert [(r["channel_id"], r["metric"], r["value"]) for r in rows] == [
        ("instagram", "followers", "2301"),
        ("instagram", "followers", "2304"),
        ("instagram", "followers", "2302"),
    ]
    daily = tmp_path / "Followers.csv"
    daily.write_text(
        'sep=,\n"Facebook followers"\n"Date","Primary"\n'
        '"2024-05-01T00:00:00","3"\n"2024-05-02T00:00:00","0"\n"2024-05-03T00:00:00","9"\n'
    )
    (gained,) = _stage(ws, daily, prefix="t2")
    assert {r["metric"] for r in records(ws, gained)} == {"followers_gained"}
    assert "followers_gained" in gained.note


# -- Instagram "Download your information" ----------------------------------------------------------


@shared
def test_followers_json_becomes_instagram_audience(ws):
    (aud,) = _stage(ws, DYI / "followers_1.json")
    assert (aud.table, aud.rows, aud.primary_identity, aud.local_times) == (
        "audience",
        18,
        "handle",
        False,
    )
    rows = records(ws, aud)
    assert rows[0] == {
        "__row": 1,
        "channel_id": "instagram",
        "followed_at": "2023-09-01T12:00:00",  # 1693569600, UTC
        "__handle": "adalindq",
        "__platform": "instagram",
    }
    assert rows[-1]["__handle"] == "user84736291"


@shared
@pytest.mark.parametrize("name", ["following.json", "close_friends.json"])
def test_following_and_close_friends_are_not_an_audience(ws, name):
    (aud,) = _stage(ws, DYI / name)
    assert aud.rows == 0
    assert "not your followers" in aud.note


def test_older_and_newer_json_layouts(ws):
    (old,) = _stage(ws, OWN / "dyi_2021" / "followers_and_following" / "followers.json")
    assert [r["__handle"] for r in records(ws, old)] == ["adalindq", "carmen_ruiz", "keikotanaka"]
    new_file = OWN / "dyi_2025" / "connections" / "followers_and_following" / "followers_1.json"
    (new,) = _stage(ws, new_file, prefix="t2")
    rows = records(ws, new)
    # the handle is in "title"; when empty it comes from the profile link; mojibake repaired
    assert [r["__handle"] for r in rows] == [
        "noahfischer",
        "mayacohen",
        "liam.obrien",
        "inès.moreau",
    ]
    assert "\\u00c3" in new_file.read_text()
    (conn,) = _stage(ws, OWN / "dyi_2019" / "connections.json", prefix="t3")
    rows = records(ws, conn)
    assert [(r["__handle"], r["followed_at"]) for r in rows] == [
        ("adalindq", "2019-03-14T09:12:45+00:00"),
        ("okaforplumbing", "2019-07-02T18:40:00+00:00"),
    ]


def test_html_download_is_refused_with_advice(ws):
    path = OWN / "dyi_html" / "connections" / "followers_and_following" / "followers_1.html"
    with pytest.raises(UnusableFile, match="Format: JSON"):
        _stage(ws, path)


def test_table_option_keeps_only_that_table(ws):
    staged = stage_file(
        ws,
        "meta",
        OWN / "Instagram_posts_Nov-01-2023_Nov-30-2023.csv",
        prefix="t9",
        table="contents",
    )
    assert [s.table for s in staged] == ["contents"]


# -- end to end ---------------------------------------------------------------------------------


@shared
def test_import_all_meta_files_end_to_end(ws, tmp_path):
    folder = tmp_path / "meta"
    shutil.copytree(FAMILY, folder)
    good = [
        folder / FB.name,
        folder / IG.name,
        folder / "instagram_dyi/connections/followers_and_following/followers_1.json",
        folder / "instagram_dyi/connections/followers_and_following/following.json",
    ]
    import_ok(ws, good)
    assert ws.count("contents") == 10
    assert ws.count("metrics") == 78
    assert ws.count("audience") == 18
    handles = scalar(
        ws, "SELECT count(*) FROM identities WHERE kind = 'handle' AND platform = 'instagram'"
    )
    assert handles == 18
    assert_reimport_adds_nothing(ws, good)
    assert (ws.count("contents"), ws.count("metrics"), ws.count("audience")) == (10, 78, 18)


@shared
def test_bad_file_good_rows_land_and_bad_rows_are_rejected(ws, tmp_path):
    bad = tmp_path / FB_BAD.name
    shutil.copy(FB_BAD, bad)
    reports = ws.import_files([bad])
    by_table = {r.table: r for r in reports}
    assert by_table["contents"].added == 2 and by_table["contents"].rejected == 2
    assert by_table["metrics"].rejected == 2
    rej = ws.rejects()
    got = sorted(zip(rej["row"], rej["column"], rej["reason"], strict=True))
    assert [(r, c) for r, c, _ in got] == [
        (2, "content_id"),
        (3, "published_at"),
        (4, "value"),
        (4, "value"),
    ]
    assert "13/45/2024 25:00" in got[1][2]
    # row 4's other numbers still land
    n = scalar(
        ws,
        "SELECT count(*) FROM metrics WHERE content_id = 'facebook:104512345678901_998000000002674'",
    )
    assert n == 6
    assert_reimport_adds_nothing(ws, [bad])


def test_local_publish_times_follow_the_time_zone(ws, tmp_path):
    path = tmp_path / "Facebook_posts_daily.csv"
    shutil.copy(OWN / "Facebook_posts_daily_Jun-03-2024_Jun-04-2024.csv", path)
    reports = ws.import_files([path], tz="America/New_York")
    assert all(r.status == "ok" for r in reports), reports
    (ts,) = ws.con.execute("SELECT published_at FROM contents").fetchone()
    assert ts.isoformat() == "2024-06-03T14:00:00"  # 10:00 EDT


def test_synthetic_bad_followers_file(ws, tmp_path):
    src = OWN / "dyi_2025" / "connections" / "followers_and_following" / "followers_2.json"
    path = tmp_path / "followers_2.json"
    shutil.copy(src, path)
    (report,) = ws.import_files([path])
    assert (report.added, report.rejected) == (1, 2)
    assert rejected_cells(ws, distinct=False) == [(2, "identity_id"), (3, "followed_at")]
    assert json.loads(path.read_text())[2]["string_list_data"][0]["timestamp"] == "yesterday"

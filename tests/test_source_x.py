"""X (Twitter): analytics CSVs and archive .js files, detection to stored rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from truefans.ingest.common import read_head
from truefans.ingest.registry import StageContext, load_sources

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "exports" / "x_twitter"
OURS = Path(__file__).parent / "data" / "x"
shared = pytest.mark.skipif(not SHARED.exists(), reason="shared export fixtures not present")

SHARED_FILES = sorted(
    str(p.relative_to(SHARED)) for p in SHARED.rglob("*") if p.suffix in (".csv", ".js")
)
OUR_FILES = sorted(str(p.relative_to(OURS)) for p in OURS.rglob("*") if p.suffix in (".csv", ".js"))
CONTENT = "account_analytics_content_2024-03-01_2024-04-30.csv"
LEGACY = "tweet_activity_metrics_harborpine_20240101_20240201_en.csv"
OVERVIEW = "account_overview_analytics_2024-03-04_2024-03-17.csv"
ARCHIVE = Path("archive") / "data"


def src():
    return load_sources()["x"]


def bids(path: Path) -> dict[str, float]:
    head = read_head(path)
    out = {}
    for name, s in load_sources().items():
        det = s.detect(path, head)
        if det is not None:
            out[name] = det.confidence
    return out


def stage(ws, path: Path, prefix: str = "t1", tz: str | None = None):
    staged = src().stage(StageContext(con=ws.con, path=path, prefix=prefix, tz=tz))
    return {st.table: st for st in staged}


def rows(ws, st) -> list[dict]:
    df = ws.con.execute(f'SELECT * FROM "{st.relation}" ORDER BY __row').df()
    return [{k: (None if v != v else v) for k, v in r.items()} for r in df.to_dict("records")]


def metrics_of(ws, st) -> dict[tuple[str | None, str, str], float]:
    return {(r["content_id"], r["date"], r["metric"]): float(r["value"]) for r in rows(ws, st)}


# -- detection ---------------------------------------------------------------------------------
@shared
@pytest.mark.parametrize("name", SHARED_FILES)
def test_shared_files_are_x_and_nobody_outbids(name):
    got = bids(SHARED / name)
    assert got.get("x", 0) >= 0.9, got
    assert all(c < got["x"] for n, c in got.items() if n != "x"), got


@pytest.mark.parametrize("name", OUR_FILES)
def test_synthetic_variants_are_x(name):
    got = bids(OURS / name)
    if Path(name).name in ("account.js", "like.js"):  # archive files truefans does not use
        assert "x" not in got, got
    else:
        assert got.get("x", 0) >= 0.9 and max(got, key=lambda k: got[k]) == "x", got


def test_other_files_are_not_x(tmp_path):
    other = tmp_path / "report.csv"
    other.write_text("Date,Impressions,Clicks\n2024-01-01,5,1\n")
    assert src().detect(other, read_head(other)) is None
    js = tmp_path / "app.js"
    js.write_text("window.foo = [1, 2]\n")
    assert src().detect(js, read_head(js)) is None


# -- analytics CSVs ----------------------------------------------------------------------------
@shared
def test_post_analytics_contents_and_metrics(ws):
    staged = stage(ws, SHARED / CONTENT)
    posts = rows(ws, staged["contents"])
    assert [p["content_id"] for p in posts][:2] == [
        "x:1771000000000000000",
        "x:1771000000982451653",  # 19 digits, exactly: never through a float
    ]
    assert posts[0]["published_at"] == "2024-03-04" and staged["contents"].local_times
    assert posts[0]["url"] == "https://x.com/i/status/1771000000000000000"
    assert posts[2]["topics"] == "smallbusiness"
    assert posts[3]["format"] == "reply"
    m = metrics_of(ws, staged["metrics"])
    assert len(m) == 6 * 13
    pid = "x:1771000001964903306"
    assert m[(pid, "2024-03-22", "impressions")] == 1755  # "1,755"
    assert m[(pid, "2024-03-22", "likes")] == 19
    assert m[(pid, "2024-03-22", "engagements")] == 166
    assert m[(pid, "2024-03-22", "followers_gained")] == 4
    assert m[(pid, "2024-03-22", "url_clicks")] == 0


def test_post_analytics_bom_crlf_thousands_and_empty_cells(ws):
    staged = stage(ws, OURS / "account_analytics_content_bom_crlf.csv")
    assert [p["content_id"] for p in rows(ws, staged["contents"])] == [
        "x:1790000000000000101",
        "x:1790000000000000102",
        "x:1790000000000000103",
    ]
    m = metrics_of(ws, staged["metrics"])
    assert m[("x:1790000000000000101", "2024-06-01", "impressions")] == 12480
    assert m[("x:1790000000000000101", "2024-06-01", "engagements")] == 1005
    third = {k[2] for k in m if k[0] == "x:1790000000000000103"}
    assert third == {"impressions"}  # empty cells are no metric, not zeros


@shared
def test_legacy_tweet_activity_utc_times_and_float_counts(ws):
    staged = stage(ws, SHARED / LEGACY)
    posts = rows(ws, staged["contents"])
    assert posts[0]["published_at"] == "2024-01-05T14:00:00+00:00"
    assert not staged["contents"].local_times
    m = metrics_of(ws, staged["metrics"])
    first = "x:1740000000000000000"
    assert m[(first, "2024-01-05", "impressions")] == 1429
    assert m[(first, "2024-01-05", "engagement_rate")] == pytest.approx(0.00489853)
    assert m[(first, "2024-01-05", "reposts")] == 1
    assert m[(first, "2024-01-05", "profile_visits")] == 6


def test_legacy_metrics_are_dated_on_the_local_day(ws):
    path = OURS / "tweet_activity_metrics_harborpine_20230101_20230201_en.csv"
    utc = metrics_of(ws, stage(ws, path, "a")["metrics"])
    tokyo = metrics_of(ws, stage(ws, path, "b", tz="Asia/Tokyo")["metrics"])
    assert ("x:1610000000000000001", "2023-01-03", "impressions") in utc
    assert ("x:1610000000000000001", "2023-01-04", "impressions") in tokyo
    # promoted columns written as '-' are no metric
    assert not any("promoted" in k[2] for k in utc)


@shared
def test_account_overview_daily_metrics(ws):
    st = stage(ws, SHARED / OVERVIEW)["metrics"]
    m = metrics_of(ws, st)
    assert st.rows == 14 * 13 and len(m) == 14 * 13
    assert m[(None, "2024-03-04", "impressions")] == 527
    assert m[(None, "2024-03-04", "followers_gained")] == 6
    assert m[(None, "2024-03-04", "followers_lost")] == 2
    assert m[(None, "2024-03-17", "media_views")] == 16


@shared
def test_analytics_end_to_end_bad_rows_and_reimport(ws):
    files = [SHARED / CONTENT, SHARED / LEGACY, SHARED / OVERVIEW]
    reports = ws.import_files(files)
    assert all(r.status == "ok" and r.rejected == 0 for r in reports), reports
    assert ws.count("contents") == 10
    assert ws.count("metrics") == 78 + 72 + 182
    bad = ws.import_files([SHARED / "account_analytics_content_bad.csv"])
    by_table = {r.table: r for r in bad}
    assert (by_table["contents"].rejected, by_table["metrics"].rejected) == (2, 1)
    assert by_table["contents"].added == 1 and by_table["contents"].skipped == 1
    rej = ws.rejects()
    got = sorted(zip(rej["row"], rej["column"], rej["reason"], strict=True))
    assert [g[:2] for g in got] == [(2, "content_id"), (3, "published_at"), (4, "impressions")]
    assert "'1.2K'" in got[2][2]
    assert ws.count("contents") == 11
    assert all(r.status == "duplicate" for r in ws.import_files(files))


def test_ids_rounded_by_a_spreadsheet_are_rejected(ws):
    reports = ws.import_files([OURS / "account_analytics_content_sci_ids_bad.csv"])
    by_table = {r.table: r for r in reports}
    assert (by_table["contents"].added, by_table["contents"].rejected) == (2, 1)
    assert (by_table["metrics"].added, by_table["metrics"].rejected) == (13, 1)
    rej = ws.rejects()
    assert list(rej["row"]) == [2, 3]
    assert "1.79E+18" in rej["reason"][0] and "'n/a'" in rej["reason"][1]
    ids = {r[0] for r in ws.con.execute("SELECT content_id FROM contents").fetchall()}
    assert ids == {"x:1790000000000000101", "x:1790000000000000104"}


def test_overview_bad_rows(ws):
    (r,) = ws.import_files([OURS / "account_overview_analytics_bad.csv"])
    assert (r.added, r.rejected) == (13, 3)
    rej = ws.rejects(r.source_id)
    assert list(zip(rej["row"], rej["column"], strict=True)) == [
        (2, "Date"),
        (3, "likes"),
        (4, "Date"),
    ]


# -- archive -----------------------------------------------------------------------------------
@shared
def test_followers_archive_is_audience_by_account_id(ws):
    st = stage(ws, SHARED / ARCHIVE / "follower.js")["audience"]
    got = rows(ws, st)
    assert st.rows == 17 and st.primary_identity == "handle"
    assert got[1]["__handle"] == "1200000000000104729" and got[1]["__platform"] == "x"
    (r,) = ws.import_files([SHARED / ARCHIVE / "follower.js"])
    assert (r.status, r.added) == ("ok", 17)
    kinds = ws.con.execute("SELECT DISTINCT kind, platform FROM identities").fetchall()
    assert kinds == [("handle", "x")]


@shared
def test_following_is_recognised_and_skipped(ws):
    (r,) = ws.import_files([SHARED / ARCHIVE / "following.js"])
    assert r.status == "ok" and r.rows == 0 and "accounts you follow" in r.message


@shared
def test_tweets_archive_contents_metrics_and_reply_touch(ws):
    staged = stage(ws, SHARED / ARCHIVE / "tweets.js")
    posts = rows(ws, staged["contents"])
    assert len(posts) == 6 and posts[0]["published_at"] == "2024-03-04T14:05:00+00:00"
    m = metrics_of(ws, staged["metrics"])
    assert m[("x:1771000000000000000", "2024-03-04", "likes")] == 57
    assert m[("x:1771000000000000000", "2024-03-04", "reposts")] == 2
    (touch,) = rows(ws, staged["touchpoints"])
    assert touch["kind"] == "reply" and touch["__handle"] == "1200000000000104729"
    assert touch["__name"] == "Ben Okafor" and touch["content_id"] == "x:1771000002947354959"


@shared
def test_archive_and_analytics_meet_on_post_ids_and_people(ws):
    files = [
        SHARED / CONTENT,
        SHARED / ARCHIVE / "follower.js",
        SHARED / ARCHIVE / "tweets.js",
    ]
    reports = ws.import_files(files)
    assert all(r.rejected == 0 for r in reports), reports
    assert ws.count("contents") == 6  # the same posts, updated not doubled
    assert ws.count("people") == 17  # the account replied to is one of the followers
    assert all(r.added == 0 for r in ws.import_files(files))


def test_synthetic_archive_retweets_threads_owner_and_entities(ws):
    staged = stage(ws, OURS / ARCHIVE / "tweets.js")
    posts = {p["content_id"]: p for p in rows(ws, staged["contents"])}
    assert "x:1790000000000000106" not in posts  # a retweet of someone else
    assert "1 retweet(s)" in staged["contents"].note
    summer = posts["x:1790000000000000101"]
    assert summer["text"].startswith("Summer hours: we are open Saturdays in June & July")
    assert summer["topics"] == "localbusiness,boston"
    touches = rows(ws, staged["touchpoints"])
    # the thread reply to oneself is no touch; the reply to Brightleaf is
    assert [(t["__handle"], t["__name"]) for t in touches] == [
        ("1200000000000733103", "Brightleaf Dental")
    ]
    part1 = stage(ws, OURS / ARCHIVE / "tweets-part1.js", "p1")
    assert [p["content_id"] for p in rows(ws, part1["contents"])] == ["x:1790000000000000103"]


def test_direct_messages_touch_the_other_party(ws, tmp_path):
    st = stage(ws, OURS / ARCHIVE / "direct-messages.js")["touchpoints"]
    got = rows(ws, st)
    assert [(t["touch_id"], t["__handle"]) for t in got] == [
        ("x:dm:1795000000000000001", "1200000000000104729"),
        ("x:dm:1795000000000000002", "1200000000000104729"),
        ("x:dm:1795000000000000010", "1200000000000733103"),
    ]
    assert got[0]["ts"] == "2024-06-02T14:05:11+00:00"
    # without account.js beside it, the owner is the id in every conversation
    alone = tmp_path / "direct-messages.js"
    shutil.copy(OURS / ARCHIVE / "direct-messages.js", alone)
    again = rows(ws, stage(ws, alone, "t2")["touchpoints"])
    assert [t["__handle"] for t in again] == [t["__handle"] for t in got]


def test_synthetic_archive_folder_end_to_end(ws):
    reports = ws.import_files([OURS / ARCHIVE])
    ignored = {Path(r.file).name for r in reports if r.status == "ignored"}
    assert ignored == {"account.js", "like.js"}  # archive files truefans does not use
    read = [r for r in reports if r.status != "ignored"]
    assert all(r.status == "ok" and r.rejected == 0 for r in read), read
    assert {Path(r.file).name for r in read if r.table == "audience" and r.rows == 0} == {
        "following.js"
    }
    assert ws.count("audience") == 3
    assert ws.count("touchpoints") == 4
    # the DM senders and the account replied to are followers: no new people
    assert ws.count("people") == 3
    again = ws.import_files([OURS / ARCHIVE])
    assert all(r.status in ("duplicate", "ignored") for r in again)


def test_damaged_archive_file_is_unusable(ws, tmp_path):
    broken = tmp_path / "tweets.js"
    broken.write_text('window.YTD.tweets.part0 = [ { "tweet" : { "id_str" : "1" ')
    (r,) = ws.import_files([broken])
    assert r.status == "unusable" and "damaged" in r.message


def test_older_archive_tweet_js_without_wrapper(ws, tmp_path):
    old = tmp_path / "tweet.js"
    old.write_text(
        "window.YTD.tweet.part0 = [ {\n"
        '  "id_str" : "1100000000000000001",\n'
        '  "created_at" : "Tue Feb 26 09:00:00 +0000 2019",\n'
        '  "full_text" : "Open house on Saturday #community",\n'
        '  "favorite_count" : "4",\n'
        '  "retweet_count" : "1"\n'
        "} ]\n",
        encoding="utf-8",
    )
    assert src().detect(old, read_head(old)) is not None
    staged = stage(ws, old)
    (post,) = rows(ws, staged["contents"])
    assert post["content_id"] == "x:1100000000000000001" and post["topics"] == "community"
    m = metrics_of(ws, staged["metrics"])
    assert m[("x:1100000000000000001", "2019-02-26", "likes")] == 4


@shared
def test_no_bid_on_other_families_exports():
    others = [
        p
        for p in SHARED.parent.rglob("*")
        if p.is_file() and "x_twitter" not in p.parts and p.suffix not in (".md",)
    ]
    assert others
    claimed = [p.name for p in others if src().detect(p, read_head(p)) is not None]
    assert claimed == []

from __future__ import annotations

import zipfile
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
    bids,
    files,
    import_ok,
    import_with_rejects,
    needs_identity,
    needs_shared,
    scalar,
    stage_frames,
)

DATA = TEST_DATA / "substack"
EMAIL_LIST = DATA / "email_list.harborpine.csv"
OLD = DATA / "email_list_2023_bom_crlf.csv"
BAD = DATA / "email_list_bad.csv"
DASHBOARD = DATA / "subscribers_dashboard_export.csv"
POSTS = DATA / "posts.csv"
OPENS = DATA / "posts" / "101.local-seo-checklist.opens.csv"
DELIVERS = DATA / "posts" / "101.local-seo-checklist.delivers.csv"


def stage(ws, path: Path) -> dict[str, object]:
    return stage_frames(ws, "substack", path, unique_rows=True)


@pytest.mark.parametrize(
    "path", [EMAIL_LIST, OLD, BAD, DASHBOARD, POSTS, OPENS], ids=lambda p: p.name
)
def test_exports_are_substack_and_nobody_outbids(path):
    assert_wins(path, "substack", at_least=0.9)


def test_deliveries_are_not_taken():
    assert "substack" not in bids(DELIVERS)


@needs_shared()
def test_no_shared_export_is_taken_for_substack():
    assert_never_taken("substack", files(SHARED, "*.csv"))


def test_settings_export_stages_the_newsletter_audience(ws):
    out = stage(ws, EMAIL_LIST)
    aud = out["audience"]
    assert isinstance(aud, pd.DataFrame)
    st = out["audience_staged"]
    assert st.primary_identity == "email" and not st.local_times  # type: ignore[attr-defined]
    assert "outcomes" not in out  # no amounts in this export: no outcomes
    assert len(aud) == 6 and set(aud["channel_id"]) == {"newsletter"}
    ada = aud.iloc[0]
    assert (ada["__email"], ada["followed_at"]) == (
        "ada.lindqvist@example.com",
        "2024-01-10T10:00:59",
    )
    assert pd.isna(ada["unfollowed_at"])
    elena = aud[aud["__email"] == "elena.petrova@example.com"].iloc[0]
    # email_disabled: gone, and the export does not say since when
    assert elena["unfollowed_at"] == elena["followed_at"] == "2024-05-14T14:04:59"
    assert "3 paid subscriber(s)" in st.note  # type: ignore[attr-defined]
    assert "unfollowed_at set to their signup time" in st.note  # type: ignore[attr-defined]


def test_older_export_with_bom_and_crlf(ws):
    aud = stage(ws, OLD)["audience"]
    assert isinstance(aud, pd.DataFrame)
    assert list(aud["__email"]) == [
        "hugo.martin@example.com",
        "keiko.tanaka@example.com",
        "maya.cohen@example.com",
    ]
    assert list(aud["unfollowed_at"].isna()) == [True, True, False]


def test_bad_rows(ws):
    out = stage(ws, BAD)
    rejects = [(r, c, why) for r, c, why, _ in out["audience_rejects"]]  # type: ignore[attr-defined]
    assert rejects == [
        (2, "email", "not an email address: 'not-an-email'"),
        (3, "email", "missing (required)"),
    ]
    aud = out["audience"]
    assert isinstance(aud, pd.DataFrame)
    # an impossible date is staged raw: the loader rejects it naming followed_at
    assert aud.iloc[1]["followed_at"] == "2024-02-30T10:00:00.000Z"


def test_dashboard_export_with_revenue_gives_subscription_outcomes(ws):
    out = stage(ws, DASHBOARD)
    aud, oc = out["audience"], out["outcomes"]
    assert isinstance(aud, pd.DataFrame) and isinstance(oc, pd.DataFrame)
    assert out["audience_staged"].local_times  # type: ignore[attr-defined]
    assert list(aud["__name"])[:2] == ["Ada Lindqvist", "Ben Okafor"]
    assert aud.iloc[0]["followed_at"] == "2024-01-10T00:00:00"
    assert list(oc["outcome_id"]) == [
        "substack:subscription:ada.lindqvist@example.com",
        "substack:subscription:carmen.ruiz@example.com",
        "substack:subscription:zoe.mueller@example.com",
    ]
    assert [Decimal(v) for v in oc["value"]] == [Decimal(80), Decimal(24), Decimal(150)]
    assert set(oc["type"]) == {"subscription"} and set(oc["channel_id"]) == {"newsletter"}


def test_posts_become_newsletter_contents(ws):
    out = stage(ws, POSTS)
    c = out["contents"]
    assert isinstance(c, pd.DataFrame)
    assert list(c["content_id"]) == ["substack:post:101", "substack:post:102", "substack:post:104"]
    first = c.iloc[0]
    assert (first["title"], first["text"], first["url"]) == (
        "The 3-minute local SEO check",
        "Three checks, one coffee",
        "/p/local-seo-checklist",
    )
    assert first["published_at"] == "2024-03-14T10:00:05"  # the e-mail send time
    assert list(c["format"]) == ["newsletter", "newsletter", "podcast"]


def test_opens_are_touchpoints(ws):
    out = stage(ws, OPENS)
    t = out["touchpoints"]
    assert isinstance(t, pd.DataFrame)
    assert len(t) == 3 and set(t["kind"]) == {"open"}
    assert t.iloc[0]["touch_id"] == (
        "substack:open:101:ada.lindqvist@example.com:2024-03-14T10:12:00"
    )
    assert t["content_id"].isna().all()  # posts.csv not imported in this workspace


@needs_identity
def test_import_end_to_end_and_reimport_adds_nothing(ws):
    exports = [EMAIL_LIST, OLD, POSTS, OPENS]
    import_ok(ws, exports)
    assert ws.count("audience") == 9
    assert ws.count("touchpoints") == 3
    linked = scalar(ws, "SELECT count(*) FROM touchpoints WHERE content_id = 'substack:post:101'")
    assert linked == 3
    ada_opens = scalar(
        ws,
        "SELECT count(*) FROM touchpoints t JOIN identities i USING (person_id) "
        "WHERE i.kind = 'email' AND i.value = 'ada.lindqvist@example.com'",
    )
    assert ada_opens == 2
    assert_reimport_adds_nothing(ws, exports)


@needs_identity
def test_dashboard_outcomes_need_a_currency(ws):
    reports = ws.import_files([DASHBOARD], currency="USD")
    assert all(r.status == "ok" for r in reports), reports
    rows = ws.con.execute("SELECT value, currency FROM outcomes ORDER BY value").fetchall()
    assert rows == [(Decimal("24"), "USD"), (Decimal("80"), "USD"), (Decimal("150"), "USD")]


@needs_identity
def test_bad_file_good_rows_land_and_rejects_are_listed(ws):
    import_with_rejects(ws, BAD, added=1, rows=[2, 3, 4], columns=["email", "email", "followed_at"])


@needs_identity
def test_the_export_zip_as_downloaded(ws, tmp_path):
    z = tmp_path / "harborpine-export.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(POSTS, "posts.csv")
        zf.write(EMAIL_LIST, "email_list.harborpine.csv")
        zf.write(OPENS, "posts/101.local-seo-checklist.opens.csv")
        zf.write(DELIVERS, "posts/101.local-seo-checklist.delivers.csv")
    reports = ws.import_files([z])
    read = [r for r in reports if r.status != "ignored"]
    assert all(r.status == "ok" for r in read), reports
    assert {r.table for r in read} == {"contents", "audience", "touchpoints"}
    assert ws.count("touchpoints") == 3

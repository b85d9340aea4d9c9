from __future__ import annotations

import zipfile
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
    scalar,
    stage_frames,
)

FAMILY = SHARED / "mailchimp"
SUBSCRIBED = FAMILY / "subscribed_members_export_3f9a1c2b7d.csv"
UNSUBSCRIBED = FAMILY / "unsubscribed_members_export_3f9a1c2b7d.csv"
CLEANED = FAMILY / "cleaned_members_export_3f9a1c2b7d.csv"
CAMPAIGNS = FAMILY / "campaigns.csv"
BAD = FAMILY / "subscribed_members_export_bad.csv"
DATA = TEST_DATA / "mailchimp"
shared = needs_shared("mailchimp")


def stage(ws, path: Path) -> dict[str, object]:
    return stage_frames(ws, "mailchimp", path, unique_rows=True)


@shared
@pytest.mark.parametrize("path", sorted(FAMILY.glob("*.csv")), ids=lambda p: p.name)
def test_shared_files_are_mailchimp_and_nobody_outbids(path):
    assert_wins(path, "mailchimp", at_least=0.9)


@pytest.mark.parametrize("path", sorted(DATA.glob("*.csv")), ids=lambda p: p.name)
def test_synthetic_variants_are_mailchimp(path):
    assert_wins(path, "mailchimp")


@shared
def test_subscribed_members_stage_audience_with_hints(ws):
    out = stage(ws, SUBSCRIBED)
    aud = out["audience"]
    assert isinstance(aud, pd.DataFrame)
    st = out["audience_staged"]
    assert st.primary_identity == "email" and not st.local_times  # type: ignore[attr-defined]
    assert len(aud) == 12 and out["audience_rejects"] == []
    assert set(aud["channel_id"]) == {"newsletter"}
    ada = aud[aud["__email"] == "ada.lindqvist@example.com"].iloc[0]
    # OPTIN_TIME is empty: the confirm time is the signup
    assert ada["followed_at"] == "2024-01-10T10:00:59"
    assert pd.isna(ada["unfollowed_at"])
    assert ada["__first_name"] == "Ada" and ada["__last_name"] == "Lindqvist"
    assert ada["__phone"] == "+1 617-555-0101"
    assert ada["__location"] == "12 Harbor St, Boston MA 02110 US"
    zoe = aud[aud["__email"] == "zoe.mueller@example.com"].iloc[0]
    assert zoe["__first_name"] == "Zoë" and zoe["__country"] == "DE"


@shared
def test_unsubscribed_and_cleaned_members_have_unfollowed_at(ws):
    unsub = stage(ws, UNSUBSCRIBED)["audience"]
    assert isinstance(unsub, pd.DataFrame)
    farid = unsub[unsub["__email"] == "farid.haddad@example.com"].iloc[0]
    assert farid["followed_at"] == "2024-01-03T09:01:12"
    assert farid["unfollowed_at"] == "2024-05-20T14:30:00"
    cleaned = stage(ws, CLEANED)["audience"]
    assert isinstance(cleaned, pd.DataFrame)
    assert list(cleaned["unfollowed_at"]) == ["2024-03-14T10:05:00", "2024-02-15T10:05:00"]


@shared
def test_bad_members_are_rejected_naming_the_column(ws):
    out = stage(ws, BAD)
    rejects = {r: (c, why) for r, c, why, _ in out["audience_rejects"]}  # type: ignore[attr-defined]
    assert rejects == {
        2: ("Email Address", "not an email address: 'not-an-email'"),
        3: ("Email Address", "missing (required)"),
        4: ("MEMBER_RATING", "not a member rating (1 to 5): 'three'"),
    }
    aud = out["audience"]
    assert isinstance(aud, pd.DataFrame)
    assert list(aud["__row"]) == [1]


@shared
def test_campaigns_become_contents_and_metrics(ws):
    out = stage(ws, CAMPAIGNS)
    contents, metrics = out["contents"], out["metrics"]
    assert isinstance(contents, pd.DataFrame) and isinstance(metrics, pd.DataFrame)
    assert out["contents_staged"].local_times  # type: ignore[attr-defined]
    first = contents.iloc[0]
    assert first["content_id"] == "mailchimp:campaign:9f8e7d6c50"
    assert first["format"] == "newsletter" and first["channel_id"] == "newsletter"
    assert first["title"] == "February newsletter"
    assert first["text"] == "Is your website losing you calls?"
    assert first["published_at"] == "2024-02-15T10:00:00"
    assert contents.iloc[3]["published_at"] == "2024-05-21T14:30:00"  # 02:30 pm
    may = metrics[metrics["content_id"] == "mailchimp:campaign:9f8e7d6c53"]
    got = dict(zip(may["metric"], may["value"], strict=True))
    assert got["sent"] == 1360 and got["delivered"] == 1348
    assert got["unique_opens"] == 633 and got["opens"] == 1012
    assert got["clicks"] == 74 and got["unique_clicks"] == 57
    assert got["unsubscribes"] == 5 and got["bounces"] == 12
    assert got["revenue"] == 447.0 and got["orders"] == 1
    assert set(may["date"].astype(str)) == {"2024-05-21"}


def test_bad_campaign_rows_are_rejected(ws, tmp_path):
    path = tmp_path / "campaigns.csv"
    path.write_text(
        "Title,Subject,List,Send Date,Total Recipients,Unique Opens,Total Opens,Unique Id\n"
        'Ok,Hi,L,"Feb 15, 2024 10:00 am",100,40,50,c1\n'
        'Bad opens,Hi,L,"Feb 16, 2024 10:00 am",100,lots,50,c2\n'
        "Bad date,Hi,L,someday,100,40,50,c3\n",
        encoding="utf-8",
    )
    out = stage(ws, path)
    rejects = [(r, c, why) for r, c, why, _ in out["contents_rejects"]]  # type: ignore[attr-defined]
    assert rejects == [
        (2, "Unique Opens", "not a number: 'lots'"),
        (3, "Send Date", "not a date-time: 'someday'"),
    ]
    metrics = out["metrics"]
    assert isinstance(metrics, pd.DataFrame)
    assert set(metrics["content_id"]) == {"mailchimp:campaign:c1"}


def test_older_quoted_header_with_renamed_merge_fields(ws):
    out = stage(ws, DATA / "members_export_2019_quoted_header.csv")
    aud = out["audience"]
    assert isinstance(aud, pd.DataFrame)
    assert list(aud["__email"]) == ["grace.kim@example.com", "jamal.wright@example.com"]
    assert list(aud["__first_name"]) == ["Grace", "Jamal"]
    # OPTIN_TIME only (no confirmation): it is the signup time
    assert aud.iloc[1]["followed_at"] == "2019-03-17T17:01:17"


@shared
@needs_identity
def test_import_end_to_end_and_reimport_adds_nothing(ws):
    files = [SUBSCRIBED, UNSUBSCRIBED, CLEANED, CAMPAIGNS]
    import_ok(ws, files)
    assert ws.count("audience") == 17
    assert ws.count("contents") == 4
    assert scalar(ws, "SELECT count(*) FROM identities WHERE kind = 'email'") == 17
    ada = ws.con.execute(
        "SELECT p.display_name FROM people p JOIN identities i USING (person_id) "
        "WHERE i.kind = 'email' AND i.value = 'ada.lindqvist@example.com'"
    ).fetchone()
    assert ada == ("Ada Lindqvist",)
    assert_reimport_adds_nothing(ws, files)
    assert ws.count("audience") == 17


@shared
@needs_identity
def test_later_export_updates_who_unsubscribed(ws, tmp_path):
    ws.import_files([SUBSCRIBED])
    later = tmp_path / "unsubscribed_members_export_later.csv"
    text = UNSUBSCRIBED.read_text(encoding="utf-8").splitlines()
    ada = (
        "ada.lindqvist@example.com,Ada,Lindqvist,,,,1,,,2024-01-10 10:00:59,,,,,,,US,MA,"
        "2024-06-20 09:00:00,June newsletter,a1b2c3d4e9,NORMAL,,2024-06-20 09:00:00,"
        "410000000,a1b2c3d4,,"
    )
    later.write_text("\n".join([*text, ada]) + "\n", encoding="utf-8")
    (r,) = ws.import_files([later])
    assert r.status == "ok", r
    assert (r.added, r.updated) == (3, 1)
    assert ws.count("audience") == 15
    row = ws.con.execute(
        "SELECT a.unfollowed_at FROM audience a JOIN identities i USING (identity_id) "
        "WHERE i.value = 'ada.lindqvist@example.com'"
    ).fetchone()
    assert str(row[0]) == "2024-06-20 09:00:00"


@shared
@needs_identity
def test_bad_file_good_rows_land_and_rejects_are_listed(ws):
    import_with_rejects(
        ws,
        BAD,
        added=1,
        rows=[2, 3, 4],
        columns=["Email Address", "Email Address", "MEMBER_RATING"],
    )


@shared
@needs_identity
def test_audience_zip_as_downloaded_is_imported(ws, tmp_path):
    z = tmp_path / "harbor_pine_audience.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in (SUBSCRIBED, UNSUBSCRIBED, CLEANED):
            zf.write(p, arcname=p.name)
    reports = ws.import_files([z])
    assert {r.source for r in reports} == {"mailchimp"}
    assert all(r.status == "ok" for r in reports), reports
    assert sum(r.added for r in reports) == 17
    assert sum(r.added for r in ws.import_files([z])) == 0


def test_older_campaign_report_with_emails_sent(ws):
    out = stage(ws, DATA / "campaigns_2023_emails_sent.csv")
    contents, metrics = out["contents"], out["metrics"]
    assert isinstance(contents, pd.DataFrame) and isinstance(metrics, pd.DataFrame)
    assert contents.iloc[0]["published_at"] == "2023-12-12T09:00:00"
    got = dict(zip(metrics["metric"], metrics["value"], strict=True))
    assert got["sent"] == 1050 and got["delivered"] == 1041 and got["opens"] == 650

"""LinkedIn: member export CSVs and Page analytics workbooks, detection to stored rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from truefans.errors import UnusableFile
from truefans.ingest.common import read_head
from truefans.ingest.registry import StageContext, load_sources

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "exports" / "linkedin"
OURS = Path(__file__).parent / "data" / "linkedin"
shared = pytest.mark.skipif(not SHARED.exists(), reason="shared export fixtures not present")

SHARED_FILES = sorted(p.name for p in SHARED.glob("*") if p.suffix in (".csv", ".xls"))
OUR_FILES = sorted(p.name for p in OURS.glob("*") if p.suffix in (".csv", ".xlsx"))
TABLE_OF = {
    "Connections": "audience",
    "Company Follows": "audience",
    "Invitations": "touchpoints",
    "messages": "touchpoints",
    "page_followers": "metrics",
    "page_visitors": "metrics",
    "page_content": "contents",
}


def src():
    return load_sources()["linkedin"]


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


def rows(ws, st, order: str = "__row") -> list[dict]:
    df = ws.con.execute(f'SELECT * FROM "{st.relation}" ORDER BY {order}').df()
    return [
        {k: (None if v != v else v) for k, v in r.items()}  # NaN -> None
        for r in df.to_dict("records")
    ]


# -- detection ---------------------------------------------------------------------------------
@shared
@pytest.mark.parametrize("name", SHARED_FILES)
def test_shared_files_are_linkedin_and_nobody_outbids(name):
    got = bids(SHARED / name)
    assert got.get("linkedin", 0) >= 0.9, got
    assert max(got, key=lambda k: got[k]) == "linkedin", got
    assert all(c < got["linkedin"] for n, c in got.items() if n != "linkedin"), got
    det = src().detect(SHARED / name, read_head(SHARED / name))
    assert det is not None
    prefix = next(k for k in TABLE_OF if name.startswith(k))
    assert det.table == TABLE_OF[prefix]


@pytest.mark.parametrize("name", OUR_FILES)
def test_synthetic_variants_are_linkedin(name):
    got = bids(OURS / name)
    assert max(got, key=lambda k: got[k]) == "linkedin", got


def test_other_files_are_not_linkedin(tmp_path):
    csv = tmp_path / "export.csv"
    csv.write_text("Date,Impressions,Clicks\n2024-01-01,5,1\n")
    assert src().detect(csv, read_head(csv)) is None
    fake = tmp_path / "report.xls"
    fake.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    assert src().detect(fake, read_head(fake)) is None


# -- Connections -------------------------------------------------------------------------------
@shared
def test_connections_preamble_quotes_and_hints(ws):
    st = stage(ws, SHARED / "Connections.csv")["audience"]
    assert st.rows == 17 and st.primary_identity == "profile_url" and st.local_times
    got = rows(ws, st)
    assert len(got) == 17
    ada, ben = got[0], got[1]
    assert ada["__profile_url"] == "https://www.linkedin.com/in/ada-lindqvist-3e8"
    assert ada["__email"] == "ada.lindqvist@example.com"
    assert ada["followed_at"] == "2023-01-03T00:00:00"
    assert (ada["__name"], ada["__company"], ada["__title"]) == (
        "Ada Lindqvist",
        "Northwind Analytics",
        "Head of Operations",
    )
    assert ben["__email"] is None and ben["__company"] == "Okafor Plumbing, LLC"
    by_name = {r["__name"]: r for r in got}
    assert by_name["Zoë Müller"]["__title"] == "Geschäftsführerin"
    assert by_name["Sam Taylor"]["__title"] == 'Coach "Growth" & Mentor'
    assert by_name["Riley Santos"]["__company"] is None
    assert all(r["channel_id"] == "linkedin" for r in got)


@shared
def test_connections_bom_crlf_variant_reads_like_the_plain_file(ws):
    plain = rows(ws, stage(ws, SHARED / "Connections.csv", "a")["audience"])
    bom = rows(ws, stage(ws, SHARED / "Connections_variant_bom_crlf.csv", "b")["audience"])
    assert len(bom) == 4
    assert bom == plain[:4]


def test_older_connections_without_urls_are_identified_by_email(ws):
    st = stage(ws, OURS / "Connections_2019_no_url.csv")["audience"]
    assert st.primary_identity == "email" and "no profile URLs" in st.note
    got = rows(ws, st)
    assert [r["__email"] for r in got] == ["ada.lindqvist@example.com", "test.person@example.com"]
    assert got[1]["followed_at"] == "2019-03-05T00:00:00"


@shared
def test_connections_import_end_to_end_with_rejects_and_reimport(ws, tmp_path):
    (good,) = ws.import_files([SHARED / "Connections.csv"])
    assert (good.status, good.added, good.rejected) == ("ok", 17, 0)
    assert ws.count("audience") == 17 and ws.count("people") == 17
    kinds = dict(ws.con.execute("SELECT kind, count(*) FROM identities GROUP BY kind").fetchall())
    assert kinds == {"profile_url": 17, "email": 5}
    # the bad file: its good rows are already there, each bad row is reported
    (bad,) = ws.import_files([SHARED / "Connections_bad.csv"])
    assert (bad.rows, bad.added, bad.skipped, bad.rejected) == (5, 0, 2, 3)
    rej = ws.rejects(bad.source_id)
    assert list(rej["row"]) == [3, 4, 5]
    assert list(rej["column"]) == ["followed_at", "identity_id", "followed_at"]
    assert "'31 Feb 2024'" in rej["reason"][0] and "'yesterday'" in rej["reason"][2]
    # same file again, and an overlapping later export with one change: nothing added twice
    (again,) = ws.import_files([SHARED / "Connections.csv"])
    assert again.status == "duplicate"
    later = tmp_path / "Connections.csv"
    text = (SHARED / "Connections.csv").read_text(encoding="utf-8")
    later.write_text(text.replace("Owner,17 Feb 2023", "Owner,18 Feb 2023"), encoding="utf-8")
    (r,) = ws.import_files([later])
    assert (r.added, r.updated, r.skipped, r.rejected) == (0, 1, 16, 0)
    assert ws.count("audience") == 17


@shared
def test_connection_dates_are_local_dates(ws):
    ws.import_files([SHARED / "Connections.csv"], tz="America/New_York")
    ts = ws.con.execute(
        "SELECT followed_at FROM audience a JOIN identities i USING (identity_id) "
        "WHERE i.value = 'linkedin.com/in/ada-lindqvist-3e8'"
    ).fetchone()[0]
    assert ts.isoformat() == "2023-01-03T05:00:00"


# -- Invitations and messages -------------------------------------------------------------------
@shared
def test_invitations_incoming_follow_outgoing_note_message(ws):
    st = stage(ws, SHARED / "Invitations.csv")["touchpoints"]
    got = rows(ws, st)
    assert st.rows == 6 and "2 outgoing invitation(s) without a note" in st.note
    assert [(r["__row"], r["kind"]) for r in got] == [
        (2, "follow"),
        (3, "message"),
        (4, "follow"),
        (6, "follow"),
        (7, "message"),
        (8, "follow"),
    ]
    hugo, ines = got[0], got[1]
    assert hugo["__profile_url"] == "https://www.linkedin.com/in/hugo-martin-4eb"
    assert hugo["ts"] == "2024-01-19T16:02:00" and st.local_times
    assert ines["__profile_url"] == "https://www.linkedin.com/in/ines-moreau-510"
    assert ines["__name"] == "Inès Moreau"
    assert len({r["touch_id"] for r in got}) == 6


def test_invitation_with_a_note_from_them_is_a_message(ws):
    got = rows(ws, stage(ws, OURS / "Invitations_notes_crlf.csv")["touchpoints"])
    assert [(r["__name"], r["kind"]) for r in got] == [
        ("Keiko Tanaka", "message"),
        ("Elena Petrova", "follow"),
    ]
    assert got[0]["ts"] == "2024-03-02T10:05:00"


@shared
def test_messages_person_is_the_other_party(ws):
    st = stage(ws, SHARED / "messages.csv")["touchpoints"]
    got = rows(ws, st)
    assert st.rows == 8 and not st.local_times
    assert all(r["kind"] == "message" for r in got)
    assert [r["__profile_url"].rsplit("/", 1)[1] for r in got] == [
        "ben-okafor-40d",
        "ben-okafor-40d",
        "carmen-ruiz-432",
        "carmen-ruiz-432",
        "grace-kim-4c6",
        "grace-kim-4c6",
        "jamal-wright-535",
        "jamal-wright-535",
    ]
    assert got[0]["ts"] == "2024-02-06T14:03:11+00:00"
    assert len({r["touch_id"] for r in got}) == 8


def test_messages_mojibake_groups_and_multiline(ws):
    st = stage(ws, OURS / "messages_mojibake_group.csv")["touchpoints"]
    got = rows(ws, st)
    assert "1 message(s) you sent to group conversations left out" in st.note
    assert [(r["__row"], r["__name"]) for r in got] == [
        (1, "Inès Moreau"),
        (2, "Inès Moreau"),
        (4, "Zoë Müller"),
        (5, "Keiko Tanaka"),
    ]
    assert got[2]["__profile_url"] == "https://www.linkedin.com/in/zoe-muller-5ee"


@shared
def test_member_export_resolves_to_the_same_people(ws):
    files = [SHARED / n for n in ("Connections.csv", "Invitations.csv", "messages.csv")]
    reports = ws.import_files(files)
    assert all(r.status == "ok" and r.rejected == 0 for r in reports), reports
    assert ws.count("people") == 17  # everyone messaged or invited is a connection
    assert ws.count("touchpoints") == 14
    ben = ws.con.execute(
        "SELECT count(DISTINCT person_id) FROM touchpoints t JOIN identities i USING (person_id) "
        "WHERE i.value = 'linkedin.com/in/ben-okafor-40d'"
    ).fetchone()[0]
    assert ben == 1
    again = ws.import_files(files)
    assert all(r.added == 0 for r in again)


@shared
def test_company_follows_is_recognised_and_skipped_with_a_note(ws):
    (r,) = ws.import_files([SHARED / "Company Follows.csv"])
    assert r.status == "ok" and r.rows == 0 and "pages you follow" in r.message
    assert ws.count("audience") == 0


# -- Page analytics ----------------------------------------------------------------------------
def metrics_of(ws, st) -> dict[tuple[str | None, str, str], float]:
    return {
        (r["content_id"], r["date"], r["metric"]): float(r["value"])
        for r in rows(ws, st, order="__row")
    }


@shared
def test_page_followers_are_daily_gains_not_totals(ws):
    st = stage(ws, SHARED / "page_followers_harbor-pine-studio.xls")["metrics"]
    m = metrics_of(ws, st)
    assert st.rows == 120 and not st.rejects
    assert m[(None, "2024-04-01", "followers_gained")] == 5
    assert m[(None, "2024-04-01", "followers_gained_organic")] == 3
    assert m[(None, "2024-04-02", "followers_gained_auto_invited")] == 1
    assert not any(k[2] == "followers" for k in m)
    assert "day's new followers" in st.note


def test_page_followers_running_total_and_excel_serial_dates(ws):
    st = stage(ws, OURS / "page_followers_running_total.xlsx")["metrics"]
    m = metrics_of(ws, st)
    assert m[(None, "2024-05-01", "followers")] == 1204
    assert m[(None, "2024-05-01", "followers_gained")] == 4
    assert m[(None, "2024-05-04", "followers")] == 1214
    assert m[(None, "2024-05-04", "followers_gained")] == 7
    assert "running total" in st.note


@shared
def test_page_visitors(ws):
    st = stage(ws, SHARED / "page_visitors_harbor-pine-studio.xls")["metrics"]
    m = metrics_of(ws, st)
    assert st.rows == 90
    assert m[(None, "2024-04-01", "page_views")] == 29
    assert m[(None, "2024-04-01", "unique_visitors")] == 14
    assert m[(None, "2024-04-01", "custom_button_clicks")] == 2


def test_page_visitors_with_all_sections_use_the_total(ws):
    m = metrics_of(ws, stage(ws, OURS / "page_visitors_sections.xlsx")["metrics"])
    assert m[(None, "2024-05-01", "page_views")] == 41 + 13 + 10
    assert m[(None, "2024-05-01", "unique_visitors")] == 32
    assert m[(None, "2024-05-02", "custom_button_clicks")] == 3
    assert len(m) == 6


@shared
def test_page_content_posts_and_metrics(ws):
    staged = stage(ws, SHARED / "page_content_harbor-pine-studio.xls")
    posts = rows(ws, staged["contents"])
    assert [p["content_id"] for p in posts] == [
        "linkedin:activity:7181000000000000001",
        "linkedin:activity:7183000000000000002",
        "linkedin:activity:7186000000000000003",
        "linkedin:activity:7189000000000000004",
    ]
    assert posts[0]["published_at"] == "2024-04-02" and posts[3]["format"] == "video"
    assert posts[0]["title"] == "5 signs your plumbing business needs a CRM"
    m = metrics_of(ws, staged["metrics"])
    first = "linkedin:activity:7181000000000000001"
    assert m[(first, "2024-04-02", "impressions")] == 1840
    assert m[(first, "2024-04-02", "clicks")] == 57
    assert m[(first, "2024-04-02", "reactions")] == 44
    assert m[(first, "2024-04-02", "reposts")] == 3
    assert m[(first, "2024-04-02", "engagement_rate")] == pytest.approx(0.0603)
    assert m[(None, "2024-04-01", "impressions")] == 701
    assert m[(None, "2024-04-01", "impressions_sponsored")] == 600
    assert m[(None, "2024-04-01", "unique_impressions")] == 70


def test_page_content_older_headers_day_first_dates_and_text_numbers(ws):
    staged = stage(ws, OURS / "page_content_update_era.xlsx")
    posts = rows(ws, staged["contents"])
    assert [(p["content_id"], p["published_at"], p["format"]) for p in posts] == [
        ("linkedin:share:7170000000000000011", "2024-03-13", "article"),
        ("linkedin:ugcPost:7170000000000000012", "2024-03-14", "video"),
    ]
    m = metrics_of(ws, staged["metrics"])
    share = "linkedin:share:7170000000000000011"
    assert m[(share, "2024-03-13", "impressions")] == 1310
    assert m[(share, "2024-03-13", "reposts")] == 1
    assert m[(share, "2024-03-13", "engagement_rate")] == pytest.approx(0.034)
    assert m[(None, "2024-03-13", "impressions")] == 1510
    assert m[(None, "2024-03-13", "engagement_rate")] == pytest.approx(0.03)
    assert m[(None, "2024-03-12", "reposts")] == 0


@shared
def test_page_workbooks_end_to_end(ws):
    files = sorted(SHARED.glob("page_*.xls"))
    reports = ws.import_files(files)
    assert all(r.status == "ok" and r.rejected == 0 for r in reports), reports
    assert ws.count("contents") == 4
    assert ws.count("metrics") == 610 + 120 + 90
    assert all(r.status == "duplicate" for r in ws.import_files(files))


def test_page_content_bad_rows_are_rejected_and_good_rows_land(ws):
    reports = ws.import_files([OURS / "page_content_bad.xlsx"])
    by_table = {r.table: r for r in reports}
    assert by_table["contents"].added == 2
    assert (by_table["metrics"].added, by_table["metrics"].rejected) == (6, 3)
    rej = ws.rejects(by_table["metrics"].source_id)
    got = sorted(zip(rej["row"], rej["column"], rej["reason"], strict=True))
    assert got[0][:2] == (2, "Date") and "04/31/2024" in got[0][2]
    assert got[1][:2] == (2, "Impressions") and "negative" in got[1][2]
    assert got[2][:2] == (3, "Clicks (total)") and "'lots'" in got[2][2]


@shared
def test_a_damaged_workbook_is_unusable_not_a_crash(ws, tmp_path):
    # inserting bytes at every newline makes calamine abort on a 4 GB allocation: the
    # workbook is read in a child process, so this costs the file, not the process
    bad = tmp_path / "page_content_x.xls"
    data = (SHARED / "page_content_harbor-pine-studio.xls").read_bytes()
    bad.write_bytes(b"\n".join(line + b",extra" for line in data.split(b"\n")))
    with pytest.raises(UnusableFile):
        src().stage(StageContext(con=ws.con, path=bad, prefix="t9"))
    truncated = tmp_path / "page_followers_x.xls"
    truncated.write_bytes((SHARED / "page_followers_harbor-pine-studio.xls").read_bytes()[:3000])
    with pytest.raises(UnusableFile):
        src().stage(StageContext(con=ws.con, path=truncated, prefix="t9"))


@shared
def test_no_bid_on_other_families_exports():
    others = [
        p
        for p in SHARED.parent.rglob("*")
        if p.is_file() and "linkedin" not in p.parts and p.suffix not in (".md",)
    ]
    assert others
    claimed = [p.name for p in others if src().detect(p, read_head(p)) is not None]
    assert claimed == []

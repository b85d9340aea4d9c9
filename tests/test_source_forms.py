from __future__ import annotations

import pandas as pd
import pytest

from sources_helpers import (
    SHARED,
    TEST_DATA,
    assert_never_taken,
    assert_reimport_adds_nothing,
    assert_wins,
    files,
    needs_identity,
    needs_shared,
    rejected_cells,
    stage_frames,
)
from truefans.ingest.forms import heard_sql

DATA = TEST_DATA / "forms"
shared = needs_shared()

#: fixture -> (tool named in the detection reason, submissions)
FILES = {
    "typeform_contact_responses.csv": ("Typeform", 4),
    "gravityforms-contact-us-2024-06-30.csv": ("Gravity Forms", 3),
    "wpforms-export-contact-form-2024-06-30.csv": ("WPForms", 3),
    "Jotform_Contact_Harbor_Pine_Submissions.xlsx": ("Jotform", 2),
    "netlify-contact-submissions.csv": ("Netlify", 2),
    "cfdb7-contact-form-1.csv": ("Contact Form 7", 3),
    "Contact request (Responses) - Form Responses 1.csv": ("Google Forms", 2),
    "Workshop enquiry.csv": ("Google Forms", 2),
    "gravityforms-contact-bad.csv": ("Gravity Forms", 3),
}


def stage(ws, name: str) -> dict[str, object]:
    return stage_frames(ws, "forms", DATA / name)


def channels(t: dict[str, object]) -> list[str | None]:
    df = t["outcomes"]
    assert isinstance(df, pd.DataFrame)
    return [None if pd.isna(v) else v for v in df["channel_id"]]


def test_fixture_list_is_complete():
    assert {p.name for p in DATA.iterdir()} == set(FILES)


@pytest.mark.parametrize("name", sorted(FILES), ids=str)
def test_each_form_tool_is_detected_and_nobody_outbids(name):
    best = assert_wins(DATA / name, "forms")
    assert FILES[name][0] in best.reason


@shared
def test_forms_does_not_take_any_shared_export():
    assert_never_taken("forms", files(SHARED))


@pytest.mark.parametrize("name", sorted(FILES), ids=str)
def test_every_submission_is_a_question(ws, name):
    t = stage(ws, name)
    out = t["outcomes"]
    assert isinstance(out, pd.DataFrame)
    rejects = t["outcomes_rejects"]
    assert isinstance(rejects, list)
    assert len(out) + len(rejects) == FILES[name][1]
    assert set(out["type"]) == {"question"}
    touch = t["touchpoints"]
    assert isinstance(touch, pd.DataFrame)
    assert set(touch["kind"]) <= {"form"} and set(touch["channel_id"]) <= {"website"}
    assert touch["__email"].notna().all() or touch["__phone"].notna().all()


def test_typeform(ws):
    t = stage(ws, "typeform_contact_responses.csv")
    out = t["outcomes"]
    assert isinstance(out, pd.DataFrame)
    assert out["outcome_id"][0] == "typeform:k3v9x2m1q8w7e6r5t4y3u2i1o0p9a8s7"
    assert out["ts"][0] == "2024-01-09T14:05:40Z"  # Submit Date (UTC), not Start Date
    assert t["outcomes_staged"].local_times is False
    assert out["__email"][0] == "ada.lindqvist@example.com"
    assert out["__name"][0] == "Ada Lindqvist" and out["__company"][0] == "Northwind Analytics"
    # LinkedIn answer; a friend; no answer but utm google/cpc; an answer nobody maps
    assert channels(t) == ["linkedin", "word_of_mouth", "google_ads", None]
    assert "'My aunt Sue'" in str(t["outcomes_note"])


def test_gravity_forms(ws):
    t = stage(ws, "gravityforms-contact-us-2024-06-30.csv")
    out = t["outcomes"]
    assert isinstance(out, pd.DataFrame)
    assert list(out["outcome_id"]) == ["gravityforms:101", "gravityforms:102", "gravityforms:103"]
    assert out["ts"][0] == "2024-02-02T09:15:27" and t["outcomes_staged"].local_times is True
    assert list(out["__first_name"]) == ["Ben", "Carmen", "Noah"]
    assert list(out["__last_name"]) == ["Okafor", "Ruiz", "Fischer"]
    # Google search; met at the expo; no answer, UTM parameters in the Source Url
    assert channels(t) == ["organic_search", "trade_shows", "newsletter"]


def test_wpforms_dates_in_words(ws):
    t = stage(ws, "wpforms-export-contact-form-2024-06-30.csv")
    out = t["outcomes"]
    assert isinstance(out, pd.DataFrame)
    assert list(out["ts"]) == ["2024-03-07T18:12:00", "2024-04-22T09:03:00", "2024-06-03T12:30:00"]
    assert out["outcome_id"][0] == "wpforms:56"
    assert channels(t) == ["instagram", "podcast", "newsletter"]
    assert out["__name"][1] == "Inès Moreau"


def test_jotform_xlsx(ws):
    t = stage(ws, "Jotform_Contact_Harbor_Pine_Submissions.xlsx")
    out = t["outcomes"]
    assert isinstance(out, pd.DataFrame)
    assert out["outcome_id"][0] == "jotform:5830012345678901234"  # 19 digits, never a float
    assert out["ts"][0] == "2024-01-22T13:05:00"
    assert out["__phone"][0] == "6175550105"
    assert channels(t) == ["meta_ads", "word_of_mouth"]


def test_netlify(ws):
    t = stage(ws, "netlify-contact-submissions.csv")
    out = t["outcomes"]
    assert isinstance(out, pd.DataFrame)
    assert out["ts"][0] == "2024-04-16T14:22:08+00:00"
    # the answer wins over the referrer's UTM; without an answer the UTM decides
    assert channels(t) == ["trade_shows", "instagram"]


def test_contact_form_7_without_ids(ws):
    t = stage(ws, "cfdb7-contact-form-1.csv")
    out, touch = t["outcomes"], t["touchpoints"]
    assert isinstance(out, pd.DataFrame) and isinstance(touch, pd.DataFrame)
    assert all(k.startswith("cf7:") and len(k) == 20 for k in out["outcome_id"])
    assert channels(t) == ["word_of_mouth", "trade_shows", None]
    assert len(touch) == 2  # the anonymous visitor asked a question but is nobody we know
    assert "without email or phone" in str(t["outcomes_note"])
    again = stage(ws, "cfdb7-contact-form-1.csv")["outcomes"]
    assert isinstance(again, pd.DataFrame)
    assert list(again["outcome_id"]) == list(out["outcome_id"])


def test_google_forms_sheet_and_download(ws):
    t = stage(ws, "Contact request (Responses) - Form Responses 1.csv")
    out = t["outcomes"]
    assert isinstance(out, pd.DataFrame)
    assert list(out["ts"]) == ["2024-03-14T09:41:07", "2024-03-28T17:02:45"]
    assert channels(t) == ["youtube", "organic_search"]
    assert out["__phone"][0] == "+49 30 5550 1234"
    t = stage(ws, "Workshop enquiry.csv")
    out = t["outcomes"]
    assert isinstance(out, pd.DataFrame)
    # the download writes the form's zone after the time
    assert list(out["ts"]) == ["2024-05-13T10:12:33+02:00", "2024-05-13T23:20:00-05:00"]
    assert channels(t) == ["x", None]
    assert "'Other'" in str(t["outcomes_note"])


@pytest.mark.parametrize(
    ("answer", "channel"),
    [
        ("LinkedIn", "linkedin"),
        ("Saw a LinkedIn ad", "linkedin_ads"),
        ("instagram", "instagram"),
        ("Facebook", "facebook"),
        ("Google", "organic_search"),
        ("Google Ads", "google_ads"),
        ("A friend", "word_of_mouth"),
        ("Recommended by a client", "word_of_mouth"),
        ("Trade show", "trade_shows"),
        ("Boston SMB Expo", "trade_shows"),
        ("Conference talk", "trade_shows"),
        ("Your newsletter", "newsletter"),
        ("Email", "newsletter"),
        ("Podcast", "podcast"),
        ("YouTube", "youtube"),
        ("Twitter / X", "x"),
        ("TikTok", "tiktok"),
        ("Article in the Globe", "press"),
        ("Other", None),
        ("", None),
    ],
)
def test_how_did_you_hear_mapping(answer, channel):
    import duckdb

    got = duckdb.execute(f"SELECT {heard_sql('a')} FROM (SELECT ?::VARCHAR AS a)", [answer])
    assert got.fetchone()[0] == channel


@needs_identity
def test_import_every_form_end_to_end(ws):
    good = [DATA / n for n in sorted(FILES) if "bad" not in n]
    reports = ws.import_files(good)
    assert all(r.status == "ok" and r.rejected == 0 for r in reports), [
        (r.file, r.table, r.message) for r in reports if r.status != "ok"
    ]
    assert ws.count("outcomes") == sum(FILES[p.name][1] for p in good)
    anonymous = ws.con.execute("SELECT count(*) FROM outcomes WHERE person_id IS NULL").fetchone()
    assert anonymous[0] == 1  # the CF7 visitor without email or phone
    assert_reimport_adds_nothing(ws, good)


@needs_identity
def test_import_bad_form_export(ws):
    reports = ws.import_files([DATA / "gravityforms-contact-bad.csv"])
    assert {r.table: r.added for r in reports} == {"touchpoints": 1, "outcomes": 1}
    assert rejected_cells(ws) == [(2, "ts"), (3, "entry id")]
    assert ws.rejects()["reason"].str.contains("2024-02-30").any()

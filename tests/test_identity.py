from __future__ import annotations

from pathlib import Path

import pytest

from truefans.errors import TruefansError
from truefans.ingest import identity, registry
from truefans.ingest.identity import explain_person, normalise_email, normalise_phone, split_person

HEAD = "FakeCRM id,email,phone,linkedin,name,company,when,amount,channel\n"


pytestmark = pytest.mark.usefixtures("fake_crm_source")


def crm(tmp_path: Path, name: str, rows: list[str]) -> Path:
    p = tmp_path / name
    p.write_text(HEAD + "\n".join(rows) + "\n")
    return p


def person_of(ws, outcome_id: str) -> str:
    return ws.con.execute(
        "SELECT person_id FROM outcomes WHERE outcome_id = ?", [outcome_id]
    ).fetchone()[0]


@pytest.mark.parametrize(
    "raw,norm",
    [
        ("  Ada.Lindqvist@Example.COM ", "ada.lindqvist@example.com"),
        ("mailto:ben+newsletter@example.com", "ben@example.com"),
        ("Carmen.Ruiz+x@gmail.com", "carmenruiz@gmail.com"),
        ("c.a.r.m.e.n.ruiz@googlemail.com", "carmenruiz@gmail.com"),
        ("not an email", None),
    ],
)
def test_email_normalisation(raw, norm):
    assert normalise_email(raw) == norm
    if norm:
        assert normalise_email(norm) == norm  # idempotent


@pytest.mark.parametrize(
    "raw,region,e164",
    [
        ("(617) 555-0150", "US", "+16175550150"),
        ("+1 617-555-0150", "US", "+16175550150"),
        ("0044 20 7946 0958", "US", "+442079460958"),
        ("030 1234567", "DE", "+49301234567"),
        ("call me", "US", None),
    ],
)
def test_phone_normalisation(raw, region, e164):
    assert normalise_phone(raw, region) == e164


def test_the_same_people_resolve_across_files_and_formats(ws, tmp_path):
    a = crm(
        tmp_path,
        "a.csv",
        [
            "1,Ada.Lindqvist@example.com,(617) 555-0150,,Ada Lindqvist,Northwind,2024-01-02,10.00,",
            "2,ben+shop@example.com,,,Ben Okafor,Okafor Build,2024-01-03,20.00,",
            "3,,+1 617-555-0150,,,,2024-01-04,5.00,",  # Ada's phone, other format
        ],
    )
    b = crm(
        tmp_path,
        "b.csv",
        [
            "4,ADA.LINDQVIST@EXAMPLE.COM,,,,,2024-02-01,7.00,",  # Ada again
            "5,ben@example.com,,https://www.linkedin.com/in/ben-okafor/,,,2024-02-02,8.00,",
            "6,,,https://uk.linkedin.com/in/carmen-ruiz?trk=x,Carmen Ruiz,Sol Studio,2024-02-03,9.00,",
        ],
    )
    reports = ws.import_files([a, b])
    assert [r.source for r in reports] == ["fakecrm", "fakecrm"]
    assert all(r.rejected == 0 for r in reports), ws.rejects()
    ada = {person_of(ws, f"fakecrm:{i}") for i in (1, 3, 4)}
    ben = {person_of(ws, f"fakecrm:{i}") for i in (2, 5)}
    assert len(ada) == 1 and len(ben) == 1 and ada != ben
    assert ws.count("people") == 3
    ids = ws.con.execute(
        "SELECT kind, value FROM identities WHERE person_id = ? ORDER BY kind", [ben.pop()]
    ).fetchall()
    assert ("profile_url", "linkedin.com/in/ben-okafor") in ids
    assert ("email", "ben@example.com") in ids
    # the name from the first row that had one
    name = ws.con.execute(
        "SELECT display_name, company FROM people WHERE person_id = ?", [ada.pop()]
    ).fetchone()
    assert name == ("Ada Lindqvist", "Northwind")
    # re-import: nothing new
    again = ws.import_files([a, b])
    assert all(r.added == 0 for r in again) and ws.count("people") == 3


def test_a_row_tying_two_people_merges_them_and_split_undoes_it(ws, tmp_path):
    first = crm(
        tmp_path,
        "first.csv",
        [
            "1,dev.patel@example.com,,,Dev Patel,Patel Co,2024-01-02,10.00,",
            "2,,(617) 555-0177,,,,2024-01-03,20.00,",  # an anonymous caller, for now
        ],
    )
    ws.import_files([first])
    dev, caller = person_of(ws, "fakecrm:1"), person_of(ws, "fakecrm:2")
    assert dev != caller
    link = crm(tmp_path, "link.csv", ["3,dev.patel@example.com,617-555-0177,,,,2024-01-05,1.00,"])
    (r,) = ws.import_files([link])
    assert "1 people merged" in r.message
    kept = person_of(ws, "fakecrm:1")
    assert person_of(ws, "fakecrm:2") == kept == person_of(ws, "fakecrm:3")
    assert ws.count("people") == 1
    info = explain_person(ws.con, kept)
    rules = set(info["identities"]["rule"])
    assert rules & {"merged: exact match"} and info["facts"]["outcomes"] == 3
    assert len(info["merges"]) == 1 and "row 1" in info["merges"]["evidence"][0]
    # the user says the phone is not Dev's: split it off with the calls seen under it
    phone_id = info["identities"].query("kind == 'phone'")["identity_id"].iloc[0]
    new = split_person(ws.con, kept, [phone_id])
    assert person_of(ws, "fakecrm:2") == new
    assert person_of(ws, "fakecrm:1") == kept
    # re-importing the linking file does not merge them again
    link2 = crm(tmp_path, "link2.csv", ["4,dev.patel@example.com,617-555-0177,,,,2024-01-06,1,"])
    ws.import_files([link2])
    assert ws.count("people") == 2
    with pytest.raises(TruefansError):
        split_person(ws.con, kept, ["nope"])


def test_linkedin_only_people_join_by_name_and_company_with_a_score(ws, tmp_path):
    known = crm(
        tmp_path, "known.csv", ["1,grace.kim@example.com,,,Grace Kim,Kim & Partners,2024-01-02,10,"]
    )
    ws.import_files([known])
    li = crm(
        tmp_path,
        "li.csv",
        [
            "2,,,linkedin.com/in/grace-kim-77,Grace Kim,Kim and Partners,2024-01-05,0,",
            "3,,,linkedin.com/in/hugo-m,Hugo Martin,Elsewhere,2024-01-05,0,",
        ],
    )
    (r,) = ws.import_files([li])
    assert "1 by name + company" in r.message
    assert person_of(ws, "fakecrm:2") == person_of(ws, "fakecrm:1")
    assert person_of(ws, "fakecrm:3") != person_of(ws, "fakecrm:1")
    info = explain_person(ws.con, person_of(ws, "fakecrm:1"))
    merge = info["merges"].iloc[0]
    assert merge["rule"] == "name + company" and 0.9 <= merge["score"] <= 1.0
    assert "same name" in merge["evidence"]


def test_hash_pii_stores_no_emails_or_phones_and_still_matches(ws, tmp_path):
    a = crm(tmp_path, "a.csv", ["1,Liam@Example.com,617 555 0199,,Liam,,2024-01-02,1,"])
    b = crm(tmp_path, "b.csv", ["2,liam@example.com,,,,,2024-01-03,1,"])
    ws.import_files([a], hash_pii=True)
    ws.import_files([b], hash_pii=True)
    vals = ws.con.execute("SELECT kind, value, value_hash FROM identities").fetchall()
    assert all(v is None for k, v, _ in vals if k in ("email", "phone"))
    assert all(h for _, _, h in vals)
    assert person_of(ws, "fakecrm:1") == person_of(ws, "fakecrm:2")


def test_rows_without_any_readable_hint_have_no_person(ws, tmp_path):
    f = crm(tmp_path, "anon.csv", ["1,,,,,,2024-01-02,3.50,"])
    (r,) = ws.import_files([f])
    assert r.added == 1 and person_of(ws, "fakecrm:1") is None


def test_generic_identities_are_normalised_and_match_hints(ws, tmp_path):
    (tmp_path / "identities.csv").write_text(
        "identity_id,person_id,kind,platform,value\n"
        "x1,pz,email,,Zoe.Mueller+news@Example.com\n"
        "x2,pz,phone,,(617) 555-0111\n"
    )
    ws.import_files([tmp_path / "identities.csv"])
    vals = dict(ws.con.execute("SELECT kind, value FROM identities").fetchall())
    assert vals == {"email": "zoe.mueller@example.com", "phone": "+16175550111"}
    f = crm(tmp_path, "z.csv", ["9,,+1 (617) 555-0111,,,,2024-01-02,1,"])
    ws.import_files([f])
    assert person_of(ws, "fakecrm:9") == "pz"


def test_a_third_party_source_is_listed_with_its_origin():
    srcs = registry.load_sources()
    assert "fakecrm" in srcs and registry.origin_of("fakecrm") == "tests"
    assert identity.HINT_KINDS["__email"] == "email"


def test_a_name_many_people_share_is_not_used_to_join(ws, tmp_path):
    rows = [f"{i},alex{i}@example.com,,,Alex Kim,Acme,2024-01-02,1," for i in range(1, 5)]
    ws.import_files([crm(tmp_path, "known.csv", rows)])
    li = crm(tmp_path, "li.csv", ["9,,,linkedin.com/in/alex-kim-9,Alex Kim,Acme,2024-01-05,0,"])
    (r,) = ws.import_files([li])
    assert "by name + company" not in r.message
    assert ws.count("people") == 5


def test_a_linkedin_only_person_joins_a_company_less_person_whose_email_spells_the_name(
    ws, tmp_path
):
    ws.import_files(
        [crm(tmp_path, "a.csv", ["1,farid.haddad@example.com,,,Farid Haddad,,2024-01-02,1,"])]
    )
    li = crm(
        tmp_path, "b.csv", ["2,,,linkedin.com/in/farid-h,Farid Haddad,Haddad Legal,2024-01-05,0,"]
    )
    ws.import_files([li])
    assert person_of(ws, "fakecrm:1") == person_of(ws, "fakecrm:2")
    merge = explain_person(ws.con, person_of(ws, "fakecrm:1"))["merges"].iloc[0]
    assert merge["score"] == 0.9 and "spells that name" in merge["evidence"]
    # a different email and no company: only the name agrees, not enough
    ws.import_files([crm(tmp_path, "c.csv", ["3,zz@example.com,,,Hugo Martin,,2024-01-02,1,"])])
    ws.import_files(
        [crm(tmp_path, "d.csv", ["4,,,linkedin.com/in/hugo-m,Hugo Martin,Atelier,2024-01-05,0,"])]
    )
    assert person_of(ws, "fakecrm:3") != person_of(ws, "fakecrm:4")


@pytest.mark.parametrize("clean", [True, False], ids=["one-pass", "staged"])
def test_hash_pii_on_generic_identities_keeps_only_hashes_and_still_matches(ws, tmp_path, clean):
    rows = ["x1,pz,email,,Zoe.Mueller+news@Example.com", "x2,pz,phone,,(617) 555-0111"]
    if not clean:  # a rejected row sends the file down the staged path
        rows.append("x3,pz,not-a-kind,,whatever")
    (tmp_path / "identities.csv").write_text(
        "identity_id,person_id,kind,platform,value\n" + "\n".join(rows) + "\n"
    )
    ws.import_files([tmp_path / "identities.csv"], hash_pii=True)
    vals = ws.con.execute("SELECT kind, value, value_hash FROM identities").fetchall()
    assert {k for k, _, _ in vals} == {"email", "phone"}
    assert all(v is None and h for _, v, h in vals)
    raw = (ws.path).read_bytes() if ws.con.execute("CHECKPOINT") else b""
    assert b"zoe.mueller" not in raw.lower() and b"6175550111" not in raw
    f = crm(tmp_path, "z.csv", ["9,zoe.mueller@example.com,,,,,2024-01-02,1,"])
    ws.import_files([f], hash_pii=True)
    assert person_of(ws, "fakecrm:9") == "pz"

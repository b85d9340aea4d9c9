from __future__ import annotations

import datetime as dt
import zipfile
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd
import pytest

from sources_helpers import (
    SHARED,
    TEST_DATA,
    assert_junk_ignored,
    assert_never_taken,
    assert_wins,
    bids,
    files,
    needs_shared,
    scalar,
    stage_tables,
)

FAMILY = SHARED / "hubspot"
DATA = TEST_DATA / "hubspot"
CONTACTS = FAMILY / "hubspot-crm-exports-all-contacts-2024-06-30.csv"
DEALS = FAMILY / "hubspot-crm-exports-all-deals-2024-06-30.csv"
BAD = FAMILY / "hubspot-crm-exports-all-contacts_bad.csv"
shared = needs_shared("hubspot")


def stage(ws, path: Path, **kw) -> dict[str, tuple[pd.DataFrame, list, str]]:
    # the portal's time zone, without an offset
    return {
        t.table: (t.rows, t.rejects, t.note)
        for t in stage_tables(ws, "hubspot", path, local_times=True, **kw)
    }


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    """A minimal one-sheet XLSX: strings inline, numbers, datetimes as styled serials.

    The XLSX files in tests/data/hubspot were written with this function.
    """

    def ref(r: int, c: int) -> str:
        letters, c = "", c + 1
        while c:
            c, rem = divmod(c - 1, 26)
            letters = chr(65 + rem) + letters
        return f"{letters}{r + 1}"

    body = []
    for r, row in enumerate(rows):
        cells = []
        for c, v in enumerate(row):
            if v is None or v == "":
                continue
            if isinstance(v, dt.datetime):
                serial = (v - dt.datetime(1899, 12, 30)).total_seconds() / 86400
                cells.append(f'<c r="{ref(r, c)}" s="1"><v>{serial!r}</v></c>')
            elif isinstance(v, int | float):
                cells.append(f'<c r="{ref(r, c)}"><v>{v!r}</v></c>')
            else:
                cells.append(
                    f'<c r="{ref(r, c)}" t="inlineStr"><is><t xml:space="preserve">'
                    f"{escape(str(v))}</t></is></c>"
                )
        body.append(f'<row r="{r + 1}">{"".join(cells)}</row>')
    ns = "http://schemas.openxmlformats.org"
    rel = f"{ns}/officeDocument/2006/relationships"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    files = {
        "[Content_Types].xml": f'{head}<Types xmlns="{ns}/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{ct}.styles+xml"/></Types>',
        "_rels/.rels": f'{head}<Relationships xmlns="{ns}/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>",
        "xl/workbook.xml": f'{head}<workbook xmlns="{ns}/spreadsheetml/2006/main" '
        f'xmlns:r="{rel}"><sheets><sheet name="Export" sheetId="1" r:id="rId1"/></sheets>'
        "</workbook>",
        "xl/_rels/workbook.xml.rels": f'{head}<Relationships xmlns="{ns}/package/2006/'
        f'relationships"><Relationship Id="rId1" Type="{rel}/worksheet" '
        'Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{rel}/styles" Target="styles.xml"/></Relationships>',
        "xl/styles.xml": f'{head}<styleSheet xmlns="{ns}/spreadsheetml/2006/main">'
        '<fonts count="1"><font/></fonts><fills count="1"><fill/></fills>'
        '<borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0"/>'
        '</cellStyleXfs><cellXfs count="2"><xf numFmtId="0" xfId="0"/>'
        '<xf numFmtId="22" xfId="0" applyNumberFormat="1"/></cellXfs></styleSheet>',
        "xl/worksheets/sheet1.xml": f'{head}<worksheet xmlns="{ns}/spreadsheetml/2006/main">'
        f"<sheetData>{''.join(body)}</sheetData></worksheet>",
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), text)
    return path


VARIANTS = sorted(p for p in DATA.iterdir() if p.suffix in (".csv", ".xlsx"))


@shared
@pytest.mark.parametrize("path", sorted(FAMILY.glob("*.csv")), ids=lambda p: p.name)
def test_shared_files_are_hubspot_and_nobody_outbids(path):
    assert_wins(path, "hubspot", at_least=0.9)


@pytest.mark.parametrize("path", VARIANTS, ids=lambda p: p.name)
def test_variant_files_are_hubspot(path):
    assert_wins(path, "hubspot")


@shared
def test_hubspot_does_not_take_other_families_files():
    assert_never_taken("hubspot", files(SHARED, but="hubspot"))


def test_detect_never_raises_on_junk(tmp_path):
    junk = [("a.csv", b""), ("b.xlsx", b"PK\x03\x04broken"), ("c.xls", b"\xd0\xcf")]
    assert_junk_ignored("hubspot", tmp_path, junk)


@shared
def test_stage_contacts(ws):
    t = stage(ws, CONTACTS)
    people, prej, _ = t["people"]
    leads, lrej, _ = t["outcomes"]
    assert prej == [] and lrej == [] and len(people) == 11 and len(leads) == 11
    ada = people.iloc[0].to_dict()
    assert (ada["display_name"], ada["company"], ada["title"]) == (
        "Ada Lindqvist",
        "Northwind Analytics",
        "Head of Operations",
    )
    assert ada["first_seen"] == "2024-01-08T09:00:00"  # local time, no offset
    assert (ada["__crm_id"], ada["__platform"], ada["__email"], ada["__phone"]) == (
        "51000000000",
        "hubspot",
        "ada.lindqvist@example.com",
        "+1 617-555-0101",
    )
    assert set(leads["type"]) == {"lead"}
    assert leads["outcome_id"][0] == "hubspot:contact:51000000000"
    assert leads["ts"][0] == "2024-01-08T09:00:00"
    # Original Source + drill-down 1 → channel
    assert list(leads["channel_id"]) == [
        "linkedin",  # Social Media / LinkedIn
        "organic_search",
        "newsletter",  # Email Marketing
        "direct",
        "trade_shows",  # Offline Sources / CRM_UI / "Trade show Boston SMB Expo"
        "referral",
        "instagram",
        "google_ads",  # Paid Search / google
        "linkedin",
        "organic_search",
        "newsletter",
    ]
    assert "value" not in leads.columns


@shared
def test_stage_bad_contacts(ws):
    t = stage(ws, BAD)
    people, prej, _ = t["people"]
    leads, lrej, _ = t["outcomes"]
    # row 2: no Record ID; row 4: neither name, email nor phone; row 3: 31 February (raw text,
    # rejected by the loader naming the column)
    assert [(r[0], r[1]) for r in prej] == [(2, "person_id"), (4, "person_id")]
    assert [(r[0], r[1]) for r in lrej] == [(2, "outcome_id"), (4, "person_id")]
    assert "Record ID is empty" in lrej[0][2] and "no email, phone or name" in lrej[1][2]
    assert list(leads["__row"]) == [1, 3]
    assert leads["ts"][1] == "2024-02-31 10:00"
    assert people["first_seen"][1] == "2024-02-31 10:00"


@shared
def test_stage_deals(ws):
    (df, rejects, note) = stage(ws, DEALS)["outcomes"]
    assert rejects == []
    assert "3 closed-won deals" in note and "1 open or lost deal" in note
    assert "Presentation scheduled" in note
    assert list(df["outcome_id"]) == [
        "hubspot:deal:51900000000",
        "hubspot:deal:51900000662",
        "hubspot:deal:51900000993",
    ]
    assert set(df["type"]) == {"new_account"}
    assert [Decimal(v) for v in df["value"]] == [Decimal(1500), Decimal(297), Decimal(1500)]
    assert df["ts"][0] == "2024-02-05T09:00:00"  # Close Date
    assert pd.isna(df["currency"][0])  # the portal currency: --currency
    # "Ada Lindqvist (51000000000)" → the contact's Record ID and name
    assert (df["__crm_id"][0], df["__name"][0], df["__platform"][0]) == (
        "51000000000",
        "Ada Lindqvist",
        "hubspot",
    )
    assert df["__company"][0] == "Northwind Analytics"
    assert set(df["channel_id"]) == {"social_other"}  # Social Media without drill-down


def test_us_dates_and_internal_source_names(ws):
    t = stage(ws, DATA / "hubspot-crm-exports-contacts-us-date-format.csv")
    people, _, _ = t["people"]
    leads, rejects, _ = t["outcomes"]
    assert rejects == []
    assert list(leads["ts"][:2]) == ["2024-01-15T09:05:00", "2024-01-16T14:30:00"]  # 2:30 PM
    assert list(leads["channel_id"][:6]) == [
        "facebook",  # SOCIAL_MEDIA / Facebook
        "linkedin_ads",  # PAID_SOCIAL / LinkedIn
        "microsoft_ads",  # PAID_SEARCH / bing
        "trade_shows",  # OFFLINE / IMPORT / "Spring Expo 2024 badge scans"
        "referral",  # AI Referrals
        "instagram",  # Organic Social / Instagram
    ]
    assert pd.isna(leads["channel_id"][6])  # no Original Source: no channel
    assert people["industry"][0] == "Retail"
    assert people["location"][0] == "Portland, Oregon, United States"
    assert pd.isna(people["__country"][0]) and people["__country"][1] == "DE"


def test_xlsx_contacts_and_deals(ws):
    t = stage(ws, DATA / "hubspot-crm-exports-all-contacts-2024-03-31.xlsx")
    people, _, note = t["people"]
    assert "first sheet" in note
    assert list(people["__crm_id"]) == ["61000000001", "61000000003"]  # not 6.1e10
    assert people["first_seen"][0] == "2024-01-10T09:00:00"  # a date cell
    (df, rejects, note) = stage(ws, DATA / "hubspot-crm-exports-all-deals-2024-03-31.xlsx")[
        "outcomes"
    ]
    assert rejects == []
    assert "Closed Lost" in note and "Contract sent" in note
    assert list(df["outcome_id"]) == ["hubspot:deal:61900000001", "hubspot:deal:61900000002"]
    assert list(df["type"]) == ["new_account", "order"]  # Existing Business → order
    assert [Decimal(v) for v in df["value"]] == [Decimal("2500"), Decimal("1200.5")]
    assert list(df["currency"]) == ["USD", "EUR"]
    assert list(df["ts"]) == ["2024-02-12T10:30:00", "2024-03-01T14:00:00"]
    assert list(df["__crm_id"]) == ["61000000001", "61000000003"]  # first of "a;b"
    assert df["__company"][0] == "Example Co"  # "(id)" dropped
    assert list(df["channel_id"]) == ["google_ads", "linkedin"]


def test_xlsx_with_a_title_row_and_other_labels(ws, tmp_path):
    p = write_xlsx(
        tmp_path / "contacts.xlsx",
        [
            ["Contacts export"],
            [],
            ["Contact ID", "Email", "Create Date", "Original Source", "Lifecycle Stage"],
            [123, "one@example.com", "2024-05-01 08:00", "Direct Traffic", "lead"],
            [None, None, None, None, None],
            [456, "two@example.com", dt.datetime(2024, 5, 2, 17, 15), "Referrals", "lead"],
        ],
    )
    assert bids(p) == {"hubspot": 0.95}
    t = stage(ws, p)
    leads, rejects, _ = t["outcomes"]
    assert rejects == []
    assert list(leads["__row"]) == [1, 2]  # the empty row is not a row
    assert list(leads["outcome_id"]) == ["hubspot:contact:123", "hubspot:contact:456"]
    assert list(leads["ts"]) == ["2024-05-01T08:00:00", "2024-05-02T17:15:00"]
    assert list(leads["channel_id"]) == ["direct", "referral"]


# -- end to end ----------------------------------------------------------------------------------


@shared
def test_import_end_to_end(ws):
    reports = ws.import_files([CONTACTS, DEALS], tz="America/New_York", currency="USD")
    assert [(r.table, r.status, r.rejected) for r in reports] == [
        ("people", "ok", 0),
        ("outcomes", "ok", 0),
        ("outcomes", "ok", 0),
    ]
    assert ws.count("people") == 11
    # the deals' contacts are the contacts' people (Record ID = crm id)
    joined = scalar(
        ws,
        """SELECT count(*) FROM outcomes d JOIN outcomes l USING (person_id)
        WHERE d.type = 'new_account' AND l.type = 'lead'""",
    )
    assert joined == 3
    won = ws.con.execute(
        "SELECT sum(value), min(currency) FROM outcomes WHERE type = 'new_account'"
    ).fetchone()
    assert won == (Decimal("3297.0000"), "USD")
    ts = scalar(ws, "SELECT ts FROM outcomes WHERE outcome_id = 'hubspot:contact:51000000000'")
    assert ts.isoformat() == "2024-01-08T14:00:00"  # 09:00 in New York, stored in UTC
    first_seen = scalar(ws, "SELECT first_seen FROM people WHERE display_name = 'Ada Lindqvist'")
    assert first_seen.isoformat() == "2024-01-08T14:00:00"
    again = ws.import_files([CONTACTS, DEALS], tz="America/New_York", currency="USD")
    assert all(r.added == 0 for r in again)


@shared
def test_deals_without_currency_are_rejected_naming_the_column(ws):
    (report,) = ws.import_files([DEALS])
    assert report.rejected == 3
    assert set(ws.rejects()["column"]) == {"currency"}


@shared
def test_import_bad_file(ws):
    reports = ws.import_files([BAD])
    by_table = {r.table: r for r in reports}
    assert (by_table["people"].added, by_table["people"].rejected) == (1, 3)
    assert (by_table["outcomes"].added, by_table["outcomes"].rejected) == (1, 3)
    rej = ws.rejects()
    assert sorted(rej["row"]) == [2, 2, 3, 3, 4, 4]
    assert set(rej[rej["row"] == 3]["column"]) == {"ts", "first_seen"}
    assert ws.count("outcomes") == 1


def test_a_minimal_view_is_read_as_people_only(ws, tmp_path):
    p = tmp_path / "contacts_view.csv"
    p.write_text(
        "Record ID,First Name,Last Name,Email\n71000000001,Zed,Example,zed@example.com\n",
        encoding="utf-8",
    )
    assert assert_wins(p, "hubspot").confidence < 0.9
    t = stage(ws, p)
    assert set(t) == {"people"}  # no Create Date: no dated lead
    people, rejects, note = t["people"]
    assert rejects == [] and "no Create Date" in note
    assert people["__crm_id"][0] == "71000000001"

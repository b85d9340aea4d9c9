from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from sources_helpers import (
    SHARED,
    TEST_DATA,
    assert_junk_ignored,
    assert_never_taken,
    assert_wins,
    by_id,
    edited_copy,
    files,
    import_with_rejects,
    needs_shared,
    scalar,
    stage_file,
    stage_tables,
)

FAMILY = SHARED / "stripe"
DATA = TEST_DATA / "stripe"
PAYMENTS = FAMILY / "unified_payments.csv"
BAD = FAMILY / "unified_payments_bad.csv"
CUSTOMERS = FAMILY / "customers.csv"
shared = needs_shared("stripe")


def stage(ws, path: Path, **kw) -> tuple[pd.DataFrame, list, str]:
    # Stripe writes UTC
    (t,) = stage_tables(
        ws, "stripe", path, order={"outcomes": "__row, outcome_id"}, local_times=False, **kw
    )
    return t.rows, t.rejects, t.note


@shared
@pytest.mark.parametrize("path", sorted(FAMILY.glob("*.csv")), ids=lambda p: p.name)
def test_shared_files_are_stripe_and_nobody_outbids(path):
    assert_wins(path, "stripe", at_least=0.9)


@pytest.mark.parametrize("path", sorted(DATA.glob("*.csv")), ids=lambda p: p.name)
def test_variant_files_are_stripe(path):
    assert_wins(path, "stripe")


@shared
def test_stripe_does_not_take_other_families_files():
    assert_never_taken("stripe", files(SHARED, but="stripe"))


def test_detect_never_raises_on_junk(tmp_path):
    junk = [("a.csv", b""), ("b.csv", b"\xff\xfe\x00garbage"), ("c.xlsx", b"PK")]
    assert_junk_ignored("stripe", tmp_path, junk)


@shared
def test_stage_payments(ws):
    df, rejects, note = stage(ws, PAYMENTS)
    assert rejects == []
    # 12 payments: 1 failed (not an order); 11 orders, 11 fees, 2 refunds
    assert df["type"].value_counts().to_dict() == {"order": 11, "fee": 11, "refund": 2}
    assert "1 payment took no money and is not an order (failed)" in note
    assert "stripe:py_3P09aBcDeFgHiJkLmN09" not in set(df["outcome_id"])
    rows = by_id(df)
    first = rows["stripe:py_3P00aBcDeFgHiJkLmN00"]
    assert first["ts"] == "2024-02-20T15:02:11Z"
    assert Decimal(first["value"]) == Decimal("1500")  # major units, not cents
    assert first["currency"] == "USD"
    assert first["channel_id"] == "linkedin"  # utm_source (metadata)
    assert first["order_ref"] == "HP-1000"  # order_ref (metadata)
    assert first["__email"] == "carmen.ruiz@example.com"
    assert first["__customer_id"] == "cus_Q02AbCdEfGh" and first["__platform"] == "stripe"
    assert first["__name"] == "Carmen Ruiz"
    fee = rows["stripe:py_3P00aBcDeFgHiJkLmN00:fee"]
    assert (fee["type"], Decimal(fee["value"]), fee["order_ref"]) == (
        "fee",
        Decimal("43.8"),
        "HP-1000",
    )
    # full refund at the refund date; a partial refund keeps Status=Paid
    full = rows["stripe:py_3P07aBcDeFgHiJkLmN07:refund"]
    assert (Decimal(full["value"]), full["ts"]) == (Decimal("297"), "2024-04-25T09:12:00Z")
    assert rows["stripe:py_3P07aBcDeFgHiJkLmN07"]["type"] == "order"
    partial = rows["stripe:py_3P11aBcDeFgHiJkLmN011:refund"]
    assert (Decimal(partial["value"]), partial["ts"]) == (Decimal("100"), "2024-06-15T10:00:00Z")
    # the EUR payment: order in EUR, Stripe's fee in the settlement currency
    eur = rows["stripe:py_3P08aBcDeFgHiJkLmN08"]
    assert (Decimal(eur["value"]), eur["currency"]) == (Decimal("275"), "EUR")
    assert rows["stripe:py_3P08aBcDeFgHiJkLmN08:fee"]["currency"] == "USD"
    assert eur["__name"] == "Zoë Müller"
    # utm_source: google → organic search, newsletter → newsletter, none → no channel
    assert rows["stripe:py_3P02aBcDeFgHiJkLmN02"]["channel_id"] == "organic_search"
    assert rows["stripe:py_3P01aBcDeFgHiJkLmN01"]["channel_id"] == "newsletter"
    assert pd.isna(rows["stripe:py_3P04aBcDeFgHiJkLmN04"]["channel_id"])
    # every payment is an order, subscription invoices too
    assert rows["stripe:py_3P05aBcDeFgHiJkLmN05"]["type"] == "order"


@shared
def test_stage_bad_payments(ws):
    df, rejects, _ = stage(ws, BAD)
    assert set(df["outcome_id"]) == {
        "stripe:py_3P03aBcDeFgHiJkLmN03",
        "stripe:py_3P03aBcDeFgHiJkLmN03:fee",
    }
    got = {(r[0], r[1]) for r in rejects}
    assert got == {(2, "ts"), (3, "value"), (4, "currency")}
    reasons = {r[0]: r[2] for r in rejects}
    assert "'2024-02-30 15:02:11'" in reasons[2]
    assert "negative" in reasons[3] and "-49.00" in reasons[3]
    assert "needs a currency" in reasons[4]
    assert all('"id"' in r[3] for r in rejects)  # the raw row is kept


@shared
def test_bad_amount_with_a_default_currency_is_read(ws):
    df, rejects, _ = stage(ws, BAD, currency="usd")
    assert {r[0] for r in rejects} == {2, 3}
    text = by_id(df)["stripe:py_bad_text"]
    assert (Decimal(text["value"]), text["currency"]) == (Decimal("1500"), "USD")  # "$1,500.00"


@shared
def test_stage_customers(ws):
    df, rejects, _ = stage(ws, CUSTOMERS)
    assert rejects == [] and len(df) == 10
    ada = df.iloc[0].to_dict()
    assert ada["display_name"] == "Ada Lindqvist"
    assert ada["first_seen"] == "2024-03-02T08:05:00Z"
    assert (ada["__email"], ada["__customer_id"], ada["__platform"]) == (
        "ada.lindqvist@example.com",
        "cus_Q00AbCdEfGh",
        "stripe",
    )
    assert "value" not in df.columns and "outcome_id" not in df.columns


def test_older_layout(ws):
    df, rejects, note = stage(ws, DATA / "payments_older_layout.csv")
    assert rejects == []
    assert "2 payments took no money" in note and "test mode" in note and "canceled" in note
    rows = by_id(df)
    assert "stripe:ch_T004" not in rows and "stripe:ch_T005" not in rows
    assert rows["stripe:ch_T001"]["ts"] == "2023-11-04T17:20:00Z"  # no seconds
    assert rows["stripe:ch_T001"]["channel_id"] == "meta_ads"  # facebook / cpc
    assert rows["stripe:ch_T001"]["order_ref"] == "ch_T001"  # no order_ref metadata
    # a guest checkout: the card's name and address describe the person
    guest = rows["stripe:ch_T006"]
    assert pd.isna(guest["__email"]) and pd.isna(guest["__customer_id"])
    assert (guest["__name"], guest["__location"], guest["__country"]) == (
        "Robin Guest",
        "Portland, OR, US",
        "US",
    )
    # Status=Refunded without an Amount Refunded: the whole amount; zero-decimal JPY as written
    assert Decimal(rows["stripe:ch_T007:refund"]["value"]) == Decimal("5000")
    assert rows["stripe:ch_T007"]["currency"] == "JPY"
    assert Decimal(rows["stripe:ch_T003:refund"]["value"]) == Decimal("50")
    assert rows["stripe:ch_T003:refund"]["ts"] == "2023-11-06T12:30:00Z"  # no refund date column


def test_spreadsheet_resave_with_decimal_comma(ws):
    df, rejects, _ = stage(ws, DATA / "payments_semicolon_decimal_comma.csv")
    assert rejects == []
    rows = by_id(df)
    assert Decimal(rows["stripe:py_E001"]["value"]) == Decimal("1500")  # 1.500,00
    assert Decimal(rows["stripe:py_E001:fee"]["value"]) == Decimal("21.25")
    assert rows["stripe:py_E001"]["ts"] == "2024-01-03T10:15:00Z"  # 03.01.2024 10:15
    assert Decimal(rows["stripe:py_E002:refund"]["value"]) == Decimal("49.9")


def test_customers_minimal_columns(ws):
    df, rejects, _ = stage(ws, DATA / "customers_minimal_columns.csv")
    assert rejects == []
    assert list(df["display_name"]) == ["Pat Example", "Sam Sample", "Yuki Sample"]  # Description
    assert df["__phone"][0] == "+1 503 555 0142"
    assert df["first_seen"][2] == "2023-11-10T01:59:00Z"


# -- end to end ----------------------------------------------------------------------------------


@shared
def test_import_end_to_end(ws):
    reports = ws.import_files([PAYMENTS, CUSTOMERS])
    # files load in dependency order: people (customers) before outcomes (payments)
    assert [(r.source, r.table, r.status, r.rejected) for r in reports] == [
        ("stripe", "people", "ok", 0),
        ("stripe", "outcomes", "ok", 0),
    ]
    assert reports[1].added == 24
    # one person per customer: payments and the customers file agree on email and cus_ id
    assert ws.count("people") == 10
    orders = ws.con.execute(
        "SELECT count(*), sum(value), count(DISTINCT person_id) FROM outcomes "
        "WHERE type = 'order' AND currency = 'USD'"
    ).fetchone()
    assert orders == (10, Decimal("12640.0000"), 8)
    ts = scalar(ws, "SELECT ts FROM outcomes WHERE outcome_id = 'stripe:py_3P00aBcDeFgHiJkLmN00'")
    assert ts.isoformat() == "2024-02-20T15:02:11"  # UTC, whatever the workspace zone
    first_seen = scalar(ws, "SELECT first_seen FROM people WHERE display_name = 'Ada Lindqvist'")
    assert first_seen.isoformat() == "2024-03-02T08:05:00"
    again = ws.import_files([PAYMENTS, CUSTOMERS])
    assert all(r.added == 0 for r in again)
    assert ws.count("outcomes") == 24


@shared
def test_import_with_a_time_zone_keeps_utc(ws):
    ws.import_files([PAYMENTS], tz="America/New_York")
    ts = scalar(ws, "SELECT ts FROM outcomes WHERE outcome_id = 'stripe:py_3P00aBcDeFgHiJkLmN00'")
    assert ts.isoformat() == "2024-02-20T15:02:11"


@shared
def test_import_bad_file(ws):
    rej = import_with_rejects(
        ws, BAD, added=2, rows=[2, 3, 4], columns=["ts", "value", "currency"], in_file_order=False
    )
    assert all(isinstance(r, str) and r for r in rej["reason"])
    assert ws.count("outcomes") == 2


@shared
def test_overlapping_later_export_updates_and_adds_nothing_twice(ws, tmp_path):
    ws.import_files([PAYMENTS])
    # later: Keiko's partial refund grew from 100 to 150; one new payment
    f = edited_copy(
        PAYMENTS,
        tmp_path / "unified_payments (1).csv",
        [
            (
                "py_3P11aBcDeFgHiJkLmN011,2024-06-10 14:05:44,297.00,100.00",
                "py_3P11aBcDeFgHiJkLmN011,2024-06-10 14:05:44,297.00,150.00",
            )
        ],
        append=(
            "py_3P12aBcDeFgHiJkLmN012,2024-06-20 10:00:00,49.00,0.00,usd,true,49.00,0.00,usd,,"
            "Local SEO template pack,1.72,false,,Live,pi_3P12,card,,HARBORPINE,Paid,"
            "Payment complete.,0.00,card_1P12xYz,cus_Q01AbCdEfGh,Ben Okafor,ben.okafor@example.com,"
            ",,newsletter,HP-1012\n"
        ),
    )
    (report,) = ws.import_files([f])
    assert (report.added, report.updated, report.rejected) == (2, 1, 0)
    assert ws.count("outcomes") == 26
    refund = scalar(
        ws, "SELECT value FROM outcomes WHERE outcome_id = 'stripe:py_3P11aBcDeFgHiJkLmN011:refund'"
    )
    assert refund == Decimal("150")
    # Ben's new payment joins the person of his first one
    people = scalar(
        ws,
        "SELECT count(DISTINCT person_id) FROM outcomes WHERE order_ref IN ('HP-1001', 'HP-1012')",
    )
    assert people == 1


@shared
def test_a_refund_appearing_later_for_a_known_payment_is_added(ws, tmp_path):
    ws.import_files([PAYMENTS])
    f = edited_copy(
        PAYMENTS,
        tmp_path / "unified_payments (2).csv",
        [
            (
                "py_3P04aBcDeFgHiJkLmN04,2024-03-02 08:05:00,2400.00,0.00",
                "py_3P04aBcDeFgHiJkLmN04,2024-03-02 08:05:00,2400.00,400.00",
            )
        ],
    )
    ws.import_files([f])
    got = ws.con.execute(
        "SELECT value FROM outcomes WHERE outcome_id = 'stripe:py_3P04aBcDeFgHiJkLmN04:refund'"
    ).fetchone()
    assert got is not None and got[0] == Decimal("400")


def test_export_in_another_time_zone_is_converted_to_utc(ws, tmp_path):
    p = tmp_path / "unified_payments.csv"
    p.write_text(
        "id,Created date (America/New_York),Amount,Amount Refunded,Currency,Fee,Status,"
        "Refunded date (America/New_York),Customer Email\n"
        "py_Z1,2024-07-01 09:00:00,10.00,10.00,usd,0.59,Refunded,2024-07-02 18:30:00,"
        "zed@example.com\n",
        encoding="utf-8",
    )
    assert_wins(p, "stripe")
    df, rejects, _ = stage(ws, p)
    assert rejects == []
    rows = by_id(df)
    assert rows["stripe:py_Z1"]["ts"] == "2024-07-01T13:00:00Z"  # EDT is UTC-4
    assert rows["stripe:py_Z1:refund"]["ts"] == "2024-07-02T22:30:00Z"


def test_export_in_a_zone_truefans_cannot_name_is_left_local(ws, tmp_path):
    p = tmp_path / "customers.csv"
    p.write_text(
        "id,Email,Name,Created (Local time),Delinquent\n"
        "cus_Z1,zed@example.com,Zed Example,2024-07-01 09:00,false\n",
        encoding="utf-8",
    )
    (st,) = stage_file(ws, "stripe", p)
    assert st.local_times  # the loader applies --tz / the workspace zone
    got = scalar(ws, f'SELECT first_seen FROM "{st.relation}"')
    assert got == "2024-07-01T09:00:00"
    ws.con.execute(f'DROP TABLE "{st.relation}"')


def test_row_numbers_are_exact_in_a_file_read_in_parallel(ws, tmp_path):
    """Payments are staged in one pass from DuckDB's reader, numbered by the staged table's
    rowid: a file big enough to be read in parallel keeps its rows, and its bad rows are
    reported at their lines with the raw row."""
    bad = {7: "2024-13-01 00:00:00", 123_457: "soon", 249_999: ""}
    lines = ["id,Created date (UTC),Amount,Currency,Status,Fee,Customer Email,Description"]
    for i in range(1, 250_001):
        created = bad.get(i, "2024-01-01 10:00:00")
        status = "Failed" if i % 1000 == 0 else "Paid"
        lines.append(
            f"py_{i},{created},{i % 97}.50,usd,{status},0.{i % 10}0,c{i % 4000}@example.com,"
            "Monthly retainer for the local SEO package"
        )
    f = tmp_path / "unified_payments.csv"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert f.stat().st_size > 16 * 1024 * 1024
    df, rejects, note = stage(ws, f)
    assert {r[0]: r[1] for r in rejects} == {7: "ts", 123_457: "ts", 249_999: "ts"}
    assert all(f'"id":"py_{r[0]}"' in r[3] for r in rejects)
    assert "250 payments took no money" in note
    orders = df[df["type"] == "order"]
    assert len(orders) == 250_000 - 250 - 3
    assert (orders["outcome_id"] == "stripe:py_" + orders["__row"].astype(str)).all()
    fees = df[df["type"] == "fee"]
    assert (fees["outcome_id"] == "stripe:py_" + fees["__row"].astype(str) + ":fee").all()

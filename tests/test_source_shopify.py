from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from sources_helpers import (
    SHARED,
    TEST_DATA,
    assert_never_taken,
    assert_wins,
    by_id,
    edited_copy,
    files,
    import_with_rejects,
    needs_shared,
    scalar,
    stage_tables,
)

FAMILY = SHARED / "shopify"
DATA = TEST_DATA / "shopify"
ORDERS = FAMILY / "orders_export_1.csv"
BAD = FAMILY / "orders_export_bad.csv"
CUSTOMERS = FAMILY / "customers_export.csv"
shared = needs_shared("shopify")


def stage(ws, path: Path, **kw) -> tuple[pd.DataFrame, list, str]:
    (t,) = stage_tables(ws, "shopify", path, order={"outcomes": "__row, outcome_id"}, **kw)
    return t.rows, t.rejects, t.note


@shared
@pytest.mark.parametrize("path", sorted(FAMILY.glob("*.csv")), ids=lambda p: p.name)
def test_shared_files_are_shopify_and_nobody_outbids(path):
    assert_wins(path, "shopify", at_least=0.9)


@pytest.mark.parametrize("path", sorted(DATA.glob("*.csv")), ids=lambda p: p.name)
def test_variant_files_are_shopify(path):
    assert_wins(path, "shopify")


@shared
def test_shopify_does_not_take_other_families_files():
    assert_never_taken("shopify", files(SHARED, but="shopify"))


@shared
def test_stage_orders_one_outcome_per_order(ws):
    df, rejects, note = stage(ws, ORDERS)
    assert rejects == []
    assert "11 line-item rows → 7 orders" in note and "pending" in note
    orders = df[df["type"] == "order"]
    assert list(orders["outcome_id"]) == [
        "shopify:#1001",
        "shopify:#1002",
        "shopify:#1003",
        "shopify:#1004",
        "shopify:#1005",
        "shopify:#1007",
        "shopify:#1008",
    ]  # #1006 is pending: not paid yet
    assert list(orders["__row"]) == [1, 2, 4, 5, 6, 10, 11]  # the first row of each order
    rows = by_id(df)
    first = rows["shopify:#1001"]
    assert first["ts"] == "2024-02-28T19:44:03Z"  # -0500 → UTC
    assert (Decimal(first["value"]), first["currency"]) == (Decimal("59.01"), "USD")  # Total
    assert first["order_ref"] == "#1001"
    assert first["__email"] == "ben.okafor@example.com"
    assert first["__phone"] == "+1 617-555-0102"  # the spreadsheet apostrophe is gone
    assert (first["__name"], first["__company"]) == ("Ben Okafor", "Okafor Plumbing, LLC")
    assert first["__country"] == "US"
    # three line items, one order, never a sum of Total over rows
    assert Decimal(rows["shopify:#1005"]["value"]) == Decimal("134.94")
    refund = rows["shopify:#1003:refund"]
    assert (refund["type"], Decimal(refund["value"])) == ("refund", Decimal("31.45"))
    assert rows["shopify:#1003"]["type"] == "order"
    eur = rows["shopify:#1008"]
    assert (eur["currency"], eur["ts"]) == ("EUR", "2024-06-14T13:30:00Z")  # +0200
    # channel: WORKSHOP10 discount → trade shows & events; the "instagram" tag → instagram
    assert rows["shopify:#1002"]["channel_id"] == "trade_shows"
    assert rows["shopify:#1005"]["channel_id"] == "instagram"
    assert pd.isna(rows["shopify:#1001"]["channel_id"])  # Source "web" names no channel


@shared
def test_stage_bad_orders(ws):
    df, rejects, _ = stage(ws, BAD)
    assert list(df["outcome_id"]) == ["shopify:#1001"]
    assert [(r[0], r[1]) for r in rejects] == [(2, "ts"), (3, "value"), (4, "outcome_id, value")]
    assert "'2024-13-01 10:00:00 -0500'" in rejects[0][2]
    assert "-180.00" in rejects[1][2]
    assert "Name is empty" in rejects[2][2] and "'six'" in rejects[2][2]


@shared
def test_stage_customers(ws):
    df, rejects, _ = stage(ws, CUSTOMERS)
    assert rejects == [] and len(df) == 7
    ben = df.iloc[0].to_dict()
    assert ben["display_name"] == "Ben Okafor"
    assert ben["company"] == "Okafor Plumbing, LLC"
    assert ben["location"] == "Boston, MA, US"
    assert ben["__customer_id"] == "7100000000001" and ben["__platform"] == "shopify"
    assert pd.isna(ben["__phone"])  # Phone is empty; Default Address Phone is read when it is
    dev = df.iloc[1].to_dict()
    assert dev["__phone"] == "+1 617-555-0104"
    zoe = df.iloc[6].to_dict()
    assert (zoe["display_name"], zoe["__country"]) == ("Zoë Müller", "DE")
    assert "value" not in df.columns


def test_older_layout_and_note_attributes(ws):
    df, rejects, note = stage(ws, DATA / "orders_export_older_layout.csv")
    assert rejects == []
    assert "8 line-item rows → 4 orders" in note and "authorized" in note and "voided" in note
    rows = by_id(df)
    assert set(rows) == {
        "shopify:#2001",
        "shopify:#2002",
        "shopify:#2002:refund",
        "shopify:#2004",
        "shopify:#2004:refund",
        "shopify:#2005",
    }
    # utm parameters an attribution app wrote into Note Attributes
    assert rows["shopify:#2001"]["channel_id"] == "meta_ads"
    assert rows["shopify:#2001"]["__phone"] == "+1 503-555-0142"  # Billing Phone
    assert rows["shopify:#2002"]["channel_id"] == "newsletter"  # discount code NEWSLETTER5
    assert Decimal(rows["shopify:#2002:refund"]["value"]) == Decimal("10")  # partially refunded
    # a refund is dated by Cancelled at when there is one
    assert rows["shopify:#2004:refund"]["ts"] == "2023-10-05T13:00:00Z"
    assert rows["shopify:#2004"]["ts"] == "2023-10-03T12:00:00Z"
    # a POS sale without email: an anonymous order
    assert pd.isna(rows["shopify:#2005"]["__email"]) and pd.isna(
        rows["shopify:#2005"]["channel_id"]
    )


def test_landing_and_referring_site(ws):
    df, rejects, _ = stage(ws, DATA / "orders_app_export_with_landing_site.csv")
    assert rejects == []
    assert list(df["channel_id"]) == [
        "linkedin",  # utm_source=linkedin in Landing Site
        "organic_search",  # referred by google.com
        "meta_ads",  # utm_source=instagram&utm_medium=paid
        "referral",  # another site
        "direct",  # landed without referrer or utm
        "trade_shows",  # WORKSHOP10
    ]
    assert list(df["ts"][:1]) == ["2024-03-01T15:00:00Z"]  # ISO with offset
    assert df["ts"][3] == "2024-03-04T12:00:00Z"


def test_customers_older_layout(ws):
    df, rejects, _ = stage(ws, DATA / "customers_export_older_layout.csv")
    assert rejects == []
    assert list(df["display_name"]) == ["Pat Example", "Sam Sample"]
    assert df["company"][0] == "Example Co" and df["location"][0] == "Portland, OR, US"
    assert df["__phone"][0] == "+1 503-555-0142" and df["__country"][1] == "DE"


# -- end to end ----------------------------------------------------------------------------------


@shared
def test_import_end_to_end(ws):
    reports = ws.import_files([ORDERS, CUSTOMERS], tz="America/New_York")
    # files load in dependency order: people (customers) before outcomes (orders)
    assert [(r.table, r.status, r.rejected) for r in reports] == [
        ("people", "ok", 0),
        ("outcomes", "ok", 0),
    ]
    assert reports[1].added == 8
    # 6 buyers in the orders, Noah (pending order) only in the customers file
    assert ws.count("people") == 7
    total = scalar(ws, "SELECT sum(value) FROM outcomes WHERE type = 'order' AND currency = 'USD'")
    assert total == Decimal("549.81")
    ts = ws.con.execute("SELECT ts FROM outcomes WHERE outcome_id = 'shopify:#1001'").fetchone()
    assert ts[0].isoformat() == "2024-02-28T19:44:03"  # the offset wins over --tz
    ben = scalar(
        ws, "SELECT count(DISTINCT person_id) FROM outcomes WHERE order_ref IN ('#1001', '#1007')"
    )
    assert ben == 1
    again = ws.import_files([ORDERS, CUSTOMERS])
    assert all(r.added == 0 for r in again)


@shared
def test_import_bad_file(ws):
    import_with_rejects(
        ws,
        BAD,
        added=1,
        rows=[2, 3, 4],
        columns=["ts", "value", "outcome_id, value"],
        in_file_order=False,
    )
    assert ws.count("outcomes") == 1


@shared
def test_overlapping_later_export(ws, tmp_path):
    ws.import_files([ORDERS])
    # later: #1006 was paid
    f = edited_copy(
        ORDERS,
        tmp_path / "orders_export_2.csv",
        [("#1006,noah.fischer@example.com,pending,", "#1006,noah.fischer@example.com,paid,")],
    )
    (report,) = ws.import_files([f])
    assert (report.added, report.updated, report.skipped) == (1, 0, 8)
    assert ws.count("outcomes") == 9


@shared
def test_a_refund_in_a_later_export_is_added_to_its_order(ws, tmp_path):
    ws.import_files([ORDERS])
    f = edited_copy(
        ORDERS,
        tmp_path / "orders_export_3.csv",
        [
            ("#1007,ben.okafor@example.com,paid,", "#1007,ben.okafor@example.com,refunded,"),
            ("c30000001007.1,0.00,Harbor & Pine", "c30000001007.1,32.45,Harbor & Pine"),
        ],
    )
    (report,) = ws.import_files([f])
    assert (report.added, report.updated) == (1, 0)
    got = ws.con.execute(
        "SELECT value, order_ref FROM outcomes WHERE outcome_id = 'shopify:#1007:refund'"
    ).fetchone()
    assert got == (Decimal("32.4500"), "#1007")

"""Shopify admin exports: Orders (``orders_export_1.csv``) and Customers (``customers_export.csv``).

Orders → ``outcomes``. The export has one row per line item; the order-level fields (Total,
Currency, Created at, Financial Status, Refunded Amount ...) are filled only on the first row of
each order, so every order (``Name``, e.g. ``#1001``) gives exactly one ``order`` outcome, key
``shopify:#1001``, value ``Total`` (what the customer paid, shipping and taxes included), currency
``Currency``, at ``Created at`` (which carries the shop's UTC offset; staged in UTC). A
``Refunded Amount`` > 0 adds a ``refund`` outcome ``shopify:#1001:refund`` (at ``Cancelled at`` when
there is one, else at the order's time: the export has no refund date). Orders not paid
(``pending``, ``authorized``) or never paid (``voided``, ``expired``) are not orders yet; a later
export in which they are paid adds them.

The channel, first match wins: ``utm_source``/``utm_medium``/``utm_campaign`` in ``Landing Site``
(or written by an attribution app into ``Note Attributes``) through
:func:`~truefans.ingest.channels.channel_sql`; the ``Referring Site`` host; then a channel named by
the sales channel ``Source`` (an Instagram or Facebook shop), the ``Discount Code`` (``INSTA10``,
``WORKSHOP10`` → trade shows & events, ``NEWSLETTER``) or a ``Tags`` entry. ``web``, ``pos`` and
draft orders name no channel.

Person hints: ``Email``, ``Phone`` (or ``Billing Phone``), ``Billing Name``, ``Billing Company``,
billing city/province/country. Spreadsheet-guard apostrophes (``'02110``, ``'+1 617...``) are
stripped.

Customers → ``people``: hints (email, phone, ``Customer ID`` with platform shopify, names, company,
address) and ``display_name``, ``company``, ``location``. ``Total Spent``/``Total Orders`` and
``Accepts Email Marketing`` are not stored (no canonical column; the orders carry the money and the
email tool's own list export is the audience).
"""

from __future__ import annotations

from pathlib import Path

from .channels import channel_sql
from .common import (
    Header,
    all_failures_sql,
    amount_sql,
    col,
    collect_rejects,
    count_rows,
    drop,
    dropped_on_error,
    find_header,
    iso_currencies_sql,
    left_out,
    lit,
    pick,
    quiet_detect,
    show_sql,
    stage_csv,
    stage_first,
    staged_table,
    user_channel_config,
)
from .registry import Detection, StageContext, StagedTable, register

ORDER_ALIASES: dict[str, list[str]] = {
    "name": ["Name", "Order Name", "Order"],
    "id": ["Id", "Order ID"],
    "email": ["Email", "Customer Email"],
    "financial_status": ["Financial Status", "Payment Status"],
    "currency": ["Currency"],
    "total": ["Total"],
    "refunded": ["Refunded Amount"],
    "created": ["Created at", "Created At", "Processed at"],
    "cancelled": ["Cancelled at"],
    "discount_code": ["Discount Code"],
    "tags": ["Tags"],
    "source": ["Source"],
    "landing": ["Landing Site", "Landing Page", "Landing Page URL", "Landing Site Ref"],
    "referring": ["Referring Site", "Referring Site URL", "Referrer"],
    "note_attributes": ["Note Attributes"],
    "phone": ["Phone"],
    "billing_phone": ["Billing Phone"],
    "billing_name": ["Billing Name"],
    "billing_company": ["Billing Company"],
    "billing_city": ["Billing City"],
    "billing_province": ["Billing Province"],
    "billing_country": ["Billing Country"],
}
_ORDER_REQUIRED = [
    ["name"],
    ["email"],
    ["financial status"],
    ["lineitem name", "lineitem quantity"],
    ["total"],
]
CUSTOMER_ALIASES: dict[str, list[str]] = {
    "id": ["Customer ID", "Customer Id", "Id"],
    "first_name": ["First Name"],
    "last_name": ["Last Name"],
    "email": ["Email"],
    "phone": ["Phone", "Default Address Phone"],
    "company": ["Default Address Company", "Company"],
    "city": ["Default Address City", "City"],
    "province": ["Default Address Province Code", "Province Code", "Province"],
    "country": ["Default Address Country Code", "Country Code", "Country"],
}
_CUSTOMER_REQUIRED = [
    ["email"],
    ["accepts email marketing", "accepts marketing"],
    ["total spent"],
    ["total orders"],
]
#: financial statuses of orders that did not (yet) take money
UNPAID_STATUSES = ("pending", "authorized", "voided", "expired")
#: words in a sales channel, discount code or tag that name a channel (first match wins)
KEYWORD_CHANNELS: list[tuple[str, str]] = [
    ("linkedin", r"linkedin"),
    ("instagram", r"instagram|\binsta|\big\b"),
    ("facebook", r"facebook|\bfb\b"),
    ("tiktok", r"tiktok"),
    ("youtube", r"youtube|\byt\b"),
    ("pinterest", r"pinterest"),
    ("x", r"twitter|\bx\.com\b"),
    ("newsletter", r"newsletter|\bemail|\bklaviyo|\bmailchimp"),
    ("podcast", r"podcast"),
    ("trade_shows", r"\b(workshop|expo|trade ?show|conference|booth|events?)\b|workshop"),
]
_NAIVE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%m/%d/%Y %H:%M")
_AWARE_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M %z")


def _orders_header(head: bytes) -> Header | None:
    return find_header(head, _ORDER_REQUIRED)


def _customers_header(head: bytes) -> Header | None:
    h = find_header(head, _CUSTOMER_REQUIRED)
    if h is None or "financial status" in h.normed:
        return None
    return h


class ShopifySource:
    name = "shopify"
    description = "Shopify admin exports: Orders (orders_export_1.csv) and Customers"
    detection_rule = (
        "orders: a header with Name, Email, Financial Status, Lineitem name and Total; "
        "customers: Email, Accepts Email Marketing (or Accepts Marketing), Total Spent and "
        "Total Orders"
    )

    @quiet_detect
    def detect(self, path: Path, head: bytes) -> Detection | None:
        if path.suffix.lower() not in ("", ".csv", ".txt"):
            return None
        if _orders_header(head) is not None:
            return Detection(self.name, 0.97, "Shopify orders export header", "outcomes")
        if _customers_header(head) is not None:
            return Detection(self.name, 0.95, "Shopify customers export header", "people")
        return None

    def stage(self, ctx: StageContext) -> list[StagedTable]:
        with dropped_on_error(ctx, "shopify"):
            return stage_first(
                ctx,
                [(_orders_header, _stage_orders), (_customers_header, _stage_customers)],
                "not a Shopify orders or customers export (no header with Name, Email, Financial "
                "Status, Lineitem name, Total... in the first 40 lines)",
            )


# -- SQL helpers ---------------------------------------------------------------------------------


def _t(name: str | None) -> str:
    """A staged column, trimmed, without a spreadsheet-guard apostrophe, NULL when empty."""
    return f"NULLIF(regexp_replace(trim({col(name)}), '^''', ''), '')"


def _ts(x: str) -> str:
    """Shopify time text → UTC text with Z (when it carries an offset) or local text, else NULL."""
    aware = [f"try_strptime({x}, {lit(f)})" for f in _AWARE_FORMATS]
    naive = [f"try_strptime({x}, {lit(f)})" for f in _NAIVE_FORMATS]
    return (
        f"coalesce(strftime(timezone('UTC', coalesce({', '.join(aware)})), "
        f"'%Y-%m-%dT%H:%M:%S') || 'Z', "
        f"strftime(coalesce({', '.join(naive)}), '%Y-%m-%dT%H:%M:%S'))"
    )


def _keyword_channel(x: str) -> str:
    whens = " ".join(
        f"WHEN regexp_matches(lower({x}), {lit(rx)}) THEN {lit(ch)}" for ch, rx in KEYWORD_CHANNELS
    )
    return f"(CASE {whens} END)"


def _param(url: str, key: str) -> str:
    """A query/attribute parameter (``utm_source=x`` in a URL, ``utm_source: x`` in notes)."""
    v = f"regexp_extract({url}, '(?i)(^|[?&#\\s;,]){key}\\s*[=:]\\s*([^&#\\s;,]*)', 2)"
    return f"NULLIF(trim(url_decode(replace({v}, '+', ' '))), '')"


def _host(url: str) -> str:
    return (
        f"NULLIF(lower(regexp_extract({url}, '^(?:[a-zA-Z][a-zA-Z0-9+.-]*://)?(?:www\\.)?"
        f"([^/?#:]+)', 1)), '')"
    )


# -- orders --------------------------------------------------------------------------------------


def _stage_orders(ctx: StageContext, header: Header) -> list[StagedTable]:
    con = ctx.con
    raw = f"{ctx.prefix}_shopify_raw"
    base = f"{ctx.prefix}_shopify_base"
    out = f"{ctx.prefix}_shopify_outcomes"
    _, src_rejects, note = stage_csv(ctx, header, raw)
    c = pick(header.normed, ORDER_ALIASES)
    cfg = user_channel_config(con)
    default_cur = lit(ctx.currency.upper()) if ctx.currency else "CAST(NULL AS VARCHAR)"
    created, total = _t(c["created"]), _t(c["total"])
    unpaid = ", ".join(lit(s) for s in UNPAID_STATUSES)
    landing, notes = _t(c["landing"]), _t(c["note_attributes"])
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE "{base}" AS
        WITH r AS (
          SELECT __row, {_t(c["name"])} AS order_name,
            ({created} IS NOT NULL OR {total} IS NOT NULL
             OR {_t(c["financial_status"])} IS NOT NULL) AS has_order_fields
          FROM "{raw}"),
        firsts AS (
          SELECT __row FROM r
          QUALIFY row_number() OVER (
            PARTITION BY coalesce(order_name, '#row ' || __row)
            ORDER BY has_order_fields DESC, __row) = 1),
        p AS (
          SELECT x.__row, {_t(c["name"])} AS order_name,
            lower({_t(c["financial_status"])}) AS status,
            coalesce(lower({_t(c["financial_status"])}) NOT IN ({unpaid}), true) AS included,
            {created} AS created_raw, {_ts(created)} AS ts,
            {_ts(_t(c["cancelled"]))} AS cancelled_ts,
            {total} AS total_raw, {amount_sql(total)} AS total,
            {_t(c["refunded"])} AS refunded_raw, {amount_sql(_t(c["refunded"]))} AS refunded,
            upper(coalesce({_t(c["currency"])}, {default_cur})) AS currency,
            coalesce({_param(landing, "utm_source")}, {_param(notes, "utm_source")}) AS utm_source,
            coalesce({_param(landing, "utm_medium")}, {_param(notes, "utm_medium")}) AS utm_medium,
            coalesce({_param(landing, "utm_campaign")}, {_param(notes, "utm_campaign")})
              AS utm_campaign,
            {landing} AS landing,
            CASE WHEN {_host(_t(c["referring"]))} IS DISTINCT FROM {_host(landing)}
                 THEN {_host(_t(c["referring"]))} END AS referrer,
            coalesce({_keyword_channel(_t(c["source"]))},
                     {_keyword_channel(_t(c["discount_code"]))},
                     {_keyword_channel(_t(c["tags"]))}) AS keyword_channel,
            {_t(c["email"])} AS email,
            coalesce({_t(c["phone"])}, {_t(c["billing_phone"])}) AS phone,
            {_t(c["billing_name"])} AS name, {_t(c["billing_company"])} AS company,
            NULLIF(concat_ws(', ', {_t(c["billing_city"])}, {_t(c["billing_province"])},
                             {_t(c["billing_country"])}), '') AS location,
            CASE WHEN length({_t(c["billing_country"])}) = 2
                 THEN upper({_t(c["billing_country"])}) END AS country
          FROM "{raw}" x JOIN firsts USING (__row))
        SELECT * FROM p"""
    )
    iso = iso_currencies_sql()
    err, cols = all_failures_sql(
        [
            ("outcome_id", "CASE WHEN order_name IS NULL THEN 'missing: the Name is empty' END"),
            (
                "ts",
                "CASE WHEN created_raw IS NULL THEN 'missing: Created at is empty' "
                "WHEN ts IS NULL THEN 'not a date-time: ' || " + show_sql("created_raw") + " END",
            ),
            (
                "value",
                "CASE WHEN total_raw IS NOT NULL AND total IS NULL THEN 'not an amount: ' || "
                + show_sql("total_raw")
                + " WHEN total < 0 THEN 'negative Total ' || "
                + show_sql("total_raw")
                + " || ' (refunds are in Refunded Amount)'"
                " WHEN refunded_raw IS NOT NULL AND (refunded IS NULL OR refunded < 0) THEN "
                "'Refunded Amount is not an amount: ' || " + show_sql("refunded_raw") + " END",
            ),
            (
                "currency",
                "CASE WHEN currency IS NULL AND total IS NOT NULL THEN "
                "'missing: an amount needs a currency (the Currency column is empty; "
                "pass --currency)' "
                f"WHEN currency IS NOT NULL AND currency NOT IN {iso} THEN "
                + show_sql("currency")
                + " || ' is not an ISO 4217 currency code' END",
            ),
        ]
    )
    con.execute(
        f'CREATE OR REPLACE TEMP TABLE "{base}" AS SELECT *, '
        f"CASE WHEN included THEN {err} END AS __bad_reason, "
        f'CASE WHEN included THEN {cols} END AS __bad_col FROM "{base}"'
    )
    rejects = src_rejects + collect_rejects(con, base, raw, max_raw=None)

    utm = channel_sql("s", "m", "k", cfg)
    ref = channel_sql("s", "'referral'", None, cfg)
    hints = (
        "email AS __email, phone AS __phone, name AS __name, company AS __company, "
        "location AS __location, country AS __country"
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE "{out}" AS
        WITH g AS (SELECT * FROM "{base}" WHERE included AND __bad_col IS NULL),
        u AS (
          SELECT s, m, k, {utm} AS channel_id FROM (
            SELECT DISTINCT utm_source AS s, coalesce(utm_medium, '') AS m,
                   coalesce(utm_campaign, '') AS k FROM g WHERE utm_source IS NOT NULL)),
        rf AS (
          SELECT s, {ref} AS channel_id FROM (
            SELECT DISTINCT referrer AS s FROM g WHERE referrer IS NOT NULL)),
        b AS (
          SELECT g.*, coalesce(u.channel_id, rf.channel_id, g.keyword_channel,
                               CASE WHEN g.landing IS NOT NULL THEN 'direct' END) AS channel_id
          FROM g
          LEFT JOIN u ON g.utm_source = u.s AND coalesce(g.utm_medium, '') = u.m
                     AND coalesce(g.utm_campaign, '') = u.k
          LEFT JOIN rf ON g.referrer = rf.s)
        SELECT __row, 'shopify:' || order_name AS outcome_id, ts, 'order' AS type,
               CAST(total AS VARCHAR) AS value, currency, channel_id,
               order_name AS order_ref, {hints}
        FROM b
        UNION ALL
        SELECT __row, 'shopify:' || order_name || ':refund', coalesce(cancelled_ts, ts),
               'refund', CAST(refunded AS VARCHAR), currency, channel_id, order_name, {hints}
        FROM b WHERE refunded > 0
        ORDER BY __row, outcome_id"""
    )
    orders, skipped, why = left_out(con, base, "included", "status")
    lines = count_rows(con, raw)
    parts = [note] if note else []
    parts.append(f"{lines} line-item rows → {orders} orders")
    if skipped:
        parts.append(f"{skipped} not paid and not counted ({why})")
    drop(con, base, raw)
    return [staged_table(con, "outcomes", out, rejects, parts, local_times=True)]


# -- customers -----------------------------------------------------------------------------------


def _stage_customers(ctx: StageContext, header: Header) -> list[StagedTable]:
    con = ctx.con
    raw = f"{ctx.prefix}_shopify_craw"
    out = f"{ctx.prefix}_shopify_people"
    _, src_rejects, note = stage_csv(ctx, header, raw)
    c = pick(header.normed, CUSTOMER_ALIASES)
    first, last = _t(c["first_name"]), _t(c["last_name"])
    name = f"NULLIF(concat_ws(' ', {first}, {last}), '')"
    location = (
        f"NULLIF(concat_ws(', ', {_t(c['city'])}, {_t(c['province'])}, {_t(c['country'])}), '')"
    )
    country = _t(c["country"])
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE "{out}" AS
        SELECT __row, {name} AS display_name, {_t(c["company"])} AS company,
          {location} AS location,
          {_t(c["email"])} AS __email, {_t(c["phone"])} AS __phone,
          {_t(c["id"])} AS __customer_id, 'shopify' AS __platform,
          {name} AS __name, {first} AS __first_name, {last} AS __last_name,
          {_t(c["company"])} AS __company, {location} AS __location,
          CASE WHEN length({country}) = 2 THEN upper({country}) END AS __country
        FROM "{raw}" ORDER BY __row"""
    )
    drop(con, raw)
    return [staged_table(con, "people", out, src_rejects, [note])]


register(ShopifySource())

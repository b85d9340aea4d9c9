"""Stripe Dashboard exports: Payments (``unified_payments.csv``) and Customers (``customers.csv``).

Payments → ``outcomes``. Every payment that took money (status Paid, Refunded, Partially refunded,
Disputed; live mode) is one ``order`` at ``Created date (UTC)`` with ``Amount`` in ``Currency``
(major units: ``1500.00`` is 1,500, not 15). ``Amount Refunded`` > 0 adds a ``refund`` outcome at
``Refunded date (UTC)``, ``Fee`` > 0 a ``fee`` outcome (in the settlement currency, ``Converted
Currency``, where the export has it). Failed, canceled, uncaptured, pending and test-mode payments
are not orders: they are counted in the import note and not staged. Keys: ``stripe:<id>``,
``stripe:<id>:refund``, ``stripe:<id>:fee`` — a later export with a bigger refund updates the
refund row. Every payment is an ``order``, also a customer's first or an invoice's: "new account"
and "renewal" are derived from the order sequence, which one export cannot see whole.

Metadata columns (``utm_source (metadata)``, ``utm_medium (metadata)``, ``utm_campaign
(metadata)``) give the channel through :func:`~truefans.ingest.channels.channel_sql`;
``order_ref (metadata)`` (or ``order_id``) the order reference, else the payment id. Customer
email, id, description/name and the card's address are person hints.

Customers → ``people``: hints (email, ``cus_`` id, name, phone, address) and ``display_name`` and
``first_seen`` (``Created (UTC)``). Totals (Total Spend, Payment Count) are not stored: the
payments export is where the money is.

Stripe writes times in UTC unless the export dialog was set to another zone, which then names
the time columns (``Created date (UTC)``, ``Created date (Europe/Berlin)``): they are staged in
UTC as ``YYYY-MM-DDTHH:MM:SSZ`` with ``local_times=False``.

A UTF-8 payments file is read in one pass: DuckDB's reader gives only the columns used, which are
trimmed, parsed and checked in the same query into a table whose ``rowid`` numbers the file rows
(no raw copy; the raw rows of rejected payments are read again). That query holds no ``IN`` list of
five or more values: DuckDB plans those as joins, which lose the file order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import duckdb

from ..schema import ISO_4217
from .channels import channel_sql
from .common import (
    Header,
    Reject,
    all_failures_sql,
    amount_sql,
    cell,
    collect_rejects,
    count_rows,
    csv_scan,
    drop,
    dropped_on_error,
    find_header,
    first_filled,
    left_out,
    lit,
    pick,
    quiet_detect,
    read_csv_table,
    show_sql,
    stage_csv,
    stage_first,
    staged_table,
    user_channel_config,
)
from .registry import Detection, StageContext, StagedTable, register

PAYMENT_ALIASES: dict[str, list[str]] = {
    "id": ["id", "Charge ID", "Payment ID"],
    "amount": ["Amount"],
    "refunded": ["Amount Refunded"],
    "currency": ["Currency"],
    "converted_currency": ["Converted Currency"],
    "fee": ["Fee"],
    "status": ["Status"],
    "captured": ["Captured"],
    "mode": ["Mode"],
    "customer_id": ["Customer ID"],
    "email": ["Customer Email", "Receipt Email"],
    "name": ["Customer Name", "Customer Description", "Card Name", "Billing Details Name"],
    "phone": ["Customer Phone", "Billing Details Phone"],
    "city": ["Card Address City", "Billing Details Address City"],
    "state": ["Card Address State", "Billing Details Address State"],
    "country": ["Card Address Country", "Billing Details Address Country"],
    "utm_source": ["utm_source (metadata)", "source (metadata)", "referrer (metadata)"],
    "utm_medium": ["utm_medium (metadata)", "medium (metadata)"],
    "utm_campaign": ["utm_campaign (metadata)", "campaign (metadata)"],
    "order_ref": [
        "order_ref (metadata)",
        "order_id (metadata)",
        "order (metadata)",
        "order_number (metadata)",
    ],
}
#: columns only the payments export has (any one of them, besides id/created/amount/currency)
_PAYMENT_MARKERS = [
    "Amount Refunded",
    "Converted Amount",
    "Captured",
    "Fee",
    "Status",
    "Seller Message",
    "Customer Email",
    "Customer ID",
    "PaymentIntent ID",
    "Payment Source Type",
    "Decline Reason",
]
CUSTOMER_ALIASES: dict[str, list[str]] = {
    "id": ["id", "Customer ID"],
    "email": ["Email"],
    "name": ["Name"],
    "description": ["Description"],
    "phone": ["Phone"],
    "city": ["Address City", "Card Address City", "Shipping Address City"],
    "state": ["Address State", "Card Address State", "Shipping Address State"],
    "country": ["Address Country", "Card Address Country", "Shipping Address Country"],
}
_CUSTOMER_MARKERS = [
    "Delinquent",
    "Total Spend",
    "Payment Count",
    "Refunded Volume",
    "Dispute Losses",
    "Business Vat ID",
    "Card ID",
    "Cancel At Period End",
    "Plan",
]
#: statuses of a payment that took money
PAID_STATUSES = (
    "paid",
    "succeeded",
    "refunded",
    "partially refunded",
    "partially_refunded",
    "disputed",
)
_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y-%m-%d",
)


#: a time column with the export's time zone in its name: ``Created date (UTC)``; the export
#: dialog lets the user pick another zone, which then names the column
_ZONED = re.compile(r"^(created|created date|refunded|refunded date) \((.+)\)$")


def _time_column(normed: list[str], stem: str) -> tuple[str | None, str | None]:
    """(column, zone named in it) for ``created`` or ``refunded``."""
    for n in normed:
        m = _ZONED.match(n)
        if m and m.group(1).startswith(stem):
            return n, m.group(2)
    for n in (f"{stem} date", stem):
        if n in normed:
            return n, None
    return None, None


def _payments_header(head: bytes) -> Header | None:
    h = find_header(head, [["id"], ["amount"], ["currency"], _PAYMENT_MARKERS])
    if h is None or _time_column(h.normed, "created")[1] is None:
        return None
    return h


def _customers_header(head: bytes) -> Header | None:
    h = find_header(head, [["id"], ["email"], _CUSTOMER_MARKERS])
    if h is None or "amount" in h.normed or _time_column(h.normed, "created")[1] is None:
        return None
    return h


class StripeSource:
    name = "stripe"
    description = "Stripe Dashboard exports: Payments (unified_payments.csv) and Customers"
    detection_rule = (
        "payments: a header with id, Created date (UTC) (or Created (UTC)), Amount, Currency and "
        "one of Amount Refunded, Fee, Status, Captured, Customer Email...; customers: id, "
        "Created (UTC), Email and one of Delinquent, Total Spend, Payment Count..."
    )

    @quiet_detect
    def detect(self, path: Path, head: bytes) -> Detection | None:
        if path.suffix.lower() not in ("", ".csv", ".txt", ".tsv"):
            return None
        if (h := _payments_header(head)) is not None:
            hits = sum(1 for m in _PAYMENT_MARKERS if m.lower() in h.normed)
            conf = 0.97 if hits >= 2 else 0.92
            return Detection(
                self.name, conf, f"Stripe payments header ({hits} markers)", "outcomes"
            )
        if _customers_header(head) is not None:
            return Detection(self.name, 0.95, "Stripe customers header", "people")
        return None

    def stage(self, ctx: StageContext) -> list[StagedTable]:
        with dropped_on_error(ctx, "stripe"):
            return stage_first(
                ctx,
                [(_payments_header, _stage_payments), (_customers_header, _stage_customers)],
                "not a Stripe payments or customers export (no header with id, Created (UTC), "
                "Amount, Currency... in the first 40 lines)",
            )


# -- SQL helpers ---------------------------------------------------------------------------------


class _Zone:
    """How the export's times read: UTC (the default), a named zone (converted to UTC here), or
    a zone DuckDB does not know (left local: the loader applies --tz / the workspace zone)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, name: str | None) -> None:
        self.name: str | None = None
        self.local = False
        if name is None or name.strip().lower() in ("utc", "gmt", "etc/utc", "z"):
            return
        try:
            con.execute("SELECT timezone(?, TIMESTAMP '2024-01-01 00:00:00')", [name.strip()])
            self.name = name.strip()
        except duckdb.Error:
            self.local = True

    def parse(self, x: str) -> str:
        """SQL TIMESTAMP (UTC unless local) from a time text; an explicit Z/offset is honoured."""
        tries = [f"try_strptime({x}, {lit(f)})" for f in _TIME_FORMATS]
        naive = f"coalesce({', '.join(tries)})"
        if self.name:
            naive = f"timezone('UTC', timezone({lit(self.name)}, {naive}))"
        aware = (
            f"CASE WHEN regexp_matches({x}, '(Z|[+-][0-9]{{2}}:?[0-9]{{2}})$') "
            f"THEN timezone('UTC', TRY_CAST({x} AS TIMESTAMPTZ)) END"
        )
        return f"CAST(coalesce({naive}, {aware}) AS TIMESTAMP)"

    def text(self, ts: str) -> str:
        out = f"strftime({ts}, '%Y-%m-%dT%H:%M:%S')"
        return out if self.local else f"{out} || 'Z'"


def _one_of(x: str, values: Iterable[str]) -> str:
    """SQL: ``x`` is one of ``values`` (NULL when ``x`` is NULL), as a regular expression.

    Not ``x IN (...)``: DuckDB turns an IN list of five or more values into a join, and a join
    loses the file order the one-pass staging numbers its rows by (``rowid``)."""
    return f"regexp_full_match({x}, {lit('(?:' + '|'.join(re.escape(v) for v in sorted(values)) + ')')})"


def _n(k: int, word: str) -> str:
    return f"{k} {word}" if k == 1 else f"{k} {word}s"


# -- payments ------------------------------------------------------------------------------------


def _stage_payments(ctx: StageContext, header: Header) -> list[StagedTable]:
    con = ctx.con
    raw = f"{ctx.prefix}_stripe_raw"
    base = f"{ctx.prefix}_stripe_base"
    bad = f"{ctx.prefix}_stripe_bad"
    out = f"{ctx.prefix}_stripe_outcomes"
    chmap = f"{ctx.prefix}_stripe_channels"
    c = pick(header.normed, PAYMENT_ALIASES)
    created, zone_name = _time_column(header.normed, "created")
    refunded_col, _ = _time_column(header.normed, "refunded")
    zone = _Zone(con, zone_name)

    def a(field: str) -> str:
        return first_filled(header.normed, PAYMENT_ALIASES[field])

    cfg = user_channel_config(con)
    default_cur = lit(ctx.currency.upper()) if ctx.currency else "CAST(NULL AS VARCHAR)"

    status = f"lower({cell(c['status'])})"
    captured = f"lower({cell(c['captured'])})"
    mode = f"lower({cell(c['mode'])})"
    if c["status"]:
        included = f"coalesce({_one_of(status, PAID_STATUSES)}, false)"
    elif c["captured"]:
        included = f"coalesce({_one_of(captured, ('true', 'yes', '1'))}, false)"
    else:
        included = "true"
    included = f"({included} AND coalesce({mode}, 'live') <> 'test')"

    err, cols = all_failures_sql(
        [
            ("outcome_id", "CASE WHEN pid IS NULL THEN 'missing: the id column is empty' END"),
            (
                "ts",
                "CASE WHEN created_raw IS NULL THEN 'missing: the Created date (UTC) is empty' "
                "WHEN ts IS NULL THEN 'not a date-time: ' || "
                + show_sql("created_raw")
                + " WHEN refunded_at_raw IS NOT NULL AND refunded_at IS NULL THEN "
                "'refunded date is not a date-time: ' || " + show_sql("refunded_at_raw") + " END",
            ),
            (
                "value",
                "CASE WHEN amount_raw IS NOT NULL AND amount IS NULL THEN "
                "'not an amount: ' || "
                + show_sql("amount_raw")
                + " WHEN amount < 0 THEN 'negative amount ' || "
                + show_sql("amount_raw")
                + " || ' (a payment is positive; refunds are in Amount Refunded)'"
                " WHEN refunded_raw IS NOT NULL AND (refunded IS NULL OR refunded < 0) THEN "
                "'Amount Refunded is not an amount: ' || "
                + show_sql("refunded_raw")
                + " WHEN fee_raw IS NOT NULL AND (fee IS NULL OR fee < 0) THEN "
                "'Fee is not an amount: ' || " + show_sql("fee_raw") + " END",
            ),
            (
                "currency",
                "CASE WHEN currency IS NULL AND amount IS NOT NULL THEN "
                "'missing: an amount needs a currency (the Currency column is empty; "
                "pass --currency)' "
                "WHEN currency IS NOT NULL AND NOT __iso THEN "
                + show_sql("currency")
                + " || ' is not an ISO 4217 currency code' "
                "WHEN fee > 0 AND fee_currency IS NOT NULL AND NOT __fee_iso THEN "
                + show_sql("fee_currency")
                + " || ' (Converted Currency) is not an ISO 4217 currency code' END",
            ),
        ]
    )
    # one pass: each payment's cells are trimmed, parsed and checked as the file is read (only
    # the columns used are read; the rows are numbered by the table's rowid, in file order)
    utm_s, utm_m, utm_k = cell(c["utm_source"]), cell(c["utm_medium"]), cell(c["utm_campaign"])
    cells = f"""{cell(c["id"])} AS pid,
            {cell(created)} AS created_raw,
            {cell(refunded_col)} AS refunded_at_raw,
            {cell(c["amount"])} AS amount_raw,
            {cell(c["refunded"])} AS refunded_raw,
            {cell(c["fee"])} AS fee_raw,
            upper(coalesce({cell(c["currency"])}, {default_cur})) AS currency,
            upper(coalesce({cell(c["converted_currency"])}, {cell(c["currency"])}, {default_cur}))
              AS fee_currency,
            {status} AS status, {mode} AS mode, {included} AS included,
            {cell(c["customer_id"])} AS customer_id, {a("email")} AS email,
            {a("name")} AS name, {a("phone")} AS phone,
            NULLIF(concat_ws(', ', {a("city")}, {a("state")}, {a("country")}), '') AS location,
            CASE WHEN length({a("country")}) = 2 THEN upper({a("country")}) END AS country,
            {utm_s} AS utm_s, coalesce({utm_m}, '') AS utm_m, coalesce({utm_k}, '') AS utm_k,
            CAST(NULL AS VARCHAR) AS channel_id,
            coalesce({cell(c["order_ref"])}, {cell(c["id"])}) AS order_ref"""

    def parse(source: str, row: str) -> None:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE "{base}" AS
            SELECT *, CASE WHEN included THEN {err} END AS __bad_reason,
              CASE WHEN included THEN {cols} END AS __bad_col
            FROM (
              SELECT *, {zone.parse("created_raw")} AS ts,
                {zone.parse("refunded_at_raw")} AS refunded_at,
                {amount_sql("amount_raw")} AS amount,
                coalesce({amount_sql("refunded_raw")}, CASE WHEN status = 'refunded'
                  AND refunded_raw IS NULL THEN {amount_sql("amount_raw")} END) AS refunded,
                {amount_sql("fee_raw")} AS fee,
                {_one_of("currency", ISO_4217)} AS __iso,
                {_one_of("fee_currency", ISO_4217)} AS __fee_iso
              FROM (SELECT {row}{cells} FROM {source}))"""
        )

    src_rejects: list[Reject] = []
    note = ""
    row = ""  # the file row of a row of base: its rowid + 1, or __row when staged in Python
    if header.encoding in ("utf-8", "utf-8-sig"):
        try:
            parse(csv_scan(ctx, header), "")
            row = "rowid + 1"
        except duckdb.Error:
            drop(con, base)
    if not row:  # an irregular file (ragged rows, not UTF-8): staged raw first, row by row
        _, src_rejects, note = stage_csv(ctx, header, raw)
        parse(f'"{raw}"', "__row, ")
        row = "__row"
    n_bad = count_rows(con, base, "__bad_col IS NOT NULL")
    rejects = list(src_rejects)
    if n_bad:
        # the raw rows of the rejected payments, for the rejects (read again: they are few)
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE "{bad}" AS SELECT {row} AS __row, __bad_col,
            __bad_reason FROM "{base}" WHERE __bad_col IS NOT NULL"""
        )
        if row == "rowid + 1":
            read_csv_table(ctx, header, raw)
        rejects += collect_rejects(con, bad, raw, row_expr=row, max_raw=None)
    # utm metadata → channel: mapped once per distinct (source, medium, campaign)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE "{chmap}" AS
        SELECT s, m, k, {channel_sql("s", "m", "k", cfg)} AS channel_id FROM (
          SELECT DISTINCT utm_s AS s, utm_m AS m, utm_k AS k
          FROM "{base}" WHERE utm_s IS NOT NULL)"""
    )
    # set in place: the outcomes below are one plain scan of base (a join would lose its order)
    con.execute(
        f"""UPDATE "{base}" SET channel_id = ch.channel_id FROM "{chmap}" ch
        WHERE "{base}".utm_s = ch.s AND "{base}".utm_m = ch.m AND "{base}".utm_k = ch.k"""
    )
    hints = (
        "email AS __email, customer_id AS __customer_id, 'stripe' AS __platform, "
        "name AS __name, phone AS __phone, location AS __location, country AS __country"
    )
    # each payment gives its order, refund and fee, in that order, from one scan of base (three
    # filtered scans in a UNION ALL staged the rows in batches the loader's insert wrote as
    # part-filled row groups, which the checkpoint then merged: 1.5 CPU-s per million payments)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE "{out}" AS
        SELECT {row} AS __row,
          'stripe:' || pid || (CASE k WHEN 0 THEN '' WHEN 1 THEN ':refund' ELSE ':fee' END)
            AS outcome_id,
          CASE WHEN k = 1 THEN {zone.text("coalesce(refunded_at, ts)")} ELSE {zone.text("ts")} END
            AS ts,
          CASE k WHEN 0 THEN 'order' WHEN 1 THEN 'refund' ELSE 'fee' END AS type,
          CAST(CASE k WHEN 0 THEN amount WHEN 1 THEN refunded ELSE fee END AS VARCHAR) AS value,
          CASE WHEN k = 2 THEN fee_currency ELSE currency END AS currency, channel_id,
          order_ref, {hints}
        FROM "{base}", (VALUES (0), (1), (2)) v(k)
        WHERE included AND __bad_col IS NULL
          AND (k = 0 OR (k = 1 AND refunded > 0) OR (k = 2 AND fee > 0))"""
    )
    payments, skipped, why = left_out(
        con,
        base,
        "included",
        "coalesce(CASE WHEN mode = 'test' THEN 'test mode' END, status, 'no status')",
    )
    parts = [note] if note else []
    parts.append(f"{_n(payments, 'payment')} → orders, refunds and fees")
    if skipped:
        verb = "is not an order" if skipped == 1 else "are not orders"
        parts.append(f"{_n(skipped, 'payment')} took no money and {verb} ({why})")
    drop(con, base, bad, raw, chmap)
    return [staged_table(con, "outcomes", out, rejects, parts, local_times=zone.local)]


# -- customers -----------------------------------------------------------------------------------


def _stage_customers(ctx: StageContext, header: Header) -> list[StagedTable]:
    con = ctx.con
    raw = f"{ctx.prefix}_stripe_craw"
    out = f"{ctx.prefix}_stripe_people"
    _, src_rejects, note = stage_csv(ctx, header, raw)
    c = pick(header.normed, CUSTOMER_ALIASES)
    created, zone_name = _time_column(header.normed, "created")
    zone = _Zone(con, zone_name)

    def a(field: str) -> str:
        return first_filled(header.normed, CUSTOMER_ALIASES[field])

    name = f"coalesce({cell(c['name'])}, {cell(c['description'])})"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE "{out}" AS
        SELECT __row,
          {name} AS display_name,
          NULLIF(concat_ws(', ', {a("city")}, {a("state")}, {a("country")}), '') AS location,
          coalesce({zone.text(zone.parse(cell(created)))}, {cell(created)}) AS first_seen,
          {cell(c["email"])} AS __email, {cell(c["id"])} AS __customer_id,
          'stripe' AS __platform, {name} AS __name, {cell(c["phone"])} AS __phone,
          CASE WHEN length({a("country")}) = 2 THEN upper({a("country")}) END AS __country
        FROM "{raw}" ORDER BY __row"""
    )
    drop(con, raw)
    return [staged_table(con, "people", out, src_rejects, [note], local_times=zone.local)]


register(StripeSource())

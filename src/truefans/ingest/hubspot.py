"""HubSpot CRM exports: contacts and deals (CSV, XLSX or XLS).

Contacts (``hubspot-crm-exports-all-contacts-<date>.csv``) → two staged tables:

* ``people``: hints (``Email``, ``Phone Number``, ``Record ID`` as a crm id on platform hubspot,
  first/last name, company, job title, city/state/country) and ``display_name``, ``company``,
  ``title``, ``industry``, ``location``, ``first_seen`` (``Create Date``);
* ``outcomes``: one ``lead`` per contact at ``Create Date``, key ``hubspot:contact:<Record ID>``,
  channel from ``Original Source`` and its drill-downs (first touch, see :func:`source_channel`).

Every contact counts as a lead, whatever its lifecycle stage: it is the moment a person became known
to the business. New accounts come from deals, not from ``Became a Customer Date``, so that a
customer with a won deal is not counted twice.

Deals (``hubspot-crm-exports-all-deals-<date>.csv``) → ``outcomes``: a closed-won deal (``Deal
Stage`` "Closed won"/``closedwon``, or ``Is Closed Won`` true) is a ``new_account`` (``Deal Type``
"Existing Business" → ``order``, a renewal type → ``renewal``) at ``Close Date`` with ``Amount``,
key ``hubspot:deal:<Record ID>``; the person is the first ``Associated Contact`` (``Name (id)`` →
crm id). Open and lost deals are not outcomes (the contact already made the lead); they are counted
in the import note. HubSpot writes amounts in the portal currency without naming it unless the
portal has several currencies (``Currency`` column): otherwise pass ``--currency``.

Column labels are the user's chosen properties: everything is mapped by label (case-insensitive,
aliases include internal names and some German labels); enumeration values may be labels
(``Social Media``) or internal names (``SOCIAL_MEDIA``). Times are the portal's local time without
an offset (``local_times=True``): ``2024-01-08 09:00``, ``01/08/2024 09:00``, ``01/08/2024 9:00
AM``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from ..errors import UnusableFile
from .channels import channel_sql
from .common import (
    Header,
    cell,
    collect_rejects,
    drop,
    dropped_on_error,
    find_header,
    first_filled,
    left_out,
    lit,
    money_sql,
    norm,
    pick,
    quiet_detect,
    read_head,
    read_sheets,
    register_sheet,
    scan_rows,
    stage_csv,
    staged_table,
    user_channel_config,
)
from .registry import Detection, StageContext, StagedTable, register

_RECORD_ID = ["Record ID", "Contact ID", "Record ID - Contact", "Datensatz-ID", "hs_object_id"]
CONTACT_ALIASES: dict[str, list[str]] = {
    "id": _RECORD_ID,
    "first_name": ["First Name", "Firstname", "Vorname"],
    "last_name": ["Last Name", "Lastname", "Nachname"],
    "email": ["Email", "E-Mail", "Email Address"],
    "phone": ["Phone Number", "Phone", "Mobile Phone Number", "Telefonnummer"],
    "company": ["Company Name", "Company", "Associated Company", "Primary Associated Company"],
    "title": ["Job Title", "Jobtitle"],
    "industry": ["Industry"],
    "city": ["City", "Stadt"],
    "state": ["State/Region", "State", "Bundesland/Region"],
    "country": ["Country/Region", "Country", "Land/Region"],
    "created": ["Create Date", "Created Date", "createdate", "Erstelldatum"],
    "source": ["Original Source", "Original Traffic Source", "Original Source Type",
               "hs_analytics_source", "Ursprüngliche Quelle"],
    "d1": ["Original Source Drill-Down 1", "Original Traffic Source Drill-Down 1",
           "Original Source Data 1", "hs_analytics_source_data_1"],
    "d2": ["Original Source Drill-Down 2", "Original Traffic Source Drill-Down 2",
           "Original Source Data 2", "hs_analytics_source_data_2"],
}  # fmt: skip
_CONTACT_MARKERS = [
    "Lifecycle Stage",
    "Lead Status",
    "Contact owner",
    "Create Date",
    "Original Source",
    "Original Traffic Source",
    "Original Source Drill-Down 1",
    "Latest Source",
    "Became a Customer Date",
    "Number of Form Submissions",
    "Recent Conversion",
    "Last Activity Date",
    "Lebenszyklusphase",
]
DEAL_ALIASES: dict[str, list[str]] = {
    "id": ["Record ID", "Deal ID", "Record ID - Deal", "Datensatz-ID", "hs_object_id"],
    "name": ["Deal Name", "Dealname"],
    "stage": ["Deal Stage", "Dealstage", "Deal-Phase"],
    "won": ["Is Closed Won", "hs_is_closed_won"],
    "amount": ["Amount", "Betrag"],
    "currency": ["Currency", "Deal currency code", "deal_currency_code"],
    "closed": ["Close Date", "Closedate", "Abschlussdatum"],
    "type": ["Deal Type", "Dealtype"],
    "source": ["Original Traffic Source", "Original Source", "Original Source Type",
               "hs_analytics_source"],
    "d1": ["Original Traffic Source Drill-Down 1", "Original Source Drill-Down 1",
           "Original Source Data 1"],
    "d2": ["Original Traffic Source Drill-Down 2", "Original Source Drill-Down 2",
           "Original Source Data 2"],
    "contact": ["Associated Contact", "Associated Contacts", "Associated Contact IDs"],
    "company": ["Associated Company", "Associated Companies", "Associated Company IDs"],
}  # fmt: skip
_DEAL_MARKERS = ["Deal Stage", "Pipeline", "Amount", "Close Date", "Deal owner", "Deal Type"]
_ANONYMOUS = "no email, phone or name: cannot tell who this contact is"
_WON = r"closed[ _-]?won|^won\b|gewonnen|gagn[ée]|ganad[oa]"
_TIME_FORMATS = (
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%d.%m.%Y %H:%M",
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%d.%m.%Y",
)
#: HubSpot's source names (internal names and labels, normalised with :func:`_source_key`)
SOURCE_KINDS = {
    "organic_search": "organic_search",
    "paid_search": "paid_search",
    "social_media": "social",
    "organic_social": "social",
    "paid_social": "paid_social",
    "email_marketing": "email",
    "referrals": "referral",
    "referral": "referral",
    "ai_referrals": "referral",
    "direct_traffic": "direct",
    "direct": "direct",
    "offline": "offline",
    "offline_sources": "offline",
    "other_campaigns": "other",
}
_SOCIAL = ("linkedin", "facebook", "instagram", "x", "youtube", "tiktok", "pinterest", "reddit",
           "threads", "bluesky", "social_other")  # fmt: skip
_PAID_SOCIAL = ("linkedin_ads", "meta_ads", "x_ads", "tiktok_ads", "youtube_ads")
#: words in an offline source's drill-downs that name a channel
_OFFLINE_WORDS = [
    ("trade_shows", r"trade ?show|\bexpo|conference|booth|\bevents?\b|\bfairs?\b|workshop|meetup"),
    ("phone", r"\bphone|\bcalls?\b"),
    ("word_of_mouth", r"word of mouth|referr|recommend"),
]


_PERSON = ["email", "first name", "last name", "e-mail", "vorname", "nachname"]


def _required(kind: str, sure: bool = True) -> list[list[str]]:
    """The columns a contacts or deals header holds (alternatives per column)."""
    if kind == "deals":
        return [DEAL_ALIASES["id"], DEAL_ALIASES["name"], _DEAL_MARKERS]
    return [_RECORD_ID, _PERSON, _CONTACT_MARKERS] if sure else [_RECORD_ID, _PERSON]


def _csv_header(head: bytes, kind: str, sure: bool = True) -> Header | None:
    h = find_header(head, _required(kind, sure))
    return None if h is None or (kind == "contacts" and "deal name" in h.normed) else h


def _sheet_header(rows: list[list[str | None]], kind: str, sure: bool = True) -> int | None:
    """The index of the header row in the first rows of a sheet."""
    req = [{norm(a) for a in alts} for alts in _required(kind, sure)]

    def is_header(cols: list[str]) -> bool:
        have = set(cols)
        return all(alts & have for alts in req) and not (kind == "contacts" and "deal name" in have)

    hit = scan_rows(rows, is_header)
    return hit[0] if hit else None


_SHEET_SUFFIXES = (".xlsx", ".xls", ".xlsm", ".ods")


def _sheet_rows(path: Path, nrows: int | None = None) -> list[list[str | None]]:
    """The first sheet's rows (HubSpot writes one sheet)."""
    sheets = read_sheets(path, nrows, first_only=True, exact_below=2**53, durations=False)
    return sheets[0][1]


def _kind_of(path: Path, head: bytes) -> tuple[str, Header | int, bool] | None:
    """('contacts'|'deals', CSV header or the spreadsheet header row index, sure).

    A contacts view exported with only Record ID, names and email has no HubSpot-only column:
    it is still read (when nothing else bids higher, or with ``--source hubspot``), not sure."""
    sheet = path.suffix.lower() in _SHEET_SUFFIXES
    rows = _sheet_rows(path, nrows=40) if sheet else []
    for kind, sure in (("deals", True), ("contacts", True), ("contacts", False)):
        found = _sheet_header(rows, kind, sure) if sheet else _csv_header(head, kind, sure)
        if found is not None:
            return kind, found, sure
    return None


class HubSpotSource:
    name = "hubspot"
    description = "HubSpot CRM exports: contacts and deals (CSV, XLSX, XLS)"
    detection_rule = (
        "contacts: a header with Record ID, Email or a name, and a HubSpot property such as "
        "Lifecycle Stage, Create Date or Original Source; deals: Record ID, Deal Name and one of "
        "Deal Stage, Pipeline, Amount, Close Date"
    )

    @quiet_detect
    def detect(self, path: Path, head: bytes) -> Detection | None:
        found = _kind_of(path, head)
        if found is None:
            return None
        kind, _, sure = found
        table = "people" if kind == "contacts" else "outcomes"
        if not sure:
            return Detection(
                self.name, 0.6, "Record ID with names/email: maybe a HubSpot contacts view", table
            )
        return Detection(self.name, 0.95, f"HubSpot {kind} export header", table)

    def stage(self, ctx: StageContext) -> list[StagedTable]:
        found = _kind_of(ctx.path, read_head(ctx.path))
        if found is None:
            raise UnusableFile(
                str(ctx.path),
                "not a HubSpot contacts or deals export (no header with Record ID and Email, "
                "First Name or Deal Name in the first 40 lines)",
            )
        kind, where, _ = found
        raw = f"{ctx.prefix}_hubspot_raw"
        names, src_rejects, note = _stage_raw(ctx, where, raw)
        try:
            with dropped_on_error(ctx, "hubspot"):
                if kind == "contacts":
                    return _stage_contacts(ctx, raw, names, src_rejects, note)
                return [_stage_deals(ctx, raw, names, src_rejects, note)]
        finally:
            drop(ctx.con, raw)


def _stage_raw(
    ctx: StageContext, where: Header | int, raw: str
) -> tuple[list[str], list[tuple[int, str, str, str]], str]:
    if isinstance(where, Header):
        _, rejects, note = stage_csv(ctx, where, raw)
        return where.normed, rejects, note
    rows = _sheet_rows(ctx.path)
    names, _ = register_sheet(ctx.con, raw, rows[where], rows[where + 1 :])
    return names, [], "read from the first sheet"


# -- SQL helpers ---------------------------------------------------------------------------------


def _local_ts(x: str) -> str:
    """Portal-local time text → ``YYYY-MM-DDTHH:MM:SS``; a value with Z/offset and a value no
    format reads are passed on as written (the loader converts the one, rejects the other)."""
    tries = ", ".join(f"try_strptime({x}, {lit(f)})" for f in _TIME_FORMATS)
    return (
        f"CASE WHEN regexp_matches({x}, 'T.*(Z|[+-][0-9]{{2}}:?[0-9]{{2}})$') THEN {x} "
        f"ELSE coalesce(strftime(coalesce({tries}), '%Y-%m-%dT%H:%M:%S'), {x}) END"
    )


def _source_key(x: str) -> str:
    return f"trim(regexp_replace(lower({x}), '[^a-z]+', '_', 'g'), '_')"


def source_channel(cfg: dict[str, Any] | None = None) -> str:
    """SQL mapping columns ``src``, ``d1``, ``d2`` (HubSpot source and drill-downs) to a channel."""
    kinds = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in SOURCE_KINDS.items())
    kind = f"(CASE {_source_key('src')} {kinds} END)"
    organic = channel_sql("d1", None, None, cfg)
    paid_search = channel_sql("d1", "'cpc'", None, cfg)
    paid_social = channel_sql("d1", "'paid'", None, cfg)
    other = channel_sql("coalesce(d1, src)", "d2", None, cfg)
    words = " ".join(
        f"WHEN regexp_matches(lower(concat_ws(' ', d1, d2)), {lit(rx)}) THEN {lit(ch)}"
        for ch, rx in _OFFLINE_WORDS
    )
    social = ", ".join(lit(s) for s in _SOCIAL)
    paid = ", ".join(lit(s) for s in _PAID_SOCIAL)
    return f"""(CASE
      WHEN src IS NULL THEN NULL
      WHEN {kind} = 'organic_search' THEN 'organic_search'
      WHEN {kind} = 'paid_search' THEN
        CASE WHEN {paid_search} IN ('google_ads', 'microsoft_ads') THEN {paid_search}
             ELSE 'google_ads' END
      WHEN {kind} = 'social' THEN
        CASE WHEN {organic} IN ({social}) THEN {organic} ELSE 'social_other' END
      WHEN {kind} = 'paid_social' THEN
        CASE WHEN {paid_social} IN ({paid}) THEN {paid_social} ELSE 'paid_other' END
      WHEN {kind} = 'email' THEN 'newsletter'
      WHEN {kind} = 'referral' THEN 'referral'
      WHEN {kind} = 'direct' THEN 'direct'
      WHEN {kind} = 'offline' THEN (CASE {words} ELSE 'unassigned' END)
      WHEN {kind} = 'other' THEN (CASE WHEN d1 IS NULL THEN 'unassigned' ELSE {other} END)
      ELSE {channel_sql("src", None, None, cfg)}
    END)"""


def _with_channel(con: duckdb.DuckDBPyConnection, base: str, cfg: dict[str, Any]) -> None:
    """Add ``channel_id`` to ``base`` (columns src, d1, d2), mapping each distinct triple once."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE "{base}" AS
        WITH m AS (
          SELECT src, d1, d2, {source_channel(cfg)} AS channel_id
          FROM (SELECT DISTINCT src, d1, d2 FROM "{base}" WHERE src IS NOT NULL))
        SELECT b.*, m.channel_id FROM "{base}" b LEFT JOIN m
          ON b.src = m.src AND b.d1 IS NOT DISTINCT FROM m.d1 AND b.d2 IS NOT DISTINCT FROM m.d2"""
    )


# -- contacts ------------------------------------------------------------------------------------


def _stage_contacts(
    ctx: StageContext,
    raw: str,
    names: list[str],
    src_rejects: list[tuple[int, str, str, str]],
    note: str,
) -> list[StagedTable]:
    con = ctx.con
    base = f"{ctx.prefix}_hubspot_base"
    people = f"{ctx.prefix}_hubspot_people"
    leads = f"{ctx.prefix}_hubspot_leads"
    c = pick(names, CONTACT_ALIASES)

    def a(field: str) -> str:
        """The first non-empty value among the aliases the export has (Phone Number empty,
        Mobile Phone Number filled)."""
        return first_filled(names, CONTACT_ALIASES[field])

    first, last = cell(c["first_name"]), cell(c["last_name"])
    country = cell(c["country"])
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE "{base}" AS
        WITH p AS (
          SELECT __row, {cell(c["id"])} AS record_id, {first} AS first_name, {last} AS last_name,
            NULLIF(concat_ws(' ', {first}, {last}), '') AS name,
            {a("email")} AS email, {a("phone")} AS phone,
            {a("company")} AS company, {cell(c["title"])} AS title,
            {cell(c["industry"])} AS industry,
            NULLIF(concat_ws(', ', {cell(c["city"])}, {cell(c["state"])}, {country}), '')
              AS location,
            CASE WHEN length({country}) = 2 THEN upper({country}) END AS country,
            {cell(c["created"])} AS created_raw,
            {cell(c["source"])} AS src, {cell(c["d1"])} AS d1, {cell(c["d2"])} AS d2
          FROM "{raw}")
        SELECT *, {_local_ts("created_raw")} AS created,
          NULLIF(concat_ws('; ',
            CASE WHEN record_id IS NULL THEN 'missing: the Record ID is empty' END,
            CASE WHEN email IS NULL AND phone IS NULL AND name IS NULL
                 THEN 'no email, phone or name: cannot tell who this contact is' END), '')
            AS __why
        FROM p"""
    )
    _with_channel(con, base, user_channel_config(con))
    anonymous = "(email IS NULL AND phone IS NULL AND name IS NULL)"
    hints = (
        "email AS __email, phone AS __phone, record_id AS __crm_id, 'hubspot' AS __platform, "
        "name AS __name, first_name AS __first_name, last_name AS __last_name, "
        "company AS __company, title AS __title, location AS __location, country AS __country"
    )
    staged: list[StagedTable] = []
    plan = [
        (
            "people",
            people,
            "person_id",
            "name AS display_name, company, title, industry, location, created AS first_seen",
        ),
        (
            "outcomes",
            leads,
            "outcome_id",
            "'hubspot:contact:' || record_id AS outcome_id, created AS ts, 'lead' AS type, "
            "channel_id",
        ),
    ]
    if c["created"] is None:  # a view without Create Date: people, but no dated leads
        plan = plan[:1]
        note = "; ".join(x for x in (note, "no Create Date column: contacts are not leads") if x)
    for table, rel, key_col, select in plan:
        if key_col == "person_id":
            cols = f"CASE WHEN record_id IS NULL OR {anonymous} THEN 'person_id' END"
        else:
            cols = (
                f"NULLIF(concat_ws(', ', CASE WHEN record_id IS NULL THEN {lit(key_col)} END, "
                f"CASE WHEN {anonymous} THEN 'person_id' END), '')"
            )
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE "{base}_chk" AS SELECT *,
              NULLIF(concat_ws('; ',
                CASE WHEN record_id IS NULL THEN {lit(key_col + ": missing: the Record ID is empty")} END,
                CASE WHEN {anonymous} THEN {lit("person_id: " + _ANONYMOUS)} END), '')
                AS __bad_reason,
              {cols} AS __bad_col
            FROM "{base}" """
        )
        rejects = src_rejects + collect_rejects(con, f"{base}_chk", raw, max_raw=None)
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{rel}" AS SELECT __row, {select}, {hints} '
            f'FROM "{base}_chk" WHERE __bad_col IS NULL ORDER BY __row'
        )
        staged.append(staged_table(con, table, rel, rejects, [note], local_times=True))
        drop(con, f"{base}_chk")
    drop(con, base)
    return staged


# -- deals ---------------------------------------------------------------------------------------


def _stage_deals(
    ctx: StageContext,
    raw: str,
    names: list[str],
    src_rejects: list[tuple[int, str, str, str]],
    note: str,
) -> StagedTable:
    con = ctx.con
    base = f"{ctx.prefix}_hubspot_dbase"
    out = f"{ctx.prefix}_hubspot_deals"
    c = pick(names, DEAL_ALIASES)
    stage, won = cell(c["stage"]), cell(c["won"])
    first_contact = f"trim(split_part({cell(c['contact'])}, ';', 1))"
    in_parens = "NULLIF(regexp_extract(contact, '\\(([^()]*)\\)\\s*$', 1), '')"
    before_parens = "NULLIF(trim(regexp_replace(contact, '\\s*\\([^()]*\\)\\s*$', '')), '')"
    company = (
        f"NULLIF(trim(regexp_replace(trim(split_part({cell(c['company'])}, ';', 1)), "
        "'\\s*\\([^()]*\\)\\s*$', '')), '')"
    )
    dtype = f"lower({cell(c['type'])})"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE "{base}" AS
        WITH p AS (
          SELECT __row, {cell(c["id"])} AS record_id, {stage} AS stage,
            coalesce(lower({won}) IN ('true', 'yes', '1'), false)
              OR coalesce(regexp_matches(lower({stage}), {lit(_WON)}), false) AS is_won,
            {cell(c["amount"])} AS amount_raw, {money_sql(cell(c["amount"]))} AS amount,
            upper({cell(c["currency"])}) AS currency,
            {cell(c["closed"])} AS closed_raw,
            CASE WHEN {dtype} LIKE '%renew%' THEN 'renewal'
                 WHEN {dtype} LIKE '%existing%' THEN 'order'
                 ELSE 'new_account' END AS type,
            {first_contact} AS contact,
            {cell(c["source"])} AS src, {cell(c["d1"])} AS d1, {cell(c["d2"])} AS d2,
            {company} AS company
          FROM "{raw}")
        SELECT *, {_local_ts("closed_raw")} AS closed,
          CASE WHEN contains({in_parens}, '@') THEN {in_parens}
               WHEN contains(contact, '@') AND {in_parens} IS NULL THEN contact END AS email,
          CASE WHEN regexp_matches({in_parens}, '^[0-9]+$') THEN {in_parens}
               WHEN regexp_matches(contact, '^[0-9]+$') THEN contact END AS crm_id,
          CASE WHEN {in_parens} IS NOT NULL THEN {before_parens}
               WHEN NOT contains(contact, '@') AND NOT regexp_matches(contact, '^[0-9]+$')
               THEN contact END AS name
        FROM p"""
    )
    _with_channel(con, base, user_channel_config(con))
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE "{base}" AS SELECT *,
          CASE WHEN is_won THEN NULLIF(concat_ws('; ',
            CASE WHEN record_id IS NULL THEN 'outcome_id: missing: the Record ID is empty' END,
            CASE WHEN amount < 0 THEN 'value: negative Amount ''' || amount_raw || '''' END),
            '') END AS __bad_reason,
          CASE WHEN is_won THEN NULLIF(concat_ws(', ',
            CASE WHEN record_id IS NULL THEN 'outcome_id' END,
            CASE WHEN amount < 0 THEN 'value' END), '') END AS __bad_col
        FROM "{base}" """
    )
    rejects = src_rejects + collect_rejects(con, base, raw, max_raw=None)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE "{out}" AS
        SELECT __row, 'hubspot:deal:' || record_id AS outcome_id, closed AS ts, type,
          coalesce(CAST(amount AS VARCHAR), amount_raw) AS value, currency, channel_id,
          record_id AS order_ref,
          email AS __email, crm_id AS __crm_id, 'hubspot' AS __platform, name AS __name,
          company AS __company
        FROM "{base}" WHERE is_won AND __bad_col IS NULL ORDER BY __row"""
    )
    n, open_deals, stages = left_out(con, base, "is_won", "coalesce(stage, 'no stage')")
    parts = [note] if note else []
    parts.append(f"{n} closed-won deals")
    if open_deals:
        parts.append(f"{open_deals} open or lost deals are not outcomes ({stages})")
    drop(con, base)
    return staged_table(con, "outcomes", out, rejects, parts, local_times=True)


register(HubSpotSource())

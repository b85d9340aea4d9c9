"""Mailchimp: audience exports (subscribed / unsubscribed / cleaned members) and campaign reports.

Audience > All contacts > Export Audience gives a zip of three CSVs with the same shape: the
account's merge fields first (``Email Address``, ``First Name``, ``Last Name``, ``Address``,
``Phone Number``, ``Birthday`` by default; users rename and add), then Mailchimp's fixed
UPPERCASE tail (``MEMBER_RATING``, ``OPTIN_TIME``, ``CONFIRM_TIME``, ..., ``LAST_CHANGED``,
``LEID``, ``EUID``, ``TAGS``). The unsubscribed file adds ``UNSUB_TIME``, ``UNSUB_CAMPAIGN_*``,
``UNSUB_REASON*`` and the cleaned file ``CLEAN_TIME``, ``CLEAN_CAMPAIGN_*`` (their position varies
between vintages, so everything is mapped by name). The zip can be imported as it is.

* members → ``audience`` on channel ``newsletter`` (identity: the email; ``followed_at`` = confirm
  time, else opt-in time; ``unfollowed_at`` = unsubscribe or clean time), with name, phone and
  address as person hints. Mailchimp writes these times in UTC. The audience key is the email, so
  a later export updates what changed (someone unsubscribed) and adds nobody twice.
* campaigns (Analytics > Reports > Export as CSV) → one ``contents`` row per campaign (format
  ``newsletter``, id ``mailchimp:campaign:<Unique Id>``, published at the send time, which is in
  the account's time zone) and per-campaign ``metrics`` on the send day: ``sent``, ``delivered``,
  ``bounces`` (soft/hard), ``unique_opens``, ``opens``, ``unique_clicks``, ``clicks``,
  ``unsubscribes``, ``abuse_complaints``, ``forwards``, ``orders``, ``revenue``.

Rows Mailchimp would never write are rejected whole, naming the column: an email that is not an
email, a ``MEMBER_RATING`` outside 1–5, a ``LAST_CHANGED`` that is not a time, a count that is not
a number; bad subscribe/unsubscribe times are left to the loader, which names ``followed_at`` /
``unfollowed_at``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UnusableFile
from .common import Header, read_head, stage_csv, ts_sql
from .ga4 import (
    Check,
    StagedColumns,
    bad_columns_sql,
    blank_sql,
    collect_rejects,
    count,
    drop,
    header_at,
    lit,
    number_checks,
    number_sql,
    qcol,
    show_sql,
    unpivot_metrics,
)
from .registry import Detection, StageContext, StagedTable, register

#: Mailchimp's fixed member columns: the signature of an audience export
_TAIL = ("member_rating", "optin_time", "confirm_time", "last_changed", "leid", "euid")
_EMAIL = ("email address", "email", "e-mail address", "e-mail", "email_address", "courriel")
_FIRST = ("first name", "fname", "firstname", "first_name", "prénom", "vorname", "nombre")
_LAST = ("last name", "lname", "lastname", "last_name", "nom", "nachname", "apellido")
_PHONE = ("phone number", "phone", "mobile", "mobile phone", "telephone", "téléphone", "telefon")
_ADDRESS = ("address", "adresse", "dirección", "mailing address")
_COMPANY = ("company", "company name", "organization", "organisation", "firma", "entreprise")
_TIMES = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%Y-%m-%d")
_EMAIL_RX = r"^[^@\s,;<>]+@[^@\s,;<>]+\.[A-Za-z]{2,}$"

#: campaign report column → metric (first alias present wins); normed header names
_CAMPAIGN_METRICS: dict[str, tuple[str, ...]] = {
    "sent": ("total recipients", "emails sent", "recipients"),
    "delivered": ("successful deliveries", "delivered"),
    "bounces": ("total bounces", "bounces"),
    "soft_bounces": ("soft bounces",),
    "hard_bounces": ("hard bounces",),
    "unique_opens": ("unique opens", "opens (unique)"),
    "opens": ("total opens", "opens"),
    "unique_clicks": ("unique clicks", "clicks (unique)"),
    "clicks": ("total clicks", "clicks"),
    "unsubscribes": ("unsubscribes", "unsubscribed"),
    "abuse_complaints": ("abuse complaints", "abuse reports"),
    "forwards": ("times forwarded", "forwards"),
    "orders": ("total orders", "orders"),
    "revenue": ("total revenue", "revenue"),
}
_CAMPAIGN_TIMES = (
    "%b %d, %Y %I:%M %p",
    "%B %d, %Y %I:%M %p",
    "%b %d, %Y %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M",
    "%b %d, %Y",
)


def _is_members(cols: list[str]) -> bool:
    have = set(cols)
    return sum(t in have for t in _TAIL) >= 4 and any(e in have for e in _EMAIL)


def _is_campaigns(cols: list[str]) -> bool:
    have = set(cols)
    return (
        "title" in have
        and "subject" in have
        and "send date" in have
        and any(a in have for a in ("unique opens", "total recipients", "emails sent", "opens"))
    )


def _first(cols: list[str], aliases: tuple[str, ...]) -> str | None:
    return next((a for a in aliases if a in cols), None)


def _member_kind(path: Path, cols: list[str]) -> str:
    if "unsub_time" in cols:
        return "unsubscribed"
    if "clean_time" in cols:
        return "cleaned"
    name = path.name.lower()
    for k in ("unsubscribed", "cleaned", "subscribed", "nonsubscribed"):
        if name.startswith(k):
            return k
    return "subscribed"


class MailchimpSource:
    name = "mailchimp"
    description = (
        "Mailchimp audience export (subscribed / unsubscribed / cleaned members CSVs) "
        "→ newsletter audience; campaigns report → newsletter contents and per-campaign metrics"
    )
    detection_rule = (
        "members: Mailchimp's fixed columns MEMBER_RATING, OPTIN_TIME, CONFIRM_TIME, "
        "LAST_CHANGED, LEID, EUID next to an email column; "
        "campaigns: Title, Subject, Send Date and open/recipient counts"
    )

    def detect(self, path: Path, head: bytes) -> Detection | None:
        try:
            if header_at(head, _is_members) is not None:
                return Detection(
                    self.name, 0.97, "Mailchimp member columns (MEMBER_RATING ... EUID)"
                )
            if header_at(head, _is_campaigns) is not None:
                return Detection(self.name, 0.95, "Mailchimp campaign report columns")
            return None
        except Exception:
            return None

    def stage(self, ctx: StageContext) -> list[StagedTable]:
        head = read_head(ctx.path)
        header = header_at(head, _is_members)
        if header is not None:
            return [self._stage_members(ctx, header)]
        header = header_at(head, _is_campaigns)
        if header is not None:
            return self._stage_campaigns(ctx, header)
        raise UnusableFile(
            str(ctx.path),
            "not a Mailchimp export: expected an audience export (Email Address ... MEMBER_RATING, "
            "OPTIN_TIME, CONFIRM_TIME, LAST_CHANGED, LEID, EUID) or a campaigns report "
            "(Title, Subject, Send Date, Unique Opens ...)",
        )

    # -- audience ------------------------------------------------------------------------------
    def _stage_members(self, ctx: StageContext, header: Header) -> StagedTable:
        con = ctx.con
        raw = f"{ctx.prefix}_mc_raw"
        _n, csv_rejects, note = stage_csv(ctx, header, raw)
        c = StagedColumns(ctx, header, raw)
        normed, lab, labels, _by_norm = c.normed, c.label, c.labels, c.by_norm

        email_a = _first(normed, _EMAIL)
        assert email_a is not None
        email = c(email_a)
        first = c(_first(normed, _FIRST))
        last = c(_first(normed, _LAST))
        phone = c(_first(normed, _PHONE))
        address = c(_first(normed, _ADDRESS))
        company = c(_first(normed, _COMPANY))
        kind = _member_kind(ctx.path, normed)

        def t(alias: str) -> tuple[str, str]:
            x = c(alias)
            return x, ts_sql(x, _TIMES)

        confirm, confirm_t = t("confirm_time")
        optin, optin_t = t("optin_time")
        unsub, unsub_t = t("unsub_time")
        clean, clean_t = t("clean_time")
        changed, changed_t = t("last_changed")
        rating = c("member_rating")

        # a bad time is staged raw so that the loader names the column and shows the value
        followed = (
            f"CASE WHEN NOT {blank_sql(confirm)} AND {confirm_t} IS NULL THEN {confirm} "
            f"WHEN NOT {blank_sql(optin)} AND {optin_t} IS NULL THEN {optin} "
            f"ELSE strftime(coalesce({confirm_t}, {optin_t}), '%Y-%m-%dT%H:%M:%S') END"
        )
        unfollowed = (
            f"CASE WHEN NOT {blank_sql(unsub)} AND {unsub_t} IS NULL THEN {unsub} "
            f"WHEN NOT {blank_sql(clean)} AND {clean_t} IS NULL THEN {clean} "
            f"ELSE strftime(coalesce({unsub_t}, {clean_t}), '%Y-%m-%dT%H:%M:%S') END"
        )
        rating_n = number_sql(rating)
        checks = [
            Check(lab(email_a), f"{blank_sql(email)}", "'missing (required)'"),
            Check(
                lab(email_a),
                f"NOT regexp_matches(trim({email}), {lit(_EMAIL_RX)})",
                f"'not an email address: ' || {show_sql(email)}",
            ),
            Check(
                lab("member_rating"),
                f"NOT {blank_sql(rating)} AND ({rating_n} IS NULL OR {rating_n} NOT IN (1, 2, 3, 4, 5))",
                f"'not a member rating (1 to 5): ' || {show_sql(rating)}",
            ),
            Check(
                lab("last_changed"),
                f"NOT {blank_sql(changed)} AND {changed_t} IS NULL",
                f"'not a date-time: ' || {show_sql(changed)}",
            ),
        ]
        parsed = f"{ctx.prefix}_mc_p"
        location = f"NULLIF(regexp_replace(trim({address}), '\\s{{2,}}', ', ', 'g'), '')"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {qcol(parsed)} AS
            SELECT r.__row, 'newsletter' AS channel_id,
                   {followed} AS followed_at, {unfollowed} AS unfollowed_at,
                   NULLIF(trim({email}), '') AS __email,
                   NULLIF(trim({first}), '') AS __first_name,
                   NULLIF(trim({last}), '') AS __last_name,
                   NULLIF(trim({phone}), '') AS __phone,
                   NULLIF(upper(trim({c("cc")})), '') AS __country,
                   {location} AS __location,
                   NULLIF(trim({company}), '') AS __company,
                   {bad_columns_sql(checks)}
            FROM {qcol(raw)} r"""
        )
        rejects = csv_rejects + collect_rejects(con, parsed, raw, labels)
        staged = f"{ctx.prefix}_mc_audience"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {qcol(staged)} AS
            SELECT * EXCLUDE (__bad_col, __bad_reason) FROM {qcol(parsed)}
            WHERE __bad_col IS NULL"""
        )
        drop(con, raw, parsed)
        return StagedTable(
            "audience",
            staged,
            count(con, staged) + len(rejects),
            rejects=rejects,
            note="; ".join(x for x in (f"Mailchimp {kind} members", note) if x),
            primary_identity="email",
            local_times=False,
        )

    # -- campaigns -----------------------------------------------------------------------------
    def _stage_campaigns(self, ctx: StageContext, header: Header) -> list[StagedTable]:
        con = ctx.con
        raw = f"{ctx.prefix}_mcc_raw"
        _n, csv_rejects, note = stage_csv(ctx, header, raw)
        c = StagedColumns(ctx, header, raw)
        normed, lab, labels, by_norm = c.normed, c.label, c.labels, c.by_norm

        title, subject, send = c("title"), c("subject"), c("send date")
        uid = c(_first(normed, ("unique id", "campaign id", "id")))
        send_t = ts_sql(send, _CAMPAIGN_TIMES)
        key = (
            f"coalesce(NULLIF(trim({uid}), ''), "
            f"trim(coalesce({title}, '')) || '|' || trim(coalesce({send}, '')))"
        )
        parts = [
            f"'mailchimp:campaign:' || {key} AS content_id",
            "'newsletter' AS channel_id",
            "'newsletter' AS format",
            f"NULLIF(trim({title}), '') AS title",
            f"NULLIF(trim({subject}), '') AS text",
            f"CASE WHEN {send_t} IS NULL THEN {send} "
            f"ELSE strftime({send_t}, '%Y-%m-%dT%H:%M:%S') END AS published_at",
            f"CAST({send_t} AS DATE) AS __day",
            f"{send} AS __raw_send",
            f"{title} AS __raw_title",
            f"{uid} AS __raw_uid",
        ]
        checks = [
            Check(
                lab("send date"),
                f"NOT {blank_sql('__raw_send')} AND __day IS NULL",
                f"'not a date-time: ' || {show_sql('__raw_send')}",
            ),
            Check(
                lab("title"),
                f"{blank_sql('__raw_title')} AND {blank_sql('__raw_uid')}",
                "'missing (required): a campaign needs a title or an id'",
            ),
        ]
        metric_cols: list[tuple[str, str]] = []
        taken: set[str] = set()
        for i, (metric, aliases) in enumerate(_CAMPAIGN_METRICS.items()):
            a = next((x for x in aliases if x in by_norm and x not in taken), None)
            if a is None:
                continue
            taken.add(a)
            x = c(a)
            parts.append(f"{x} AS __raw_m{i}")
            parts.append(f"{number_sql(x)} AS __m{i}")
            metric_cols.append((metric, f"__m{i}"))
            checks.extend(number_checks(lab(a), f"__raw_m{i}", f"__m{i}"))
        parsed = f"{ctx.prefix}_mcc_p"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {qcol(parsed)} AS
            SELECT *, {bad_columns_sql(checks)} FROM (
              SELECT r.__row, {", ".join(parts)} FROM {qcol(raw)} r)"""
        )
        rejects = csv_rejects + collect_rejects(con, parsed, raw, labels)
        contents = f"{ctx.prefix}_mcc_contents"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {qcol(contents)} AS
            SELECT __row, content_id, channel_id, format, title, text, published_at
            FROM {qcol(parsed)} WHERE __bad_col IS NULL"""
        )
        metrics = f"{ctx.prefix}_mcc_metrics"
        n_metrics = unpivot_metrics(
            con,
            parsed,
            metrics,
            metric_cols,
            channel="channel_id",
            content="content_id",
            day="__day",
            where="__bad_col IS NULL AND __day IS NOT NULL",
        )
        drop(con, raw, parsed)
        return [
            StagedTable(
                "contents",
                contents,
                count(con, contents) + len(rejects),
                rejects=rejects,
                note="; ".join(x for x in ("Mailchimp campaigns", note) if x),
                local_times=True,
            ),
            StagedTable(
                "metrics",
                metrics,
                n_metrics,
                note="Mailchimp campaign metrics, dated at the send day",
            ),
        ]


register(MailchimpSource())

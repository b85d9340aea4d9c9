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

from functools import partial
from pathlib import Path

from .common import (
    Check,
    CheckedCsv,
    Header,
    blank_sql,
    email_checks,
    header_at,
    iso_sql,
    number_checks,
    number_sql,
    nz,
    quiet_detect,
    show_sql,
    stage_first,
    staged_table,
    time_text_sql,
    ts_sql,
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

    @quiet_detect
    def detect(self, path: Path, head: bytes) -> Detection | None:
        if header_at(head, _is_members) is not None:
            return Detection(self.name, 0.97, "Mailchimp member columns (MEMBER_RATING ... EUID)")
        if header_at(head, _is_campaigns) is not None:
            return Detection(self.name, 0.95, "Mailchimp campaign report columns")
        return None

    def stage(self, ctx: StageContext) -> list[StagedTable]:
        return stage_first(
            ctx,
            [
                (partial(header_at, is_header=_is_members), self._stage_members),
                (partial(header_at, is_header=_is_campaigns), self._stage_campaigns),
            ],
            "not a Mailchimp export: expected an audience export (Email Address ... MEMBER_RATING, "
            "OPTIN_TIME, CONFIRM_TIME, LAST_CHANGED, LEID, EUID) or a campaigns report "
            "(Title, Subject, Send Date, Unique Opens ...)",
        )

    # -- audience ------------------------------------------------------------------------------
    def _stage_members(self, ctx: StageContext, header: Header) -> list[StagedTable]:
        con = ctx.con
        members = CheckedCsv(ctx, header, "mc")
        c = members.columns
        lab = c.label

        email_a, email = c.required(_EMAIL)
        first = c(c.first(_FIRST))
        last = c(c.first(_LAST))
        phone = c(c.first(_PHONE))
        address = c(c.first(_ADDRESS))
        company = c(c.first(_COMPANY))
        kind = _member_kind(ctx.path, c.normed)

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
        followed = time_text_sql(
            [(confirm, confirm_t), (optin, optin_t)], f"coalesce({confirm_t}, {optin_t})"
        )
        unfollowed = time_text_sql(
            [(unsub, unsub_t), (clean, clean_t)], f"coalesce({unsub_t}, {clean_t})"
        )
        rating_n = number_sql(rating)
        checks = [
            *email_checks(lab(email_a), email),
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
        location = f"NULLIF(regexp_replace(trim({address}), '\\s{{2,}}', ', ', 'g'), '')"
        rejects = members.parse(
            [
                "'newsletter' AS channel_id",
                f"{followed} AS followed_at",
                f"{unfollowed} AS unfollowed_at",
                f"{nz(email)} AS __email",
                f"{nz(first)} AS __first_name",
                f"{nz(last)} AS __last_name",
                f"{nz(phone)} AS __phone",
                f"NULLIF(upper(trim({c('cc')})), '') AS __country",
                f"{location} AS __location",
                f"{nz(company)} AS __company",
            ],
            checks,
        )
        staged = members.keep("audience", "* EXCLUDE (__bad_col, __bad_reason)")
        members.drop()
        notes = [f"Mailchimp {kind} members", members.note]
        return [staged_table(con, "audience", staged, rejects, notes, primary_identity="email")]

    # -- campaigns -----------------------------------------------------------------------------
    def _stage_campaigns(self, ctx: StageContext, header: Header) -> list[StagedTable]:
        con = ctx.con
        campaigns = CheckedCsv(ctx, header, "mcc")
        c = campaigns.columns
        lab = c.label

        title, subject, send = c("title"), c("subject"), c("send date")
        uid = c(c.first(("unique id", "campaign id", "id")))
        send_t = ts_sql(send, _CAMPAIGN_TIMES)
        key = (
            f"coalesce({nz(uid)}, trim(coalesce({title}, '')) || '|' || trim(coalesce({send}, '')))"
        )
        parts = [
            f"'mailchimp:campaign:' || {key} AS content_id",
            "'newsletter' AS channel_id",
            "'newsletter' AS format",
            f"{nz(title)} AS title",
            f"{nz(subject)} AS text",
            f"CASE WHEN {send_t} IS NULL THEN {send} ELSE {iso_sql(send_t)} END AS published_at",
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
            a = next((x for x in aliases if x in c.by_norm and x not in taken), None)
            if a is None:
                continue
            taken.add(a)
            x = c(a)
            parts.append(f"{x} AS __raw_m{i}")
            parts.append(f"{number_sql(x)} AS __m{i}")
            metric_cols.append((metric, f"__m{i}"))
            checks.extend(number_checks(lab(a), f"__raw_m{i}", f"__m{i}"))
        rejects = campaigns.parse(parts, checks, checks_on_items=True)
        contents = campaigns.keep(
            "contents", "__row, content_id, channel_id, format, title, text, published_at"
        )
        metrics = f"{campaigns.stem}_metrics"
        unpivot_metrics(
            con,
            campaigns.parsed,
            metrics,
            metric_cols,
            channel="channel_id",
            content="content_id",
            day="__day",
            where="__bad_col IS NULL AND __day IS NOT NULL",
        )
        campaigns.drop()
        return [
            staged_table(
                con,
                "contents",
                contents,
                rejects,
                ["Mailchimp campaigns", campaigns.note],
                local_times=True,
            ),
            staged_table(
                con, "metrics", metrics, notes=["Mailchimp campaign metrics, dated at the send day"]
            ),
        ]


register(MailchimpSource())

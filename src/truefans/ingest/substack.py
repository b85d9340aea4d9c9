"""Substack: the subscriber list (and the posts and opens of the full export).

Two ways to get the subscribers out of Substack, both read:

* **Settings > Import/Export > Export** ("Create new export", a zip): ``email_list.<pub>.csv``
  with ``email, active_subscription, expiry, plan, email_disabled, created_at,
  first_payment_at`` (older exports lack ``plan`` and ``first_payment_at``). The zip also holds
  ``posts.csv`` (``post_id, post_date, is_published, email_sent_at, ..., type, audience, title,
  subtitle``) and per post ``posts/<post_id>.opens.csv`` / ``.delivers.csv``
  (``post_id, timestamp, email, ...``).
* **Dashboard > Subscribers > Export** (the list as shown, with the columns chosen there):
  ``Email``, ``Name``, ``Subscription type``, ``Start date`` (or ``Subscription date``),
  ``Revenue``, ``Country`` ... Column names vary with the view; they are matched by alias.

What lands where:

* subscribers → ``audience`` on ``newsletter`` (identity: the email; ``followed_at`` = when they
  subscribed). Someone with ``email_disabled = true`` (or a cancel/unsubscribe date) no longer
  receives the newsletter: ``unfollowed_at`` is that date, else, since the export says when they
  joined but not when they stopped, their signup time (they count as gone; the note says how many).
* paid subscribers → ``outcomes`` of type ``subscription`` (id ``substack:subscription:<email>``,
  value = the revenue column) **only when the export has an amount** (the dashboard's Revenue);
  the settings export has none, so it gives no outcomes.
* ``posts.csv`` → ``contents`` (format ``newsletter``, id ``substack:post:<post_id>``).
* ``*.opens.csv`` → ``touchpoints`` of kind ``open`` (one per post, reader and time); the post is
  linked when ``posts.csv`` was imported before. ``*.delivers.csv`` are not read (a delivery
  is not engagement; inside a folder or the zip they are passed over).

Times in the settings export are UTC (``2024-01-10T10:00:59.000Z``); dashboard dates without a
zone are read as local times (``--tz``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from .common import (
    Check,
    CheckedCsv,
    Header,
    blank_sql,
    count_rows,
    email_checks,
    header_at,
    iso_sql,
    money_sql,
    nz,
    quiet_detect,
    show_sql,
    stage_first,
    staged_table,
    time_text_sql,
    utc_sql,
)
from .registry import Detection, StageContext, StagedTable, register

_EMAIL = ("email", "email address", "e-mail")
_NAME = ("name", "full name")
_TYPE = ("subscription type", "type", "plan", "subscription")
_START = (
    "start date",
    "subscription date",
    "subscribed",
    "subscribed at",
    "subscription created",
    "created at",
    "created_at",
    "date subscribed",
)
_END = ("cancel date", "canceled at", "cancelled at", "unsubscribed at", "unsubscribe date")
_REVENUE = ("revenue", "total revenue", "lifetime revenue", "amount paid", "amount", "total paid")
_CURRENCY = ("currency",)
_COUNTRY = ("country",)
_TRUE = "('true', 't', 'yes', 'y', '1')"


def _is_email_list(cols: list[str]) -> bool:
    have = set(cols)
    return "email" in have and ("active_subscription" in have or "email_disabled" in have)


def _is_dashboard(cols: list[str]) -> bool:
    have = set(cols)
    return (
        any(e in have for e in ("email", "email address"))
        and "subscription type" in have
        and any(s in have for s in (*_START, "activity", "emails received (6mo)", "revenue"))
    )


def _is_posts(cols: list[str]) -> bool:
    have = set(cols)
    return {"post_id", "post_date", "title"} <= have and (
        "is_published" in have or "email_sent_at" in have or "audience" in have
    )


def _is_engagement(cols: list[str]) -> bool:
    return {"post_id", "timestamp", "email"} <= set(cols)


class SubstackSource:
    name = "substack"
    description = (
        "Substack subscriber export (settings export email_list.*.csv or dashboard export) → "
        "newsletter audience (+ subscription outcomes when amounts are given); posts.csv → "
        "contents; *.opens.csv → open touchpoints"
    )
    detection_rule = (
        "email with active_subscription / email_disabled (settings export), or Email with "
        "Subscription type (dashboard export); posts.csv: post_id, post_date, title; "
        "opens/delivers: post_id, timestamp, email"
    )

    @quiet_detect
    def detect(self, path: Path, head: bytes) -> Detection | None:
        if header_at(head, _is_posts) is not None:
            return Detection(self.name, 0.92, "Substack posts.csv", "contents")
        if header_at(head, _is_engagement) is not None:
            name = path.name.lower()
            if name.endswith(".delivers.csv"):
                return None  # deliveries are not engagement: passed over
            if name.endswith(".opens.csv"):
                return Detection(self.name, 0.95, "Substack per-post opens")
            return Detection(self.name, 0.85, "post_id, timestamp, email (Substack opens)")
        if header_at(head, _is_email_list) is not None:
            return Detection(self.name, 0.95, "Substack email list (active_subscription)")
        if header_at(head, _is_dashboard) is not None:
            return Detection(self.name, 0.9, "Substack dashboard subscriber export")
        return None

    def stage(self, ctx: StageContext) -> list[StagedTable]:
        return stage_first(
            ctx,
            [
                (partial(header_at, is_header=test), fn)
                for test, fn in (
                    (_is_posts, self._stage_posts),
                    (_is_engagement, self._stage_opens),
                    (_is_email_list, self._stage_subscribers),
                    (_is_dashboard, self._stage_subscribers),
                )
            ],
            "not a Substack export: expected email_list.*.csv (email, active_subscription, ...), "
            "the dashboard's subscriber export (Email, Subscription type, ...), posts.csv or a "
            "post's opens.csv",
        )

    # -- subscribers ---------------------------------------------------------------------------
    def _stage_subscribers(self, ctx: StageContext, header: Header) -> list[StagedTable]:
        con = ctx.con
        t = CheckedCsv(ctx, header, "ss")
        c = t.columns
        settings = _is_email_list(header.normed)
        email_a, email = c.required(_EMAIL)
        start_a = c.first(_START)
        start = c(start_a)
        end_a = c.first(_END)
        end = c(end_a)
        first_pay = c("first_payment_at")
        disabled = c("email_disabled")
        active = c("active_subscription")
        typ = c(c.first(_TYPE))
        revenue_a = c.first(_REVENUE)
        revenue = c(revenue_a)
        start_t, end_t, pay_t = utc_sql(start), utc_sql(end), utc_sql(first_pay)
        gone = (
            f"(lower(trim(coalesce({disabled}, ''))) IN {_TRUE} OR "
            f"lower(trim(coalesce({typ}, ''))) IN ('unsubscribed', 'cancelled', 'canceled') "
            f"OR NOT {blank_sql(end)})"
        )
        paid = (
            f"(lower(trim(coalesce({active}, ''))) IN {_TRUE} OR "
            f"regexp_matches(lower(coalesce({typ}, '')), 'paid|founding|annual|monthly|yearly'))"
        )
        amount = f"CASE WHEN {blank_sql(revenue)} THEN NULL ELSE {money_sql(revenue)} END"
        checks = email_checks(c.label(email_a), email)
        if revenue_a:
            checks += [
                Check(
                    c.label(revenue_a),
                    f"NOT {blank_sql(revenue)} AND {amount} IS NULL",
                    f"'not an amount: ' || {show_sql(revenue)}",
                ),
                Check(c.label(revenue_a), f"{amount} < 0", f"'negative: ' || {show_sql(revenue)}"),
            ]
        # a time that cannot be read is staged raw: the loader names the column
        followed = time_text_sql([(start, start_t)], start_t)
        unfollowed = time_text_sql([(end, end_t)], f"coalesce({end_t}, {start_t})", when=gone)
        rejects = t.parse(
            [
                "'newsletter' AS channel_id",
                f"{followed} AS followed_at",
                f"{unfollowed} AS unfollowed_at",
                f"{gone} AND {blank_sql(end)} AS __gone_no_date",
                f"{nz(email)} AS __email",
                f"lower(trim({email})) AS __key",
                f"{nz(c(c.first(_NAME)))} AS __name",
                f"{nz(c(c.first(_COUNTRY)))} AS __location",
                f"{paid} AS __paid",
                f"{amount} AS __amount",
                f"NULLIF(upper(trim({c(c.first(_CURRENCY))})), '') AS __currency",
                f"coalesce({pay_t}, {start_t}) AS __paid_at",
            ],
            checks,
        )
        audience = t.keep(
            "audience", "__row, channel_id, followed_at, unfollowed_at, __email, __name, __location"
        )
        gone_n, paid_n = t.good("__gone_no_date"), t.good("__paid")
        notes = ["Substack " + ("settings export" if settings else "dashboard export"), t.note]
        if paid_n:
            notes.append(f"{paid_n} paid subscriber(s)")
        if gone_n:
            notes.append(
                f"{gone_n} subscriber(s) no longer receive emails and the export does not say "
                "since when: unfollowed_at set to their signup time"
            )
        out = [
            staged_table(
                con,
                "audience",
                audience,
                rejects,
                notes,
                primary_identity="email",
                local_times=not settings,
            )
        ]
        if revenue_a:
            outcomes = t.keep(
                "outcomes",
                "__row, 'substack:subscription:' || __key AS outcome_id, 'subscription' AS type, "
                f"{iso_sql('__paid_at')} AS ts, CAST(__amount AS VARCHAR) AS value, "
                "__currency AS currency, 'newsletter' AS channel_id, __email, __name",
                "__amount > 0",
            )
            out.append(
                staged_table(
                    con,
                    "outcomes",
                    outcomes,
                    notes=["Substack paid subscriptions (value = the export's revenue column)"],
                    local_times=not settings,
                )
            )
        t.drop()
        return out

    # -- posts ---------------------------------------------------------------------------------
    def _stage_posts(self, ctx: StageContext, header: Header) -> list[StagedTable]:
        con = ctx.con
        t = CheckedCsv(ctx, header, "sp")
        c = t.columns
        pid = c("post_id")
        sent = utc_sql(f"coalesce({nz(c('email_sent_at'))}, {c('post_date')})")
        raw_date = f"coalesce({nz(c('email_sent_at'))}, {c('post_date')})"
        slug = f"regexp_replace(trim({pid}), '^[0-9]+\\.', '')"
        rejects = t.parse(
            [
                f"'substack:post:' || split_part(trim({pid}), '.', 1) AS content_id",
                "'newsletter' AS channel_id",
                f"CASE WHEN lower(trim(coalesce({c('type')}, ''))) IN ('podcast', 'video') "
                f"THEN lower(trim({c('type')})) ELSE 'newsletter' END AS format",
                f"{nz(c('title'))} AS title",
                f"{nz(c('subtitle'))} AS text",
                f"CASE WHEN {sent} IS NULL THEN {raw_date} ELSE {iso_sql(sent)} END "
                "AS published_at",
                f"CASE WHEN {slug} <> '' AND {slug} <> trim({pid}) THEN '/p/' || {slug} END AS url",
            ],
            [Check(c.label("post_id"), blank_sql(pid), "'missing (required)'")],
            where=f"lower(trim(coalesce({c('is_published')}, 'true'))) IN {_TRUE}",
        )
        skipped = t.rows - len(t.csv_rejects) - count_rows(con, t.parsed)
        contents = t.keep("contents", "* EXCLUDE (__bad_col, __bad_reason)")
        notes = ["Substack posts"]
        if skipped:
            notes.append(f"{skipped} unpublished draft(s) skipped")
        t.drop()
        return [staged_table(con, "contents", contents, rejects, [*notes, t.note])]

    # -- opens ---------------------------------------------------------------------------------
    def _stage_opens(self, ctx: StageContext, header: Header) -> list[StagedTable]:
        con = ctx.con
        t = CheckedCsv(ctx, header, "so")
        c = t.columns
        pid, ts, email = c("post_id"), c("timestamp"), c("email")
        ts_t = utc_sql(ts)
        content = f"'substack:post:' || split_part(trim({pid}), '.', 1)"
        known = f"{content} IN (SELECT content_id FROM contents)"
        rejects = t.parse(
            [
                f"'substack:open:' || split_part(trim({pid}), '.', 1) || ':' || "
                f"lower(trim({email})) || ':' || coalesce({iso_sql(ts_t)}, trim({ts})) AS touch_id",
                f"CASE WHEN {ts_t} IS NULL THEN {ts} ELSE {iso_sql(ts_t)} END AS ts",
                "'newsletter' AS channel_id",
                f"CASE WHEN {known} THEN {content} END AS content_id",
                f"{known} AS __known",
                "'open' AS kind",
                f"{nz(email)} AS __email",
            ],
            [
                Check(c.label("email"), blank_sql(email), "'missing (required)'"),
                Check(c.label("post_id"), blank_sql(pid), "'missing (required)'"),
            ],
        )
        touches = t.keep("touches", "__row, touch_id, ts, channel_id, content_id, kind, __email")
        unknown = t.good("NOT __known")
        notes = ["Substack opens"]
        if unknown:
            notes.append(
                f"{unknown} open(s) of posts not imported yet are stored without their post "
                "(import posts.csv before the opens files)"
            )
        t.drop()
        return [staged_table(con, "touchpoints", touches, rejects, [*notes, t.note])]


register(SubstackSource())

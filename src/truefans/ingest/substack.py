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

from pathlib import Path

from ..errors import UnusableFile
from .common import Header, money_sql, read_head, stage_csv
from .ga4 import (
    Check,
    StagedColumns,
    bad_columns_sql,
    blank_sql,
    collect_rejects,
    count,
    drop,
    header_at,
    iso_sql,
    lit,
    qcol,
    show_sql,
    utc_sql,
)
from .registry import Detection, StageContext, StagedTable, register

_EMAIL_RX = r"^[^@\s,;<>]+@[^@\s,;<>]+\.[A-Za-z]{2,}$"
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
_FORMATS = (
    "%Y-%m-%dT%H:%M:%S.%gZ",
    "%Y-%m-%dT%H:%M:%SZ",
    "%b %d, %Y",
    "%B %d, %Y",
    "%m/%d/%Y",
    "%Y-%m-%d",
)
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


def _first(cols: list[str], aliases: tuple[str, ...]) -> str | None:
    return next((a for a in aliases if a in cols), None)


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

    def detect(self, path: Path, head: bytes) -> Detection | None:
        try:
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
        except Exception:
            return None

    def stage(self, ctx: StageContext) -> list[StagedTable]:
        head = read_head(ctx.path)
        for test, fn in (
            (_is_posts, self._stage_posts),
            (_is_engagement, self._stage_opens),
            (_is_email_list, self._stage_subscribers),
            (_is_dashboard, self._stage_subscribers),
        ):
            header = header_at(head, test)
            if header is not None:
                return fn(ctx, header)
        raise UnusableFile(
            str(ctx.path),
            "not a Substack export: expected email_list.*.csv (email, active_subscription, ...), "
            "the dashboard's subscriber export (Email, Subscription type, ...), posts.csv or a "
            "post's opens.csv",
        )

    # -- subscribers ---------------------------------------------------------------------------
    def _stage_subscribers(self, ctx: StageContext, header: Header) -> list[StagedTable]:
        con = ctx.con
        raw = f"{ctx.prefix}_ss_raw"
        _n, csv_rejects, read_note = stage_csv(ctx, header, raw)
        c = StagedColumns(ctx, header, raw)
        settings = _is_email_list(header.normed)
        email_a = c.first(_EMAIL)
        assert email_a is not None
        email = c(email_a)
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
        checks = [
            Check(c.label(email_a), blank_sql(email), "'missing (required)'"),
            Check(
                c.label(email_a),
                f"NOT regexp_matches(trim({email}), {lit(_EMAIL_RX)})",
                f"'not an email address: ' || {show_sql(email)}",
            ),
        ]
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
        followed = (
            f"CASE WHEN NOT {blank_sql(start)} AND {start_t} IS NULL THEN {start} "
            f"ELSE {iso_sql(start_t)} END"
        )
        unfollowed = (
            f"CASE WHEN NOT {blank_sql(end)} AND {end_t} IS NULL THEN {end} "
            f"WHEN {gone} THEN {iso_sql(f'coalesce({end_t}, {start_t})')} END"
        )
        parsed = f"{ctx.prefix}_ss_p"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {qcol(parsed)} AS
            SELECT r.__row, 'newsletter' AS channel_id,
                   {followed} AS followed_at, {unfollowed} AS unfollowed_at,
                   {gone} AND {blank_sql(end)} AS __gone_no_date,
                   NULLIF(trim({email}), '') AS __email,
                   lower(trim({email})) AS __key,
                   NULLIF(trim({c(c.first(_NAME))}), '') AS __name,
                   NULLIF(trim({c(c.first(_COUNTRY))}), '') AS __location,
                   {paid} AS __paid, {amount} AS __amount,
                   NULLIF(upper(trim({c(c.first(_CURRENCY))})), '') AS __currency,
                   coalesce({pay_t}, {start_t}) AS __paid_at,
                   {bad_columns_sql(checks)}
            FROM {qcol(raw)} r"""
        )
        rejects = csv_rejects + collect_rejects(con, parsed, raw, c.labels)
        audience = f"{ctx.prefix}_ss_audience"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {qcol(audience)} AS
            SELECT __row, channel_id, followed_at, unfollowed_at, __email, __name, __location
            FROM {qcol(parsed)} WHERE __bad_col IS NULL"""
        )
        row = con.execute(
            f"SELECT count(*) FILTER (WHERE __gone_no_date), count(*) FILTER (WHERE __paid) "
            f"FROM {qcol(parsed)} WHERE __bad_col IS NULL"
        ).fetchone()
        gone_n, paid_n = (int(row[0]), int(row[1])) if row else (0, 0)
        notes = ["Substack " + ("settings export" if settings else "dashboard export")]
        if read_note:
            notes.append(read_note)
        if paid_n:
            notes.append(f"{paid_n} paid subscriber(s)")
        if gone_n:
            notes.append(
                f"{gone_n} subscriber(s) no longer receive emails and the export does not say "
                "since when: unfollowed_at set to their signup time"
            )
        out = [
            StagedTable(
                "audience",
                audience,
                count(con, audience) + len(rejects),
                rejects=rejects,
                note="; ".join(notes),
                primary_identity="email",
                local_times=not settings,
            )
        ]
        if revenue_a:
            outcomes = f"{ctx.prefix}_ss_outcomes"
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE {qcol(outcomes)} AS
                SELECT __row, 'substack:subscription:' || __key AS outcome_id,
                       'subscription' AS type, {iso_sql("__paid_at")} AS ts,
                       CAST(__amount AS VARCHAR) AS value, __currency AS currency,
                       'newsletter' AS channel_id, __email, __name
                FROM {qcol(parsed)}
                WHERE __bad_col IS NULL AND __amount > 0"""
            )
            out.append(
                StagedTable(
                    "outcomes",
                    outcomes,
                    count(con, outcomes),
                    note="Substack paid subscriptions (value = the export's revenue column)",
                    local_times=not settings,
                )
            )
        drop(con, raw, parsed)
        return out

    # -- posts ---------------------------------------------------------------------------------
    def _stage_posts(self, ctx: StageContext, header: Header) -> list[StagedTable]:
        con = ctx.con
        raw = f"{ctx.prefix}_sp_raw"
        _n, csv_rejects, read_note = stage_csv(ctx, header, raw)
        c = StagedColumns(ctx, header, raw)
        pid = c("post_id")
        sent = utc_sql(f"coalesce(NULLIF(trim({c('email_sent_at')}), ''), {c('post_date')})")
        raw_date = f"coalesce(NULLIF(trim({c('email_sent_at')}), ''), {c('post_date')})"
        slug = f"regexp_replace(trim({pid}), '^[0-9]+\\.', '')"
        checks = [Check(c.label("post_id"), blank_sql(pid), "'missing (required)'")]
        parsed = f"{ctx.prefix}_sp_p"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {qcol(parsed)} AS
            SELECT r.__row, 'substack:post:' || split_part(trim({pid}), '.', 1) AS content_id,
                   'newsletter' AS channel_id,
                   CASE WHEN lower(trim(coalesce({c("type")}, ''))) IN ('podcast', 'video')
                        THEN lower(trim({c("type")})) ELSE 'newsletter' END AS format,
                   NULLIF(trim({c("title")}), '') AS title,
                   NULLIF(trim({c("subtitle")}), '') AS text,
                   CASE WHEN {sent} IS NULL THEN {raw_date} ELSE {iso_sql(sent)} END
                     AS published_at,
                   CASE WHEN {slug} <> '' AND {slug} <> trim({pid}) THEN '/p/' || {slug} END
                     AS url,
                   {bad_columns_sql(checks)}
            FROM {qcol(raw)} r
            WHERE lower(trim(coalesce({c("is_published")}, 'true'))) IN {_TRUE}"""
        )
        skipped = _n - len(csv_rejects) - count(con, parsed)
        rejects = csv_rejects + collect_rejects(con, parsed, raw, c.labels)
        contents = f"{ctx.prefix}_sp_contents"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {qcol(contents)} AS
            SELECT * EXCLUDE (__bad_col, __bad_reason) FROM {qcol(parsed)}
            WHERE __bad_col IS NULL"""
        )
        notes = ["Substack posts"]
        if skipped:
            notes.append(f"{skipped} unpublished draft(s) skipped")
        if read_note:
            notes.append(read_note)
        drop(con, raw, parsed)
        return [
            StagedTable(
                "contents",
                contents,
                count(con, contents) + len(rejects),
                rejects=rejects,
                note="; ".join(notes),
            )
        ]

    # -- opens ---------------------------------------------------------------------------------
    def _stage_opens(self, ctx: StageContext, header: Header) -> list[StagedTable]:
        con = ctx.con
        raw = f"{ctx.prefix}_so_raw"
        _n, csv_rejects, read_note = stage_csv(ctx, header, raw)
        c = StagedColumns(ctx, header, raw)
        pid, ts, email = c("post_id"), c("timestamp"), c("email")
        ts_t = utc_sql(ts)
        content = f"'substack:post:' || split_part(trim({pid}), '.', 1)"
        checks = [
            Check(c.label("email"), blank_sql(email), "'missing (required)'"),
            Check(c.label("post_id"), blank_sql(pid), "'missing (required)'"),
        ]
        parsed = f"{ctx.prefix}_so_p"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {qcol(parsed)} AS
            SELECT r.__row,
                   'substack:open:' || split_part(trim({pid}), '.', 1) || ':' ||
                     lower(trim({email})) || ':' || coalesce({iso_sql(ts_t)}, trim({ts})) AS touch_id,
                   CASE WHEN {ts_t} IS NULL THEN {ts} ELSE {iso_sql(ts_t)} END AS ts,
                   'newsletter' AS channel_id,
                   CASE WHEN {content} IN (SELECT content_id FROM contents) THEN {content} END
                     AS content_id,
                   {content} IN (SELECT content_id FROM contents) AS __known,
                   'open' AS kind, NULLIF(trim({email}), '') AS __email,
                   {bad_columns_sql(checks)}
            FROM {qcol(raw)} r"""
        )
        rejects = csv_rejects + collect_rejects(con, parsed, raw, c.labels)
        touches = f"{ctx.prefix}_so_touches"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {qcol(touches)} AS
            SELECT __row, touch_id, ts, channel_id, content_id, kind, __email
            FROM {qcol(parsed)} WHERE __bad_col IS NULL"""
        )
        row = con.execute(
            f"SELECT count(*) FILTER (WHERE NOT __known) FROM {qcol(parsed)} "
            "WHERE __bad_col IS NULL"
        ).fetchone()
        unknown = int(row[0]) if row else 0
        notes = ["Substack opens"]
        if unknown:
            notes.append(
                f"{unknown} open(s) of posts not imported yet are stored without their post "
                "(import posts.csv before the opens files)"
            )
        if read_note:
            notes.append(read_note)
        drop(con, raw, parsed)
        return [
            StagedTable(
                "touchpoints",
                touches,
                count(con, touches) + len(rejects),
                rejects=rejects,
                note="; ".join(notes),
            )
        ]


register(SubstackSource())

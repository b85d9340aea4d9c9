"""Kit (formerly ConvertKit): the subscriber export.

Grow > Subscribers > (select all, or filter by tag / segment / form) > Bulk actions > Export
(Kit e-mails a link; older accounts: Subscribers > Export). The CSV has ``first_name``,
``email_address``, ``state`` (``active``, ``inactive`` = unconfirmed, ``cancelled``, ``bounced``,
``complained``, ``cold``), ``created_at`` (UTC) and ``tags`` (comma-separated, in one quoted
cell), then one column per custom field (``last_name``, ``company`` ... as the account defines
them). Older exports say ``status`` for ``state``.

Subscribers → ``audience`` on ``newsletter`` (identity: the email; ``followed_at`` =
``created_at``), with first/last name and company as person hints. Subscribers who no longer
receive the newsletter (``cancelled``, ``bounced``, ``complained``) or never confirmed
(``inactive``) get ``unfollowed_at``: the export's unsubscribe date when it has one, else their
signup time, since the export does not say when they left (the note says how many). A later export
updates them (key: the email). A row with an unreadable email, an unknown state or an unreadable
date is rejected, naming the column.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UnusableFile
from .common import Header, read_head, stage_csv
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
_EMAIL = ("email_address", "email address", "email")
_FIRST = ("first_name", "first name")
_LAST = ("last_name", "last name", "lastname", "surname")
_STATE = ("state", "status", "subscriber state")
_CREATED = ("created_at", "created at", "subscribed_at", "subscribed at", "date subscribed")
_ENDED = ("unsubscribed_at", "unsubscribed at", "cancelled_at", "canceled_at", "cancelled at")
_COMPANY = ("company", "company_name", "company name", "organization")
_LOCATION = ("city", "location", "country")
_STATES_IN = ("active", "cold", "confirmed", "subscribed")
_STATES_OUT = (
    "inactive",
    "unconfirmed",
    "cancelled",
    "canceled",
    "unsubscribed",
    "bounced",
    "complained",
)


def _first(cols: list[str], aliases: tuple[str, ...]) -> str | None:
    return next((a for a in aliases if a in cols), None)


def _is_kit(cols: list[str]) -> bool:
    have = set(cols)
    created = any(c in have for c in _CREATED)
    if "email_address" in have and created:
        return "first_name" in have or any(s in have for s in _STATE) or "tags" in have
    email = any(c in have for c in _EMAIL)
    return email and created and "tags" in have and any(s in have for s in _STATE)


class KitSource:
    name = "kit"
    description = "Kit (ConvertKit) subscriber export → newsletter audience"
    detection_rule = (
        "email_address with created_at and first_name / state / tags (Kit's snake_case export)"
    )

    def detect(self, path: Path, head: bytes) -> Detection | None:
        try:
            header = header_at(head, _is_kit)
            if header is None:
                return None
            snake = "email_address" in header.normed and "first_name" in header.normed
            return Detection(
                self.name,
                0.93 if snake else 0.88,
                "Kit subscriber export columns (email_address, created_at, state, tags)",
            )
        except Exception:
            return None

    def stage(self, ctx: StageContext) -> list[StagedTable]:
        header: Header | None = header_at(read_head(ctx.path), _is_kit)
        if header is None:
            raise UnusableFile(
                str(ctx.path),
                "not a Kit subscriber export: expected email_address, created_at and first_name, "
                "state or tags",
            )
        con = ctx.con
        raw = f"{ctx.prefix}_kit_raw"
        _n, csv_rejects, read_note = stage_csv(ctx, header, raw)
        c = StagedColumns(ctx, header, raw)
        email_a = c.first(_EMAIL)
        assert email_a is not None
        email = c(email_a)
        state_a = c.first(_STATE)
        state = c(state_a)
        created_a = c.first(_CREATED)
        assert created_a is not None
        created = c(created_a)
        ended = c(c.first(_ENDED))
        created_t, ended_t = utc_sql(created), utc_sql(ended)
        st = f"lower(trim(coalesce({state}, '')))"
        known = ", ".join(lit(s) for s in (*_STATES_IN, *_STATES_OUT))
        out_states = ", ".join(lit(s) for s in _STATES_OUT)
        checks = [
            Check(c.label(email_a), blank_sql(email), "'missing (required)'"),
            Check(
                c.label(email_a),
                f"NOT regexp_matches(trim({email}), {lit(_EMAIL_RX)})",
                f"'not an email address: ' || {show_sql(email)}",
            ),
        ]
        if state_a:
            checks.append(
                Check(
                    c.label(state_a),
                    f"{st} <> '' AND {st} NOT IN ({known})",
                    f"'not a Kit subscriber state (active, inactive, cancelled, bounced, "
                    f"complained, cold): ' || {show_sql(state)}",
                )
            )
        gone = f"({st} IN ({out_states}) OR NOT {blank_sql(ended)})"
        followed = (
            f"CASE WHEN NOT {blank_sql(created)} AND {created_t} IS NULL THEN {created} "
            f"ELSE {iso_sql(created_t)} END"
        )
        unfollowed = (
            f"CASE WHEN NOT {blank_sql(ended)} AND {ended_t} IS NULL THEN {ended} "
            f"WHEN {gone} THEN {iso_sql(f'coalesce({ended_t}, {created_t})')} END"
        )
        parsed = f"{ctx.prefix}_kit_p"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {qcol(parsed)} AS
            SELECT r.__row, 'newsletter' AS channel_id,
                   {followed} AS followed_at, {unfollowed} AS unfollowed_at,
                   {gone} AND {blank_sql(ended)} AS __gone_no_date,
                   NULLIF(trim({email}), '') AS __email,
                   NULLIF(trim({c(c.first(_FIRST))}), '') AS __first_name,
                   NULLIF(trim({c(c.first(_LAST))}), '') AS __last_name,
                   NULLIF(trim({c(c.first(_COMPANY))}), '') AS __company,
                   NULLIF(trim({c(c.first(_LOCATION))}), '') AS __location,
                   {bad_columns_sql(checks)}
            FROM {qcol(raw)} r"""
        )
        rejects = csv_rejects + collect_rejects(con, parsed, raw, c.labels)
        audience = f"{ctx.prefix}_kit_audience"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {qcol(audience)} AS
            SELECT * EXCLUDE (__bad_col, __bad_reason, __gone_no_date) FROM {qcol(parsed)}
            WHERE __bad_col IS NULL"""
        )
        row = con.execute(
            f"SELECT count(*) FILTER (WHERE __gone_no_date) FROM {qcol(parsed)} "
            "WHERE __bad_col IS NULL"
        ).fetchone()
        gone_n = int(row[0]) if row else 0
        notes = ["Kit subscribers"]
        if gone_n:
            notes.append(
                f"{gone_n} subscriber(s) cancelled, bounced, complained or never confirmed and "
                "the export does not say when: unfollowed_at set to their signup time"
            )
        if read_note:
            notes.append(read_note)
        drop(con, raw, parsed)
        return [
            StagedTable(
                "audience",
                audience,
                count(con, audience) + len(rejects),
                rejects=rejects,
                note="; ".join(notes),
                primary_identity="email",
                local_times=False,
            )
        ]


register(KitSource())

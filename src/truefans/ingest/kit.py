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
from .common import (
    Check,
    CheckedCsv,
    Header,
    blank_sql,
    email_checks,
    header_at,
    lit,
    nz,
    quiet_detect,
    read_head,
    show_sql,
    staged_table,
    time_text_sql,
    utc_sql,
)
from .registry import Detection, StageContext, StagedTable, register

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

    @quiet_detect
    def detect(self, path: Path, head: bytes) -> Detection | None:
        header = header_at(head, _is_kit)
        if header is None:
            return None
        snake = "email_address" in header.normed and "first_name" in header.normed
        return Detection(
            self.name,
            0.93 if snake else 0.88,
            "Kit subscriber export columns (email_address, created_at, state, tags)",
        )

    def stage(self, ctx: StageContext) -> list[StagedTable]:
        header: Header | None = header_at(read_head(ctx.path), _is_kit)
        if header is None:
            raise UnusableFile(
                str(ctx.path),
                "not a Kit subscriber export: expected email_address, created_at and first_name, "
                "state or tags",
            )
        con = ctx.con
        t = CheckedCsv(ctx, header, "kit")
        c = t.columns
        email_a, email = c.required(_EMAIL)
        state_a = c.first(_STATE)
        state = c(state_a)
        _, created = c.required(_CREATED)
        ended = c(c.first(_ENDED))
        created_t, ended_t = utc_sql(created), utc_sql(ended)
        st = f"lower(trim(coalesce({state}, '')))"
        known = ", ".join(lit(s) for s in (*_STATES_IN, *_STATES_OUT))
        out_states = ", ".join(lit(s) for s in _STATES_OUT)
        checks = email_checks(c.label(email_a), email)
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
        followed = time_text_sql([(created, created_t)], created_t)
        unfollowed = time_text_sql(
            [(ended, ended_t)], f"coalesce({ended_t}, {created_t})", when=gone
        )
        rejects = t.parse(
            [
                "'newsletter' AS channel_id",
                f"{followed} AS followed_at",
                f"{unfollowed} AS unfollowed_at",
                f"{gone} AND {blank_sql(ended)} AS __gone_no_date",
                f"{nz(email)} AS __email",
                f"{nz(c(c.first(_FIRST)))} AS __first_name",
                f"{nz(c(c.first(_LAST)))} AS __last_name",
                f"{nz(c(c.first(_COMPANY)))} AS __company",
                f"{nz(c(c.first(_LOCATION)))} AS __location",
            ],
            checks,
        )
        audience = t.keep("audience", "* EXCLUDE (__bad_col, __bad_reason, __gone_no_date)")
        gone_n = t.good("__gone_no_date")
        notes = ["Kit subscribers"]
        if gone_n:
            notes.append(
                f"{gone_n} subscriber(s) cancelled, bounced, complained or never confirmed and "
                "the export does not say when: unfollowed_at set to their signup time"
            )
        t.drop()
        return [
            staged_table(
                con, "audience", audience, rejects, [*notes, t.note], primary_identity="email"
            )
        ]


register(KitSource())

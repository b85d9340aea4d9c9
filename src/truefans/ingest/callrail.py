"""CallRail call log (Reports > Call Log / Activity > Calls > Export > CSV).

One row per call to a tracking number: when (``Start Time``, the account's local time, no offset),
who (``Phone Number`` as CallRail prints it, ``Name``, ``Email``, ``City``/``State``/``Country``),
how they found the number (``Source``, ``Medium``, ``Campaign``, and for offline numbers the
``Tracking Source`` name), and what happened (``Duration (seconds)``, ``Answered`` /
``Call Status``, ``First-Time Caller``).

Every call becomes an ``outcomes`` row of type ``call`` (``callrail:<call id>``, no value: money
comes from the payment sources) whose ``channel_id`` says how the caller found the number, and a
``touchpoints`` row of kind ``call`` on channel ``phone`` for the caller (value = duration in
seconds). Missed, abandoned and voicemail calls are calls too: someone picked up the phone.
"""

from __future__ import annotations

from pathlib import Path

from .channels import channel_sql
from .common import (
    col,
    count_rows,
    detect_header,
    drop,
    find_col,
    lit,
    load_table,
    norm,
    nz,
    take_keyless,
    touches_and_outcomes,
    ts_column,
    user_channel_config,
)
from .registry import Detection, StageContext, StagedTable, register

START = ("start time", "start_time", "call start time", "call date", "date/time", "date", "start")
PHONE = (
    "phone number",
    "customer phone number",
    "customer_phone_number",
    "caller number",
    "caller_number",
    "caller phone number",
    "caller id",
    "caller",
)
TRACKING = (
    "tracking number",
    "tracking phone number",
    "tracking_phone_number",
    "tracking_number",
    "tracking #",
)
ID = ("call id", "call_id", "id", "callrail id", "call identifier")
NAME = ("name", "customer name", "customer_name", "caller name", "caller_name")
EMAIL = ("email", "customer email", "customer_email", "email address")
CITY = ("city", "customer city", "customer_city", "caller_city", "caller city")
STATE = ("state", "customer state", "customer_state", "caller_state", "caller state")
COUNTRY = ("country", "customer country", "customer_country", "caller_country", "caller country")
SOURCE = ("source", "source name", "source_name", "call source")
MEDIUM = ("medium", "utm_medium")
CAMPAIGN = ("campaign", "campaign name", "utm_campaign")
TRACKER = (
    "tracking source",
    "tracker",
    "tracker name",
    "source tracker",
    "tracking number name",
    "number name",
)
DURATION = ("duration (seconds)", "duration", "call duration", "duration_seconds", "talk time")

#: tracking numbers printed on trade-show / event material
EVENT_RX = (
    r"trade\s*-?show|\bexpo\b|exhibit|conference|booth|\bfairs?\b|summit|convention|"
    r"\bevents?\b|tradeshow"
)
#: CallRail source names that are paid whatever the medium says
PAID_RX = r"\b(ads|paid|ppc|cpc|adwords|sponsored)\b"
#: carrier / CNAM labels shown instead of a caller's name
NOT_A_NAME = (
    r"^(WIRELESS CALLER|UNKNOWN( CALLER| NAME)?|ANONYMOUS( CALLER)?|RESTRICTED|PRIVATE( CALLER|"
    r" NUMBER)?|UNAVAILABLE|NO CALLER ID|CELL PHONE.*|TOLL FREE.*|[A-Z .]+ CALLER|"
    r"[A-Z .]+\s{2,}[A-Z]{2})$|^[+0-9() .-]+$"
)


def _header(cols: list[str]) -> bool | None:
    s = set(cols)
    tracking = s & (set(TRACKING) | set(TRACKER) | {"first-time caller", "first call"})
    if s & {norm(a) for a in START} and s & {norm(a) for a in PHONE} and tracking:
        return True
    return None


def channel_expr(src: str, med: str, camp: str, tracker: str, cfg: dict[str, object]) -> str:
    """SQL: how the caller found the number -> channel id (see the module docstring)."""
    s, m, c, t = nz(src), nz(med), nz(camp), nz(tracker)
    all_names = f"lower(concat_ws(' ', {s}, {c}, {t}))"
    paid = f"(CASE WHEN regexp_matches(lower(coalesce({s}, '')), {lit(PAID_RX)}) THEN 'cpc' END)"
    return (
        f"(CASE WHEN regexp_matches({all_names}, {lit(EVENT_RX)}) THEN 'trade_shows' "
        f"WHEN {s} IS NULL AND {m} IS NULL AND {c} IS NULL THEN 'phone' "
        f"WHEN lower({s}) IN ('direct', '(direct)') OR lower({m}) IN ('direct', '(none)') "
        "THEN 'direct' "
        f"ELSE {channel_sql(s, f'coalesce({paid}, {m})', c, cfg)} END)"
    )


def duration_sql(x: str) -> str:
    """Seconds from '184', '184.0', '3:04' or '0:03:04'; NULL when not a duration."""
    t = f"trim({x})"
    parts = f"string_split({t}, ':')"
    part = "TRY_CAST({p}[{i}] AS DOUBLE)"
    hms = " + ".join(f"{part.format(p=parts, i=i)} * {m}" for i, m in ((1, 3600), (2, 60), (3, 1)))
    ms = f"{part.format(p=parts, i=1)} * 60 + {part.format(p=parts, i=2)}"
    return (
        f"(CASE WHEN NOT contains({t}, ':') THEN TRY_CAST(replace({t}, ',', '') AS DOUBLE) "
        f"WHEN len({parts}) = 2 THEN {ms} WHEN len({parts}) = 3 THEN {hms} END)"
    )


class CallRailSource:
    name = "callrail"
    description = "CallRail call log export: calls -> outcomes (type call) and call touchpoints"
    detection_rule = (
        "a header with a call start time ('Start Time'), the caller's number ('Phone Number' / "
        "'Customer Phone Number') and a 'Tracking Number', 'Tracking Source' or "
        "'First-Time Caller' column"
    )

    def detect(self, path: Path, head: bytes) -> Detection | None:
        found = detect_header(path, head, _header)
        if not found:
            return None
        cols = set(found[0])
        conf = 0.9
        if cols & {"tracking source", "first-time caller", "first call", "call status"}:
            conf = 0.95
        if "callrail" in path.name.lower():
            conf = min(0.98, conf + 0.03)
        return Detection(self.name, conf, "CallRail call log header (tracking number, caller)")

    def stage(self, ctx: StageContext) -> list[StagedTable]:
        con = ctx.con
        raw = f"{ctx.prefix}_callrail_raw"
        loaded, _ = load_table(ctx, _header, raw, "a CallRail call log")
        cols = loaded.columns

        def pick(aliases: tuple[str, ...]) -> str | None:
            return find_col(cols, aliases)

        idc, start, phone = pick(ID), pick(START), pick(PHONE)
        name, email = pick(NAME), pick(EMAIL)
        city, state, country = pick(CITY), pick(STATE), pick(COUNTRY)
        dur = pick(DURATION)
        cfg = user_channel_config(con)
        # the channel rules run once per distinct (source, medium, campaign, tracker)
        attribution = [pick(SOURCE), pick(MEDIUM), pick(CAMPAIGN), pick(TRACKER)]
        keys = [f"coalesce(trim({col(c)}), '')" for c in attribution]
        chmap = f"{ctx.prefix}_callrail_channels"
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{chmap}" AS SELECT k0, k1, k2, k3, '
            f"{channel_expr('k0', 'k1', 'k2', 'k3', cfg)} AS channel FROM (SELECT DISTINCT "
            f'{", ".join(f"{k} AS k{i}" for i, k in enumerate(keys))} FROM "{raw}")'
        )
        join = " AND ".join(f"{k} = m.k{i}" for i, k in enumerate(keys))
        ts = ts_column(con, raw, start)
        if idc is not None:
            key = f"CASE WHEN {nz(col(idc))} IS NOT NULL THEN 'callrail:' || trim({col(idc)}) END"
        else:  # no Call ID column: the start time and the caller's number tell calls apart
            key = (
                f"CASE WHEN {nz(col(start))} IS NOT NULL THEN 'callrail:' || "
                f"left(md5(trim({col(start)}) || '|' || coalesce(trim({col(phone)}), '')), 16) END"
            )
        nm = nz(col(name))
        good_name = f"CASE WHEN NOT regexp_matches({nm}, {lit(NOT_A_NAME)}) THEN {nm} END"
        seconds = duration_sql(col(dur)) if dur else "CAST(NULL AS DOUBLE)"
        base = f"{ctx.prefix}_callrail_base"
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{base}" AS SELECT __row, {key} AS __key, {ts} AS ts, '
            f"m.channel AS __channel, {seconds} AS __seconds, {nz(col(dur))} AS __duration, "
            f"{nz(col(phone))} AS __phone, {nz(col(email))} AS __email, {good_name} AS __name, "
            f"NULLIF(concat_ws(', ', {nz(col(city))}, {nz(col(state))}), '') AS __location, "
            f"{nz(col(country))} AS __country "
            f'FROM "{raw}" LEFT JOIN "{chmap}" m ON {join}'
        )
        drop(con, raw, chmap)
        label = lit(idc or start or "call id")
        keyless = take_keyless(con, base, label, f"{label} || ': missing (it tells calls apart)'")
        hints = "__phone, __email, __name, __location, __country"
        out_rel = f"{ctx.prefix}_callrail_outcomes"
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{out_rel}" AS SELECT __row, __key AS outcome_id, ts, '
            f"'call' AS type, __channel AS channel_id, {hints} FROM \"{base}\""
        )
        # the caller's touch: negative durations are the export's error, rejected here
        bad = con.execute(
            f'SELECT __row, __duration FROM "{base}" WHERE __seconds < 0 ORDER BY __row'
        ).fetchall()
        rejects = [(int(r), "value", f"negative call duration: '{d}'", str(d)) for r, d in bad]
        touch_rel = f"{ctx.prefix}_callrail_touchpoints"
        known = "(__phone IS NOT NULL OR __email IS NOT NULL)"
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{touch_rel}" AS SELECT __row, __key AS touch_id, ts, '
            "'phone' AS channel_id, 'call' AS kind, "
            "coalesce(CAST(__seconds AS VARCHAR), __duration) AS value, "
            f'{hints} FROM "{base}" WHERE {known} AND NOT coalesce(__seconds < 0, false)'
        )
        anonymous = count_rows(con, base, f"NOT {known}")
        drop(con, base)
        notes = [loaded.note] if loaded.note else []
        if anonymous:
            notes.append(
                f"{anonymous} call(s) without a caller number: counted as anonymous calls, "
                "no touchpoint"
            )
        return touches_and_outcomes(
            con,
            loaded,
            touch_rel,
            out_rel,
            keyless,
            "; ".join(notes),
            local_times=True,
            touch_rejects=sorted(rejects + keyless),
        )


register(CallRailSource())

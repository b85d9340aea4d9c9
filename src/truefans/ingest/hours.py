"""The hours sheet: time (and money) spent per channel, kept by hand (CSV or Excel).

A row says when (``Date``, ``Week`` / ``Week of``, ``Month``, or ``Period start`` [+ ``Period
end``]), on which channel (``Channel``: a truefans channel id such as ``linkedin`` or its name,
case-insensitive: "LinkedIn", "Newsletter", "Trade shows"), how long (``Hours``: ``2.5``,
``2,5``, ``1:30``, ``90 min``, ``2h``) and optionally what it cost (``Cost`` / ``Amount`` with a
``Currency``, or a currency sign in the amount). Rows are summed into one ``costs`` row per channel
and period start (a week runs 7 days from the date given, a month to its last day, a date is one
day). A channel name truefans does not know is passed on as written, so the loader's reject names
it and lists the known channels.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from .channels import CATALOG, user_channels
from .common import (
    col,
    count_rows,
    date_formats,
    day_first,
    detect_header,
    drop,
    find_col,
    lit,
    load_table,
    money_sql,
    nz,
    staged_table,
    ts_sql,
    user_channel_config,
)
from .registry import Detection, StageContext, StagedTable, register

HOURS = (
    "hours",
    "hours spent",
    "hrs",
    "hours worked",
    "time spent",
    "time spent (h)",
    "time spent (hours)",
    "time (hours)",
    "time (h)",
    "duration (h)",
    "duration (hours)",
    "hours (h)",
)
CHANNEL = (
    "channel",
    "channel id",
    "channel_id",
    "marketing channel",
    "platform",
    "network",
    "activity channel",
)
WEEK = ("week", "week of", "week starting", "week start", "week beginning", "week commencing")
MONTH = ("month", "month of")
DAY = ("date", "day")
START = ("period start", "period_start", "start date", "start", "from")
END = ("period end", "period_end", "end date", "end", "to")
COST = (
    "cost",
    "costs",
    "amount",
    "spend",
    "spent",
    "dollars",
    "money",
    "money spent",
    "expense",
    "expenses",
    "price",
)
COST_RX = r"^(cost|amount|spend|spent|expenses?)\b"
CURRENCY = ("currency", "ccy", "currency code")

#: extra spellings of built-in channels (ids and names of CATALOG are read as well)
EXTRA_NAMES = {
    "twitter": "x",
    "x twitter": "x",
    "email": "newsletter",
    "e mail": "newsletter",
    "emails": "newsletter",
    "newsletters": "newsletter",
    "mailchimp": "newsletter",
    "trade show": "trade_shows",
    "tradeshow": "trade_shows",
    "tradeshows": "trade_shows",
    "events": "trade_shows",
    "event": "trade_shows",
    "conferences": "trade_shows",
    "expos": "trade_shows",
    "seo": "organic_search",
    "adwords": "google_ads",
    "google adwords": "google_ads",
    "facebook ads": "meta_ads",
    "instagram ads": "meta_ads",
    "blog": "website",
    "podcasts": "podcast",
    "calls": "phone",
    "phone calls": "phone",
    "customer service": "client_service",
    "customer success": "client_service",
    "ig": "instagram",
    "fb": "facebook",
    "yt": "youtube",
}


def channel_key(name: str) -> str:
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", s.replace("&", " ")).strip()


def _key_sql(x: str) -> str:
    return (
        f"trim(regexp_replace(strip_accents(lower(replace(trim({x}), '&', ' '))), "
        "'[^a-z0-9]+', ' ', 'g'))"
    )


def channel_names(cfg: dict[str, object] | None = None) -> dict[str, str]:
    """Spellings (as :func:`channel_key`) -> channel id."""
    out: dict[str, str] = {}
    defs = {**CATALOG, **user_channels(cfg or {})}
    for cid, d in defs.items():
        out[channel_key(cid)] = cid
        out[channel_key(d.name)] = cid
        out.setdefault(channel_key(d.name.split("&")[0]), cid)  # "Trade shows & events"
    for k, v in EXTRA_NAMES.items():
        out.setdefault(channel_key(k), v)
    return out


def hours_sql(x: str) -> str:
    """Hours from '2.5', '2,5', '1:30', '1:30:00', '90 min', '2h', '2 hrs'; NULL otherwise."""
    t = f"lower(trim({x}))"
    num = "TRY_CAST(replace(regexp_extract({t}, '^(\\d+([.,]\\d+)?)', 1), ',', '.') AS DOUBLE)"
    num = num.format(t=t)
    return (
        f"(CASE WHEN {nz(x)} IS NULL THEN NULL "
        f"WHEN regexp_matches({t}, '^\\d+:\\d{{2}}:\\d{{2}}$') THEN "
        f"CAST(split_part({t}, ':', 1) AS DOUBLE) + CAST(split_part({t}, ':', 2) AS DOUBLE) / 60 "
        f"+ CAST(split_part({t}, ':', 3) AS DOUBLE) / 3600 "
        f"WHEN regexp_matches({t}, '^\\d+:\\d{{2}}$') THEN "
        f"CAST(split_part({t}, ':', 1) AS DOUBLE) + CAST(split_part({t}, ':', 2) AS DOUBLE) / 60 "
        f"WHEN regexp_matches({t}, '^\\d+([.,]\\d+)?\\s*(m|min|mins|minutes)$') THEN {num} / 60 "
        f"WHEN regexp_matches({t}, '^\\d+([.,]\\d+)?\\s*(h|hr|hrs|hour|hours)?$') THEN {num} END)"
    )


def _period(cols: list[str]) -> tuple[str, str | None] | None:
    for kind, names in (("start", START), ("week", WEEK), ("month", MONTH), ("day", DAY)):
        c = find_col(cols, names)
        if c:
            return kind, c
    return None


def _pred(cols: list[str]) -> float | None:
    if not (find_col(cols, HOURS) and find_col(cols, CHANNEL)):
        return None
    return 0.9 if _period(cols) else 0.75


class HoursSource:
    name = "hours"
    description = "hand-kept sheet of hours (and money) spent per channel -> costs"
    detection_rule = (
        "an hours column (Hours, Hours spent, Time spent (h)...) and a channel column "
        "(Channel, Platform...); dated by Date, Week, Month or Period start"
    )

    def detect(self, path: Path, head: bytes) -> Detection | None:
        found = detect_header(path, head, _pred)
        if not found:
            return None
        return Detection(self.name, found[1], "hours sheet (hours and channel columns)", "costs")

    def stage(self, ctx: StageContext) -> list[StagedTable]:
        con = ctx.con
        raw = f"{ctx.prefix}_hours_raw"
        loaded, _ = load_table(ctx, _pred, raw, "an hours sheet")
        cols = loaded.columns
        hours_c = find_col(cols, HOURS)
        chan_c = find_col(cols, CHANNEL)
        cost_c = find_col(cols, COST, COST_RX, r"per hour|rate")
        cur_c = find_col(cols, CURRENCY)
        period = _period(cols)
        notes = [loaded.note] if loaded.note else []

        # channel names -> ids (unknown names pass through, for the loader to name them)
        names = channel_names(user_channel_config(con))
        cases = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in sorted(names.items()))
        chan = f"(CASE {_key_sql(col(chan_c))} {cases} ELSE {nz(col(chan_c))} END)"

        # the period
        kind, pcol = period if period else ("none", None)
        dfirst = day_first(con, raw, pcol)
        fmts = date_formats(dfirst, with_time=True)
        pc = col(pcol)
        iso_week = (
            f"CASE WHEN regexp_matches(trim({pc}), '^\\d{{4}}-?W\\d{{1,2}}$') THEN "
            f"CAST(date_trunc('week', make_date(CAST(left(trim({pc}), 4) AS INT), 1, 4)) AS DATE)"
            f" + 7 * (CAST(regexp_extract(trim({pc}), 'W(\\d+)', 1) AS INT) - 1) END"
        )
        month = (
            f"CAST(coalesce(try_strptime(trim({pc}), '%Y-%m'), try_strptime(trim({pc}), '%B %Y'), "
            f"try_strptime(trim({pc}), '%b %Y'), try_strptime(trim({pc}), '%m/%Y'), "
            f"{ts_sql(pc, fmts)}) AS DATE)"
        )
        day = f"CAST({ts_sql(pc, fmts)} AS DATE)"
        if kind == "month":
            start = f"CAST(date_trunc('month', {month}) AS DATE)"
            end = f"CAST(last_day({start}) AS DATE)"
        elif kind == "week":
            start = f"coalesce({iso_week}, {day})"
            end = f"{start} + 6"
        elif kind == "day":
            start, end = day, day
        elif kind == "start":
            start = day
            endc = find_col(cols, END)
            end = f"CAST({ts_sql(col(endc), fmts)} AS DATE)" if endc else f"{start} + 6"
        else:
            start, end = "CAST(NULL AS DATE)", "CAST(NULL AS DATE)"
            notes.append("no Date / Week / Month column: rows are rejected")

        # money: '1.234,56' style per value, currency from a column or a sign / code
        if cost_c:
            c = col(cost_c)
            comma = (
                f"regexp_matches(trim({c}), '^[^0-9]*\\d{{1,3}}(\\.\\d{{3}})*,\\d{{1,2}}[^0-9]*$')"
            )
            dollars = (
                f"(CASE WHEN {comma} THEN {money_sql(c, decimal_comma=True)} "
                f"ELSE {money_sql(c)} END)"
            )
            sign = (
                f"(CASE WHEN contains({c}, '€') THEN 'EUR' WHEN contains({c}, '£') THEN 'GBP' "
                f"WHEN contains({c}, '¥') THEN 'JPY' "
                f"ELSE NULLIF(regexp_extract(upper({c}), '\\b([A-Z]{{3}})\\b', 1), '') END)"
            )
            currency = f"upper(coalesce({nz(col(cur_c))}, {sign}))"
        else:
            dollars, currency = "CAST(NULL AS DECIMAL(18,4))", "CAST(NULL AS VARCHAR)"

        base = f"{ctx.prefix}_hours_base"
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{base}" AS SELECT __row, {chan} AS channel_id, '
            f"{start} AS __start, {end} AS __end, {hours_sql(col(hours_c))} AS __hours, "
            f"{dollars} AS __dollars, {currency} AS __currency, "
            f"{pc} AS __period_raw, {nz(col(hours_c))} AS __hours_raw, {nz(col(cost_c))} AS __cost_raw "
            f'FROM "{raw}"'
        )
        drop(con, raw)
        good = (
            "channel_id IS NOT NULL AND __start IS NOT NULL "
            "AND (__hours_raw IS NULL OR __hours IS NOT NULL) "
            "AND (__cost_raw IS NULL OR __dollars IS NOT NULL)"
        )
        empty = "__hours_raw IS NULL AND __cost_raw IS NULL"
        out = f"{ctx.prefix}_hours_costs"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE "{out}" AS
            SELECT min(__row) AS __row, channel_id,
                   strftime(__start, '%Y-%m-%d') AS period_start,
                   strftime(max(__end), '%Y-%m-%d') AS period_end,
                   CAST(sum(__dollars) AS VARCHAR) AS dollars,
                   CAST(round(sum(__hours), 4) AS VARCHAR) AS hours,
                   string_agg(DISTINCT __currency, '/' ORDER BY __currency) AS currency
            FROM "{base}" WHERE {good} AND NOT ({empty})
            GROUP BY channel_id, __start
            UNION ALL
            SELECT __row, channel_id,
                   coalesce(strftime(__start, '%Y-%m-%d'), __period_raw),
                   strftime(__end, '%Y-%m-%d'),
                   coalesce(CAST(__dollars AS VARCHAR), __cost_raw),
                   coalesce(CAST(__hours AS VARCHAR), __hours_raw), __currency
            FROM "{base}" WHERE NOT ({good})"""
        )
        summed = count_rows(con, base, f"{good} AND NOT ({empty})")
        skipped = count_rows(con, base, f"{good} AND {empty}")
        drop(con, base)
        notes.append(f"{summed} sheet row(s) summed per channel and period")
        if skipped:
            notes.append(f"{skipped} row(s) with neither hours nor cost skipped")
        return [staged_table(con, "costs", out, loaded.rejects, notes)]


register(HoursSource())

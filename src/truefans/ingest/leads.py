"""Trade-show / event leads: badge-scan exports and hand-kept lead sheets (CSV or Excel).

Lead-retrieval apps (the organiser's badge scanner, a scanning app, a card scanner) and the
spreadsheet kept at the booth share a shape: the event, when, the person (first/last name, email,
phone, company, title) and how warm the lead is (rating, notes). Each row becomes a
``touchpoints`` row of kind ``booth_visit`` on channel ``trade_shows`` (value = the rating as a
number when it is one: 1-5, hot/warm/cold, A/B/C) and an ``outcomes`` row of type ``lead`` on
``trade_shows``, keyed ``leads:<event>:<email>`` (or the phone, or name + company when there is no
email), so scanning the same person at the same show twice counts once.

Detection never takes another family's file: it needs contact columns *and* an event column
(``Event``, ``Show``, ``Trade show``, ``Conference``...) or a file name that says what it is
(lead, scan, booth, event, expo, show, conference, badge).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from .common import (
    col,
    count_rows,
    detect_header,
    drop,
    find_col,
    lit,
    load_table,
    nz,
    person_cols,
    take_keyless,
    touches_and_outcomes,
    ts_column,
)
from .registry import Detection, StageContext, StagedTable, register

EVENT = (
    "event",
    "event name",
    "event / show",
    "event/show",
    "show",
    "show name",
    "trade show",
    "tradeshow",
    "trade show name",
    "conference",
    "conference name",
    "expo",
    "exhibition",
    "fair",
    "source event",
    "meetup",
)
DATE = (
    "date",
    "scan date",
    "scanned at",
    "scanned on",
    "scan time",
    "date scanned",
    "scan timestamp",
    "visit date",
    "date met",
    "met on",
    "captured at",
    "capture date",
    "event date",
    "date of visit",
    "timestamp",
    "created",
    "created at",
    "date added",
)
RATING = (
    "rating",
    "lead rating",
    "score",
    "lead score",
    "temperature",
    "lead temperature",
    "priority",
    "qualification",
    "interest",
    "interest level",
    "hot/warm/cold",
    "stars",
)
TITLE = ("title", "job title", "job_title", "jobtitle", "position", "role", "designation")
NAME_WORDS = (
    r"\bleads?\b|\bscan(s|ned)?\b|\bbooth\b|\bbadges?\b|\bevents?\b|\bexpos?\b|\bshows?\b|"
    r"trade ?shows?|\bconferences?\b|\bexhibit|\bfairs?\b"
)


def _name_hit(path: Path) -> bool:
    stem = re.sub(r"[-_.]+", " ", path.stem.lower())
    return bool(re.search(NAME_WORDS, stem))


def _pred(by_name: bool) -> Callable[[list[str]], float | None]:
    def pred(cols: list[str]) -> float | None:
        p = person_cols(cols, TITLE)
        if not (p.email or p.phone or (p.first and p.last) or p.name):
            return None
        event = find_col(cols, EVENT)
        date = find_col(cols, DATE)
        if event:
            return 0.92 if date else 0.86
        if by_name and (p.email or p.phone):
            return 0.7 if date else 0.6
        return None

    return pred


def slug(x: str) -> str:
    return f"trim(regexp_replace(strip_accents(lower(trim({x}))), '[^a-z0-9@.+]+', '-', 'g'), '-')"


def rating_sql(x: str) -> str:
    """A rating as a number: '4', '4/5', 'hot'/'warm'/'cold', 'A'/'B'/'C', '★★★'; NULL else."""
    r = f"lower(trim({x}))"
    return (
        f"(CASE WHEN {nz(x)} IS NULL THEN NULL "
        f"WHEN regexp_matches({r}, '^\\d+(\\.\\d+)?(\\s*/\\s*\\d+)?$') "
        f"THEN TRY_CAST(regexp_extract({r}, '^(\\d+(\\.\\d+)?)', 1) AS DOUBLE) "
        f"WHEN regexp_matches({r}, '^[★*]+$') THEN CAST(length({r}) AS DOUBLE) "
        f"WHEN {r} IN ('hot', 'a', 'high', 'very interested', 'hot lead') THEN 3 "
        f"WHEN {r} IN ('warm', 'b', 'medium', 'interested', 'warm lead') THEN 2 "
        f"WHEN {r} IN ('cold', 'c', 'low', 'not interested', 'cold lead') THEN 1 END)"
    )


class LeadsSource:
    name = "leads"
    description = (
        "trade-show / event lead sheets and badge-scan exports (CSV, XLSX): booth visits and leads"
    )
    detection_rule = (
        "contact columns (email, phone or name) and an event column (Event, Show, Trade show, "
        "Conference...), or contact columns in a file named lead/scan/booth/badge/event/expo/show"
    )

    def detect(self, path: Path, head: bytes) -> Detection | None:
        found = detect_header(path, head, _pred(_name_hit(path)))
        if not found:
            return None
        return Detection(self.name, found[1], "event leads sheet (contact and event columns)")

    def stage(self, ctx: StageContext) -> list[StagedTable]:
        con = ctx.con
        raw = f"{ctx.prefix}_leads_raw"
        loaded, _ = load_table(ctx, _pred(_name_hit(ctx.path)), raw, "an event leads sheet")
        cols = loaded.columns
        p = person_cols(cols, TITLE)
        event_col = find_col(cols, EVENT)
        date_col = find_col(cols, DATE)
        rating_col = find_col(cols, RATING)
        notes = [loaded.note] if loaded.note else []
        if event_col:
            event = nz(col(event_col))
        else:
            event = lit(re.sub(r"[-_.]+", " ", ctx.path.stem).strip())
            notes.append(f"no event column: the event is the file name '{ctx.path.stem}'")
        ts = ts_column(con, raw, date_col)
        if not date_col:
            notes.append("no date column: rows are rejected (add a Date column)")
        name = nz(col(p.name))
        if p.first or p.last:
            name = f"coalesce({name}, NULLIF(concat_ws(' ', {nz(col(p.first))}, {nz(col(p.last))}), ''))"
        name_company = f"concat_ws(' ', {name}, {nz(col(p.company))})"
        who = (
            f"coalesce(lower({nz(col(p.email))}), "
            f"NULLIF(regexp_replace(coalesce({col(p.phone)}, ''), '[^0-9]', '', 'g'), ''), "
            f"NULLIF({slug(name_company)}, ''))"
        )
        key = f"CASE WHEN {event} IS NOT NULL THEN 'leads:' || {slug(event)} || ':' || {who} END"
        rating = rating_sql(col(rating_col)) if rating_col else "CAST(NULL AS DOUBLE)"
        base = f"{ctx.prefix}_leads_base"
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{base}" AS SELECT __row, {key} AS __key, {ts} AS ts, '
            f"{rating} AS __rating, {nz(col(rating_col))} AS __rating_raw, {event} AS __event, "
            f"{p.has_hint()} AS __known, {p.hint_sql()} "
            f'FROM "{raw}"'
        )
        drop(con, raw)
        keyless = take_keyless(
            con,
            base,
            "CASE WHEN __event IS NULL THEN 'event' ELSE 'email' END",
            "CASE WHEN __event IS NULL THEN 'event: missing (a lead is one person at one event)' "
            "ELSE 'email: no email, phone or name to tell who the lead is' END",
        )
        hints = "__email, __phone, __name, __first_name, __last_name, __company, __title, __country"
        touch_rel = f"{ctx.prefix}_leads_touchpoints"
        out_rel = f"{ctx.prefix}_leads_outcomes"
        # every scan is a booth visit (keyed by its time too); a person scanned twice at the
        # same event is one lead, dated by the first scan
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{touch_rel}" AS SELECT __row, '
            "__key || ':' || coalesce(ts, '') AS touch_id, ts, "
            "'trade_shows' AS channel_id, 'booth_visit' AS kind, "
            f'CAST(__rating AS VARCHAR) AS value, {hints} FROM "{base}" WHERE __known'
        )
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{out_rel}" AS SELECT __row, __key AS outcome_id, ts, '
            f"'lead' AS type, 'trade_shows' AS channel_id, {hints} FROM \"{base}\" "
            "QUALIFY __key IS NULL OR row_number() OVER "
            "(PARTITION BY __key ORDER BY TRY_CAST(ts AS TIMESTAMP) NULLS LAST, __row) = 1"
        )
        repeats = count_rows(con, base) - count_rows(con, out_rel)
        if repeats:
            notes.append(
                f"{repeats} repeat scan(s) of someone already scanned at the same event: "
                "one lead each, every scan a booth visit"
            )
        unrated = count_rows(con, base, "__rating_raw IS NOT NULL AND __rating IS NULL")
        if unrated:
            notes.append(
                f"{unrated} rating(s) not read as a number (use 1-5, hot/warm/cold or A/B/C)"
            )
        unknown = count_rows(con, base, "NOT __known")
        if unknown:
            notes.append(
                f"{unknown} lead(s) without email or phone: kept as leads, no booth visit "
                "(identity needs an email or a phone)"
            )
        drop(con, base)
        return touches_and_outcomes(
            con, loaded, touch_rel, out_rel, keyless, "; ".join(notes), local_times=True
        )


register(LeadsSource())

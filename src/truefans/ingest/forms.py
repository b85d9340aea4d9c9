"""Website form submissions: questions people asked through a form on the site.

Form tools each write their own export; the columns that hold the person (email, phone, name,
company) are named by the site owner, so they are found through alias lists. Tools recognised by
their header signature:

* **Typeform** (Results > Responses > Download all responses, CSV or XLSX): ``#`` (response token),
  one column per question, hidden fields (``utm_source``...), ``Start Date (UTC)``,
  ``Submit Date (UTC)`` (older: ``Submitted At``), ``Network ID``. Times are UTC.
* **Gravity Forms** (Forms > Import/Export > Export Entries): ``Entry Id``, ``Entry Date``,
  ``Date Updated``, ``Source Url``, ``User Agent``, ``User IP`` + fields (``Name (First)``...).
* **WPForms** (WPForms > Tools > Export, or Entries > Export All): fields + ``Entry ID``,
  ``Date`` (site time) and ``Date GMT``.
* **Jotform** (Tables > Download All > CSV / Excel): ``Submission Date`` + fields
  (``Submission ID``, ``Submission IP`` when chosen).
* **Netlify Forms** (Forms > form > Download as CSV): fields + ``created_at`` (ISO, UTC) and the
  submission ``id``.
* **Contact Form 7** through **CFDB7** or **Flamingo** exports: the form's field names
  (``your-name``, ``your-email``, ``your-message``) and a date column.
* **Google Forms** (Responses > Download responses, or the linked Sheet): ``Timestamp`` first, then
  one column per question (``Email address`` when the form collects emails).

Each submission becomes an ``outcomes`` row of type ``question`` (key ``<tool>:<entry id>``, or a
hash of time + email when the tool gives no id) and, when it names someone by email or phone, a
``touchpoints`` row of kind ``form`` on channel ``website``. A "How did you hear about us?" answer
sets the outcome's ``channel_id`` through a small mapping of common answers; without one, UTM
columns (or UTM parameters in a page-URL column) are mapped with
:func:`~truefans.ingest.channels.channel_sql`.

The readers it shares with the hand-kept sheets (:mod:`.leads`, :mod:`.hours`) — find a header by
a predicate over column names in a CSV or an Excel sheet, stage it, find the person's columns —
are in :mod:`.common`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .channels import channel_sql
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
    spaced,
    take_keyless,
    touches_and_outcomes,
    ts_column,
    user_channel_config,
)
from .registry import Detection, StageContext, StagedTable, register


def is_heard(name: str) -> bool:
    """Whether a column asks how the person heard about the business."""
    return bool(re.search(HEARD_RX, spaced(name)))


# ---- "how did you hear about us?" ------------------------------------------------------------

HEARD_RX = (
    r"hear about|heard about|hear of|heard of|find us|found us|how did you (hear|find|learn|"
    r"discover|get to know)|referral source|lead source|where did you (hear|find|learn)|"
    r"how you heard|referred by|^source$|^how did you"
)
_ADS = r"\b(ad|ads|advert|advertis\w*|sponsored|promoted)\b"
#: (regular expression on the lower-cased answer, channel id); first match wins
HEARD_MAP: list[tuple[str, str]] = [
    (rf"linked\s*in.*{_ADS}|{_ADS}.*linked\s*in", "linkedin_ads"),
    (
        rf"(facebook|instagram|\bmeta\b|\bfb\b|\big\b).*{_ADS}|{_ADS}.*(facebook|instagram)",
        "meta_ads",
    ),
    (rf"google.*{_ADS}|adwords|{_ADS}.*google|paid search|sponsored (result|search)", "google_ads"),
    (rf"youtube.*{_ADS}|{_ADS}.*youtube", "youtube_ads"),
    (rf"tiktok.*{_ADS}|{_ADS}.*tiktok", "tiktok_ads"),
    (r"linked\s*in", "linkedin"),
    (r"instagram|\binsta\b|\big\b", "instagram"),
    (r"facebook|\bfb\b|\bmeta\b", "facebook"),
    (r"twitter|\bx\b|x\.com|tweet", "x"),
    (r"tik\s*tok", "tiktok"),
    (r"podcast|spotify|episode", "podcast"),
    (r"you\s*tube|\byt\b", "youtube"),
    (r"pinterest", "pinterest"),
    (r"reddit", "reddit"),
    (r"threads", "threads"),
    (r"bluesky|bsky", "bluesky"),
    (r"newsletter|e-?mail|mailing list|mailchimp|substack", "newsletter"),
    (
        r"trade\s*-?show|\bexpo\b|exhibit|conference|booth|\bfairs?\b|summit|convention|"
        r"\bevents?\b|meet-?up|seminar|\btalk\b|keynote",
        "trade_shows",
    ),
    (
        r"friend|colleague|word of mouth|recommend|referr|family|neighbou?r|client|customer|"
        r"co-?worker|partner|someone|\bboss\b|\bwife\b|\bhusband\b|mouth|networking",
        "word_of_mouth",
    ),
    (r"google|\bbing\b|search|duck\s*duck|yahoo|ecosia|\bseo\b", "organic_search"),
    (r"\bpress\b|article|magazine|newspaper|\btv\b|television|radio|\bnews\b|journal", "press"),
    (r"\bblog\b|website|web site|your site", "website"),
    (_ADS, "paid_other"),
]


def heard_sql(answer: str) -> str:
    """SQL: a "how did you hear about us" answer -> channel id, NULL when not recognised."""
    a = f"lower(trim(coalesce({answer}, '')))"
    whens = " ".join(f"WHEN regexp_matches({a}, {lit(rx)}) THEN {lit(ch)}" for rx, ch in HEARD_MAP)
    return f"(CASE WHEN {a} = '' THEN NULL {whens} END)"


def unknown_answers(con: duckdb.DuckDBPyConnection, rel: str, column: str) -> str:
    """A note naming the answers no channel was found for (at most five shown)."""
    c = col(column)
    rows = con.execute(
        f'SELECT trim({c}) AS a, count(*) AS n FROM "{rel}" '
        f"WHERE {nz(c)} IS NOT NULL AND {heard_sql(c)} IS NULL GROUP BY 1 ORDER BY 2 DESC, 1 "
    ).fetchall()
    if not rows:
        return ""
    total = sum(int(r[1]) for r in rows)
    shown = ", ".join(f"'{r[0][:40]}'" + (f" ({r[1]})" if r[1] > 1 else "") for r in rows[:5])
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    return (
        f"{total} '{column}' answer(s) matched no channel and were left empty: {shown}{more} "
        "(add a rule in channels.toml or edit the answers)"
    )


def utm_sql(columns: Sequence[str], con: duckdb.DuckDBPyConnection) -> str | None:
    """SQL channel from UTM columns or UTM parameters / gclid in a page-URL column; NULL when the
    row carries none. None when the file has no such column."""
    src = find_col(columns, ("utm_source", "utm source"), r"utm[_ ]?source")
    med = find_col(columns, ("utm_medium", "utm medium"), r"utm[_ ]?medium")
    camp = find_col(columns, ("utm_campaign", "utm campaign"), r"utm[_ ]?campaign")
    gclid = find_col(columns, ("gclid",))
    url = find_col(
        columns,
        (
            "source url",
            "page url",
            "landing page",
            "landing page url",
            "referrer",
            "referer",
            "embed url",
            "form url",
            "page",
            "url",
        ),
    )
    if not (src or med or camp or gclid or url):
        return None

    def param(column: str | None, name: str) -> str:
        parts = []
        if column:
            parts.append(nz(col(column)))
        if url:
            parts.append(
                f"NULLIF(url_decode(regexp_extract({col(url)}, '[?&]{name}=([^&#]*)', 1)), '')"
            )
        return "coalesce(" + ", ".join(parts) + ")" if parts else "CAST(NULL AS VARCHAR)"

    s, m, c = param(src, "utm_source"), param(med, "utm_medium"), param(camp, "utm_campaign")
    g = param(gclid, "gclid")
    cfg = user_channel_config(con)
    return (
        f"(CASE WHEN {s} IS NOT NULL OR {m} IS NOT NULL THEN {channel_sql(s, m, c, cfg)} "
        f"WHEN {g} IS NOT NULL THEN 'google_ads' END)"
    )


# --------------------------------------------------------------------------------------------
# the forms source
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    key: str  # key prefix
    label: str
    id_col: tuple[str, ...]
    ts_col: tuple[str, ...]
    utc: bool
    confidence: float


TYPEFORM = Tool(
    "typeform",
    "Typeform",
    ("#", "token", "response id"),
    ("submit date (utc)", "submitted at", "submit date", "start date (utc)"),
    True,
    0.96,
)
GRAVITY = Tool(
    "gravityforms", "Gravity Forms", ("entry id",), ("entry date", "date created"), False, 0.96
)
WPFORMS_GMT = Tool("wpforms", "WPForms", ("entry id",), ("date gmt",), True, 0.94)
WPFORMS = Tool(
    "wpforms", "WPForms", ("entry id",), ("date", "entry date", "date submitted"), False, 0.93
)
JOTFORM = Tool("jotform", "Jotform", ("submission id",), ("submission date",), False, 0.92)
NETLIFY = Tool("netlify", "Netlify Forms", ("id", "number"), ("created_at",), True, 0.92)
CF7 = Tool(
    "cf7",
    "Contact Form 7 (CFDB7 / Flamingo)",
    ("id", "submission id", "form_id_entry"),
    ("date", "submitted", "submitted on", "submitted at", "form_date", "created", "date submitted"),
    False,
    0.92,
)
GOOGLE = Tool("googleforms", "Google Forms", (), ("timestamp",), False, 0.9)


def _has_contact(cols: list[str]) -> bool:
    return person_cols(cols).any_contact()


def which_tool(cols: list[str]) -> Tool | None:
    s = set(cols)
    if ("#" in s or "token" in s) and s & {
        "submit date (utc)",
        "submitted at",
        "network id",
        "start date (utc)",
    }:
        return TYPEFORM
    if (
        "entry id" in s
        and "entry date" in s
        and s & {"source url", "user ip", "user agent", "date updated"}
    ):
        return GRAVITY
    if "entry id" in s and "date gmt" in s:
        return WPFORMS_GMT
    if "entry id" in s and s & {"date", "entry date", "date submitted"} and _has_contact(cols):
        return WPFORMS
    if "submission date" in s and (s & {"submission id", "submission ip"} or _has_contact(cols)):
        return JOTFORM
    if (
        "created_at" in s
        and s & {"id", "number"}
        and s & {"form_name", "form-name", "form_id", "site_url", "ip", "user_agent", "referrer"}
    ):
        return NETLIFY
    if any(c.startswith("your-") for c in cols) and s & set(CF7.ts_col):
        return CF7
    if cols and cols[0] == "timestamp" and (_has_contact(cols) or any(is_heard(c) for c in cols)):
        return GOOGLE
    return None


class FormsSource:
    name = "forms"
    description = (
        "website form submissions (Typeform, Gravity Forms, WPForms, Jotform, Netlify Forms, "
        "Contact Form 7 via CFDB7/Flamingo, Google Forms): questions -> outcomes, form touchpoints"
    )
    detection_rule = (
        "header signature of the form tool: Typeform '#' + 'Submit Date (UTC)'/'Network ID'; "
        "Gravity Forms 'Entry Id' + 'Entry Date' + 'Source Url'/'User IP'; WPForms 'Entry ID' + "
        "'Date'/'Date GMT'; Jotform 'Submission Date'; Netlify 'created_at' + 'id' + "
        "'form_name'/'site_url'/'ip'; CF7 'your-*' fields + a date; Google Forms 'Timestamp' first "
        "+ a contact or 'how did you hear' question"
    )

    def detect(self, path: Path, head: bytes) -> Detection | None:
        found = detect_header(path, head, which_tool)
        if not found:
            return None
        tool = found[1]
        conf = tool.confidence
        if tool is GOOGLE:
            low = path.name.lower()
            conf = 0.9 if ("responses" in low or "form" in low) else 0.8
        return Detection(self.name, conf, f"{tool.label} export header", None)

    def stage(self, ctx: StageContext) -> list[StagedTable]:
        con = ctx.con
        raw = f"{ctx.prefix}_forms_raw"
        loaded, tool = load_table(ctx, which_tool, raw, "a form tool's submissions export")
        cols = loaded.columns
        idc = find_col(cols, tool.id_col)
        tsc = find_col(cols, tool.ts_col)
        p = person_cols(cols)
        heard = next((c for c in cols if is_heard(c) and c not in (idc, tsc)), None)
        utm = utm_sql(cols, con)

        ts = ts_column(con, raw, tsc, utc=tool.utc)
        who = f"lower(trim(coalesce({col(p.email)}, {col(p.phone)}, {col(p.name)}, '')))"
        if idc:
            key = f"CASE WHEN {nz(col(idc))} IS NOT NULL THEN {lit(tool.key + ':')} || trim({col(idc)}) END"
        else:
            key = (
                f"CASE WHEN {nz(col(tsc))} IS NOT NULL THEN {lit(tool.key + ':')} || "
                f"left(md5(trim({col(tsc)}) || '|' || {who}), 16) END"
            )
        parts = [heard_sql(col(heard))] if heard else []
        if utm:
            parts.append(utm)
        channel = f"coalesce({', '.join(parts)})" if parts else "CAST(NULL AS VARCHAR)"

        base = f"{ctx.prefix}_forms_base"
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{base}" AS SELECT __row, {key} AS __key, {ts} AS ts, '
            f"{channel} AS __channel, {p.has_hint()} AS __known, {p.hint_sql()} "
            f'FROM "{raw}"'
        )
        id_label = lit(idc or tsc or "entry id")
        keyless = take_keyless(
            con,
            base,
            id_label,
            f"{id_label} || ': missing (it tells submissions apart)'",
        )
        out_rel = f"{ctx.prefix}_forms_outcomes"
        touch_rel = f"{ctx.prefix}_forms_touchpoints"
        hints = "__email, __phone, __name, __first_name, __last_name, __company, __title, __country"
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{out_rel}" AS SELECT __row, __key AS outcome_id, ts, '
            f"'question' AS type, __channel AS channel_id, {hints} FROM \"{base}\""
        )
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{touch_rel}" AS SELECT __row, __key AS touch_id, ts, '
            f"'website' AS channel_id, 'form' AS kind, {hints} FROM \"{base}\" WHERE __known"
        )
        anonymous = count_rows(con, base, "NOT __known")
        drop(con, base)

        notes = [n for n in (f"{tool.label} export", loaded.note) if n]
        if tsc is None:
            notes.append("no submission date column: every row is rejected (ts is required)")
        if heard:
            unknown = unknown_answers(con, raw, heard)
            if unknown:
                notes.append(unknown)
        else:
            notes.append("no 'How did you hear about us?' column")
        if anonymous:
            notes.append(
                f"{anonymous} submission(s) without email or phone: kept as anonymous questions, "
                "no touchpoint"
            )
        drop(con, raw)
        return touches_and_outcomes(
            con, loaded, touch_rel, out_rel, keyless, "; ".join(notes), local_times=not tool.utc
        )


register(FormsSource())
